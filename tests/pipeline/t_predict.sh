#!/bin/sh
# pipelines/predict.mk on folders of new cases with BraTS 2020 and 2023 names:
# label maps (0/1/2/4 or 0/1/2/3) and probabilities on each input's grid,
# equal to the tools run by hand; one line per case; a rerun makes only what
# is missing; bad input.  The models train for one step and are calibrated
# (tests/pipeline/calibrate.py) so that their maps are not empty.
. "$TOP/tests/lib.sh"
# the pipelines run as a user runs them, not as sub-makes of make check -j
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$TMPDIR/data
PM="make -s -f $TOP/pipelines/predict.mk BIN=$BINDIR THREADS=1"
brats-phantom -q -n 2 --size small --seed 5 --no-seg -o "$D/new20" &&
	brats-phantom -q -n 1 --first 9 --size small --seed 6 --no-seg --layout brats2023 -o "$D/new23" &&
	brats-phantom -q -n 1 --size small --seed 7 -o "$D/train" ||
	{ t_notok "phantoms"; finish; }
echo "notes" >"$D/new20/README.txt"
mkdir -p "$D/new20/scans"
# two models, one optimiser step each, calibrated on a training case
T=BraTS20_Training_001
brats-crop -q "$D/train/$T" | brats-norm -q -o "$TMPDIR/t.nrrd" && brats-crop -q --seg -o "$TMPDIR/t.seg.nrrd" "$D/train/$T" ||
	t_notok "training case"
for s in 1 2; do
	r2u-train -q -j 1 --width 8 --batch 4 --steps 1 --seed $s -o "$TMPDIR/m$s.safetensors" "$TMPDIR/t.nrrd" "$TMPDIR/t.seg.nrrd" &&
		r2u-infer -q -j 1 --prob -m "$TMPDIR/m$s.safetensors" -o "$TMPDIR/p$s.nrrd" "$TMPDIR/t.nrrd" &&
		"$PYTHON" "$TOP/tests/pipeline/calibrate.py" "$TMPDIR/m$s.safetensors" "$TMPDIR/p$s.nrrd" "$TMPDIR/c$s.safetensors" ||
		t_notok "model $s"
done
M1=$TMPDIR/c1.safetensors M2=$TMPDIR/c2.safetensors

# ---- 2020 names: two models, flips, probabilities ----
O=$TMPDIR/o20
$PM IN="$D/new20" MODEL="$M1 $M2" OUT="$O" TTA=1 PROB=1 -j2 >"$TMPDIR/o20.out" 2>"$TMPDIR/o20.err"
ok $? "2020 names, MODEL=2 models TTA=1 PROB=1 -j2"
[ ! -s "$TMPDIR/o20.err" ] && [ "$(wc -l <"$TMPDIR/o20.out")" -eq 4 ] &&
	for c in BraTS20_Validation_001 BraTS20_Validation_002; do
		grep -qx "predict.mk: $c: $O/$c.nii.gz (2020 labels)" "$TMPDIR/o20.out" &&
			grep -qx "predict.mk: $c: $O/prob/$c.nii.gz (probabilities)" "$TMPDIR/o20.out" || exit 1
	done
ok $? "one line per case and output, nothing on stderr"
for c in BraTS20_Validation_001 BraTS20_Validation_002; do
	brats-crop -q "$D/new20/$c" | brats-norm -q -o "$TMPDIR/$c.nrrd"
	r2u-infer -q -j 1 -m "$M1" -m "$M2" --tta "$TMPDIR/$c.nrrd" | cc-filter -q |
		brats-uncrop -q -r "$D/new20/$c/${c}_flair.nii.gz" -o "$TMPDIR/hand-$c.nii.gz"
	r2u-infer -q -j 1 -m "$M1" -m "$M2" --tta --prob "$TMPDIR/$c.nrrd" |
		brats-uncrop -q -r "$D/new20/$c/${c}_flair.nii.gz" -o "$TMPDIR/handp-$c.nii.gz"
