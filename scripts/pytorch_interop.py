#!/usr/bin/env python3
"""PyTorch <-> cnngpu checkpoints.

cnngpu writes safetensors files whose tensor names and layouts are those of the PyTorch modules
below (the same networks as ../shared/peers: conv weights OIHW, linear weights [out, in]), so
each side loads the other's weights directly.

    # cnngpu -> PyTorch: load and evaluate a cnngpu checkpoint on Fashion-MNIST
    python3 scripts/pytorch_interop.py eval runs/x/best.safetensors --data-dir /usr/share/datasets/fashion-mnist

    # PyTorch -> cnngpu: save a state_dict as safetensors (here: a freshly initialised LeNet-5)
    python3 scripts/pytorch_interop.py export lenet5 lenet5_init.safetensors
    cnngpu eval --checkpoint lenet5_init.safetensors

    # a torch.save()d state_dict (.pt) -> safetensors
    python3 scripts/pytorch_interop.py to-safetensors model.pt model.safetensors --model lenet5

Needs: pip install torch safetensors numpy
"""

import argparse
import gzip
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


class LeNet5(nn.Module):
    """Input 1x32x32: conv 6@5x5, tanh, avg-pool 2, conv 16@5x5, tanh, avg-pool 2,
    conv 120@5x5, tanh, linear 84, tanh, linear C (as cnngpu's `lenet5`)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.conv1(x)), 2, 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2, 2)
        x = torch.tanh(self.conv3(x)).flatten(1)
        return self.fc2(torch.tanh(self.fc1(x)))


class AlexNet(nn.Module):
    """Input 3x227x227 (as cnngpu's `alexnet`; groups=2 for the paper's two towers)."""

    def __init__(self, num_classes=10, groups=1):
        super().__init__()
        lrn = lambda: nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=groups), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=groups), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=groups), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def build(name, num_classes=10, groups=1):
    return LeNet5(num_classes) if name == "lenet5" else AlexNet(num_classes, groups)


def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("eval", help="evaluate a cnngpu checkpoint in PyTorch (Fashion-MNIST test set)")
    e.add_argument("checkpoint")
    e.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    x = sub.add_parser("export", help="save a freshly initialised PyTorch model as safetensors")
    x.add_argument("model", choices=["lenet5", "alexnet"])
    x.add_argument("out")
    x.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("to-safetensors", help="convert a torch.save()d state_dict")
    c.add_argument("pt")
    c.add_argument("out")
    c.add_argument("--model", default="lenet5")
    args = p.parse_args()

    if args.cmd == "eval":
        state = load_file(args.checkpoint)
        model = build("lenet5" if "conv1.weight" in state else "alexnet")
        model.load_state_dict(state, strict=True)  # names and shapes must match exactly
        model.eval()
        images = read_idx_gz(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"))
        labels = torch.from_numpy(read_idx_gz(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
        xs = F.pad(torch.from_numpy(images.copy()).unsqueeze(1), (2, 2, 2, 2)).float() / 255.0
        xs = (xs - 0.2860) / 0.3530
        with torch.no_grad():
            logits = model(xs)
        loss = F.cross_entropy(logits, labels).item()
        top1 = (logits.argmax(1) == labels).float().mean().item()
        print(f"PyTorch on the cnngpu checkpoint: loss {loss:.4f}, top-1 {100 * top1:.2f}% ({len(labels)} images)")
    elif args.cmd == "export":
        torch.manual_seed(args.seed)
        model = build(args.model)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out,
                  metadata={"format": "pt", "model": args.model})
        print("wrote", args.out)
    else:
        state = torch.load(args.pt, map_location="cpu")
        state = state.get("state_dict", state)
        save_file({k: v.float().contiguous() for k, v in state.items()}, args.out,
                  metadata={"format": "pt", "model": args.model})
        print("wrote", args.out)


if __name__ == "__main__":
    main()
