"""brats-crop, brats-norm, brats-flip, brats-uncrop against NumPy/nibabel.

Usage: check_prep.py WORKDIR   (BINDIR in the environment)
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import brtest  # noqa: E402
import nibabel as nib  # noqa: E402

B = os.environ["BINDIR"]
W = sys.argv[1]
t = brtest.Tap()


def run(args, **kw):
    return subprocess.run([os.path.join(B, args[0])] + args[1:], check=True, capture_output=True, **kw).stdout


def shift(A, x0, y0, z0):
    T = np.eye(4)
    T[:3, 3] = [x0, y0, z0]
    return A @ T


MODS = ["t1", "t1ce", "t2", "flair"]
for layout, aff, dtype in [("2020", "lps", "int16"), ("2020", "ras", "float64"), ("2023", "lps", "int16")]:
    case = {"2020": "BraTS20_Training_%03d", "2023": "BraTS-GLI-%05d-000"}[layout] % (7 if aff == "lps" else 8)
    vols, lab, A = brtest.make_case(W, case, layout=layout, affine=aff, dtype=dtype, seed=hash(case) % 1000,
                                    labels2023=(layout == "2023"))
    cdir = os.path.join(W, case)
    tag = "%s %s %s" % (layout, aff, dtype)
    names = MODS if layout == "2020" else ["t1n", "t1c", "t2w", "t2f"]
    # crop, default box
    r = brtest.read_nrrd_stream(run(["brats-crop", cdir]))
    t.ok(len(r) == 1, "crop %s: one record" % tag)
    r = r[0]
    exp = np.stack([vols[m][48:192, 32:208, :] for m in names], axis=-1).astype(np.float32)
    t.ok(r.data.dtype == np.float32 and r.data.shape == (144, 176, 155, 4), "crop %s: float32 144x176x155x4" % tag,
         str(r.data.shape))
    t.ok(np.array_equal(r.data, exp), "crop %s: voxels equal numpy slicing" % tag)
    t.ok(np.allclose(r.affine, shift(A, 48, 32, 0)), "crop %s: affine = source shifted to the box" % tag,
         str(r.affine))
    t.ok(r.meta.get("case") == case and r.meta.get("channels") == "t1 t1ce t2 flair"
         and r.meta.get("crop") == "48 32 0 144 176 155", "crop %s: metadata" % tag, str(r.meta))
    # seg
    s = brtest.read_nrrd(os.path.join(W, "seg.nrrd")) if run(["brats-crop", "--seg", "-o", os.path.join(W, "seg.nrrd"), cdir]) is not None else None
    t.ok(s.data.dtype == np.uint8 and np.array_equal(s.data, lab[48:192, 32:208, :]),
         "crop --seg %s: uint8 labels equal numpy (2023 ET 3 -> 4)" % tag)
    t.ok(set(np.unique(s.data)) <= {0, 1, 2, 4}, "crop --seg %s: values in 0,1,2,4" % tag)
    # explicit files give the same record
    files = [os.path.join(cdir, "%s%s%s.nii.gz" % (case, "_" if layout == "2020" else "-", m)) for m in names]
    r2 = brtest.read_nrrd_stream(run(["brats-crop"] + files))[0]
    t.ok(np.array_equal(r2.data, r.data), "crop %s: four files = case folder" % tag)
    # NIfTI output keeps geometry (nibabel)
    out = os.path.join(W, "crop.nii.gz")
    run(["brats-crop", "-o", out, cdir])
    img = nib.load(out)
    q, qc = img.header.get_qform(coded=True)
    sf, sc = img.header.get_sform(coded=True)
    t.ok(np.allclose(img.affine, shift(A, 48, 32, 0)) and qc == 1 and sc == 1 and np.allclose(q, sf),
         "crop -o .nii.gz %s: qform = sform = shifted affine, codes 1" % tag)
    t.ok(np.array_equal(np.asarray(img.dataobj), exp), "crop -o .nii.gz %s: voxels" % tag)
    # uncrop: back on the reference grid
    ref = files[0]
    un = os.path.join(W, "un.nii.gz")
    p = subprocess.run("%s/brats-crop %s | %s/brats-uncrop -r %s -o %s" % (B, cdir, B, ref, un), shell=True)
    u = nib.load(un)
    ua = np.asarray(u.dataobj)
    full = np.stack([vols[m] for m in names], axis=-1).astype(np.float32)
    expu = np.zeros_like(full)
    expu[48:192, 32:208] = full[48:192, 32:208]
    t.ok(p.returncode == 0 and ua.shape == full.shape and np.array_equal(ua, expu),
         "crop | uncrop %s: original voxels inside the box, zeros outside" % tag)
    t.ok(np.allclose(u.affine, A) and u.header.get_qform(coded=True)[1] == 1, "uncrop %s: reference geometry" % tag)
    p = subprocess.run("%s/brats-crop --seg %s | %s/brats-uncrop -r %s -o %s" % (B, cdir, B, ref, un), shell=True)
    u = nib.load(un)
    t.ok(u.get_data_dtype() == np.uint8 and np.array_equal(np.asarray(u.dataobj)[48:192, 32:208], lab[48:192, 32:208])
         and np.asarray(u.dataobj).sum() == lab[48:192, 32:208].sum(), "crop --seg | uncrop %s: uint8 labels" % tag)

    # --size and --center brain
    r3 = brtest.read_nrrd_stream(run(["brats-crop", "--size", "128x160", "--center", "brain", cdir]))[0]
    nz = np.any(np.stack([vols[m] != 0 for m in names]), axis=0)
    xs, ys = np.where(nz.any(axis=2))
    x0 = (xs.min() + xs.max() + 1 - 128) // 2
    y0 = (ys.min() + ys.max() + 1 - 160) // 2
    x0 = min(max(x0, 0), 240 - 128)
    y0 = min(max(y0, 0), 240 - 160)
    t.ok(np.array_equal(r3.data[..., 0], vols[names[0]][x0:x0 + 128, y0:y0 + 160].astype(np.float32))
         and np.allclose(r3.affine, shift(A, x0, y0, 0)), "crop --size 128x160 --center brain %s" % tag,
         "box %d %d, meta %s" % (x0, y0, r3.meta.get("crop")))

    # norm: whole record, nonzero mask, clipping
    nrm = brtest.read_nrrd_stream(run(["brats-norm", "-j", "2"], input=run(["brats-crop", cdir])))[0]
    x = exp.astype(np.float64)
    mn, mx = x.min(axis=(0, 1, 2)), x.max(axis=(0, 1, 2))
    en = ((x - mn) / (mx - mn)).astype(np.float32)
    t.ok(np.abs(nrm.data - en).max() <= 1e-6 and nrm.data.min() == 0 and nrm.data.max() == 1,
         "norm %s: (x-min)/(max-min) per channel" % tag, "max err %g" % np.abs(nrm.data - en).max())
    t.ok(np.allclose(nrm.affine, r.affine) and nrm.meta.get("case") == case, "norm %s: geometry and case kept" % tag)
    nz = np.any(exp != 0, axis=-1)
    n2 = brtest.read_nrrd_stream(run(["brats-norm", "--mask", "nonzero"], input=run(["brats-crop", cdir])))[0]
    ok = True
    for c in range(4):
        v = x[..., c][nz]
        e = np.zeros(nz.shape)
        e[nz] = (v - v.min()) / (v.max() - v.min())
        ok &= np.abs(n2.data[..., c] - e).max() <= 1e-6
    t.ok(ok, "norm --mask nonzero %s" % tag)
    n3 = brtest.read_nrrd_stream(run(["brats-norm", "--clip", "0.5"], input=run(["brats-crop", cdir])))[0]
    ok = True
    for c in range(4):
        lo, hi = np.percentile(x[..., c], [0.5, 99.5])
        e = np.clip((x[..., c] - lo) / (hi - lo), 0, 1)
        ok &= np.abs(n3.data[..., c] - e).max() <= 2e-6
    t.ok(ok, "norm --clip 0.5 %s: numpy percentiles (linear)" % tag)

    # flip on each axis, images and labels
    for ax, axn in enumerate("xyz"):
        f = brtest.read_nrrd_stream(run(["brats-flip", "--axis", axn], input=run(["brats-crop", cdir])))[0]
        fs = brtest.read_nrrd_stream(run(["brats-flip", "--axis", axn, os.path.join(W, "seg.nrrd")]))[0]
        t.ok(np.array_equal(f.data, np.flip(exp, axis=ax)) and np.array_equal(fs.data, np.flip(s.data, axis=ax))
             and np.allclose(f.affine, r.affine) and f.meta == r.meta,
             "flip --axis %s %s: numpy flip, affine and metadata unchanged" % (axn, tag))

# a constant modality: zeros and a warning, not NaN
c0 = brtest.Record(np.ones((8, 8, 4, 2), np.float32) * 5, np.eye(4))
c0.data[..., 1] = np.arange(256, dtype=np.float32).reshape(8, 8, 4)
brtest.write_nrrd(os.path.join(W, "const.nrrd"), c0)
p = subprocess.run([os.path.join(B, "brats-norm"), os.path.join(W, "const.nrrd")], capture_output=True)
cn = brtest.read_nrrd_stream(p.stdout)[0]
t.ok(p.returncode == 0 and np.all(cn.data[..., 0] == 0) and not np.isnan(cn.data).any()
     and b"constant" in p.stderr, "norm: constant channel gives zeros and a warning", p.stderr.decode())

# several records on one stream through norm and flip
two = run(["brats-crop", os.path.join(W, "BraTS20_Training_007")]) + run(["brats-crop", os.path.join(W, "BraTS20_Training_008")])
recs = brtest.read_nrrd_stream(run(["brats-flip"], input=run(["brats-norm"], input=two)))
t.ok(len(recs) == 2 and recs[0].meta["case"] == "BraTS20_Training_007" and recs[1].meta["case"] == "BraTS20_Training_008",
     "a stream of two records through norm | flip keeps both, in order")
t.close()
