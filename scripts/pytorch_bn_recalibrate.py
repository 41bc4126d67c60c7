#!/usr/bin/env python3
"""How much of a batch-norm network's test top-1 its running statistics cost: evaluates a
checkpoint (cnngpu's, or any safetensors state_dict of the same network) in PyTorch on the
first --test-images test images of the bundled sample twice — with the running statistics it
holds (what `cnngpu eval` and the epoch line report), then with statistics recomputed over the
first --train-images training images in one pass (train mode, no updates, cumulative
averages, no augmentation) — and prints, per batch-norm layer, how far the held ones lie from
the recomputed ones.

    python3 scripts/pytorch_bn_recalibrate.py runs/googlenet/last.safetensors

Needs: pip install torch numpy safetensors; pip install --no-deps torchvision
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_interop import build, inputs, model_of, read_idx_gz  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets",
                      "fashion-mnist-sample")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--data-dir", default=SAMPLE)
    p.add_argument("--train-images", type=int, default=2000)
    p.add_argument("--test-images", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    state = load_file(a.checkpoint)
    name = model_of(state)
    model = build(name, aux="aux1.fc2.weight" in state)
    r = model.load_state_dict(state, strict=False)
    # Only the counters may be missing (a state_dict saved without them).
    if r.unexpected_keys or any(not k.endswith("num_batches_tracked") for k in r.missing_keys):
        sys.exit(f"{a.checkpoint}: not a {name} state_dict: {r}")

    def split(kind, n):
        x = read_idx_gz(os.path.join(a.data_dir, f"{kind}-images-idx3-ubyte.gz"))[:n]
        y = read_idx_gz(os.path.join(a.data_dir, f"{kind}-labels-idx1-ubyte.gz"))[:n]
        return inputs(name, x), torch.from_numpy(y.astype(np.int64))

    xte, yte = split("t10k", a.test_images)
    xtr, _ = split("train", a.train_images)

    def evaluate():
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(xte[s:s + 250]) for s in range(0, len(xte), 250)])
        return F.cross_entropy(out, yte).item(), 100.0 * (out.argmax(1) == yte).float().mean().item()

    print("held running statistics:       loss %.4f, top-1 %.2f%%" % evaluate())
    norms = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    held = {n: (m.running_mean.clone(), m.running_var.clone()) for n, m in norms.items()}
    for m in norms.values():
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the pass
    model.train()
    with torch.no_grad():
        for s in range(0, len(xtr), 64):
            model(xtr[s:s + 64])
    print("recomputed over %5d images:  loss %.4f, top-1 %.2f%%" % ((len(xtr),) + evaluate()))
    ratios, shifts = [], []
    for n, m in norms.items():
        mean, var = held[n]
        ratios.append((var / m.running_var).median().item())
        shifts.append(((mean - m.running_mean).abs() / m.running_var.sqrt()).median().item())
    print(f"{len(norms)} batch norms, median over channels: held/recomputed variance "
          f"{min(ratios):.3f}..{max(ratios):.3f} (median {np.median(ratios):.3f}); "
          f"|held - recomputed mean| / std {min(shifts):.3f}..{max(shifts):.3f} "
          f"(median {np.median(shifts):.3f})")


if __name__ == "__main__":
    main()
