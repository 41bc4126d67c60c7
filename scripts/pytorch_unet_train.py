#!/usr/bin/env python3
"""U-Net on fashion-scenes with PyTorch: the recipe `cnngpu train --model unet` runs, for
side-by-side accuracy and speed.

scripts/unet.py's module (cnngpu's U-Net: the same layers, state_dict and PyTorch's default
initialisation) on the same canvases (generated as cnngpu generates them), normalised with
Fashion-MNIST's mean/std, each training canvas and its mask flipped horizontally at random.
SGD with momentum and weight decay, a constant learning rate, the training set reshuffled
every epoch; the loss is the mean cross-entropy over labelled pixels (ignore_index 255).
Evaluation in eval mode (running statistics). --train-images / --test-images take the first
N canvases of each split (as cnngpu's options).

Prints one JSON line per epoch (train loss and pixel accuracy over the epoch's steps in train
mode; test loss, pixel accuracy, mean IoU, mean Dice; seconds; training images/s).

    python3 scripts/pytorch_unet_train.py --train-images 600 --test-images 200 --epochs 3

Needs: pip install torch numpy
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import IGNORE, SAMPLE, UNet, evaluate, fashion_scenes, tensors  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=SAMPLE)
    p.add_argument("--train-images", type=int, default=0)
    p.add_argument("--test-images", type=int, default=0)
    p.add_argument("--base-channels", type=int, default=16)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tri, trm, tei, tem = fashion_scenes(a.data_dir)
    x, y = tensors(tri, trm, a.train_images)
    xt, yt = tensors(tei, tem, a.test_images)
    classes = 11
    model = UNet(1, classes, a.base_channels)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum,
                          weight_decay=a.weight_decay)
    g = torch.Generator().manual_seed(a.seed)
    for epoch in range(a.epochs):
        start = time.time()
        order = torch.randperm(len(x), generator=g)
        loss_sum, correct, counted = 0.0, 0, 0
        for s in range(0, len(x), a.batch_size):
            idx = order[s:s + a.batch_size]
            xb, yb = x[idx].clone(), y[idx].clone()
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb[flip], yb[flip] = xb[flip].flip(-1), yb[flip].flip(-1)
            out = model(xb)
            loss = F.cross_entropy(out, yb, ignore_index=IGNORE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            keep = yb != IGNORE
            n = int(keep.sum())
            loss_sum += loss.item() * n
            correct += int((out.argmax(1)[keep] == yb[keep]).sum())
            counted += n
        train_s = time.time() - start
        r, _ = evaluate(model, xt, yt, classes)
        print(json.dumps({
            "epoch": epoch + 1, "train_loss": loss_sum / counted,
            "train_pixel_accuracy": correct / counted, "test_loss": r["loss"],
            "test_pixel_accuracy": r["pixel_accuracy"], "test_mean_iou": r["mean_iou"],
            "test_mean_dice": r["mean_dice"], "epoch_s": time.time() - start,
            "train_images_per_s": len(x) / train_s}), flush=True)


if __name__ == "__main__":
    main()
