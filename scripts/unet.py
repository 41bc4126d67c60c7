#!/usr/bin/env python3
"""cnngpu's U-Net as a PyTorch module (the same state_dict names and shapes), the built-in
fashion-scenes data generated exactly as cnngpu generates it, and the interop checks.

The network: padded 3x3 convolutions without bias, batch norm and ReLU twice per level
(`inc`, `downN.conv`), 2x2 max pooling down, 2x2 stride-2 transposed convolutions up
(`upN.up`) with the encoder's feature concatenated before the up-convolution's output, a 1x1
convolution to the classes (`outc`). PyTorch's default initialisation.

fashion-scenes: Fashion-MNIST garments of the bundled sample on 64x64 canvases, three per
canvas at seeded non-overlapping positions (cnngpu's SplitMix64 draws), a class per pixel:
0 black background, garment class + 1 where the garment is at least 48 bright, 255 (ignored)
on its fainter rim.

    # PyTorch -> cnngpu: a freshly initialised U-Net as safetensors, evaluated by both
    python3 scripts/unet.py export unet_init.safetensors
    cnngpu eval --checkpoint unet_init.safetensors --model unet --dataset fashion-scenes --images 64 --json
    python3 scripts/unet.py eval unet_init.safetensors --images 64
    # cnngpu -> PyTorch: a trained checkpoint loads strictly and evaluates the same
    python3 scripts/unet.py eval runs/unet/best.safetensors --images 64

Needs: pip install torch numpy safetensors
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "assets", "fashion-mnist-sample")
MEAN, STD = 0.2860, 0.3530
IGNORE = 255
MASK64 = (1 << 64) - 1


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = double_conv(cin, cout)

    def forward(self, x):
        return self.conv(self.pool(x))


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.conv = double_conv(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels=1, classes=11, base=16):
        super().__init__()
        self.inc = double_conv(in_channels, base)
        for i in range(1, 5):
            setattr(self, f"down{i}", Down(base << (i - 1), base << i))
        for i in range(1, 5):
            setattr(self, f"up{i}", Up(base << (5 - i), base << (4 - i)))
        self.outc = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for i in range(1, 5):
            skips.append(getattr(self, f"down{i}")(skips[-1]))
        x = skips.pop()
        for i in range(1, 5):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.outc(x)


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def scenes(images, labels, n, side=64, per_canvas=3, seed=0):
    """As cnngpu's data::segment::scenes: (images [n, side, side] u8, masks u8)."""
    g = images.shape[1]
    out = np.zeros((n, side, side), np.uint8)
    masks = np.zeros((n, side, side), np.uint8)
    rng, nxt = SplitMix64(seed), 0
    for k in range(n):
        placed = []
        for _ in range(per_canvas * 8):
            if len(placed) == per_canvas or side < g:
                break
            top = rng.next() % (side - g + 1)
            left = rng.next() % (side - g + 1)
            if any(top < t + g and t < top + g and left < l + g and l < left + g
                   for t, l in placed):
                continue
            placed.append((top, left))
            i = nxt % len(images)
            nxt += 1
            v = images[i]
            out[k, top:top + g, left:left + g] = v
            m = np.where(v >= 48, labels[i] + 1, np.where(v > 0, IGNORE, 0)).astype(np.uint8)
            masks[k, top:top + g, left:left + g] = m
    return out, masks


def fashion_scenes(data_dir=SAMPLE):
    """(train images, train masks, test images, test masks) as cnngpu's fashion-scenes."""
    split = {}
    for name, prefix, seed in [("train", "train", 0x5EED0001), ("test", "t10k", 0x5EED0002)]:
        x = read_idx_gz(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx_gz(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
        split[name] = scenes(x, y, len(x) // 3, seed=seed)
    return split["train"] + split["test"]


def tensors(images, masks, limit=0):
    if limit:
        images, masks = images[:limit], masks[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD, torch.from_numpy(masks.astype(np.int64))


def counters(logits, masks, classes):
    """[correct, counted, intersection[C], predicted[C], labelled[C]] over labelled pixels."""
    keep = masks != IGNORE
    pred, truth = logits.argmax(1)[keep], masks[keep]
    inter = torch.bincount(truth[pred == truth], minlength=classes)
    c = [int((pred == truth).sum()), int(keep.sum())]
    for t in (inter, torch.bincount(pred, minlength=classes), torch.bincount(truth, minlength=classes)):
        c.extend(int(v) for v in t[:classes])
    return np.array(c, dtype=np.int64)


def scores(c, classes):
    inter, pred, truth = c[2:2 + classes], c[2 + classes:2 + 2 * classes], c[2 + 2 * classes:]
    union = pred + truth - inter
    present = union > 0
    iou = np.where(present, inter / np.maximum(union, 1), np.nan)
    dice = np.where(present, 2 * inter / np.maximum(pred + truth, 1), np.nan)
    return {"pixel_accuracy": c[0] / max(c[1], 1), "mean_iou": float(np.nanmean(iou)),
            "mean_dice": float(np.nanmean(dice)),
            "iou": [None if np.isnan(v) else float(v) for v in iou]}


def evaluate(model, x, y, classes, batch=64):
    model.eval()
    loss, c = 0.0, np.zeros(2 + 3 * classes, np.int64)
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            loss += F.cross_entropy(out, y[s:s + batch], ignore_index=IGNORE, reduction="sum").item()
            c += counters(out, y[s:s + batch], classes)
    model.train()
    return dict(loss=loss / max(c[1], 1), pixels=int(c[1]), **scores(c, classes)), c


def shapes_of(state):
    base = state["inc.0.weight"].shape[0]
    return state["inc.0.weight"].shape[1], state["outc.weight"].shape[0], base


def main():
    from safetensors.torch import load_file, save_file
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("export", help="save a freshly initialised U-Net as safetensors")
    x.add_argument("out")
    x.add_argument("--base", type=int, default=16)
    x.add_argument("--in-channels", type=int, default=1)
    x.add_argument("--classes", type=int, default=11)
    x.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("eval", help="evaluate a safetensors U-Net on fashion-scenes' test split")
    e.add_argument("checkpoint")
    e.add_argument("--images", type=int, default=0)
    e.add_argument("--data-dir", default=SAMPLE)
    a = p.parse_args()
    if a.cmd == "export":
        torch.manual_seed(a.seed)
        m = UNet(a.in_channels, a.classes, a.base)
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, a.out,
                  metadata={"format": "pt", "model": "unet", "dataset": "fashion-scenes",
                            "base_channels": str(a.base), "in_channels": str(a.in_channels)})
        print(f"wrote {a.out}")
        return
    state = load_file(a.checkpoint)
    cin, classes, base = shapes_of(state)
    m = UNet(cin, classes, base)
    m.load_state_dict(state, strict=True)
    _, _, ti, tm = fashion_scenes(a.data_dir)
    xt, yt = tensors(ti, tm, a.images)
    r, _ = evaluate(m, xt, yt, classes)
    json.dump(r, sys.stdout)
    print()


if __name__ == "__main__":
    main()
