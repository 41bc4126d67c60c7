#!/usr/bin/env python3
"""The cnngpu benchmark suite run by PyTorch on the CPU, written in cnngpu's report schema.

The suite comes from cnngpu itself (`cnngpu bench --list [--quick]`), so every item has the same
id and shape in both reports and `cnngpu bench compare` can pair them:

  * ceiling/fma  - a large f32 matmul (GFLOP/s), PyTorch's best case on this CPU;
  * ceiling/copy - a 64 MiB tensor copy (GB/s, bytes read + written);
  * kernel/...   - conv2d, linear, pooling, LRN, ReLU/tanh passes at the LeNet-5 and AlexNet
                   layer shapes: forward with torch.nn.functional, backward_input and
                   backward_weight with torch.nn.grad / matmuls (what autograd calls), f32 only;
  * train/...    - forward + backward + SGD (momentum 0.9, weight decay 5e-4) of the same
                   LeNet-5 and AlexNet (scripts/pytorch_interop.py), one fixed random batch,
                   after one warm-up step, like cnngpu's suite (which also uploads the batch
                   to the device each step; here it stays in memory).

f16 items are reported as skipped: PyTorch has no f16 training path on the CPU that compares
with f16 storage on a GPU. Ops PyTorch has no separate kernel for (dropout, top-k, the fused
loss, SGD) are skipped too.

Usage (the repository root; cnngpu built):
    cargo run --release -- bench --list > /tmp/suite.json        # add --quick for the short suite
    python3 scripts/bench_pytorch.py --suite /tmp/suite.json --threads 2 --out pytorch.json
    cargo run --release -- bench compare cnngpu.json pytorch.json --chart compare.png
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_interop import build  # noqa: E402  (the same LeNet5 / AlexNet modules)


def timed(fn, min_secs):
    """Seconds per call: one warm-up call, then calls until min_secs have passed."""
    fn()
    start = time.perf_counter()
    reps = 0
    while reps == 0 or (time.perf_counter() - start < min_secs and reps < 1000):
        fn()
        reps += 1
    return (time.perf_counter() - start) / reps


def kernel_fn(params, pass_name):
    """A closure running one pass of one op, or None when PyTorch has no such kernel."""
    op = params["op"]
    g = torch.Generator().manual_seed(1)

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    if op == "conv2d":
        n, c, h, w = params["batch"], params["in_channels"], params["in_h"], params["in_w"]
        o, k, s, p, groups = (params["out_channels"], params["kernel"], params["stride"],
                              params["padding"], params["groups"])
        x, wt, b = rand(n, c, h, w), rand(o, c // groups, k, k), rand(o)
        y = F.conv2d(x, wt, b, s, p, 1, groups)
        dy = rand(*y.shape)
        return {
            "forward": lambda: F.conv2d(x, wt, b, s, p, 1, groups),
            "backward_input": lambda: torch.nn.grad.conv2d_input(x.shape, wt, dy, s, p, 1, groups),
            "backward_weight": lambda: torch.nn.grad.conv2d_weight(x, wt.shape, dy, s, p, 1, groups),
            "backward_bias": lambda: dy.sum((0, 2, 3)),
        }.get(pass_name)
    if op == "linear":
        n, i, o = params["batch"], params["in_features"], params["out_features"]
        x, wt, b, dy = rand(n, i), rand(o, i), rand(o), rand(n, o)
        return {
            "forward": lambda: F.linear(x, wt, b),
            "backward_input": lambda: dy @ wt,
            "backward_weight": lambda: dy.t() @ x,
            "backward_bias": lambda: dy.sum(0),
        }.get(pass_name)
    if op in ("max_pool2d", "avg_pool2d"):
        x = rand(params["batch"], params["channels"], params["in_h"], params["in_w"])
        pool = F.max_pool2d if op == "max_pool2d" else F.avg_pool2d
        args = (params["kernel"], params["stride"], params["padding"])
        if pass_name == "forward":
            return lambda: pool(x, *args)
        xr = x.clone().requires_grad_(True)
        y = pool(xr, *args)
        dy = rand(*y.shape)
        return lambda: torch.autograd.grad(y, xr, dy, retain_graph=True)
    if op == "lrn":
        x = rand(params["batch"], params["channels"], params["h"], params["w"])
        args = (params["size"], params["alpha"], params["beta"], params["k"])
        if pass_name == "forward":
            return lambda: F.local_response_norm(x, *args)
        xr = x.clone().requires_grad_(True)
        y = F.local_response_norm(xr, *args)
        dy = rand(*y.shape)
        return lambda: torch.autograd.grad(y, xr, dy, retain_graph=True)
    if op in ("relu", "tanh"):
        x = rand(*params["shape"])
        f = torch.relu if op == "relu" else torch.tanh
        if pass_name == "forward":
            return lambda: f(x)
        y, dy = f(x), rand(*params["shape"])
        if op == "relu":
            return lambda: torch.where(x > 0, dy, torch.zeros(()))
        return lambda: dy * (1 - y * y)
    return None


def flops_of(params, pass_name):
    op = params["op"]
    if op == "conv2d":
        oh = (params["in_h"] + 2 * params["padding"] - params["kernel"]) // params["stride"] + 1
        ow = (params["in_w"] + 2 * params["padding"] - params["kernel"]) // params["stride"] + 1
        out = params["batch"] * params["out_channels"] * oh * ow
        if pass_name == "backward_bias":
            return out
        return 2 * out * params["in_channels"] // params["groups"] * params["kernel"] ** 2
    if op == "linear":
        out = params["batch"] * params["out_features"]
        return out if pass_name == "backward_bias" else 2 * out * params["in_features"]
    return 0


def train_fn(model_name, batch):
    if model_name == "unet":
        # cnngpu's U-Net (scripts/unet.py): one channel, 64x64, 10 classes per pixel.
        from unet import UNet
        model = UNet(1, 10, 16)
    else:
        model = build(model_name, 10, 1)
    model.train()
    shape = {"lenet5": (1, 32, 32), "alexnet": (3, 227, 227), "unet": (1, 64, 64),
             "googlenet": (3, 64, 64)}.get(model_name, (3, 32, 32))
    g = torch.Generator().manual_seed(7)
    x = torch.rand(batch, *shape, generator=g) * 2 - 1
    labels = (batch, 64, 64) if model_name == "unet" else (batch,)
    y = torch.randint(0, 10, labels, generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        if hasattr(out, "logits"):  # GoogLeNet trains its auxiliary heads too, as cnngpu's
            aux = [a for a in (out.aux_logits1, out.aux_logits2) if a is not None]
            loss = F.cross_entropy(out.logits, y) + sum(0.3 * F.cross_entropy(a, y) for a in aux)
        else:
            loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
    return step


def entry(item, group, unit, higher):
    return {"id": item["id"], "group": group, "value": None, "unit": unit,
            "higher_is_better": higher}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} logical cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores"


def os_name():
    base = f"{platform.system().lower()} {platform.machine()}"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return f"{line.split('=', 1)[1].strip().strip(chr(34))}, {base}"
    except OSError:
        pass
    return base


def capability():
    get = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return get() if get else "cpu"


def git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(suite, min_secs, log):
    results = []
    for item in suite["items"]:
        work = item["work"]
        kind = work["kind"]
        if kind == "fma_peak":
            e = entry(item, "ceiling", "GFLOP/s", True)
            a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
            secs = timed(lambda: a @ b, min_secs)
            e["value"] = 2 * 2048 ** 3 / secs / 1e9
        elif kind == "copy":
            e = entry(item, "ceiling", "GB/s", True)
            src, dst = torch.ones(16 * 1024 * 1024), torch.zeros(16 * 1024 * 1024)
            secs = timed(lambda: dst.copy_(src), min_secs)
            e["value"] = 2 * src.numel() * 4 / secs / 1e9
        elif kind == "kernel":
            e = entry(item, "kernel", "ms", False)
            fn = kernel_fn(work["params"], work["pass"]) if work["precision"] == "f32" else None
            if work["precision"] != "f32":
                e["skipped"] = "PyTorch CPU: no f16 storage path"
            elif fn is None:
                e["skipped"] = f"PyTorch has no separate {work['params']['op']} {work['pass']} kernel"
            else:
                with torch.no_grad():
                    secs = timed(fn, min_secs)
                e["value"] = e["ms"] = secs * 1e3
                flops = flops_of(work["params"], work["pass"])
                if flops:
                    e["gflops"] = flops / secs / 1e9
        else:
            e = entry(item, "train", "images/s", True)
            if item.get("skip"):
                e["skipped"] = item["skip"]
            elif work["precision"] != "f32":
                e["skipped"] = "PyTorch CPU: no f16 training path"
            else:
                secs = timed(train_fn(work["model"], work["batch"]), min_secs)
                e["ms"] = secs * 1e3
                e["value"] = e["images_per_s"] = work["batch"] / secs
        results.append(e)
        shown = e.get("skipped") or f"{e['value']:.4f} {e['unit']}"
        print(f"{item['id']:<55} {shown}", file=log, flush=True)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", required=True, help="output of `cnngpu bench --list [--quick]`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--filter", default="", help="only items whose id contains this (or one of several, comma-separated)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.suite) as f:
        suite = json.load(f)
    suite["items"] = [i for i in suite["items"] if any(f in i["id"] for f in args.filter.split(","))]
    quick = bool(suite.get("quick"))
    results = run(suite, 0.05 if quick else 0.3, sys.stderr)
    report = {
        "schema": "cnngpu-bench/1",
        "tool": "pytorch",
        "version": torch.__version__,
        "git_commit": git_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick,
        "system": {
            "adapter": f"CPU, {args.threads} threads",
            "backend": "cpu",
            "driver": f"PyTorch {torch.__version__} ({capability()})",
            "device_type": "Cpu",
            "os": os_name(),
            "cpu": cpu_name(),
        },
        "results": results,
    }
    tmp = args.out + ".part"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, args.out)
    print(f"results written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
