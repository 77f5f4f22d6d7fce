#!/usr/bin/python3
"""Inputs for bench/post.sh (seeded): tumour-like label maps with many small
components on the full BraTS grid and on the cropped grid, and a case to
score (ground truth and a perturbed prediction).

post_data.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "post"))
import postlib  # noqa: E402


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    aff = postlib.affine_for((1, 1, 1), (0.0, -239.0, 0.0))
    # what cc-filter meets: a tumour, a smaller second one, thousands of specks
    for name, shape, n in (("cc_240x240x155", (240, 240, 155), 3000), ("cc_144x176x155", (144, 176, 155), 2000)):
        lab = postlib.cc_test_mask(rng, shape, nspecks=n)
        postlib.write_nifti(os.path.join(d, name + ".nii"), lab, aff)
        fg = lab > 0
        print("%s: %d tumour voxels" % (name, fg.sum()), file=sys.stderr)
    # a case to score: a typical tumour, a prediction with its errors and
    # scattered false positives (before cc-filter), and after cc-filter
    gt = postlib.phantom_labels(rng, (240, 240, 155), centre=(110, 120, 75), radii=(30, 34, 24))
    pred = postlib.perturb(rng, gt, shift=2, flips=0.2, specks=40)
    postlib.write_nifti(os.path.join(d, "gt.nii.gz"), gt, aff)
    postlib.write_nifti(os.path.join(d, "pred.nii.gz"), pred, aff)
    print("case: WT %d voxels" % (gt > 0).sum(), file=sys.stderr)


if __name__ == "__main__":
    main()
