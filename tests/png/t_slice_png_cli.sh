#!/bin/sh
# slice-png on the command line: bad input (one-line "slice-png: file: reason",
# exit 1, no picture left behind), bad usage (exit 2), output to files, pipes
# and terminals, -h against the man page, and a brats-crop | brats-norm
# pipeline into slice-png.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
O=$TMPDIR/out
mkdir -p "$O"
if ! "$PYTHON" "$TOP/tests/png/check_slice_png.py" gen "$D"; then
	t_notok "generate the test volumes"
	finish
fi
P=$O/x.png
IMG=$D/head_lps.nrrd

# bad input: exit 1, one line naming the file
fails "LABELS: label 3" 1 "^slice-png: .*lab_bad3.nrrd: label 3 at voxel \(20,21,22\) is not one of 0,1,2,4$" \
	slice-png --overlay "$D/lab_bad3.nrrd" -o "$P" "$IMG"
fails "PRED: label 3" 1 "^slice-png: .*lab_bad3.nrrd: label 3 at voxel" slice-png --compare "$D/lab_bad3.nrrd" -o "$P" "$IMG"
fails "--labels 2023: label 4" 1 "^slice-png: .*lab_lps.nrrd: label 4 at voxel .* not one of 0,1,2,3" \
	slice-png --labels 2023 --overlay "$D/lab_lps.nrrd" -o "$P" "$IMG"
fails "LABELS of another size" 1 "^slice-png: .*lab_grid.nrrd: grid 48 x 56 x 41 differs from .*head_lps.nrrd's 48 x 56 x 40" \
	slice-png --overlay "$D/lab_grid.nrrd" -o "$P" "$IMG"
fails "LABELS with another affine" 1 "^slice-png: .*lab_affine.nrrd: .*affine differs from .*head_lps.nrrd" \
	slice-png --overlay "$D/lab_affine.nrrd" -o "$P" "$IMG"
fails "PRED of another grid" 1 "^slice-png: .*lab_grid.nrrd: grid .* differs" \
	slice-png --overlay "$D/lab_lps.nrrd" --compare "$D/lab_grid.nrrd" -o "$P" "$IMG"
fails "PRED on the RAS grid of the same anatomy" 1 "^slice-png: .*pred_ras.nrrd: .*affine differs" \
	slice-png --compare "$D/pred_ras.nrrd" -o "$P" "$IMG"
fails "LABELS with 4 channels" 1 "^slice-png: .*lab_4ch.nrrd: a label map has one channel, this record has 4" \
	slice-png --overlay "$D/lab_4ch.nrrd" -o "$P" "$IMG"
fails "IN missing" 1 "^slice-png: .*nothere.nrrd: .*(No such file|cannot open)" slice-png -o "$P" "$D/nothere.nrrd"
fails "LABELS missing" 1 "^slice-png: .*nothere.nrrd: " slice-png --overlay "$D/nothere.nrrd" -o "$P" "$IMG"
fails "IN not a volume" 1 "^slice-png: .*garbage.nrrd: unknown format" slice-png -o "$P" "$D/garbage.nrrd"
fails "IN a directory" 1 "^slice-png: .*: is a directory" slice-png -o "$P" "$D"
head -c 3000 "$IMG" >"$D/short.nrrd"
fails "IN truncated" 1 "^slice-png: .*short.nrrd: .*truncated" slice-png -o "$P" "$D/short.nrrd"
fails "empty stdin" 1 "^slice-png: stdin: empty input" slice-png -o "$P" </dev/null
fails "NaN voxel" 1 "^slice-png: .*nan.nrrd: voxel \(1,2,3\) .*NaN" slice-png -o "$P" "$D/nan.nrrd"
fails "axial slice out of range" 1 "^slice-png: .*head_lps.nrrd: axial slice 40 out of range \(0 to 39" slice-png -z 40 -o "$P" "$IMG"
fails "coronal slice out of range" 1 "^slice-png: .*head_lps.nrrd: coronal slice 56 out of range \(0 to 55" \
	slice-png --coronal 56 -o "$P" "$IMG"
