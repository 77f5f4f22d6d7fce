#!/bin/sh
# tests/post/t_metrics.sh - brats-metrics against the NumPy/SciPy reference
# (tests/post/metrics_ref.py, MedPy's definitions), its conventions for
# empty regions, case matching, cropped predictions, and bad input.
. "$TOP/tests/lib.sh"
P="$PYTHON $TOP/tests/post"
D=$TMPDIR/data
O=$TMPDIR/out
mkdir -p "$O"
DIAG=95.34799 # test grid 40x36x30, spacing 1 x 1.2 x 2.5 mm
HEADER="Label,Dice_ET,Dice_WT,Dice_TC,Sensitivity_ET,Sensitivity_WT,Sensitivity_TC,Specificity_ET,Specificity_WT,Specificity_TC,Hausdorff95_ET,Hausdorff95_WT,Hausdorff95_TC"

check "generate test cases" $P/gen.py metrics "$D"

# ---- the libraries against brute force (C unit test) ----
if [ -x "${BUILDDIR:-}/tests/post/test_post" ]; then
	# distance transforms, br_hd95, br_percentile and br_cc_new against brute force
	t_program "$BUILDDIR/tests/post/test_post"
else
	t_ok "# SKIP $BUILDDIR/tests/post/test_post not built (make test-programs)"
fi

# ---- a directory run against the reference ----
check "directory run" brats-metrics -p "$D/pred" -g "$D/gt" -o "$O/all.csv"
$P/metrics_ref.py -p "$D/pred" -g "$D/gt" >"$O/rall.csv"
ok $? "reference run"
$P/cmp.py csv "$O/all.csv" "$O/rall.csv" >"$O/cmp.txt"
ok $? "every case and statistics row equal to scipy within 1e-4 ($(cat "$O/cmp.txt"))"
check "documented conventions: empty regions, all-foreground grid, statistics rows" \
	$P/check_csv.py "$O/all.csv" $DIAG
[ "$(head -n 1 "$O/all.csv")" = "$HEADER" ]
ok $? "the portal's header"
[ "$(wc -l <"$O/all.csv")" -eq $((1 + 18 + 5)) ]
ok $? "18 case rows (.nii.gz, .nii, .nrrd predictions; _seg and -seg truth) and 5 statistics rows"
brats-metrics -j 1 -p "$D/pred" -g "$D/gt" >"$O/j1.csv" && brats-metrics -j 2 -p "$D/pred" -g "$D/gt" >"$O/j2.csv" &&
	cmp -s "$O/j1.csv" "$O/j2.csv" && cmp -s "$O/j1.csv" "$O/all.csv"
ok $? "-j 1, -j 2, stdout and -o give the same CSV"
brats-metrics -v -p "$D/pred" -g "$D/gt" >"$O/v.csv" 2>"$O/v.err"
cmp -s "$O/v.csv" "$O/all.csv" && [ "$(grep -c '^brats-metrics: c[0-9]*_[a-z_]*: scored in [0-9.]* s$' "$O/v.err")" -eq 18 ]
ok $? "-v times each case on stderr; stdout carries the CSV only"

# ---- regions, labels, one case ----
brats-metrics --region WT -p "$D/pred" -g "$D/gt" >"$O/wt.csv"
[ "$(head -n 1 "$O/wt.csv")" = "Label,Dice_WT,Sensitivity_WT,Specificity_WT,Hausdorff95_WT" ] &&
	[ "$(cut -d, -f1,3,6,9,12 "$O/all.csv")" = "$(cat "$O/wt.csv")" ]
ok $? "--region WT: the whole-tumour columns of the full table"
brats-metrics --region tc,ET -p "$D/pred" -g "$D/gt" >"$O/ettc.csv"
[ "$(cut -d, -f1,2,4,5,7,8,10,11,13 "$O/all.csv")" = "$(cat "$O/ettc.csv")" ]
ok $? "--region tc,ET: ET and TC columns in the portal's order"
brats-metrics --labels 2023 -p "$D/y2023/pred" -g "$D/y2023/gt" >"$O/23.csv" &&
	$P/metrics_ref.py --labels 2023 -p "$D/y2023/pred" -g "$D/y2023/gt" >"$O/r23.csv" &&
	$P/cmp.py csv "$O/23.csv" "$O/r23.csv" >/dev/null
