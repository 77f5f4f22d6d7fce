#!/bin/sh
# .nii.gz data through the whole-buffer decoder (libdeflate) and its zlib
# fallback: one and several gzip members, content running past the image,
# a stray tail, truncated and corrupt data, a highly compressed tail.  Each
# accepted file must give nibabel's voxels, to the bit.
. "$TOP/tests/lib.sh"
cd "$TMPDIR" || exit 1
# address-space limits: AddressSanitizer reserves terabytes up front, and
# bounds memory errors itself, so its build runs without them
lim_ok=400000 lim_huge=300000
if grep -q __asan_init "$BINDIR/brats-flip" 2>/dev/null; then lim_ok=unlimited lim_huge=unlimited; fi
"$PYTHON" - <<'PY' || t_notok "making the gzip variants"
import gzip, zlib, numpy as np, nibabel as nib
rng = np.random.default_rng(7)
x = (rng.normal(300, 80, (61, 53, 37)) + np.arange(37)[None, None, :] * 5).astype(np.int16)
aff = np.diag([1.0, 1.2, 1.5, 1.0]); aff[:3, 3] = [-30, -40, -20]
nib.save(nib.Nifti1Image(x, aff), "ref.nii")
raw = open("ref.nii", "rb").read()
np.save("ref.npy", x)
def member(b, level=6):
    return gzip.compress(b, compresslevel=level, mtime=0)
open("one.nii.gz", "wb").write(member(raw))
k = len(raw) // 3
open("multi.nii.gz", "wb").write(member(raw[:k]) + member(raw[k:2 * k], 1) + member(raw[2 * k:], 9))
open("longer.nii.gz", "wb").write(member(raw + b"\0" * 1000))
open("tail.nii.gz", "wb").write(member(raw) + b"not gzip at all")
open("bomb.nii.gz", "wb").write(member(raw + b"\0" * (300 << 20), 9))
z = member(raw)
open("trunc.nii.gz", "wb").write(z[: len(z) // 2])
c = bytearray(z); c[len(c) // 2: len(c) // 2 + 64] = bytes(64)
open("corrupt.nii.gz", "wb").write(bytes(c))
open("short.nii.gz", "wb").write(member(raw[: len(raw) - 4000]))
h = nib.Nifti1Header(); h.set_data_shape((2048, 2048, 2048)); h.set_data_dtype(np.int16)
open("huge.nii.gz", "wb").write(member(h.binaryblock + bytes(4) + bytes(100000)))
PY
for f in one multi longer tail bomb; do
	# brats-flip twice is the identity on the voxels: the NRRD written holds what was read
	if (ulimit -v $lim_ok; brats-flip -q "$f.nii.gz" | brats-flip -q >"$f.nrrd") 2>"$f.err" &&
		"$PYTHON" - "$f.nrrd" <<'PY'
import sys, os, numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = brtest.read_nrrd(sys.argv[1])
ref = np.load("ref.npy")
d = r.data.reshape(ref.shape, order="F") if r.data.shape != ref.shape else r.data
sys.exit(0 if d.dtype == ref.dtype and np.array_equal(d, ref) else 1)
PY
	then t_ok "$f.nii.gz: the voxels nibabel reads, to the bit"
	else t_notok "$f.nii.gz: $(head -n 1 "$f.err")"
	fi
done
fails "truncated gzip" 1 "^brats-flip: .*trunc.nii.gz: .*(truncated|corrupt)" brats-flip -q -o out.nrrd trunc.nii.gz
fails "corrupt gzip" 1 "^brats-flip: .*corrupt.nii.gz: .*corrupt" brats-flip -q -o out.nrrd corrupt.nii.gz
fails "valid gzip, too little data" 1 "^brats-flip: .*short.nii.gz: data truncated: [0-9]+ of the 239242 bytes" brats-flip -q -o out.nrrd short.nii.gz
(ulimit -v $lim_huge; exec brats-flip -q -o out.nrrd huge.nii.gz) 2>huge.err
rc=$?
if [ $rc -eq 1 ] && grep -Eq "^brats-flip: .*huge.nii.gz: data truncated: [0-9]+ bytes of gzip cannot hold the 17179869184 bytes" huge.err; then
	t_ok "a header promising 16 GiB in 100 kB of gzip: refused before allocating"
else
	t_notok "16 GiB claim: exit $rc, $(head -n 1 huge.err)"
fi
absent out.nrrd "no output after the errors"
finish
