#!/bin/sh
# brats-crop: a warning, and brats_outside_box in the record, when more than
# 0.5% of the brain (nonzero in any modality) falls outside the crop box;
# the fraction against NumPy, on a phantom shifted towards the box's edge.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
brats-phantom -q --size small -n 1 --seed 3 -o "$D" || { t_notok "phantom"; finish; }
C=BraTS20_Training_001
# the case shifted by 16 and by 24 voxels along x (zeros come in), labels too
"$PYTHON" - "$D" <<'PY'
import os, sys
import numpy as np
import nibabel as nib
d = sys.argv[1]
c = "BraTS20_Training_001"
for dx in (16, 24):
    os.makedirs(os.path.join(d, "s%d" % dx, c), exist_ok=True)
    for m in ("t1", "t1ce", "t2", "flair", "seg"):
        im = nib.load(os.path.join(d, c, "%s_%s.nii.gz" % (c, m)))
        a = np.asarray(im.dataobj)
        b = np.zeros_like(a)
        b[dx:] = a[:-dx]
        nib.save(nib.Nifti1Image(b, im.affine, im.header), os.path.join(d, "s%d" % dx, c, "%s_%s.nii.gz" % (c, m)))
PY
[ $? -eq 0 ] || { t_notok "shifted phantoms"; finish; }
for s in "" s16/ s24/; do
	brats-crop "$D/$s$C" >"$D/${s%/}crop.nrrd" 2>"$D/${s%/}crop.err" || t_notok "brats-crop $s$C"
done
brats-crop --center brain "$D/s24/$C" >"$D/brain.nrrd" 2>"$D/brain.err" || t_notok "brats-crop --center brain"
brats-crop -q "$D/s24/$C" >"$D/q.nrrd" 2>"$D/q.err" || t_notok "brats-crop -q"
brats-crop --seg --center brain "$D/s24/$C" >"$D/seg.nrrd" 2>"$D/seg.err" || t_notok "brats-crop --seg --center brain"
"$PYTHON" - "$D" <<'PY'
import os, re, sys
import numpy as np
import nibabel as nib
sys.path.insert(0, os.path.join(os.environ["TOP"], "tests", "pylib"))
import brtest
d = sys.argv[1]
c = "BraTS20_Training_001"
t = brtest.Tap()


def fraction(folder, box):
    brain = np.zeros((240, 240, 64), bool)
    for m in ("t1", "t1ce", "t2", "flair"):
        brain |= np.asarray(nib.load(os.path.join(folder, c, "%s_%s.nii.gz" % (c, m))).dataobj) != 0
    x0, y0, nx, ny = box
    inside = brain[x0:x0 + nx, y0:y0 + ny].sum()
    return (brain.sum() - inside) / brain.sum(), brain.sum() - inside, brain.sum()


def box_of(rec):
    x0, y0, z0, nx, ny, nz = map(int, rec.meta["crop"].split())
    return x0, y0, nx, ny


for tag, folder, out in (("unshifted", d, "crop"), ("shifted by 16", os.path.join(d, "s16"), "s16crop"),
                         ("shifted by 24", os.path.join(d, "s24"), "s24crop"),
                         ("shifted by 24, --center brain", os.path.join(d, "s24"), "brain")):
    r = brtest.read_nrrd(os.path.join(d, out + ".nrrd"))
    err = open(os.path.join(d, out + ".err")).read()
    f, nout, nb = fraction(folder, box_of(r))
    warn = [l for l in err.splitlines() if "warning" in l]
    if f > 0.005:
        m = re.fullmatch(r"brats-crop: (\S+): warning: (\d+\.\d\d)% of the brain \((\d+) of (\d+) voxels\) is outside "
                         r"the 144x176 crop box; (.*)", warn[0]) if len(warn) == 1 else None
        t.ok(m is not None and m.group(1).endswith(c) and abs(float(m.group(2)) - 100 * f) <= 0.005
             and int(m.group(3)) == nout and int(m.group(4)) == nb,
             "%s: one warning with the fraction %.4f%% (%d of %d voxels, NumPy)" % (tag, 100 * f, nout, nb), err)
        t.ok(m is not None and ("--center brain" in m.group(5)) == ("center" not in tag),
             "%s: the warning suggests --center brain (or a larger --size when already centred)" % tag, err)
        t.ok(abs(float(r.meta.get("brats_outside_box", "nan")) - f) <= 5e-6 * f,
             "%s: brats_outside_box %s = %.7f" % (tag, r.meta.get("brats_outside_box"), f))
    else:
        t.ok(warn == [] and "brats_outside_box" not in r.meta,
             "%s: %.4f%% outside (NumPy): no warning, no brats_outside_box" % (tag, 100 * f), err)
    if tag == "shifted by 16":
        t.ok(0 < f <= 0.005, "shifted by 16: some brain outside, under 0.5%% (%.4f%%)" % (100 * f))
    if tag == "shifted by 24":
        t.ok(f > 0.005, "shifted by 24: more than 0.5%% outside (%.4f%%)" % (100 * f))
        s24 = r
q = brtest.read_nrrd(os.path.join(d, "q.nrrd"))
t.ok(open(os.path.join(d, "q.err")).read() == "" and q.meta.get("brats_outside_box") == s24.meta["brats_outside_box"],
     "-q: no warning, brats_outside_box still noted")
seg = brtest.read_nrrd(os.path.join(d, "seg.nrrd"))
f, _, _ = fraction(os.path.join(d, "s24"), box_of(seg))
b = brtest.read_nrrd(os.path.join(d, "brain.nrrd"))
t.ok(seg.meta.get("crop") == b.meta.get("crop") and ("brats_outside_box" in seg.meta) == (f > 0.005),
     "--seg --center brain: the box of the images, the same note")
t.close()
PY
ok $? "the crop warning against NumPy"
fails "a failed write: its error alone, no warning" 1 "^brats-crop: $D/nodir/x.nrrd: " brats-crop -o "$D/nodir/x.nrrd" "$D/s24/$C"
finish
