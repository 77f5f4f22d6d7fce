#!/bin/sh
# The protocol of pipelines/brats2020.mk on phantoms: FOLD=all on BraTS 2023
# data (every case trained on, evaluate skipped, a 0/1/2/3 submission);
# cross-validation with K=3 (every case scored once, by the fold model that did
# not see it); the 3-fold ensemble submission with TTA=1 against the tools run
# by hand; devices round robin; a rerun makes nothing.  The networks train for
# two steps: tests/pipeline/calibrate.py shifts their head biases where a
# segmentation must not be empty.
. "$TOP/tests/lib.sh"
# the pipelines run as a user runs them, not as sub-makes of make check -j
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$TMPDIR/data
MK="make -s -f $TOP/pipelines/brats2020.mk"
ARGS="BIN=$BINDIR WIDTH=8 BATCH=8 EPOCHS=1 THREADS=1 TRAIN_ARGS=--steps=2"
# 2020: five cases, folds of 3 are {004 007} {005 006} {008}; 2023: three cases
brats-phantom -q -n 5 --first 4 --size small --seed 4 -o "$D/train" &&
	brats-phantom -q -n 1 --size small --seed 5 --no-seg -o "$D/valid" &&
	brats-phantom -q -n 3 --size small --seed 6 --layout brats2023 -o "$D/t23" &&
	brats-phantom -q -n 1 --first 9 --size small --seed 6 --no-seg --layout brats2023 -o "$D/v23" ||
	{ t_notok "phantoms"; finish; }
echo "notes" >"$D/train/README.txt"

# ---- FOLD: checked ----
fails "FOLD=0/1" 2 "FOLD=0/1 holds out every case and leaves none to train on: FOLD=all trains on every case" \
	$MK $ARGS TRAIN="$D/train" WORK="$TMPDIR/w0" FOLD=0/1 all
fails "FOLD=3/3" 2 "FOLD=3/3: expected k/K with 0 <= k < K, or all" $MK $ARGS TRAIN="$D/train" WORK="$TMPDIR/w0" FOLD=3/3 all
fails "cv with an empty fold" 2 "cv: fold 3 of 4 holds none of the 5 cases" \
	$MK $ARGS TRAIN="$D/train" WORK="$TMPDIR/w0" FOLD=0/4 cv
fails "LABELS=2021" 2 "LABELS=2021: 2020 \(ET is 4\) or 2023 \(ET is 3\)" \
	$MK $ARGS TRAIN="$D/train" WORK="$TMPDIR/w0" LABELS=2021 all
absent "$TMPDIR/w0" "nothing written after a refusal"

# ---- FOLD=all on BraTS 2023 data ----
WA=$TMPDIR/wa
$MK $ARGS TRAIN="$D/t23" VALID="$D/v23" WORK="$WA" FOLD=all -j2 all >"$TMPDIR/all.out" 2>"$TMPDIR/all.err"
ok $? "FOLD=all: make all"
grep -q "evaluate skipped: FOLD=all holds out no case" "$TMPDIR/all.out"
ok $? "FOLD=all: evaluate is skipped, and said so"
"$PYTHON" - "$WA" "$D" <<'PY'
import os, sys, tarfile
import nibabel as nib, numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
w, d = sys.argv[1:3]
t = brtest.Tap()
cases = sorted(os.listdir(d + "/t23"))
t.ok([l.split()[0] for l in open(w + "/all/train.txt")] == ["%s/prep/%s.nrrd" % (w, c) for c in cases],
     "all/train.txt: every case")
t.ok(sorted(os.listdir(w)) == ["all", "prep", "submission", "submission.tar.gz", "valid"]
     and not os.path.exists(w + "/all/heldout.txt"), "nothing held out, no fold, no scores", str(sorted(os.listdir(w))))
for c in cases:
    gt = np.asarray(nib.load("%s/t23/%s/%s-seg.nii.gz" % (d, c, c)).dataobj)
    s = brtest.read_nrrd("%s/prep/%s.seg.nrrd" % (w, c)).data
    t.ok(set(np.unique(gt)) == {0, 1, 2, 3} and set(np.unique(s)) == {0, 1, 2, 4}
         and (s == 4).sum() == (gt == 3).sum() and (s == 1).sum() == (gt == 1).sum(),
         "prep %s: the 2023 ground truth's ET (3) read as 4" % c)
t.ok(os.path.getsize(w + "/all/model.safetensors") > 1000 and os.path.exists(w + "/all/figures/loss.png"),
     "the model and its training curve")
