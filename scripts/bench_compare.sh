#!/usr/bin/env bash
# Redoes the committed comparison in benches/results/ (README, "Benchmarks"): the quick suite
# and the LeNet-5 / AlexNet training items on cnngpu Vulkan (the system lavapipe), cnngpu
# Vulkan with Mesa 25's lavapipe (when ../shared/tools/lavapipe-mesa25 is there), cnngpu GL
# (llvmpipe) and PyTorch on the CPU with 2 threads, one after another, then the two
# comparison tables and charts. About 75 minutes on a 2-core host (Mesa 25's cold shader cache
# is 40 of them); run nothing else meanwhile. With --train only the training items and their
# comparison (compare-train.md) are redone.
#   scripts/bench_compare.sh [--train] [OUT_DIR]        (default benches/results)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=1
if [ "${1:-}" = --train ]; then
  quick=0
  shift
fi
R=${1:-benches/results}
mkdir -p "$R"
cargo build --release
cnngpu=target/release/cnngpu
# LeNet-5 and AlexNet at both batches on the reference driver and PyTorch; the first batch
# elsewhere (GL's AlexNet steps take a minute or two each).
all=train/lenet5,train/alexnet
first=train/lenet5/b64,train/alexnet/b32
step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

step "Vulkan, system lavapipe"
[ $quick = 1 ] && $cnngpu bench --quick --adapter vulkan --out "$R/lavapipe-vulkan.json"
$cnngpu bench --filter "$all" --adapter vulkan --out "$R/train-lavapipe-vulkan.json"

mesa25=../shared/tools/lavapipe-mesa25
if [ -x "$mesa25" ]; then
  step "Vulkan, Mesa 25 lavapipe"
  (
    eval "$($mesa25)"
    [ $quick = 1 ] && $cnngpu bench --quick --adapter vulkan --out "$R/lavapipe-mesa25-vulkan.json"
    $cnngpu bench --filter "$first" --adapter vulkan --out "$R/train-lavapipe-mesa25-vulkan.json"
  )
else
  echo "no $mesa25: Mesa 25's reports are left as they are" >&2
fi

step "GL, llvmpipe"
[ $quick = 1 ] && $cnngpu bench --quick --adapter gl --out "$R/llvmpipe-gl.json"
$cnngpu bench --filter "$first" --adapter gl --out "$R/train-llvmpipe-gl.json"

step "PyTorch, CPU, 2 threads"
$cnngpu bench --list --quick > /tmp/suite-quick.json
$cnngpu bench --list > /tmp/suite-full.json
[ $quick = 1 ] &&
  python3 scripts/bench_pytorch.py --suite /tmp/suite-quick.json --threads 2 --out "$R/pytorch-cpu.json"
python3 scripts/bench_pytorch.py --suite /tmp/suite-full.json --filter "$all" --threads 2 \
  --out "$R/train-pytorch-cpu.json"

step "comparisons"
reports() { for r in "$@"; do [ -f "$R/$r" ] && echo "$R/$r"; done; }
# shellcheck disable=SC2046
[ $quick = 1 ] && $cnngpu bench compare $(reports lavapipe-vulkan.json lavapipe-mesa25-vulkan.json \
  llvmpipe-gl.json pytorch-cpu.json) --chart "$R/compare.png" > "$R/compare.md"
# shellcheck disable=SC2046
$cnngpu bench compare $(reports train-lavapipe-vulkan.json train-lavapipe-mesa25-vulkan.json \
  train-llvmpipe-gl.json train-pytorch-cpu.json) --chart "$R/compare-train.png" > "$R/compare-train.md"
step "done"
