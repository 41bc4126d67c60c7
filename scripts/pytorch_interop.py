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

    # ResNets and GoogLeNet are torchvision's own modules (resnet18, resnet34, resnet50;
    # googlenet with its auxiliary classifiers, or without where the checkpoint has none,
    # inputs resized to 64): both ways, and the
    # probabilities of `cnngpu eval --predictions` compared with torchvision's on the same images
    python3 scripts/pytorch_interop.py export resnet18 r18.safetensors
    cnngpu eval --checkpoint r18.safetensors --images 500 --predictions p.csv
    python3 scripts/pytorch_interop.py eval r18.safetensors --data-dir assets/fashion-mnist-sample \
        --images 500 --compare p.csv

Needs: pip install torch safetensors numpy (and, for the ResNets and GoogLeNet, pip install --no-deps torchvision)
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


RESNETS = ["resnet18", "resnet34", "resnet50"]


def build(name, num_classes=10, groups=1, aux=True):
    if name in RESNETS:
        import torchvision
        return getattr(torchvision.models, name)(num_classes=num_classes)
    if name == "googlenet":
        import torchvision
        # torchvision's own initialisation; aux: the auxiliary classifiers (aux1, aux2).
        return torchvision.models.googlenet(num_classes=num_classes, aux_logits=aux,
                                            init_weights=True)
    return LeNet5(num_classes) if name == "lenet5" else AlexNet(num_classes, groups)


def model_of(state):
    """The model a state_dict belongs to, from its tensor names."""
    if "inception3a.branch1.conv.weight" in state:
        return "googlenet"
    if "layer1.0.conv1.weight" in state:
        if "layer1.0.conv3.weight" in state:
            return "resnet50"
        return "resnet34" if "layer3.5.conv1.weight" in state else "resnet18"
    return "lenet5" if "conv1.weight" in state else "alexnet"


def inputs(name, images):
    """cnngpu's preprocessing of 28x28 grey images for `name` (evaluation: no augmentation)."""
    x = torch.from_numpy(images.copy()).unsqueeze(1).float() / 255.0
    if name == "lenet5":
        return (F.pad(x, (2, 2, 2, 2)) - 0.2860) / 0.3530
    if name in RESNETS or name == "googlenet":
        side = 64 if name == "googlenet" else 32
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
        return ((x - 0.2860) / 0.3530).expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
    return ((x - 0.2860) / 0.3530).expand(-1, 3, -1, -1)[:, :, 14:241, 14:241]


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
    e.add_argument("--images", type=int, default=0, help="the first N test images only")
    e.add_argument("--compare", help="a `cnngpu eval --predictions` CSV of the same images")
    x = sub.add_parser("export", help="save a freshly initialised PyTorch model as safetensors")
    x.add_argument("model", choices=["lenet5", "alexnet", "googlenet"] + RESNETS)
    x.add_argument("out")
    x.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("to-safetensors", help="convert a torch.save()d state_dict")
    c.add_argument("pt")
    c.add_argument("out")
    c.add_argument("--model", default="lenet5")
    args = p.parse_args()

    if args.cmd == "eval":
        state = load_file(args.checkpoint)
        name = model_of(state)
        model = build(name, aux="aux1.fc2.weight" in state)
        model.load_state_dict(state, strict=True)  # names and shapes must match exactly
        model.eval()
        images = read_idx_gz(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"))
        labels = read_idx_gz(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz"))
        if args.images:
            images, labels = images[:args.images], labels[:args.images]
        labels = torch.from_numpy(labels.astype(np.int64))
        with torch.no_grad():
            logits = torch.cat([model(inputs(name, images[s:s + 256]))
                                for s in range(0, len(images), 256)])
        loss = F.cross_entropy(logits, labels).item()
        top1 = (logits.argmax(1) == labels).float().mean().item()
        print(f"PyTorch ({name}) on the cnngpu checkpoint: loss {loss:.4f}, "
              f"top-1 {100 * top1:.2f}% ({len(labels)} images)")
        if args.compare:
            probs = logits.softmax(1)
            worst = 0.0
            with open(args.compare) as f:
                next(f)
                for line in f:
                    index, _, _, top5, p5 = line.strip().split(",")
                    for k, p in zip(top5.split(), p5.split()):
                        worst = max(worst, abs(probs[int(index), int(k)].item() - float(p)))
            print(f"largest |p_torch - p_cnngpu| over the CSV's top-5 probabilities: {worst:.2e}")
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