v = sorted(os.listdir(d + "/v23"))
for c in v:
    ref = nib.load("%s/v23/%s/%s-t2f.nii.gz" % (d, c, c))
    s = nib.load("%s/submission/%s.nii.gz" % (w, c))
    a = np.asarray(s.dataobj)
    t.ok(s.shape == ref.shape and s.get_data_dtype() == np.uint8 and np.allclose(s.affine, ref.affine)
         and set(np.unique(a)) <= {0, 1, 2, 3}, "submission %s.nii.gz: uint8 0-3, original grid" % c)
with tarfile.open(w + "/submission.tar.gz") as tf:
    m = tf.getmembers()
    t.ok([x.name for x in m] == ["%s.nii.gz" % c for c in v] and all(x.isfile() for x in m)
         and all(tf.extractfile(x).read() == open("%s/submission/%s" % (w, x.name), "rb").read() for x in m),
         "submission.tar.gz: the label maps at the top level")
t.close()
PY
ok $? "FOLD=all outputs"

# ---- cv, K=3, and the default submission: the three fold models, TTA ----
W=$TMPDIR/wcv
CASES=$(cd "$D/train" && ls -d BraTS20_*)
$MK $ARGS TRAIN="$D/train" VALID="$D/valid" WORK="$W" FOLD=0/3 TTA=1 -j2 cv submission >"$TMPDIR/cv.out" 2>"$TMPDIR/cv.err"
ok $? "FOLD=0/3: make -j2 cv submission"
grep -q "^brats2020.mk: cv: 5 cases scored out of fold, mean Dice ET [0-9.]* WT [0-9.]* TC [0-9.]* ($W/cv/scores.csv)$" "$TMPDIR/cv.out"
ok $? "cv says what it scored: $(grep 'cv:' "$TMPDIR/cv.out")"
for k in 0 1 2; do sh "$TOP/pipelines/fold.sh" $k 3 $CASES >"$TMPDIR/fold$k"; done
"$PYTHON" - "$W" "$D" "$TMPDIR" <<'PY'
import csv, filecmp, os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
w, d, tmp = sys.argv[1:4]
t = brtest.Tap()
cases = sorted(c for c in os.listdir(d + "/train") if c.startswith("BraTS20_"))
folds = [open("%s/fold%d" % (tmp, k)).read().split() for k in range(3)]
t.ok(sorted(sum(folds, [])) == cases and all(folds), "the 3 folds split the 5 cases", str(folds))
rows = {}
for k, held in enumerate(folds):
    f = "%s/fold%dof3" % (w, k)
    fit = [l.split()[0] for l in open(f + "/train.txt")]
    val = [l.split()[0] for l in open(f + "/heldout.txt")]
    t.ok(fit == ["%s/prep/%s.nrrd" % (w, c) for c in cases if c not in held]
         and val == ["%s/prep/%s.nrrd" % (w, c) for c in held], "fold %d: trained without its %d cases" % (k, len(held)))
    figs = os.listdir(f + "/figures")
    t.ok(os.path.getsize(f + "/model.safetensors") > 1000 and "loss.png" in figs
         and any(x.startswith("best-") for x in figs) and any(x.startswith("worst-") for x in figs),
         "fold %d: model, training curve, best and worst case" % k, str(figs))
    for r in list(csv.reader(open(f + "/scores.csv")))[1:]:
        rows[r[0]] = (k, r)
for c in cases:
    k = [i for i in range(3) if c in folds[i]][0]
    t.ok(filecmp.cmp("%s/cv/oof/%s.nii.gz" % (w, c), "%s/fold%dof3/restored/%s.nii.gz" % (w, k, c), shallow=False),
         "cv/oof/%s.nii.gz: the prediction of fold %d's model" % (c, k))
t.ok(sorted(os.listdir(w + "/cv/oof")) == ["%s.nii.gz" % c for c in cases], "cv/oof: one prediction per case")
cv = list(csv.reader(open(w + "/cv/scores.csv")))
hdr = "Label,Dice_ET,Dice_WT,Dice_TC,Sensitivity_ET,Sensitivity_WT,Sensitivity_TC,Specificity_ET,Specificity_WT,Specificity_TC,Hausdorff95_ET,Hausdorff95_WT,Hausdorff95_TC".split(",")
names = [r[0] for r in cv[1:]]
t.ok(cv[0] == hdr and names == cases + ["Mean", "StdDev", "Median", "25quantile", "75quantile"]
     and all(len(r) == 13 for r in cv), "cv/scores.csv: the portal's columns, every case once, then the statistics")
