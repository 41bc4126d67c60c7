#!/usr/bin/env python3
"""Writes a small image-folder dataset (train/ and test/, one subfolder per class) of noisy
64x64 PNGs: blue discs, red squares and green crosses — enough to watch AlexNet's loss fall
on a CPU Vulkan driver in minutes.

    python3 scripts/make_shapes_folder.py /tmp/shapes --per-class 16
    cnngpu train --model alexnet --dataset folder --data-dir /tmp/shapes --batch-size 8 --epochs 3
"""
import argparse, os, random, struct, zlib


def png(path, w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def shape(kind, x, y):
    if kind == "disc":
        return x * x + y * y < 0.09
    if kind == "square":
        return abs(x) < 0.3 and abs(y) < 0.3
    return abs(x) < 0.08 or abs(y) < 0.08  # cross


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--per-class", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    colours = {"disc": (40, 60, 210), "square": (210, 50, 40), "cross": (40, 190, 60)}
    for split, n in (("train", a.per_class), ("test", max(2, a.per_class // 4))):
        for kind, col in colours.items():
            d = os.path.join(a.out, split, kind)
            os.makedirs(d, exist_ok=True)
            for i in range(n):
                s, dx, dy = rnd.uniform(0.7, 1.3), rnd.uniform(-0.15, 0.15), rnd.uniform(-0.15, 0.15)
                rgb = []
                for py in range(a.size):
                    for px in range(a.size):
                        x, y = (px / a.size - 0.5 - dx) / s, (py / a.size - 0.5 - dy) / s
                        noise = rnd.randint(0, 70)
                        rgb += [min(255, c + noise // 2) for c in col] if shape(kind, x, y) else [noise] * 3
                png(os.path.join(d, f"{i}.png"), a.size, a.size, rgb)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
