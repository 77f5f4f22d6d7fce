#!/bin/sh
# pipelines/brats2020.mk end to end on phantoms laid out like BraTS 2020,
# with the real data's quirks; -j4 gives the same files as -j1.
. "$TOP/tests/lib.sh"
# the pipelines run as a user runs them, not as sub-makes of make check -j
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$TMPDIR/data
brats-phantom -q -n 7 --size small --seed 4 -o "$D/train" &&
	brats-phantom -q -n 2 --size small --seed 5 --no-seg -o "$D/valid" || { t_notok "phantoms"; finish; }
# the quirks of the real folders
echo "BraTS_2020_subject_ID,Grade" >"$D/train/name_mapping.csv"
echo "notes" >"$D/train/BraTS20_Training_002/README.txt"
c5=$D/train/BraTS20_Training_005
"$PYTHON" - "$D/train" <<'PY'
import sys, os, gzip, shutil
import nibabel as nib, numpy as np
d = sys.argv[1]
# case 5: the segmentation of BraTS20_Training_355, uncompressed and oddly named
c = os.path.join(d, "BraTS20_Training_005")
img = nib.load(os.path.join(c, "BraTS20_Training_005_seg.nii.gz"))
nib.save(img, os.path.join(c, "W39_1998.09.19_Segm.nii"))
os.remove(os.path.join(c, "BraTS20_Training_005_seg.nii.gz"))
# case 6: float64 images, .nii files
c = os.path.join(d, "BraTS20_Training_006")
for m in ("t1", "t1ce", "t2", "flair"):
    p = os.path.join(c, "BraTS20_Training_006_%s.nii.gz" % m)
    im = nib.load(p)
    out = nib.Nifti1Image(np.asarray(im.dataobj).astype(np.float64), im.affine, im.header)
    out.set_data_dtype(np.float64)
    nib.save(out, p[:-3])
    os.remove(p)
PY
ok $? "quirks: extra files, an oddly named .nii segmentation, float64 .nii images"

ARGS="TRAIN=$D/train VALID=$D/valid BIN=$BINDIR WIDTH=8 BATCH=8 EPOCHS=2 FOLD=4/5 THREADS=2 TRAIN_ARGS=--keep-empty=0.1"
check "make all -j1" make -s -f "$TOP/pipelines/brats2020.mk" $ARGS WORK="$TMPDIR/w1" -j1 all
check "make all -j4" make -s -f "$TOP/pipelines/brats2020.mk" $ARGS WORK="$TMPDIR/w4" -j4 all
held=$(sh "$TOP/pipelines/fold.sh" 4 5 $(cd "$D/train" && ls -d BraTS20_Training_*))
[ -n "$held" ] && t_ok "fold 4/5 holds: $(echo $held)" || t_notok "fold 4/5 is empty"
W=$TMPDIR/w1
F=fold4of5
# every target's outputs
"$PYTHON" - "$W" "$D" "$F" $held <<'PY'
import csv, os, sys
import nibabel as nib, numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
w, d, f, held = sys.argv[1], sys.argv[2], sys.argv[1] + "/" + sys.argv[3], sys.argv[4:]
t = brtest.Tap()
cases = sorted(x for x in os.listdir(d + "/train") if x.startswith("BraTS20_Training_"))
val = sorted(os.listdir(d + "/valid"))
for c in cases:
    r = brtest.read_nrrd("%s/prep/%s.nrrd" % (w, c))
    s = brtest.read_nrrd("%s/prep/%s.seg.nrrd" % (w, c))
    t.ok(r.data.shape == (144, 176, 64, 4) and r.data.dtype == np.float32 and 0 <= r.data.min() and r.data.max() <= 1
         and s.data.shape == (144, 176, 64) and s.data.dtype == np.uint8 and r.meta["case"] == c,
         "prep %s: image 144x176x64x4 in [0,1], labels uint8" % c)
t.ok(sorted(l.split()[0] for l in open(f + "/train.txt")) == ["%s/prep/%s.nrrd" % (w, c) for c in cases if c not in held],
     "train.txt: the cases outside the held-out fold")
