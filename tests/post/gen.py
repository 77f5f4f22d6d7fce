#!/usr/bin/python3
"""Test data for tests/post/t_cc_filter.sh and t_metrics.sh (generated when
the tests run; seeded, so every run sees the same volumes).

gen.py cc DIR        inputs for cc-filter
gen.py metrics DIR   predictions and ground truth for brats-metrics
gen.py lesion DIR    cases for the lesion-wise scores (t_lesion.sh): a set
                     with the 2023 labels (DIR/pred, DIR/gt), the same with
                     the 2020 labels (DIR/y2020) and anisotropic grids
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


def _blob(shape, centre, radii, label):
    g = np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij")
    d = sum(((g[i] - centre[i]) / radii[i]) ** 2 for i in range(3))
    return np.where(d <= 1.0, label, 0).astype(np.uint8)


def _tumours(rng, shape, n):
    """n tumour-like blobs (2023 labels) of random sizes at random places."""
    lab = np.zeros(shape, np.uint8)
    for _ in range(n):
        centre = [rng.uniform(0.15, 0.85) * s for s in shape]
        radii = [rng.uniform(0.05, 0.14) * s for s in shape]
        t = postlib.phantom_labels(rng, shape, centre=centre, radii=radii, labels2023=True)
        lab = np.where(lab > 0, lab, t)
    return lab


def gen_lesion(d):
    """Lesion-wise cases, labels 1 NCR, 2 ED, 3 ET (the 2020 copy has 4 for 3)."""
    rng = np.random.default_rng(20260301)
    shape = (44, 40, 32)
    z = np.zeros(shape, np.uint8)
    cases = {}
    # random blobs, several per case, predictions perturbed with specks (false positives)
    for k in range(4):
        gt = _tumours(rng, shape, 3)
        cases["l%02d_blobs" % k] = (gt, postlib.perturb(rng, gt, shift=1, flips=0.3, specks=3, labels2023=True),
                                    (1, 1, 1))
    # one true lesion predicted in two pieces; two true lesions 3 voxels apart (one lesion after
    # the dilation) predicted as one
    gt = np.where(_blob(shape, (30, 20, 16), (4, 4, 3), 1) > 0, 1, _blob(shape, (30, 20, 16), (8, 7, 6), 2))
    pred = gt.copy()
    pred[29:32, :, :] = 0
    a = _blob(shape, (8, 8, 8), (3, 3, 3), 3)
    b = _blob(shape, (8, 18, 8), (3, 3, 3), 3)  # y 5..11 and 15..21
    cases["l10_split"] = (np.maximum(gt, np.maximum(a, b)), np.maximum(pred, _blob(shape, (8, 13, 8), (3, 8, 3), 3)),
                          (1, 1, 1))
    # two true lesions far apart, one predicted lesion bridging both (it matches both)
    gt = np.maximum(_blob(shape, (10, 20, 16), (4, 4, 4), 1), _blob(shape, (34, 20, 16), (4, 4, 4), 3))
    pred = np.maximum(gt, _blob(shape, (22, 20, 16), (13, 2, 2), 2))
    cases["l11_merged"] = (gt, pred, (1, 1, 1))
    # empty prediction, empty truth, both empty
    g = _tumours(rng, shape, 2)
    cases["l12_pred_empty"] = (g, z, (1, 1, 1))
    cases["l13_gt_empty"] = (z, g, (1, 1, 1))
    cases["l14_both_empty"] = (z, z, (1, 1, 1))
    # small lesions: 50 voxels (= 50 mm^3, left out), 51 voxels (kept), one of 8 voxels predicted,
    # one missed, and a tumour
    small = z.copy()
    small[2:7, 2:7, 2:4] = 1                 # 50 voxels
    small[30:33, 2:19, 0] = 2                # 51 voxels, on the grid's border
    small[38:40, 30:32, 20:22] = 3           # 8 voxels
    small[2:5, 30:33, 25:27] = 2             # 18 voxels, missed
    g = np.where(small > 0, small, _tumours(rng, shape, 1))
    p = g.copy()
    p[2:5, 30:33, 25:27] = 0
    p[2:7, 2:7, 2:4] = 0
    p[3, 4, 2] = 1                           # one voxel of the 50-voxel lesion
    cases["l15_small"] = (g, p, (1, 1, 1))
    # anisotropic spacing: the same lesions, volumes and distances in mm
    for k, sp in enumerate(((1.0, 1.2, 2.5), (0.9, 0.9, 3.0), (2.0, 1.0, 0.5))):
        gt = _tumours(rng, shape, 3)
        gt[1:4, 1:4, 1:3] = 1                # 18 voxels: 54, 48.6, 18 mm^3
        cases["l2%d_aniso" % k] = (gt, postlib.perturb(rng, gt, shift=1, flips=0.3, specks=3, labels2023=True), sp)
    for case, (gt, pred, sp) in cases.items():
        aff = affine_for(sp)
        save_case(d, case, gt, pred, aff, gt_name="%s-seg.nii.gz")
        to2020 = lambda x: np.where(x == 3, 4, x).astype(np.uint8)
        save_case(os.path.join(d, "y2020"), case, to2020(gt), to2020(pred), aff)


if __name__ == "__main__":
    os.makedirs(sys.argv[2], exist_ok=True)
    {"cc": gen_cc, "metrics": gen_metrics, "lesion": gen_lesion}[sys.argv[1]](sys.argv[2])
