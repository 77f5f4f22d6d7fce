#!/usr/bin/python3
"""check_case.py PICTURE SEG: a 3x2 montage of a cropped case drawn by
slice-png -m t1ce --overlay SEG: its size, its slices (evenly spaced
through the tumour of SEG), the channel drawn, and enhancing-tumour pixels
in yellow.  Exits 1 with the reason."""
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, HERE)
import brtest  # noqa: E402
import pngdec  # noqa: E402


def main():
    png = pngdec.decode(sys.argv[1])
    seg = brtest.read_nrrd(sys.argv[2])
    nx, ny, nz = seg.data.shape
    bad = []
    want = (3 * nx + 2 * 6, 2 * ny + 6)  # tiles 6 pixels apart
    if (png.width, png.height) != want:
        bad.append("size %d x %d, expected %d x %d" % ((png.width, png.height) + want))
    comment = png.text.get("Comment", "")
    m = re.search(r"slices ([0-9 ]+) \(", comment)
    ks = np.nonzero(seg.data.any(axis=(0, 1)))[0]
    first, last = int(ks.min()), int(ks.max())
    want = [first + int(np.floor(i * (last - first) / 5 + 0.5)) for i in range(6)]
    got = [int(s) for s in m.group(1).split()] if m else None
    if got != want:
        bad.append("slices %s, expected %s" % (got, want))
    if "(t1ce)" not in comment:
        bad.append("not t1ce: %s" % comment)
    px = png.pixels.astype(int)
    yellow = (px[..., 0] >= 128) & (abs(px[..., 0] - px[..., 1]) <= 1) & (px[..., 2] <= px[..., 0] - 100)
    if yellow.sum() < 10:
        bad.append("no yellow (ET) pixels")
    if bad:
        print("; ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