t.ok(os.path.getsize(f + "/model.safetensors") > 1000, "the model")
log = open(f + "/train/log.tsv").read().splitlines()
t.ok(log[0].split("\t") == "epoch step lr loss loss_wt loss_ed loss_ncr loss_et slices_per_s val_dice".split(),
     "the training log")
for c in held:
    ref = nib.load("%s/train/%s/%s_flair.nii%s" % (d, c, c, "" if c.endswith("006") else ".gz"))
    r = nib.load("%s/restored/%s.nii.gz" % (f, c))
    a = np.asarray(r.dataobj)
    t.ok(a.shape == ref.shape and r.get_data_dtype() == np.uint8 and np.allclose(r.affine, ref.affine)
         and r.header["qform_code"] == ref.header["qform_code"] and r.header["sform_code"] == ref.header["sform_code"]
         and set(np.unique(a)) <= {0, 1, 2, 4}, "restore %s: uint8 0,1,2,4 on the original grid and header" % c)
rows = list(csv.reader(open(f + "/scores.csv")))
hdr = "Label,Dice_ET,Dice_WT,Dice_TC,Sensitivity_ET,Sensitivity_WT,Sensitivity_TC,Specificity_ET,Specificity_WT,Specificity_TC,Hausdorff95_ET,Hausdorff95_WT,Hausdorff95_TC".split(",")
names = [r[0] for r in rows[1:]]
ok = rows[0] == hdr and names[:len(held)] == sorted(held) and all(len(r) == 13 for r in rows)
ok = ok and all(len(v.split(".")[1]) == 5 for r in rows[1:] for v in r[1:])
if len(held) > 1:
    ok = ok and names[len(held):] == ["Mean", "StdDev", "Median", "25quantile", "75quantile"]
t.ok(ok, "evaluate: the portal's CSV for the held-out cases")
for v in val:
    ref = nib.load("%s/valid/%s/%s_flair.nii.gz" % (d, v, v))
    s = nib.load("%s/submission/%s.nii.gz" % (w, v))
    t.ok(s.shape == ref.shape and s.get_data_dtype() == np.uint8 and np.allclose(s.affine, ref.affine),
         "submission %s.nii.gz: uint8, original geometry" % v)
t.ok(sorted(os.listdir(w + "/submission")) == ["%s.nii.gz" % v for v in val], "submission: one file per validation case")
figs = os.listdir(f + "/figures")
t.ok("loss.png" in figs and "val_dice.png" in figs and any(f.startswith("best-") for f in figs)
     and any(f.startswith("worst-") for f in figs), "figures: montages and training curves", str(figs))
t.close()
PY
ok $? "outputs of every target"
# -j4 and -j1 make the same files
same=1
for f in $F/model.safetensors $F/scores.csv $(cd "$W" && ls $F/restored/* $F/pred/* $F/post/* submission/* valid/pred/* valid/post/* prep/*); do
	cmp -s "$W/$f" "$TMPDIR/w4/$f" || { same=0; echo "# differs: $f"; }
done
[ $same = 1 ] && t_ok "make -j4 gives the same files as -j1" || t_notok "make -j4 differs from -j1"
# an interrupted run resumes: a missing output is made again, nothing else
one=$(echo $held | cut -d' ' -f1)
rm "$W/$F/restored/$one.nii.gz"
touch -d '2000-01-01' "$W/$F/scores.csv"
make -s -f "$TOP/pipelines/brats2020.mk" $ARGS WORK="$W" -n all >"$TMPDIR/n.txt" 2>&1
if grep -q "brats-uncrop" "$TMPDIR/n.txt" && ! grep -q "r2u-train\|brats-crop" "$TMPDIR/n.txt"; then
	t_ok "after an interruption only the missing outputs are remade"
else
	t_notok "rerun remakes too much: $(head -c 300 "$TMPDIR/n.txt")"
fi
fails "no TRAIN" 2 "TRAIN is not set" make -s -f "$TOP/pipelines/brats2020.mk" BIN="$BINDIR" WORK="$TMPDIR/w0"
finish
