#!/bin/sh
# tests/post/t_lesion.sh - brats-metrics --lesion-wise (the BraTS 2023
# lesion-wise scores) against the NumPy/SciPy reference written from the
# definitions (tests/post/lesion_ref.py), on phantoms: random blobs, split
# and merged lesions, empty prediction, empty truth, lesions under 50 mm^3,
# anisotropic grids; the surface-element areas; the 2020 and 2023 labels.
. "$TOP/tests/lib.sh"
P="$PYTHON $TOP/tests/post"
D=$TMPDIR/data
O=$TMPDIR/out
mkdir -p "$O"
R="ET WT TC"
cols() { for r in $R; do printf ',%s_%s' "$1" "$r"; done; }
HEADER="Label$(cols Dice)$(cols Sensitivity)$(cols Specificity)$(cols Hausdorff95)$(cols LesionWise_Dice)$(cols LesionWise_Hausdorff95)$(cols Num_TP)$(cols Num_FP)$(cols Num_FN)"

check "generate test cases" $P/gen.py lesion "$D"

# ---- surface elements: the area of each of the 256 codes ----
if [ -x "${BUILDDIR:-}/tests/post/test_surfel" ]; then
	worst=0
	for sp in "1 1 1" "1 1.2 2.5" "0.9 0.9 3"; do
		"$BUILDDIR/tests/post/test_surfel" $sp >"$O/c_areas.txt" && $P/lesion_ref.py areas $sp >"$O/r_areas.txt" &&
			worst=$(paste "$O/c_areas.txt" "$O/r_areas.txt" |
				awk -v w="$worst" '{d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d} END {print w}') ||
			worst=fail
	done
	awk -v w="$worst" 'BEGIN {exit !(w != "fail" && w <= 1e-12)}'
	ok $? "surface-element areas of the 256 codes, three spacings: as the reference (max |difference| $worst mm^2)"
else
	t_ok "# SKIP $BUILDDIR/tests/post/test_surfel not built (make test-programs)"
fi

# ---- a set against the reference ----
check "--lesion-wise directory run (2023 labels)" \
	brats-metrics --lesion-wise --labels 2023 -p "$D/pred" -g "$D/gt" -o "$O/all.csv"
$P/metrics_ref.py --lesion-wise --labels 2023 -p "$D/pred" -g "$D/gt" >"$O/rall.csv"
ok $? "reference run"
$P/cmp.py csv "$O/all.csv" "$O/rall.csv" 1e-5 >"$O/cmp.txt"
ok $? "every case and statistics row as the reference within 1e-5, counts equal ($(cat "$O/cmp.txt"))"
[ "$(head -n 1 "$O/all.csv")" = "$HEADER" ]
ok $? "header: the portal's columns, then LesionWise_Dice, LesionWise_Hausdorff95, Num_TP, Num_FP, Num_FN"
[ "$(wc -l <"$O/all.csv")" -eq $((1 + 13 + 5)) ]
ok $? "13 case rows and 5 statistics rows"
brats-metrics --labels 2023 -p "$D/pred" -g "$D/gt" >"$O/portal.csv" &&
	[ "$(cut -d, -f1-13 "$O/all.csv")" = "$(cat "$O/portal.csv")" ]
ok $? "the portal's columns are those of a run without --lesion-wise"

# ---- documented conventions, case by case ----
row() { grep "^$1," "$O/all.csv" | cut -d, -f14-; }
L9() { printf '%s,%s,%s' "$1" "$1" "$1"; }
[ "$(row l14_both_empty)" = "$(L9 1.00000),$(L9 0.00000),$(L9 0),$(L9 0),$(L9 0)" ]
ok $? "both empty: Dice 1, HD95 0, no lesion"
row l13_gt_empty | awk -F, '{exit !($1 + $2 + $3 == 0 && $4 == 374 && $5 == 374 && $6 == 374 &&
	$7 + $8 + $9 == 0 && $10 > 0 && $11 > 0 && $12 > 0 && $13 + $14 + $15 == 0)}'
ok $? "empty truth: every predicted lesion a false positive, Dice 0, HD95 374"
row l12_pred_empty | awk -F, '{exit !($2 == 0 && $5 == 374 && $8 == 0 && $11 == 0 && $14 > 0)}'
ok $? "empty prediction: every true lesion missed (WT: Dice 0, HD95 374, FN > 0, FP 0)"
row l11_merged | awk -F, '{exit !($8 == 2 && $11 == 0 && $14 == 0)}'
ok $? "one predicted lesion bridging two true lesions matches both (WT: TP 2, FP 0)"
row l10_split | awk -F, '{exit !($7 == 1 && $8 == 2 && $9 == 2 && $10 + $11 + $12 == 0 && $13 + $14 + $15 == 0)}'
ok $? "a lesion predicted in two pieces and two true lesions 3 voxels apart (one lesion) count once each"
row l15_small | awk -F, '{exit !($8 == 2 && $14 == 0)}'
ok $? "lesions of at most 50 mm^3 left out (50 voxels of 1 mm: out, 51: in; a missed small one is no FN)"

# ---- the year's labels ----
brats-metrics --lesion-wise -p "$D/y2020/pred" -g "$D/y2020/gt" -o "$O/y2020.csv" &&
	cmp -s "$O/y2020.csv" "$O/all.csv"
ok $? "the same cases with the 2020 labels (ET = 4) under --labels 2020: the same CSV"
fails "2023 labels scored as 2020" 1 "^brats-metrics: .*: label 3 at voxel .* not one of 0,1,2,4$" \
	brats-metrics --lesion-wise "$D/pred/l00_blobs.nii.gz" "$D/gt/l00_blobs/l00_blobs-seg.nii.gz"

# ---- regions, one case ----
brats-metrics --lesion-wise --labels 2023 --region TC,wt -p "$D/pred" -g "$D/gt" >"$O/wttc.csv"
[ "$(cut -d, -f1,3,4,6,7,9,10,12,13,15,16,18,19,21,22,24,25,27,28 "$O/all.csv")" = "$(cat "$O/wttc.csv")" ]
ok $? "--region TC,wt: the WT and TC columns of the full table"
brats-metrics --lesion-wise --labels 2023 "$D/pred/l21_aniso.nii.gz" "$D/gt/l21_aniso/l21_aniso-seg.nii.gz" >"$O/one.csv" &&
	[ "$(sed -n 2p "$O/one.csv")" = "$(grep '^l21_aniso,' "$O/all.csv")" ]
ok $? "one case: the same row as in the directory run"

finish