ok $? "--labels 2023 (ET = 3, <case>-seg.nii.gz): as scipy"
fails "2023 labels scored as 2020" 1 "^brats-metrics: .*: label 3 at voxel .* not one of 0,1,2,4$" \
	brats-metrics "$D/y2023/pred/BraTS-GLI-00000-000.nii.gz" "$D/y2023/gt/BraTS-GLI-00000-000/BraTS-GLI-00000-000-seg.nii.gz"
brats-metrics "$D/pred/c13_phantom.nii.gz" "$D/gt/c13_phantom/c13_phantom_seg.nii.gz" >"$O/one.csv" &&
	[ "$(wc -l <"$O/one.csv")" -eq 2 ] && [ "$(sed -n 2p "$O/one.csv")" = "$(grep '^c13_phantom,' "$O/all.csv")" ]
ok $? "one case: header and one row, no statistics, the same row as in the directory run"
brats-metrics - "$D/gt/c20_nrrd/c20_nrrd_seg.nii.gz" <"$D/pred/c20_nrrd.nrrd" >"$O/stdin.csv" &&
	[ "$(sed -n 2p "$O/stdin.csv")" = "$(grep '^c20_nrrd,' "$O/all.csv")" ]
ok $? "prediction on stdin: the record's case id"

# ---- a full 240x240x155 case, cropped predictions ----
F=$D/full
brats-metrics "$F/pred.nii.gz" "$F/gt.nii.gz" >"$O/full.csv" && $P/metrics_ref.py "$F/pred.nii.gz" "$F/gt.nii.gz" >"$O/rfull.csv" &&
	$P/cmp.py csv "$O/full.csv" "$O/rfull.csv" >/dev/null
ok $? "full grid: as scipy"
t0=$(date +%s.%N)
brats-metrics -j 1 "$F/pred.nii.gz" "$F/gt.nii.gz" >/dev/null
echo "# full grid, three regions, reading included: $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
fails "cropped prediction without --uncrop-ref" 1 \
	"^brats-metrics: $F/cropped.nrrd: grid 144x176x155 does not match the ground truth's 240x240x155 \(a cropped prediction\? use --uncrop-ref\)$" \
	brats-metrics "$F/cropped.nrrd" "$F/gt.nii.gz"
brats-metrics --uncrop-ref "$F/cropped.nrrd" "$F/gt.nii.gz" | cut -d, -f2- >"$O/unc.csv" &&
	brats-metrics "$F/uncropped.nii.gz" "$F/gt.nii.gz" | cut -d, -f2- >"$O/unc_ref.csv" && cmp -s "$O/unc.csv" "$O/unc_ref.csv"
ok $? "--uncrop-ref: scored as the prediction put back on the full grid"
$P/metrics_ref.py --uncrop "$F/cropped.nrrd" "$F/gt.nii.gz" | cut -d, -f2- >"$O/runc.csv"
paste -d, "$O/unc.csv" "$O/runc.csv" >/dev/null && $P/cmp.py csv "$O/unc.csv" "$O/runc.csv" >/dev/null
ok $? "--uncrop-ref: as scipy"
brats-metrics --uncrop-ref --region ET "$F/cropped_noet.nrrd" "$F/gt.nii.gz" >"$O/noet.csv"
[ "$(sed -n 2p "$O/noet.csv")" = "cropped_noet,0.00000,0.00000,1.00000,373.12866" ]
ok $? "cropped prediction without ET: Dice 0, HD95 the full grid's diagonal 373.12866"
brats-metrics --uncrop-ref - "$F/gt.nii.gz" <"$F/cropped.nrrd" >"$O/unc_stdin.csv" &&
	[ "$(sed -n 2p "$O/unc_stdin.csv" | cut -d, -f1)" = "BraTS20_Training_900" ]
ok $? "--uncrop-ref from stdin, case id from the record"

# ---- missing cases in a directory run ----
mkdir -p "$O/pm"
cp "$D"/pred/c1[2-5]_phantom.nii.gz "$O/pm/"
rm "$O/pm/c14_phantom.nii.gz"
cp "$D/pred/c13_phantom.nii.gz" "$O/pm/zz_orphan.nii.gz"
mkdir -p "$O/gm"
for c in c12_phantom c13_phantom c14_phantom c15_phantom; do cp -r "$D/gt/$c" "$O/gm/"; done
mkdir -p "$O/gm/notes" # a folder without a segmentation, and no prediction: not a case
brats-metrics -p "$O/pm" -g "$O/gm" -o "$O/miss.csv" 2>"$O/miss.err"
rc=$?
[ $rc -eq 1 ] &&
	grep -q "^brats-metrics: $O/pm: no prediction for case c14_phantom" "$O/miss.err" &&
	grep -q "^brats-metrics: $O/gm: no ground truth for case zz_orphan" "$O/miss.err" &&
	[ "$(grep -c 'no ' "$O/miss.err")" -eq 2 ]
