#!/usr/bin/env python3
"""Checks one cnngpu training step against PyTorch: loads the file `cargo run --example
step_dump` writes (initial weights, batch, loss, gradients), runs the same step in torchvision's
model (train mode, dropout 0) and prints the loss of both and, per parameter, the relative
distance of the gradients, worst first, then the same for the batch-norm running statistics.

    cargo run --release --example step_dump -- googlenet 64 8 /tmp/step.safetensors
    python3 scripts/compare_step.py /tmp/step.safetensors [--f64]

A dump of several steps (`STEP_COUNT=K`, `STEP_LR`) is replayed step by step with PyTorch's SGD,
and the weights and running statistics after the last are compared too.

With --f64 it also runs the step in float64 and sets both f32 results against it: where PyTorch
in f32 is as far from float64 as cnngpu is, the difference is f32's rounding, not a bug.

Needs: pip install torch safetensors; pip install --no-deps torchvision
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pytorch_interop import build  # noqa: E402


def step(t, model_name, dtype):
    """One training step of torchvision's model from the dump's initial weights, in `dtype`:
    (model after backward, main-head loss)."""
    torch.manual_seed(0)
    m = build(model_name, 10, 1, aux="init/aux1.fc2.weight" in t)
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
    m.to(dtype)
    for mod in m.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    m.train()
    # A dump of several steps (STEP_COUNT) holds their batches one after another.
    steps = int(t["steps"].item()) if "steps" in t else 1
    opt = None
    if "lr" in t:
        opt = torch.optim.SGD(m.parameters(), lr=t["lr"].item(), momentum=0.9,
                              weight_decay=5e-4)
    for x, y in zip(t["x"].to(dtype).chunk(steps), t["labels"].long().chunk(steps)):
        m.zero_grad()
        out = m(x)
        aux = []
        if hasattr(out, "logits"):  # GoogLeNet's outputs: the logits and the auxiliary heads'
            aux = [a for a in (out.aux_logits1, out.aux_logits2) if a is not None]
            out = out.logits
        loss = F.cross_entropy(out, y)
        # cnngpu reports the main head's loss; its gradients are those of the weighted sum.
        total = loss + sum(0.3 * F.cross_entropy(a, y) for a in aux)
        total.backward()
        if opt is not None:
            opt.step()
    return m, loss


def against_f64(t, m, model_name):
    """Per parameter, the relative distance from float64's gradient of cnngpu's and of
    PyTorch's in f32; their medians."""
    m64, loss64 = step(t, model_name, torch.float64)
    print(f"loss in float64 (the last step's): {loss64.item():.6f}")
    params64 = dict(m64.named_parameters())
    rows = []
    for name, p in m.named_parameters():
        g64 = params64[name].grad
        n = max(g64.norm().item(), 1e-30)
        ours = (t["grad/" + name].reshape(p.shape).double() - g64).norm().item() / n
        theirs = (p.grad.double() - g64).norm().item() / n
        rows.append((ours, theirs, name))
    rows.sort(reverse=True)
    print("against float64: cnngpu f32, PyTorch f32, parameter (worst for cnngpu first)")
    for ours, theirs, name in rows[:12]:
        print(f"{ours:10.3e} {theirs:10.3e}  {name}")
    mid = len(rows) // 2
    print(f"median relative distance from float64: cnngpu {sorted(r[0] for r in rows)[mid]:.3e}, "
          f"PyTorch f32 {sorted(r[1] for r in rows)[mid]:.3e} over {len(rows)} tensors")
    rows = []
    for name, p in m.named_parameters():
        if "final/" + name in t:
            w64 = params64[name].detach()
            n = max(w64.norm().item(), 1e-30)
            ours = (t["final/" + name].reshape(p.shape).double() - w64).norm().item() / n
            rows.append((ours, (p.detach().double() - w64).norm().item() / n, name))
    if rows:
        rows.sort(reverse=True)
        mid = len(rows) // 2
        for ours, theirs, name in rows[:4]:
            print(f"{ours:10.3e} {theirs:10.3e}  {name} (weights after the steps)")
        print(f"weights after the steps, median relative distance from float64: cnngpu "
              f"{sorted(r[0] for r in rows)[mid]:.3e}, PyTorch f32 "
              f"{sorted(r[1] for r in rows)[mid]:.3e}")


def main():
    path = sys.argv[1]
    t = load_file(path)
    with safe_open(path, "pt") as f:
        model_name = f.metadata()["model"]
    m, loss = step(t, model_name, torch.float32)
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
    # Running statistics after the step (momentum 0.1, unbiased variance in running_var).
    rows = []
    for name, buf in m.named_buffers():
        key = "buf/" + name
        if key in t:
            d = (t[key].reshape(buf.shape) - buf).norm().item()
            rows.append((d / max(buf.norm().item(), 1e-30), name))
    if rows:
        rows.sort(reverse=True)
        for r, name in rows[:4]:
            print(f"{r:10.3e}  {name}")
        mid = sorted(r for r, _ in rows)[len(rows) // 2]
        print(f"running statistics: worst relative distance {rows[0][0]:.3e}, median {mid:.3e} "
              f"over {len(rows)} tensors")
    # The weights after several steps.
    rows = []
    for name, p in m.named_parameters():
        if "final/" + name in t:
            d = (t["final/" + name].reshape(p.shape) - p.detach()).norm().item()
            rows.append((d / max(p.norm().item(), 1e-30), name))
    if rows:
        rows.sort(reverse=True)
        mid = sorted(r for r, _ in rows)[len(rows) // 2]
        print(f"weights after {int(t['steps'].item())} steps: worst relative distance "
              f"{rows[0][0]:.3e} ({rows[0][1]}), median {mid:.3e} over {len(rows)} tensors")
    if "--f64" in sys.argv[2:]:
        against_f64(t, m, model_name)


if __name__ == "__main__":
    main()