t.ok(all(r == rows[r[0]][1] for r in cv[1:6]), "cv/scores.csv: each case's row as its fold scored it")
st = open(w + "/valid/" + [x for x in os.listdir(w + "/valid") if x.startswith(".settings-")][0]).read().split()
t.ok(st == ["%s/fold%dof3/model.safetensors" % (w, k) for k in range(3)] + ["tta=1", "labels=2020"],
     "submission: the three fold models, TTA", " ".join(st))
t.close()
PY
ok $? "cv outputs"
# a rerun makes nothing
$MK $ARGS TRAIN="$D/train" VALID="$D/valid" WORK="$W" FOLD=0/3 TTA=1 -n cv submission >"$TMPDIR/n.txt" 2>&1
if grep -q "bin/" "$TMPDIR/n.txt"; then t_notok "rerun: $(grep "bin/" "$TMPDIR/n.txt" | head -c 300)"; else t_ok "a rerun makes nothing"; fi
# FOLD=k/K alone reuses fold k's model
$MK $ARGS TRAIN="$D/train" VALID="$D/valid" WORK="$W" FOLD=1/3 -n evaluate figures >"$TMPDIR/n1.txt" 2>&1
if grep -q "bin/" "$TMPDIR/n1.txt"; then t_notok "FOLD=1/3 after cv: $(head -c 300 "$TMPDIR/n1.txt")"; else t_ok "FOLD=1/3 after cv: fold 1 is done"; fi
# folds side by side, one per device, round robin
$MK $ARGS TRAIN="$D/train" WORK="$TMPDIR/wd" FOLD=0/3 DEVICES="cuda:0 cuda:1" -n cv >"$TMPDIR/dev.txt" 2>&1
for k in 0 1 2; do
	dev=cuda:$((k % 2))
	grep "r2u-train .*fold${k}of3/train.txt" "$TMPDIR/dev.txt" | grep -q -- "-d $dev " &&
		grep "r2u-infer .*fold${k}of3/model" "$TMPDIR/dev.txt" | grep -q -- "-d $dev "
	ok $? "DEVICES: fold $k trains and predicts on $dev"
done
absent "$TMPDIR/wd" "make -n writes nothing"

# ---- the ensemble submission against the tools by hand, on maps that are not empty ----
V=BraTS20_Validation_001
for k in 0 1 2; do
	r2u-infer -q -j 1 --prob -m "$W/fold${k}of3/model.safetensors" -o "$TMPDIR/p$k.nrrd" "$W/prep/$V.nrrd" &&
		"$PYTHON" "$TOP/tests/pipeline/calibrate.py" "$W/fold${k}of3/model.safetensors" "$TMPDIR/p$k.nrrd" "$TMPDIR/cal$k.safetensors" ||
		t_notok "calibrate fold $k"
done
CAL="$TMPDIR/cal0.safetensors $TMPDIR/cal1.safetensors $TMPDIR/cal2.safetensors"
$MK $ARGS TRAIN="$D/train" VALID="$D/valid" WORK="$W" FOLD=0/3 TTA=1 MODELS="$CAL" submission >"$TMPDIR/sub.out" 2>&1 &&
	grep -q "submission.tar.gz: 1 label maps (2020 labels) by 3 model(s) with TTA" "$TMPDIR/sub.out"
ok $? "MODELS=3 models TTA=1: the submission is made again"
brats-crop -q "$D/valid/$V" | brats-norm -q | r2u-infer -q -j 1 -m "$TMPDIR/cal0.safetensors" -m "$TMPDIR/cal1.safetensors" \
	-m "$TMPDIR/cal2.safetensors" --tta | cc-filter -q |
	brats-uncrop -q -r "$D/valid/$V/${V}_flair.nii.gz" -o "$TMPDIR/hand.nii.gz"
brats-crop -q "$D/valid/$V" | brats-norm -q | r2u-infer -q -j 1 -m "$TMPDIR/cal0.safetensors" | cc-filter -q |
	brats-uncrop -q -r "$D/valid/$V/${V}_flair.nii.gz" -o "$TMPDIR/one.nii.gz"
"$PYTHON" - "$W/submission/$V.nii.gz" "$TMPDIR/hand.nii.gz" "$TMPDIR/one.nii.gz" <<'PY'
import sys
import nibabel as nib, numpy as np
s, h, o = (np.asarray(nib.load(p).dataobj) for p in sys.argv[1:4])
u = np.unique(s)
print("# labels %s, %d voxels differ from one model without TTA" % (u, (s != o).sum()))
sys.exit(not (set(u) == {0, 1, 2, 4} and np.array_equal(s, h) and (s != o).sum() > 0))
PY
ok $? "the submission is the 3-model ensemble with flips, as the tools by hand"
finish
