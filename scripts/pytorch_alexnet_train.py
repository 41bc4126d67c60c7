#!/usr/bin/env python3
"""AlexNet on Fashion-MNIST with PyTorch: the recipe `cnngpu train --model alexnet` runs, for
side-by-side accuracy.

Same network as cnngpu's `alexnet` (scripts/pytorch_interop.py's AlexNet, one tower), same
data path: 28x28 grey images resized to 256x256 (bilinear, half-pixel centres), repeated to
three equal channels, normalised with Fashion-MNIST's mean/std (0.2860/0.3530), a random
227x227 crop and horizontal flip in training, the centre crop in evaluation. SGD with momentum
and weight decay, a constant learning rate, the training set reshuffled every epoch.
Initialisation (--init):
  paper    weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and the fully connected layers
  pytorch  PyTorch's default for Conv2d/Linear: weights and biases U(+-1/sqrt(fan_in))
  kaiming  He et al. (2015): weights N(0, 2/fan_in), biases 0
--train-images / --test-images take the first N images of each split (as cnngpu's options).

Prints one JSON line per epoch (train loss/top-1 over the epoch's steps in train mode, test
loss/top-1 in eval mode, seconds).

    python3 scripts/pytorch_alexnet_train.py --train-images 256 --test-images 256 --epochs 20
    python3 scripts/pytorch_alexnet_train.py --data-dir /usr/share/datasets/fashion-mnist \\
        --train-images 2000 --test-images 1000 --epochs 3

Needs: pip install torch numpy
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_interop import AlexNet, read_idx_gz  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "assets", "fashion-mnist-sample")
MEAN, STD = 0.2860, 0.3530


def load(data_dir, split, limit):
    x = read_idx_gz(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx_gz(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    if limit:
        x, y = x[:limit], y[:limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
    x = ((x - MEAN) / STD).expand(-1, 3, -1, -1).contiguous()
    return x, torch.from_numpy(y.astype(np.int64))


def init(model, how):
    if how == "pytorch":
        return  # the modules' own reset_parameters()
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if how == "kaiming":
        for m in layers:
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        return
    for i, m in enumerate(layers):
        nn.init.normal_(m.weight, 0.0, 0.01)
        nn.init.constant_(m.bias, 1.0 if i in (1, 3, 4, 5, 6, 7) else 0.0)


def crop_flip(x, gen):
    n = x.shape[0]
    out = torch.empty(n, 3, 227, 227)
    tops = torch.randint(0, 30, (n,), generator=gen)
    lefts = torch.randint(0, 30, (n,), generator=gen)
    flips = torch.randint(0, 2, (n,), generator=gen)
    for i in range(n):
        t, l = int(tops[i]), int(lefts[i])
        img = x[i, :, t:t + 227, l:l + 227]
        out[i] = img.flip(-1) if flips[i] else img
    return out


def evaluate(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            xb = x[s:s + batch, :, 14:241, 14:241]
            out = model(xb)
            loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    model.train()
    return loss / len(x), 100.0 * correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=SAMPLE)
    p.add_argument("--train-images", type=int, default=0)
    p.add_argument("--test-images", type=int, default=0)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--init", choices=["paper", "pytorch", "kaiming"], default="paper")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-augment", action="store_true",
                   help="the central crop in training too, unflipped (cnngpu's --no-augment)")
    p.add_argument("--eval-train", action="store_true",
                   help="also evaluate on the training images each epoch (memorisation)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, "train", a.train_images)
    xte, yte = load(a.data_dir, "t10k", a.test_images)
    model = AlexNet(10)
    init(model, a.init)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum,
                          weight_decay=a.weight_decay)
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for s in range(0, len(order), a.batch_size):
            idx = order[s:s + a.batch_size]
            xb = xtr[idx][:, :, 14:241, 14:241] if a.no_augment else crop_flip(xtr[idx], gen)
            yb = ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            seen += len(idx)
        test_loss, test_top1 = evaluate(model, xte, yte, 64)
        record = {
            "epoch": epoch, "train_loss": loss_sum / seen, "train_top1": 100.0 * correct / seen,
            "test_loss": test_loss, "test_top1": test_top1,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if a.eval_train:
            record["memorised_loss"], record["memorised_top1"] = evaluate(model, xtr, ytr, 64)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
