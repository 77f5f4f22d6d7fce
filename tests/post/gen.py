#!/usr/bin/python3
"""Test data for tests/post/t_cc_filter.sh and t_metrics.sh (generated when
the tests run; seeded, so every run sees the same volumes).

gen.py cc DIR        inputs for cc-filter
gen.py metrics DIR   predictions and ground truth for brats-metrics
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import postlib  # noqa: E402
from postlib import Record, affine_for, nrrd_write, write_nifti  # noqa: E402

ANISO = (1.0, 1.2, 2.5)


def gen_cc(d):
    rng = np.random.default_rng(20250101)
    small = postlib.cc_test_mask(rng, (64, 56, 48), nspecks=150)
    aff = affine_for(ANISO)
    write_nifti(os.path.join(d, "small.nii.gz"), small, aff)
    write_nifti(os.path.join(d, "small_i16.nii.gz"), small.astype(np.int16), aff)
    write_nifti(os.path.join(d, "small_f32.nii"), small.astype(np.float32), aff)
    # a stream of three records: two label maps and a binary mask, with metadata
    r1 = Record(postlib.cc_test_mask(rng, (40, 36, 30), nspecks=60), affine_for((1, 1, 1)),
                {"case": "BraTS20_Training_001", "content": "labels"})
    r2 = Record(postlib.cc_test_mask(rng, (33, 47, 29), nspecks=80), affine_for((0.9, 0.9, 3.0), (10, -5, 2)),
                {"case": "BraTS20_Training_002", "content": "labels", "crop": "1 2 3 33 47 29"})
    r3 = Record((postlib.cc_test_mask(rng, (30, 30, 30), nspecks=40) > 0).astype(np.uint8), affine_for((1, 1, 1)),
                {"case": "mask", "content": "mask"})
    nrrd_write(os.path.join(d, "stream.nrrd"), [r1, r2, r3])
    # voxels that touch only by an edge or a corner
    t = np.zeros((12, 12, 12), np.uint8)
    t[1:4, 1:4, 1:4] = 2                    # 27 voxels
    t[4, 4, 1] = 1                          # edge neighbour of (3,3,1)
    t[4, 4, 4] = 4                          # corner neighbour of (3,3,3)
    t[5:7, 4, 4] = 1                        # face neighbours of (4,4,4): 2 voxels
    t[9:11, 1:3, 9:11] = 2                  # 8 voxels, apart
    write_nifti(os.path.join(d, "touch.nii.gz"), t, affine_for((1, 1, 1)))
    # two equal cubes: --keep-largest keeps the one first in storage order
    tie = np.zeros((20, 20, 20), np.uint8)
    tie[2:5, 2:5, 12:15] = 4                # first voxel (x, y, z) = (2, 2, 12)
    tie[2:5, 12:15, 12:15] = 2              # (2, 12, 12)
    tie[12:15, 2:5, 2:5] = 1                # (12, 2, 2): first in storage order
    write_nifti(os.path.join(d, "tie.nii.gz"), tie, affine_for((1, 1, 1)))
    write_nifti(os.path.join(d, "empty.nii.gz"), np.zeros((16, 16, 16), np.uint8), affine_for((1, 1, 1)))
    bad = small.copy()
    bad[10, 11, 12] = 3
    write_nifti(os.path.join(d, "bad_label.nii.gz"), bad, aff)
    nrrd_write(os.path.join(d, "four.nrrd"), [Record(np.zeros((8, 8, 8, 2), np.uint8))])
    nrrd_write(os.path.join(d, "float_half.nrrd"), [Record(np.full((8, 8, 8), 0.5, np.float32))])
    labels23 = np.where(small == 4, 3, small).astype(np.uint8)
    write_nifti(os.path.join(d, "small23.nii.gz"), labels23, aff)
    # a full BraTS grid with thousands of false-positive specks
    big = postlib.cc_test_mask(rng, (240, 240, 155), nspecks=2500)
    write_nifti(os.path.join(d, "big.nii.gz"), big, affine_for((1, 1, 1)))


def save_case(d, case, gt, pred, aff, gt_name="%s_seg.nii.gz", pred_ext=".nii.gz"):
    os.makedirs(os.path.join(d, "gt", case), exist_ok=True)
    os.makedirs(os.path.join(d, "pred"), exist_ok=True)
    write_nifti(os.path.join(d, "gt", case, gt_name % case), gt, aff)
    path = os.path.join(d, "pred", case + pred_ext)
    if pred_ext == ".nrrd":
        nrrd_write(path, [Record(pred, aff, {"case": case, "content": "labels"})])
    else:
        write_nifti(path, pred, aff)


def gen_metrics(d):
    rng = np.random.default_rng(20250202)
    shape = (40, 36, 30)
    aff = affine_for(ANISO)
    ph = lambda: postlib.phantom_labels(rng, shape, radii=[0.25 * s for s in shape])
    z = np.zeros(shape, np.uint8)
    g = ph()
    cases = {}
    cases["c01_both_empty"] = (z, z)
    cases["c02_pred_empty"] = (g, z)
    cases["c03_gt_empty"] = (z, g)
    no_et = np.where(g == 4, 1, g).astype(np.uint8)
    cases["c04_et_gt_empty"] = (no_et, g)
    cases["c05_et_pred_empty"] = (g, no_et)
    cases["c06_et_both_empty"] = (no_et, postlib.perturb(rng, no_et, specks=0, drop_et=True))
    cases["c07_tc_gt_empty"] = (np.where(g > 0, 2, 0).astype(np.uint8), g)
    cases["c08_all_foreground"] = (np.full(shape, 2, np.uint8), g)
    cases["c09_all_foreground_both"] = (np.full(shape, 1, np.uint8), np.full(shape, 1, np.uint8))
    one_a, one_b = z.copy(), z.copy()
    one_a[0, 0, 0] = 4                      # a corner voxel of the grid
    one_b[5, 7, 3] = 4
    cases["c10_single_voxels"] = (one_a, one_b)
    sheet = z.copy()
    sheet[:, :, 0] = 2                      # a sheet on the grid's border
    cases["c11_border_sheet"] = (sheet, np.where(g > 0, 2, 0).astype(np.uint8))
    for k in range(4):
        gt = ph()
        cases["c%02d_phantom" % (12 + k)] = (gt, postlib.perturb(rng, gt, shift=2, flips=0.3, specks=8))
    for case, (gt, pred) in cases.items():
        save_case(d, case, gt, pred, aff)
    # predictions written as NRRD and as .nii, ground truth under the 2023 name
    gt = ph()
    save_case(d, "c20_nrrd", gt, postlib.perturb(rng, gt), aff, pred_ext=".nrrd")
    gt = ph()
    save_case(d, "c21_nii", gt, postlib.perturb(rng, gt), aff, pred_ext=".nii")
    gt = ph()
    save_case(d, "c22_dash", gt, postlib.perturb(rng, gt), aff, gt_name="%s-seg.nii.gz")

    # BraTS 2023: labels 0,1,2,3 and the 2023 names
    d23 = os.path.join(d, "y2023")
    for k in range(3):
        gt = postlib.phantom_labels(rng, shape, radii=[0.25 * s for s in shape], labels2023=True)
        save_case(d23, "BraTS-GLI-%05d-000" % k, gt, postlib.perturb(rng, gt, labels2023=True), aff,
                  gt_name="%s-seg.nii.gz")

    # one full 240x240x155 case, its prediction, and the prediction cropped
    # to 144x176x155 with the ET removed (scored on the full grid: HD95_ET
    # is the grid's diagonal)
    full = os.path.join(d, "full")
    os.makedirs(full, exist_ok=True)
    fa = affine_for((1, 1, 1), (-0.0, -239.0, 0.0))
    gt = postlib.phantom_labels(rng, (240, 240, 155), centre=(120, 110, 70))
    pred = postlib.perturb(rng, gt, shift=2, flips=0.2, specks=30)
    write_nifti(os.path.join(full, "gt.nii.gz"), gt, fa)
    write_nifti(os.path.join(full, "pred.nii.gz"), pred, fa)
    x0, y0, z0 = 48, 32, 0
    box = pred[x0:x0 + 144, y0:y0 + 176, z0:z0 + 155]
    noet = np.where(box == 4, 1, box).astype(np.uint8)
    src = " ".join("%.17g" % t for t in fa[:3, :].ravel())
    meta = {"case": "BraTS20_Training_900", "content": "labels", "crop": "%d %d %d 144 176 155" % (x0, y0, z0),
            "source_sizes": "240 240 155", "source_affine": src}
    caff = fa.copy()
    caff[:3, 3] = fa[:3, :3] @ np.array([x0, y0, z0]) + fa[:3, 3]
    nrrd_write(os.path.join(full, "cropped.nrrd"), [Record(box, caff, meta)])
    nrrd_write(os.path.join(full, "cropped_noet.nrrd"), [Record(noet, caff, meta)])
    uncropped = np.zeros_like(pred)
    uncropped[x0:x0 + 144, y0:y0 + 176, z0:z0 + 155] = box
    write_nifti(os.path.join(full, "uncropped.nii.gz"), uncropped, fa)


if __name__ == "__main__":
    os.makedirs(sys.argv[2], exist_ok=True)
    {"cc": gen_cc, "metrics": gen_metrics}[sys.argv[1]](sys.argv[2])
