#!/bin/sh
# Bad input for the preprocessing tools: one-line errors, exit 1 (2 for
# usage), no output file left behind.
. "$TOP/tests/lib.sh"
W=$TMPDIR/w
mkdir -p "$W" "$TMPDIR/out"
"$PYTHON" "$TOP/tests/prep/make_bad.py" "$W" || { t_notok "make bad inputs"; finish; }
O=$TMPDIR/out/x.nrrd
S="--size 32x48"

fails "crop: missing modality" 1 "^brats-crop: .*nflair: no flair file" brats-crop $S -o $O "$W/nflair"
fails "crop: duplicate modality" 1 "^brats-crop: .*dup: duplicate t1" brats-crop $S -o $O "$W/dup"
fails "crop: grids differ" 1 "^brats-crop: .*grid_flair.nii.gz: grid .* differs" brats-crop $S -o $O "$W/grid"
fails "crop: affines differ" 1 "^brats-crop: .*affine_t2.nii.gz: grid .*affine differs" brats-crop $S -o $O "$W/affine"
fails "crop: truncated gzip" 1 "^brats-crop: .*trunc_t1.nii.gz: .*(truncated|corrupt)" brats-crop $S -o $O "$W/trunc"
fails "crop: corrupt gzip" 1 "^brats-crop: .*corrupt_t2.nii.gz: .*(truncated|corrupt)" brats-crop $S -o $O "$W/corrupt"
fails "crop: header lies about its size" 1 "^brats-crop: .*lies_t1ce.nii: .*truncated" brats-crop $S -o $O "$W/lies"
fails "crop: NaN voxel" 1 "^brats-crop: .*nan_flair.nii.gz: voxel \(10,11,12\) .* NaN" brats-crop $S -o $O "$W/nan"
fails "crop: Inf voxel" 1 "^brats-crop: .*inf_t2.nii.gz: voxel \(3,4,5\) .* infinite" brats-crop $S -o $O "$W/inf"
fails "crop: unsupported datatype" 1 "^brats-crop: .*cplx_t1.nii.gz: unsupported NIfTI datatype" brats-crop $S -o $O "$W/cplx"
fails "crop --seg: label outside 0,1,2,4" 1 "^brats-crop: .*badlab_seg.nii.gz: label 3 at voxel \(30,30,10\)" brats-crop --seg $S -o $O "$W/badlab"
fails "crop: not a case folder" 1 "^brats-crop: .*: cannot open case folder|no t1" brats-crop $S -o $O "$W/nosuchcase"
absent "$O" "no output file after the failures above"
no_partial "$TMPDIR/out" "no temporary file left"

# an existing output is not clobbered by a failing run
echo keep >"$O"
brats-crop $S -o "$O" "$W/trunc" 2>/dev/null
if [ "$(cat "$O")" = keep ]; then t_ok "failing run leaves an existing output untouched"; else t_notok "existing output clobbered"; fi
rm -f "$O"

fails "norm: empty stdin" 1 "^brats-norm: stdin: empty input" brats-norm </dev/null
fails "flip: empty stdin" 1 "^brats-flip: stdin: empty input" brats-flip </dev/null
fails "uncrop: empty stdin" 1 "^brats-uncrop: stdin: empty input" brats-uncrop -r "$W/good/good_t1.nii.gz" </dev/null
fails "norm: truncated NRRD" 1 "^brats-norm: .*short.nrrd: NRRD data truncated" brats-norm -o $O "$W/short.nrrd"
fails "norm: NaN in a record" 1 "^brats-norm: .*nan.nrrd: record 1: voxel \(1,2,3\) .* NaN" brats-norm -o $O "$W/nan.nrrd"
fails "flip: not a volume" 1 "^brats-flip: .*garbage.nrrd: unknown format" brats-flip -o $O "$W/garbage.nrrd"
fails "uncrop: record without crop box, off the grid" 1 "^brats-uncrop: .*short|record 1|truncated" brats-uncrop -r "$W/good/good_t1.nii.gz" -o $O "$W/short.nrrd"
brats-crop $S "$W/good" >"$TMPDIR/good.nrrd" 2>/dev/null
fails "uncrop: reference of another grid" 1 "^brats-uncrop: .*record 1: was cropped from a 64 x 64 x 20 grid, the reference is 64 x 64 x 21" \
	brats-uncrop -r "$W/grid/grid_flair.nii.gz" -o $O "$TMPDIR/good.nrrd"
fails "uncrop: missing reference" 1 "^brats-uncrop: .*nothere.nii.gz: " brats-uncrop -r "$W/nothere.nii.gz" -o $O "$TMPDIR/good.nrrd"
fails "nifti output takes one record" 1 "^brats-norm: .*x.nii.gz: a NIfTI file holds one record" sh -c "cat '$TMPDIR/good.nrrd' '$TMPDIR/good.nrrd' | brats-norm -o '$TMPDIR/out/x.nii.gz'"
absent "$O" "no output file after the failures above"
absent "$TMPDIR/out/x.nii.gz" "no NIfTI output after a failure"
no_partial "$TMPDIR/out" "no temporary file left"

# usage errors: exit 2
fails "crop: bad --size" 2 "^brats-crop: --size" brats-crop --size 12 "$W/good"
fails "crop: bad --center" 2 "^brats-crop: --center" brats-crop --center middle "$W/good"
fails "crop: unknown option" 2 "brats-crop" brats-crop --bogus "$W/good"
fails "crop: three files" 2 "^brats-crop: expected a case folder" brats-crop a b c
fails "norm: bad --clip" 2 "^brats-norm: --clip" brats-norm --clip 70
fails "norm: bad --mask" 2 "^brats-norm: --mask" brats-norm --mask brain
fails "flip: bad --axis" 2 "^brats-flip: --axis" brats-flip --axis w
fails "uncrop: no -r" 2 "^brats-uncrop: -r REFERENCE is required" brats-uncrop

# binary output into a terminal is refused (stdout on a pseudo-terminal)
for tool in "brats-crop $S $W/good" "brats-norm $TMPDIR/good.nrrd" "brats-flip $TMPDIR/good.nrrd" \
	"brats-uncrop -r $W/good/good_t1.nii.gz $TMPDIR/good.nrrd"; do
	"$PYTHON" - $tool >"$TMPDIR/tty.out" 2>&1 <<'PY'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.run(sys.argv[1:], stdout=s, stderr=subprocess.PIPE)
os.close(s)
err = p.stderr.decode()
ok = p.returncode == 1 and "terminal" in err and len(err.strip().splitlines()) == 1
print(err.strip())
sys.exit(0 if ok else 1)
PY
	ok $? "${tool%% *}: refuses binary output to a terminal"
done

# a closed pipe ends the tool quietly (a record larger than the 1 MiB the
# tools widen a pipe to, so that the reader is gone before it is written)
brats-crop --size 256x256 "$W/good" 2>"$TMPDIR/pipe.err" | head -c 10 >/dev/null
if [ ! -s "$TMPDIR/pipe.err" ]; then t_ok "crop | head -c 10: quiet"; else t_notok "crop | head -c 10 printed: $(cat "$TMPDIR/pipe.err")"; fi
cat "$TMPDIR/good.nrrd" "$TMPDIR/good.nrrd" "$TMPDIR/good.nrrd" | brats-norm 2>"$TMPDIR/pipe.err" | head -c 10 >/dev/null
if [ ! -s "$TMPDIR/pipe.err" ]; then t_ok "norm | head -c 10: quiet"; else t_notok "norm | head -c 10 printed: $(cat "$TMPDIR/pipe.err")"; fi
finish
