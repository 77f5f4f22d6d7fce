#!/usr/bin/python3
"""Reference BraTS metrics in NumPy/SciPy (MedPy's definitions), independent
of the C code.

usage: metrics_ref.py [--labels 2023] [--region WT,...] [--uncrop] [--lesion-wise] PRED GT
       metrics_ref.py [...] -p PRED_DIR -g GT_DIR
Prints the portal's CSV on stdout (with --lesion-wise, lesion_ref.py's
lesion-wise columns after the portal's).
"""
import argparse
import glob
import os
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(__file__))
import lesion_ref  # noqa: E402
import postlib  # noqa: E402

REGIONS = ("ET", "WT", "TC")
METRICS = ("Dice", "Sensitivity", "Specificity", "Hausdorff95")
LESION_METRICS = ("LesionWise_Dice", "LesionWise_Hausdorff95", "Num_TP", "Num_FP", "Num_FN")


def region_masks(lab, labels2023):
    et = 3 if labels2023 else 4
    return {"ET": lab == et, "WT": np.isin(lab, (1, 2, et)), "TC": np.isin(lab, (1, et))}


def hd95(p, g, spacing):
    diag = float(np.sqrt(sum((n * s) ** 2 for n, s in zip(p.shape, spacing))))
    if not p.any() and not g.any():
        return 0.0
    if not p.any() or not g.any():
        return diag
    st = ndimage.generate_binary_structure(3, 1)
    bp = p ^ ndimage.binary_erosion(p, structure=st, iterations=1)
    bg = g ^ ndimage.binary_erosion(g, structure=st, iterations=1)
    dt_g = ndimage.distance_transform_edt(~bg, sampling=spacing)
    dt_p = ndimage.distance_transform_edt(~bp, sampling=spacing)
    return float(np.percentile(np.hstack((dt_g[bp], dt_p[bg])), 95))


def scores(pred, gt, spacing, labels2023=False, regions=REGIONS, lesion_wise=False):
    mp, mg = region_masks(pred, labels2023), region_masks(gt, labels2023)
    out = {}
    for r in regions:
        les = lesion_ref.lesion_wise(mp[r], mg[r], spacing) if lesion_wise else {}
        p, g = mp[r], mg[r]
        tp = int(np.sum(p & g))
        fp = int(np.sum(p & ~g))
        fn = int(np.sum(~p & g))
        tn = int(p.size - tp - fp - fn)
        out[r] = {
            "Dice": 1.0 if p.sum() + g.sum() == 0 else 2.0 * tp / (p.sum() + g.sum()),
            "Sensitivity": 1.0 if tp + fn == 0 else tp / (tp + fn),
            "Specificity": 1.0 if tn + fp == 0 else tn / (tn + fp),
            "Hausdorff95": hd95(p, g, spacing),
            **les,
        }
    return out


def uncrop(rec, ref):
    x0, y0, z0, nx, ny, nz = (int(t) for t in rec.meta["crop"].split())
    full = np.zeros(ref.data.shape, rec.data.dtype)
    box = np.zeros((nx, ny, nz), rec.data.dtype)
    box[...] = rec.data
    sx = slice(max(0, x0), min(full.shape[0], x0 + nx))
    sy = slice(max(0, y0), min(full.shape[1], y0 + ny))
    sz = slice(max(0, z0), min(full.shape[2], z0 + nz))
    full[sx, sy, sz] = box[sx.start - x0:sx.stop - x0, sy.start - y0:sy.stop - y0, sz.start - z0:sz.stop - z0]
    return full


def score_files(pp, gp, a):
    pred, gt = postlib.read_volume(pp), postlib.read_volume(gp)
    pdata = np.asarray(pred.data)
    if a.uncrop and "crop" in pred.meta:
        pdata = uncrop(pred, gt)
    spacing = np.linalg.norm(gt.affine[:3, :3], axis=0)
    return scores(np.rint(pdata).astype(int), np.rint(np.asarray(gt.data)).astype(int), spacing,
                  a.labels == "2023", a.regions, a.lesion_wise)


def case_id(name):
    base = os.path.basename(name)
    for ext in (".nii.gz", ".nii", ".nrrd"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="2020")
    ap.add_argument("--region", default="ET,WT,TC")
    ap.add_argument("--uncrop", action="store_true")
    ap.add_argument("--lesion-wise", action="store_true")
    ap.add_argument("-p")
    ap.add_argument("-g")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    a.regions = [r for r in REGIONS if r in a.region.upper().split(",")]
    rows = []
    if a.p:
        preds = sorted(glob.glob(os.path.join(a.p, "*.nii.gz")) + glob.glob(os.path.join(a.p, "*.nii")) +
                       glob.glob(os.path.join(a.p, "*.nrrd")))
        for pp in sorted(preds, key=case_id):
            c = case_id(pp)
            for name in ("%s_seg.nii.gz" % c, "%s-seg.nii.gz" % c):
                gp = os.path.join(a.g, c, name)
                if os.path.exists(gp):
                    break
            else:
                continue  # the C tool reports it; the reference scores the rest
            rows.append((c, score_files(pp, gp, a)))
    else:
        rows.append((case_id(a.files[0]), score_files(a.files[0], a.files[1], a)))
    cols = [(m, r) for m in METRICS + (LESION_METRICS if a.lesion_wise else ()) for r in a.regions]
    print("Label," + ",".join("%s_%s" % c for c in cols))
    for c, s in rows:
        print(c + "," + ",".join(("%d" if m.startswith("Num_") else "%.5f") % s[r][m] for m, r in cols))
    if len(rows) > 1:
        v = np.array([[s[r][m] for m, r in cols] for _, s in rows])
        stats = [("Mean", v.mean(0)), ("StdDev", v.std(0)), ("Median", np.median(v, 0)),
                 ("25quantile", np.percentile(v, 25, axis=0)), ("75quantile", np.percentile(v, 75, axis=0))]
        for name, x in stats:
            print(name + "," + ",".join("%.5f" % t for t in x))


if __name__ == "__main__":
    main()
