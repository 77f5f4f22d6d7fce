#!/usr/bin/python3
"""Reference cc-filter in NumPy/SciPy, independent of the C code.

usage: cc_ref.py [-c 6|18|26] [-r RATIO] [-k] [-m N] IN OUT
IN/OUT: .nii/.nii.gz (one record) or .nrrd (every record of the stream).
Prints "components kept removed" per record on stdout.
"""
import argparse
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, __import__("os").path.dirname(__file__))
import postlib  # noqa: E402

RANK = {6: 1, 18: 2, 26: 3}


def cc_filter(seg, connectivity=26, ratio=0.1, keep_largest=False, min_voxels=0):
    """The paper's rule; returns (filtered copy, found, kept, removed)."""
    st = ndimage.generate_binary_structure(3, RANK[connectivity])
    lab, n = ndimage.label(seg > 0, structure=st)
    out = seg.copy()
    if n == 0:
        return out, 0, 0, 0
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    # the largest; on a tie the component whose first voxel comes first
    # with x running fastest (the C tool's raster order)
    labf = lab.ravel(order="F")
    ids, first = np.unique(labf, return_index=True)
    first_of = np.full(n + 1, np.iinfo(np.int64).max)
    first_of[ids] = first
    cand = np.flatnonzero(sizes[1:] == sizes[1:].max()) + 1
    big = cand[np.argmin(first_of[cand])]
    keep = np.zeros(n + 1, bool)
    if keep_largest:
        keep[big] = True
    else:
        keep[1:] = sizes[1:] >= ratio * sizes[big]
        keep[big] = True
    keep[sizes < min_voxels] = False
    keep[0] = True  # background stays as it is
    drop = ~keep[lab]
    out[drop] = 0
    return out, n, int(keep[1:].sum()), int(drop.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", type=int, default=26)
    ap.add_argument("-r", type=float, default=0.1)
    ap.add_argument("-k", action="store_true")
    ap.add_argument("-m", type=int, default=0)
    ap.add_argument("inp")
    ap.add_argument("out")
    a = ap.parse_args()
    if a.inp.endswith(".nrrd"):
        recs = postlib.nrrd_read_stream(a.inp)
    else:
        recs = [postlib.read_volume(a.inp)]
    outs = []
    for r in recs:
        o, n, k, rm = cc_filter(np.asarray(r.data), a.c, a.r, a.k, a.m)
        print(n, k, rm)
        outs.append(postlib.Record(o, r.affine, r.meta))
    if a.out.endswith(".nrrd"):
        postlib.nrrd_write(a.out, outs)
    else:
        postlib.write_nifti(a.out, outs[0].data, outs[0].affine)


if __name__ == "__main__":
    main()
