#!/bin/sh
# tests/phantom/test_phantom_case.sh - the phantom library in-process
# (test_phantom_case.c), and brats-phantom's files against the cases it makes
# in memory.  The procedural brain throughout: nothing outside the tree.
. "$TOP/tests/lib.sh"
prog=$BUILDDIR/tests/phantom/test_phantom_case
D=$TMPDIR/d
BR_PHANTOM_TEMPLATE=$TMPDIR/no-template.nii.gz
export BR_PHANTOM_TEMPLATE
[ -x "$prog" ] || { t_notok "$prog not built"; finish; }
check "brats-phantom: two small cases, brats2020" brats-phantom -q -j 2 -n 2 --first 7 --seed 21 --size small -o "$D/a"
check "brats-phantom: one small case, brats2023, one thread" \
	brats-phantom -q -j 1 -n 1 --first 12 --seed 5 --layout brats2023 --size small -o "$D/b"
t_program "$prog" "$TMPDIR/scratch" \
	21 7 small 2020 "$D/a/BraTS20_Training_007/BraTS20_Training_007_" \
	21 8 small 2020 "$D/a/BraTS20_Training_008/BraTS20_Training_008_" \
	5 12 small 2023 "$D/b/BraTS-GLI-00012-000/BraTS-GLI-00012-000-"
finish