done
"$PYTHON" - "$O" "$D/new20" "$TMPDIR" 2020 <<'PY'
import os, sys
import nibabel as nib, numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
o, d, tmp, year = sys.argv[1:5]
t = brtest.Tap()
cases = sorted(x for x in os.listdir(d) if x.startswith("BraTS"))
want = {0, 1, 2, 4} if year == "2020" else {0, 1, 2, 3}
t.ok(sorted(os.listdir(o)) == sorted([".work", "prob"] + ["%s.nii.gz" % c for c in cases]), "one map per case", str(os.listdir(o)))
t.ok([x for x in os.listdir(o + "/.work") if not x.startswith("settings-")] == [], "no files of the steps left")
for c in cases:
    ref = nib.load("%s/%s/%s_flair.nii.gz" % (d, c, c))
    im = nib.load("%s/%s.nii.gz" % (o, c))
    a = np.asarray(im.dataobj)
    t.ok(im.shape == ref.shape and im.get_data_dtype() == np.uint8 and np.allclose(im.affine, ref.affine)
         and im.header["qform_code"] == ref.header["qform_code"] and im.header["sform_code"] == ref.header["sform_code"]
         and np.allclose(im.header.get_qform(), ref.header.get_qform()), "%s: uint8 on the input's grid and header" % c)
    t.ok(set(np.unique(a)) == want, "%s: labels %s" % (c, sorted(want)), str(np.unique(a)))
    t.ok(np.array_equal(a, np.asarray(nib.load("%s/hand-%s.nii.gz" % (tmp, c)).dataobj)),
         "%s: as the tools by hand (2 models, flips)" % c)
    p = nib.load("%s/prob/%s.nii.gz" % (o, c))
    pa = np.asarray(p.dataobj)
    t.ok(pa.shape == ref.shape + (4,) and pa.dtype == np.float32 and np.allclose(p.affine, ref.affine)
         and pa.min() >= 0 and pa.max() <= 1
         and np.array_equal(pa, np.asarray(nib.load("%s/handp-%s.nii.gz" % (tmp, c)).dataobj)),
         "%s: probabilities, four float32 channels on the input's grid, as by hand" % c)
t.close()
PY
ok $? "2020 outputs"

# ---- resumable ----
$PM IN="$D/new20" MODEL="$M1 $M2" OUT="$O" TTA=1 PROB=1 -q
ok $? "make -q: everything is up to date"
$PM IN="$D/new20" MODEL="$M1 $M2" OUT="$O" TTA=1 PROB=1 -n >"$TMPDIR/n.txt" 2>&1
[ ! -s "$TMPDIR/n.txt" ]
ok $? "make -n: nothing to do $(head -c 200 "$TMPDIR/n.txt")"
cp -p "$O/BraTS20_Validation_002.nii.gz" "$TMPDIR/keep.nii.gz"
rm "$O/BraTS20_Validation_001.nii.gz"
$PM IN="$D/new20" MODEL="$M1 $M2" OUT="$O" TTA=1 PROB=1 -j2 >"$TMPDIR/re.out" 2>&1
[ "$(cat "$TMPDIR/re.out")" = "predict.mk: BraTS20_Validation_001: $O/BraTS20_Validation_001.nii.gz (2020 labels)" ] &&
	"$PYTHON" -c "
import sys, nibabel as nib, numpy as np
a, b = (np.asarray(nib.load(p).dataobj) for p in sys.argv[1:3]); sys.exit(not np.array_equal(a, b))" \
		"$O/BraTS20_Validation_001.nii.gz" "$TMPDIR/hand-BraTS20_Validation_001.nii.gz"
ok $? "a missing map is made again, and only it: $(cat "$TMPDIR/re.out")"
[ ! "$O/BraTS20_Validation_002.nii.gz" -nt "$TMPDIR/keep.nii.gz" ]
ok $? "the others are left alone"
$PM IN="$D/new20" MODEL="$M1" OUT="$O" TTA=1 PROB=1 -n >"$TMPDIR/n2.txt" 2>&1
[ "$(grep -c "r2u-infer" "$TMPDIR/n2.txt")" -eq 4 ]
ok $? "another MODEL: every map and probability is made again"