fails "sagittal slice out of range" 1 "^slice-png: .*: sagittal slice 48 out of range \(0 to 47" slice-png --sagittal 48 -o "$P" "$IMG"
fails "no flair channel" 1 "^slice-png: .*prob.nrrd: no flair channel \(channels: wt ncr ed et\)" slice-png -o "$P" "$D/prob.nrrd"
fails "channel out of range" 1 "^slice-png: .*four.nrrd: channel 4 out of range \(0 to 3\)" slice-png --channel 4 -o "$P" "$D/four.nrrd"
fails "channel 1 of a single-channel volume" 1 "^slice-png: .*head_lps.nrrd: channel 1 out of range \(0 to 0\)" slice-png --channel 1 -o "$P" "$IMG"
fails "3 channels without names" 1 "^slice-png: .*three.nrrd: a 3-channel record without channel names: choose one with --channel" \
	slice-png -o "$P" "$D/three.nrrd"
fails "a picture too large" 1 "^slice-png: .*head_lps.nrrd: a 64 x 64 montage of .* is too large" slice-png --montage 64x64 --zoom 32 -o "$P" "$IMG"
fails "output directory missing" 1 "^slice-png: .*nodir/x.png: cannot create" slice-png -z 5 -o "$O/nodir/x.png" "$IMG"
absent "$P" "no picture after the failures above"
no_partial "$O" "no temporary file left"
echo keep >"$P"
slice-png --overlay "$D/lab_bad3.nrrd" -o "$P" "$IMG" 2>/dev/null
if [ "$(cat "$P")" = keep ]; then t_ok "a failing run leaves an existing picture untouched"; else t_notok "existing picture clobbered"; fi
rm -f "$P"

# bad usage: exit 2
for m in 4by3 0x3 4x x3 65x1 4x3x2 4x-1; do
	fails "--montage $m" 2 "^slice-png: --montage: '$m' is not COLSxROWS" slice-png --montage "$m" -o "$P" "$IMG"
done
for w in 5 10,5 a,b 1,2,3 3,3; do
	fails "--window $w" 2 "^slice-png: --window: '$w' is not LO,HI" slice-png --window "$w" -o "$P" "$IMG"
done
fails "--alpha 2" 2 "^slice-png: --alpha: '2' is not a number from 0 to 1" slice-png --alpha 2 -o "$P" "$IMG"
fails "-m dwi" 2 "^slice-png: -m: 'dwi' is not t1, t1ce, t2 or flair" slice-png -m dwi -o "$P" "$IMG"
fails "--view oblique" 2 "^slice-png: --view: 'oblique'" slice-png --view oblique -o "$P" "$IMG"
fails "--labels 2021" 2 "^slice-png: --labels: '2021'" slice-png --labels 2021 -o "$P" "$IMG"
fails "--zoom 0" 2 "^slice-png: --zoom: '0'" slice-png --zoom 0 -o "$P" "$IMG"
fails "-z -3" 2 "^slice-png: -z: '-3'" slice-png -z -3 -o "$P" "$IMG"
fails "-z abc" 2 "^slice-png: -z: 'abc'" slice-png -z abc -o "$P" "$IMG"
fails "a slice and --montage" 2 "^slice-png: give one slice .* or --montage, not both" slice-png -z 5 --montage 2x2 -o "$P" "$IMG"
fails "slices of two planes" 2 "^slice-png: --coronal: a slice of another plane" slice-png -z 5 --coronal 6 -o "$P" "$IMG"
fails "--view and a slice disagree" 2 "^slice-png: --view coronal and a axial slice disagree" slice-png --view coronal -z 5 -o "$P" "$IMG"
fails "--contour without labels" 2 "^slice-png: --contour needs --overlay or --compare" slice-png --contour -o "$P" "$IMG"
fails "-m and --channel" 2 "^slice-png: give -m or --channel, not both" slice-png -m t1 --channel 0 -o "$P" "$IMG"
fails "two inputs" 2 "^slice-png: expected one input, got 2" slice-png -o "$P" "$IMG" "$IMG"
fails "stdin twice" 2 "^slice-png: only one of IN, LABELS and PRED can be the standard input" slice-png --overlay - -o "$P" - </dev/null
fails "unknown option" 2 "^slice-png: unknown option '--bogus'" slice-png --bogus "$IMG"
fails "option without its value" 2 "^slice-png: option '--overlay' needs a value" slice-png "$IMG" --overlay
absent "$P" "no picture after the usage errors"

