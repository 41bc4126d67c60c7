#!/usr/bin/env python3
"""Writes assets/fashion-mnist-sample/: the first 5,000 training and 1,000 test images of
Fashion-MNIST (gzipped IDX, the same format as the full set), taken from Debian's package
`dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist). Fashion-MNIST is MIT-licensed
(Copyright (c) 2017 Zalando SE); the licence is copied beside the files."""
import gzip, os, struct, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
DST = os.path.join(os.path.dirname(__file__), "..", "assets", "fashion-mnist-sample")
COUNTS = {"train": 5000, "t10k": 1000}

def subset(name, n):
    with gzip.open(os.path.join(SRC, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = list(struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim]))
    per = 1
    for d in dims[1:]:
        per *= d
    dims[0] = n
    head = raw[:4] + struct.pack(">" + "I" * ndim, *dims)
    body = raw[4 + 4 * ndim: 4 + 4 * ndim + n * per]
    # mtime=0: the same bytes every time the sample is made.
    with open(os.path.join(DST, name), "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
            g.write(head + body)

os.makedirs(DST, exist_ok=True)
for split, n in COUNTS.items():
    subset(f"{split}-images-idx3-ubyte.gz", n)
    subset(f"{split}-labels-idx1-ubyte.gz", n)
print("wrote", os.path.abspath(DST))
