#!/usr/bin/env python3
"""calibrate.py MODEL PROB OUT: MODEL with its four head biases shifted so
that its segmentation is not empty.

A network trained for a step or two, as the pipeline tests can afford, labels
every voxel background.  PROB holds that model's four probabilities on one
record (r2u-infer --prob: wt, ncr, ed, et); the biases move each head's logits
so that about 3% of the voxels become tumour, 70% of those enhancing tumour and
half of the rest necrosis.  The labels still depend on the input voxel by voxel
(a bias adds the same amount to every logit, also through the bilinear
upsampling of the ncr and ed heads), so ensembles, flips and label conventions
give maps that can be told apart.  Everything else in the file is copied.
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import brtest  # noqa: E402


def logit(p):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def main():
    model, prob, out = sys.argv[1:4]
    p = brtest.read_nrrd(prob).data  # (x, y, z, 4)
    if p.ndim != 4 or p.shape[3] != 4:
        sys.exit("calibrate.py: %s: expected four probability channels, got shape %s" % (prob, p.shape))
    wt, ncr, et = logit(p[..., 0]), logit(p[..., 1]), logit(p[..., 3])
    shift = {"head_wt.bias": -np.quantile(wt, 0.97)}
    tum = wt + shift["head_wt.bias"] >= 0
    shift["head_et.bias"] = -np.quantile(et[tum], 0.3)
    core = tum & (et + shift["head_et.bias"] < 0)
    shift["head_ncr.bias"] = -np.quantile(ncr[core], 0.5)
    raw = open(model, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    for name, d in shift.items():
        t = hdr[name]
        if t["dtype"] != "F32" or t["shape"] != [1]:
            sys.exit("calibrate.py: %s: %s is %s %s, expected F32 [1]" % (model, name, t["dtype"], t["shape"]))
        a, _ = t["data_offsets"]
        b = struct.unpack("<f", data[a:a + 4])[0]
        data[a:a + 4] = struct.pack("<f", b + d)
    with open(out, "wb") as f:
        f.write(raw[:8 + n])
        f.write(bytes(data))


if __name__ == "__main__":
    main()
