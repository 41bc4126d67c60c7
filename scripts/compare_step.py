#!/usr/bin/env python3
"""Checks one cnngpu training step against PyTorch: loads the file `cargo run --example
step_dump` writes (initial weights, batch, loss, gradients), runs the same step in torchvision's
model (train mode, dropout 0) and prints the loss of both and, per parameter, the relative
distance of the gradients, worst first.

    cargo run --release --example step_dump -- googlenet 64 8 /tmp/step.safetensors
    python3 scripts/compare_step.py /tmp/step.safetensors

Needs: pip install torch safetensors; pip install --no-deps torchvision
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pytorch_interop import build  # noqa: E402


def main():
    path = sys.argv[1]
    t = load_file(path)
    with safe_open(path, "pt") as f:
        model_name = f.metadata()["model"]
    torch.manual_seed(0)
    m = build(model_name, 10, 1)
    state = m.state_dict()
    init = {k[5:]: v for k, v in t.items() if k.startswith("init/")}
    for k in state:
        if k.endswith("num_batches_tracked"):
            init[k] = state[k]
        elif k.endswith("running_mean"):
            init[k] = torch.zeros_like(state[k])
        elif k.endswith("running_var"):
            init[k] = torch.ones_like(state[k])
    m.load_state_dict(init, strict=True)
    for mod in m.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    m.train()
    x, y = t["x"], t["labels"].long()
    out = m(x)
    out = out.logits if hasattr(out, "logits") else out
    loss = F.cross_entropy(out, y)
    loss.backward()
    print(f"loss: cnngpu {t['loss'].item():.6f}, pytorch {loss.item():.6f}")
    rows = []
    for name, p in m.named_parameters():
        g = t["grad/" + name].reshape(p.shape)
        d = (g - p.grad).norm().item()
        n = p.grad.norm().item()
        rows.append((d / max(n, 1e-30), name, n))
    rows.sort(reverse=True)
    for r, name, n in rows[:12]:
        print(f"{r:10.3e}  {name}  (|grad| {n:.3e})")
    print(f"median relative distance {sorted(r for r, _, _ in rows)[len(rows) // 2]:.3e} over {len(rows)} tensors")


if __name__ == "__main__":
    main()
