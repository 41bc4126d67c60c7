#!/usr/bin/env python3
"""ResNet or GoogLeNet on Fashion-MNIST with PyTorch: the recipe `cnngpu train --model resnet18`
(or googlenet, with --size 64) runs, for side-by-side accuracy and speed. GoogLeNet trains with
its two auxiliary classifiers (loss weight 0.3 each, as torchvision's reference recipe and
cnngpu) unless --no-aux.

torchvision's resnet18/34/50 (num_classes 10, its own initialisation: conv weights
kaiming_normal_ fan_out, batch norm 1/0, Linear PyTorch's default) on cnngpu's data path:
28x28 grey images resized to 32x32 (bilinear, half-pixel centres), repeated to three equal
channels, normalised with Fashion-MNIST's mean/std (0.2860/0.3530), a random horizontal flip
in training. SGD with momentum and weight decay, a constant learning rate, the training set
reshuffled every epoch; evaluation in eval mode (running statistics).
--train-images / --test-images take the first N images of each split (as cnngpu's options).

Prints one JSON line per epoch (train loss/top-1 over the epoch's steps in train mode, test
loss/top-1, seconds, training images/s).

    python3 scripts/pytorch_resnet_train.py --train-images 2000 --test-images 1000 --epochs 3

Needs: pip install torch numpy; pip install --no-deps torchvision
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_interop import read_idx_gz  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "assets", "fashion-mnist-sample")
MEAN, STD = 0.2860, 0.3530


def load(data_dir, split, limit, size):
    x = read_idx_gz(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx_gz(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    if limit:
        x, y = x[:limit], y[:limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = ((x - MEAN) / STD).expand(-1, 3, -1, -1).contiguous()
    return x, torch.from_numpy(y.astype(np.int64))


def evaluate(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    model.train()
    return loss / len(x), 100.0 * correct / len(x)


def lr_at(a, epoch):
    """The learning rate of 0-based `epoch`: cnngpu's TrainConfig::lr_at (set once per epoch)."""
    if a.schedule == "step":
        return a.lr * a.gamma ** (epoch // max(a.step_size, 1))
    if a.schedule == "cosine":
        return 0.5 * a.lr * (1.0 + math.cos(math.pi * epoch / max(a.epochs, 1)))
    return a.lr


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["resnet18", "resnet34", "resnet50", "googlenet"],
                   default="resnet18")
    p.add_argument("--data-dir", default=SAMPLE)
    p.add_argument("--train-images", type=int, default=0)
    p.add_argument("--test-images", type=int, default=0)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=["constant", "step", "cosine"], default="constant",
                   help="the learning rate per epoch, as cnngpu's --schedule")
    p.add_argument("--step-size", type=int, default=10)
    p.add_argument("--gamma", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-aux", action="store_true",
                   help="googlenet without its auxiliary classifiers (as cnngpu's --no-aux)")
    p.add_argument("--save", metavar="FILE.safetensors",
                   help="write the state_dict after each epoch (cnngpu's names: `cnngpu eval` "
                        "and scripts/pytorch_bn_recalibrate.py read it)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, "train", a.train_images, a.size)
    xte, yte = load(a.data_dir, "t10k", a.test_images, a.size)
    if a.model == "googlenet":
        # cnngpu's googlenet: no auxiliary classifiers, torchvision's own initialisation.
        model = torchvision.models.googlenet(num_classes=10, aux_logits=not a.no_aux,
                                             init_weights=True)
    else:
        model = getattr(torchvision.models, a.model)(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum,
                          weight_decay=a.weight_decay)
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        lr = lr_at(a, epoch - 1)
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.randperm(len(xtr), generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for s in range(0, len(order), a.batch_size):
            idx = order[s:s + a.batch_size]
            xb, yb = xtr[idx], ytr[idx]
            flip = torch.randint(0, 2, (len(idx),), generator=gen).bool()
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            out = model(xb)
            aux = []
            if hasattr(out, "logits"):  # GoogLeNet in training: its auxiliary heads too
                aux = [a for a in (out.aux_logits1, out.aux_logits2) if a is not None]
                out = out.logits
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            # The auxiliary losses count 0.3 each (torchvision's recipe); the reported loss
            # is the main head's, as cnngpu's.
            (loss + sum(0.3 * F.cross_entropy(x, yb) for x in aux)).backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            seen += len(idx)
        train_s = time.perf_counter() - t0
        test_loss, test_top1 = evaluate(model, xte, yte, 256)
        print(json.dumps({
            "epoch": epoch, "lr": round(lr, 6), "train_loss": round(loss_sum / seen, 4),
            "train_top1": round(100.0 * correct / seen, 2),
            "test_loss": round(test_loss, 4), "test_top1": round(test_top1, 2),
            "seconds": round(time.perf_counter() - t0, 1),
            "train_images_per_s": round(seen / train_s, 1),
        }), flush=True)
        if a.save:
            from safetensors.torch import save_file
            save_file({k: v.float().contiguous() for k, v in model.state_dict().items()},
                      a.save, metadata={"format": "pt", "model": a.model})


if __name__ == "__main__":
    main()