# ---- 2023 names: 0/1/2/3 ----
O=$TMPDIR/o23
C=BraTS-GLI-00009-000
$PM IN="$D/new23" MODEL="$M1" OUT="$O" -j2 >"$TMPDIR/o23.out" 2>"$TMPDIR/o23.err" &&
	[ "$(cat "$TMPDIR/o23.out")" = "predict.mk: $C: $O/$C.nii.gz (2023 labels)" ] && [ ! -s "$TMPDIR/o23.err" ]
ok $? "2023 names: $(cat "$TMPDIR/o23.out" "$TMPDIR/o23.err")"
brats-crop -q "$D/new23/$C" | brats-norm -q | r2u-infer -q -j 1 -m "$M1" | cc-filter -q |
	brats-uncrop -q -r "$D/new23/$C/$C-t2f.nii.gz" -o "$TMPDIR/hand23.nii.gz"
"$PYTHON" - "$O/$C.nii.gz" "$D/new23/$C/$C-t2f.nii.gz" "$TMPDIR/hand23.nii.gz" <<'PY'
import sys
import nibabel as nib, numpy as np
im, ref, hand = (nib.load(p) for p in sys.argv[1:4])
a, h = np.asarray(im.dataobj), np.asarray(hand.dataobj)
print("# labels %s" % np.unique(a))
sys.exit(not (im.shape == ref.shape and im.get_data_dtype() == np.uint8 and np.allclose(im.affine, ref.affine)
              and set(np.unique(a)) == {0, 1, 2, 3} and np.array_equal(a, np.where(h == 4, 3, h))))
PY
ok $? "2023 names: uint8 0/1/2/3 on the input's grid, ET where the 2020 map has 4"
$PM IN="$D/new23" MODEL="$M1" OUT="$TMPDIR/o23b" LABELS=2020 >/dev/null 2>&1 &&
	"$PYTHON" -c "
import sys, nibabel as nib, numpy as np
a, b = (np.asarray(nib.load(p).dataobj) for p in sys.argv[1:3]); sys.exit(not np.array_equal(a, b))" \
		"$TMPDIR/o23b/$C.nii.gz" "$TMPDIR/hand23.nii.gz"
ok $? "LABELS=2020 on 2023 names: 0/1/2/4"

# ---- bad input ----
fails "no IN" 2 "IN is not set" $PM MODEL="$M1" OUT="$TMPDIR/x"
fails "no MODEL" 2 "MODEL is not set" $PM IN="$D/new20" OUT="$TMPDIR/x"
fails "a missing model" 2 "MODEL: $TMPDIR/none.safetensors: no such file" $PM IN="$D/new20" MODEL="$TMPDIR/none.safetensors" OUT="$TMPDIR/x"
fails "no cases" 2 "no cases under IN=$D/new20/scans" $PM IN="$D/new20/scans" MODEL="$M1" OUT="$TMPDIR/x"
absent "$TMPDIR/x" "nothing written after a refusal"
mkdir -p "$D/bad" && cp -r "$D/new20/BraTS20_Validation_001" "$D/bad/" &&
	rm "$D/bad/BraTS20_Validation_001/BraTS20_Validation_001_t1.nii.gz"
$PM IN="$D/bad" MODEL="$M1" OUT="$TMPDIR/ob" >"$TMPDIR/bad.out" 2>"$TMPDIR/bad.err"
st=$?
if [ $st -ne 0 ] && grep -q "^brats-crop: .*BraTS20_Validation_001: no t1 file" "$TMPDIR/bad.err" &&
	[ ! -e "$TMPDIR/ob/BraTS20_Validation_001.nii.gz" ] && [ -z "$(ls "$TMPDIR/ob/.work" | grep -v settings-)" ]; then
	t_ok "a case without t1: brats-crop's message, no map, no files of the steps"
else
	t_notok "a case without t1: status $st, $(head -c 300 "$TMPDIR/bad.err")"
fi
finish
