#!/usr/bin/python3
"""Comparisons for the post-processing tests.

cmp.py vol A B        same voxels, dtype, shape and affine (every record)
cmp.py csv A B [TOL]  same header and labels, values within TOL (1e-4)
Exit 0 when equal; otherwise one line saying where they differ.
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import postlib  # noqa: E402


def records(path):
    if path.endswith(".nrrd"):
        return postlib.nrrd_read_stream(path)
    return [postlib.read_volume(path)]


def cmp_vol(a, b):
    ra, rb = records(a), records(b)
    if len(ra) != len(rb):
        return "%d records against %d" % (len(ra), len(rb))
    for i, (x, y) in enumerate(zip(ra, rb)):
        dx, dy = np.asarray(x.data), np.asarray(y.data)
        if dx.shape != dy.shape:
            return "record %d: shape %s against %s" % (i + 1, dx.shape, dy.shape)
        if dx.dtype != dy.dtype:
            return "record %d: dtype %s against %s" % (i + 1, dx.dtype, dy.dtype)
        if not np.array_equal(dx, dy):
            bad = np.argwhere(dx != dy)
            return "record %d: %d voxels differ, first at %s (%s vs %s)" % (
                i + 1, len(bad), tuple(bad[0]), dx[tuple(bad[0])], dy[tuple(bad[0])])
        if not np.allclose(x.affine, y.affine, atol=1e-4):
            return "record %d: affines differ\n%s\n%s" % (i + 1, x.affine, y.affine)
    return None


def cmp_csv(a, b, tol):
    ra, rb = list(csv.reader(open(a))), list(csv.reader(open(b)))
    if len(ra) != len(rb):
        return "%d rows against %d" % (len(ra), len(rb))
    if ra[0] != rb[0]:
        return "headers differ: %s / %s" % (ra[0], rb[0])
    worst = 0.0
    for x, y in zip(ra[1:], rb[1:]):
        if x[0] != y[0] or len(x) != len(y):
            return "row %s against %s" % (x[0], y[0])
        for h, u, v in zip(ra[0][1:], x[1:], y[1:]):
            d = abs(float(u) - float(v))
            worst = max(worst, d)
            if not d <= tol:
                return "%s %s: %s against %s" % (x[0], h, u, v)
    print("max |difference| %.2g over %d rows" % (worst, len(ra) - 1))
    return None


def main():
    kind, a, b = sys.argv[1:4]
    err = cmp_vol(a, b) if kind == "vol" else cmp_csv(a, b, float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4)
    if err:
        print(err)
        sys.exit(1)


if __name__ == "__main__":
    main()