ok $? "missing prediction and missing ground truth listed on stderr, exit $rc"
[ "$(cut -d, -f1 "$O/miss.csv" | tr '\n' ' ')" = "Label c12_phantom c13_phantom c15_phantom Mean StdDev Median 25quantile 75quantile " ] &&
	[ "$(grep '^c15_phantom,' "$O/miss.csv")" = "$(grep '^c15_phantom,' "$O/all.csv")" ]
ok $? "the other cases scored and written"
rm "$O/pm/zz_orphan.nii.gz"
brats-metrics -q --subset -p "$O/pm" -g "$O/gm" >"$O/sub.csv" 2>"$O/sub.err"
[ $? -eq 0 ] && [ ! -s "$O/sub.err" ] && [ "$(wc -l <"$O/sub.csv")" -eq 9 ]
ok $? "--subset: ground-truth cases without a prediction are not errors"
brats-metrics --subset -p "$O/pm" -g "$O/gm" >"$O/sub2.csv" 2>"$O/sub2.err"
n=$(($(wc -l <"$O/sub.csv") - 1 - 5))
[ "$(grep -Ec '^brats-metrics: [^ ]+: [0-9]+/[0-9]+ cases$' "$O/sub2.err")" -eq "$n" ] && [ "$(wc -l <"$O/sub2.err")" -eq "$n" ] &&
	cmp -s "$O/sub.csv" "$O/sub2.csv"
ok $? "without -q and without a terminal: one progress line per case on stderr ($n), the same CSV"
cp "$D/pred/c13_phantom.nii.gz" "$O/pm/c13_phantom.nii"
fails "two predictions for one case" 1 "^brats-metrics: $O/pm: several predictions for case c13_phantom" \
	brats-metrics --subset -q -p "$O/pm" -g "$O/gm" -o "$O/dup.csv"
mkdir -p "$O/empty"
fails "no case at all" 1 "^brats-metrics: $O/empty: no case to score" brats-metrics -p "$O/empty" -g "$O/empty"
fails "missing prediction folder" 1 "^brats-metrics: $O/nope: No such file or directory$" brats-metrics -p "$O/nope" -g "$O/gm"

# ---- bad input ----
check "make bad inputs" $PYTHON -c "
import sys; sys.path.insert(0, '$TOP/tests/post'); import postlib, numpy as np
g = postlib.read_volume('$D/gt/c12_phantom/c12_phantom_seg.nii.gz')
a = np.asarray(g.data).copy(); a[3, 4, 5] = 3
postlib.write_nifti('$O/label3.nii.gz', a, g.affine)
a = np.asarray(g.data).astype(np.float32); a[1, 2, 3] = 2.5
postlib.write_nifti('$O/label25.nii.gz', a, g.affine)
postlib.write_nifti('$O/small.nii.gz', np.asarray(g.data)[:30], g.affine)
aff = g.affine.copy(); aff[0, 3] += 1
postlib.write_nifti('$O/shifted.nii.gz', np.asarray(g.data), aff)
postlib.write_nifti('$O/int16.nii.gz', np.asarray(g.data).astype(np.int16), g.affine)
postlib.nrrd_write('$O/four.nrrd', [postlib.Record(np.zeros((40, 36, 30, 2), np.uint8), g.affine)])
"
G=$D/gt/c12_phantom/c12_phantom_seg.nii.gz
Q=$D/pred/c12_phantom.nii.gz
brats-metrics "$Q" "$O/int16.nii.gz" | cut -d, -f2- >"$O/i16.csv" && brats-metrics "$Q" "$G" | cut -d, -f2- >"$O/u8.csv" &&
	cmp -s "$O/i16.csv" "$O/u8.csv"
ok $? "an int16 ground truth scores as uint8"
fails "label 3 in the prediction" 1 "^brats-metrics: $O/label3.nii.gz: label 3 at voxel \(3,4,5\) is not one of 0,1,2,4$" \
	brats-metrics -o "$O/x.csv" "$O/label3.nii.gz" "$G"
fails "label 2.5 in the ground truth" 1 "^brats-metrics: $O/label25.nii.gz: label 2.5 at voxel \(1,2,3\)" \
	brats-metrics -o "$O/x.csv" "$Q" "$O/label25.nii.gz"