# output: a file (mode as any new file), a pipe, never a terminal
(umask 022 && slice-png -z 20 -o "$P" "$IMG")
ok $? "-o FILE writes the picture"
if [ -f "$P" ] && [ "$(head -c 4 "$P" | od -An -c | tr -d ' ')" = "211PNG" ]; then t_ok "it is a PNG file"; else t_notok "not a PNG file"; fi
if [ "$(stat -c %a "$P")" = 644 ]; then t_ok "mode 644 under umask 022"; else t_notok "mode $(stat -c %a "$P")"; fi
slice-png -z 20 "$IMG" | cmp -s - "$P"
ok $? "stdout into a pipe: the same bytes as -o FILE"
slice-png -z 20 -o - "$IMG" | cmp -s - "$P"
ok $? "-o - into a pipe: the same bytes"
"$PYTHON" - slice-png -z 20 "$IMG" >"$TMPDIR/tty.out" 2>&1 <<'PY'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.run(sys.argv[1:], stdout=s, stderr=subprocess.PIPE)
os.close(s)
err = p.stderr.decode()
print(err.strip())
sys.exit(0 if p.returncode == 1 and "terminal" in err and len(err.strip().splitlines()) == 1 else 1)
PY
ok $? "refuses to write the picture to a terminal"
slice-png --montage 8x8 --zoom 4 "$IMG" 2>"$TMPDIR/err" | head -c 10 >/dev/null
if [ ! -s "$TMPDIR/err" ]; then t_ok "slice-png | head -c 10: quiet"; else t_notok "slice-png | head -c 10 printed: $(cat "$TMPDIR/err")"; fi
slice-png -v --montage 3x1 --overlay "$D/lab_lps.nrrd" -o "$P" "$IMG" 2>"$TMPDIR/err"
grep -Eq "^slice-png: axial slices [0-9]+ [0-9]+ [0-9]+ \(index along z\); window " "$TMPDIR/err"
ok $? "-v names the slices and the window"
slice-png -q --montage 2x1 --overlay "$D/lab_empty.nrrd" -o "$P" "$IMG" 2>"$TMPDIR/err"
if [ $? -eq 0 ] && [ ! -s "$TMPDIR/err" ]; then t_ok "-q: no warning"; else t_notok "-q printed: $(cat "$TMPDIR/err")"; fi

# -h and the man page
slice-png -h >"$TMPDIR/usage" 2>"$TMPDIR/err"
if [ $? -eq 0 ] && head -n 1 "$TMPDIR/usage" | grep -q "^usage: slice-png" && [ ! -s "$TMPDIR/err" ]; then
	t_ok "-h: usage on stdout, exit 0"
else
	t_notok "-h"
fi

# a pipeline: brats-crop | brats-norm into slice-png, with the cropped ground truth
if [ -x "$BINDIR/brats-crop" ] && [ -x "$BINDIR/brats-norm" ]; then
	"$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib')
import brtest
brtest.make_case('$TMPDIR/cases', 'BraTS20_Training_007', shape=(96, 96, 40), seed=3)
" || t_notok "make a case"
	C=$TMPDIR/cases/BraTS20_Training_007
	brats-crop --size 80x80 --seg -o "$O/seg.nrrd" "$C" 2>"$TMPDIR/err"
	ok $? "brats-crop --seg"
	brats-crop --size 80x80 "$C" 2>>"$TMPDIR/err" | brats-norm 2>>"$TMPDIR/err" |
		slice-png -v -m t1ce --overlay "$O/seg.nrrd" --montage 3x2 -o "$O/case.png" 2>"$TMPDIR/err"
	ok $? "brats-crop | brats-norm | slice-png --overlay seg.nrrd"
	"$PYTHON" "$TOP/tests/png/check_case.py" "$O/case.png" "$O/seg.nrrd"
	ok $? "the case picture: 3x2 tiles through the tumour, t1ce, yellow ET pixels"
	slice-png --overlay "$C/BraTS20_Training_007_seg.nii.gz" -o "$P" "$O/seg.nrrd" 2>"$TMPDIR/err"
	grep -q "grid 96 x 96 x 40 differs from .*seg.nrrd's 80 x 80 x 40" "$TMPDIR/err"
	ok $? "an uncropped segmentation over a cropped record: a clear error"
else
	t_ok "brats-crop | brats-norm | slice-png # SKIP brats-crop or brats-norm not built"
fi
finish