fails "different grids" 1 "^brats-metrics: $O/small.nii.gz: grid 30x36x30 does not match the ground truth's 40x36x30" \
	brats-metrics -o "$O/x.csv" "$O/small.nii.gz" "$G"
fails "same sizes, other affine" 1 "^brats-metrics: $O/shifted.nii.gz: its affine does not match the ground truth's" \
	brats-metrics -o "$O/x.csv" "$O/shifted.nii.gz" "$G"
fails "--uncrop-ref with a prediction cropped from another grid" 1 \
	"^brats-metrics: $F/cropped.nrrd: cannot put it back on the ground truth's grid: .*240 x 240 x 155" \
	brats-metrics --uncrop-ref -o "$O/x.csv" "$F/cropped.nrrd" "$G"
fails "a 4-D record" 1 "^brats-metrics: $O/four.nrrd: a label map has one channel" brats-metrics -o "$O/x.csv" "$O/four.nrrd" "$G"
fails "missing file" 1 "^brats-metrics: $O/nope.nii.gz: No such file or directory$" brats-metrics -o "$O/x.csv" "$O/nope.nii.gz" "$G"
fails "a directory" 1 "^brats-metrics: $D/gt: is a directory$" brats-metrics -o "$O/x.csv" "$Q" "$D/gt"
head -c 3000 "$D/pred/c20_nrrd.nrrd" >"$O/trunc.nrrd"
fails "truncated NRRD" 1 "^brats-metrics: $O/trunc.nrrd: " brats-metrics -o "$O/x.csv" "$O/trunc.nrrd" "$G"
head -c 400 "$Q" >"$O/trunc.nii.gz"
fails "truncated NIfTI" 1 "^brats-metrics: $O/trunc.nii.gz: " brats-metrics -o "$O/x.csv" "$O/trunc.nii.gz" "$G"
fails "empty stdin" 1 "^brats-metrics: stdin: empty input" sh -c "brats-metrics -o '$O/x.csv' - '$G' </dev/null"
absent "$O/x.csv" "no CSV written after an error"
mkdir -p "$O/pb"
cp "$Q" "$O/pb/"
cp "$O/label3.nii.gz" "$O/pb/c13_phantom.nii.gz"
brats-metrics -p "$O/pb" -g "$D/gt" --subset -o "$O/pb.csv" 2>"$O/pb.err"
[ $? -eq 1 ] && grep -q "^brats-metrics: $O/pb/c13_phantom.nii.gz: label 3 at voxel" "$O/pb.err" &&
	[ "$(wc -l <"$O/pb.csv")" -eq 2 ]
ok $? "a bad case in a directory run: listed, the rest scored, exit 1"
no_partial "$O" "no temporary left beside the outputs"
fails "output into a missing folder" 1 "^brats-metrics: $O/no/x.csv: cannot create" brats-metrics -o "$O/no/x.csv" "$Q" "$G"
fails "one operand" 2 "^brats-metrics: expected two files" brats-metrics "$Q"
fails "three operands" 2 "^brats-metrics: expected two files" brats-metrics "$Q" "$G" "$G"
fails "-p without -g" 2 "^brats-metrics: -p and -g go together" brats-metrics -p "$D/pred"
fails "-p, -g and operands" 2 "^brats-metrics: give either" brats-metrics -p "$D/pred" -g "$D/gt" "$Q"
fails "--subset with one case" 2 "^brats-metrics: --subset applies" brats-metrics --subset "$Q" "$G"
fails "--region XT" 2 "^brats-metrics: --region: 'XT' is not ET, WT or TC" brats-metrics --region WT,XT "$Q" "$G"
fails "--labels 2021" 2 "^brats-metrics: --labels: '2021'" brats-metrics --labels 2021 "$Q" "$G"
fails "unknown option" 2 "\(see brats-metrics -h\)$" brats-metrics --bogus "$Q" "$G"
{
	brats-metrics -q -p "$D/pred" -g "$D/gt" 2>"$O/pipe.err"
	echo $? >"$O/pipe.rc"
} | true
[ ! -s "$O/pipe.err" ] && [ "$(cat "$O/pipe.rc")" -ne 0 ]
ok $? "closed pipe: quiet end (exit $(cat "$O/pipe.rc"))"

# ---- usage and manual ----
brats-metrics -h >"$O/usage.txt" 2>"$O/usage.err"
[ $? -eq 0 ] && [ ! -s "$O/usage.err" ] && grep -q "^usage: brats-metrics" "$O/usage.txt"
ok $? "-h: usage on stdout, exit 0"
finish
