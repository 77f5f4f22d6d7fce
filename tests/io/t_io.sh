#!/bin/sh
# The I/O layer: unit tests, NRRD against Teem's unu both ways, and the real
# cases of ../shared/data/real when the tree sits beside them.
. "$TOP/tests/lib.sh"
t_program "$BUILDDIR/tests/io/test_io" "$TMPDIR"

UNU=$(command -v teem-unu || command -v unu)
if [ -z "$UNU" ]; then
	t_notok "Teem's unu is not installed (scripts/install-deps.sh)"
	finish
fi
"$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib'); import brtest
brtest.make_case('$TMPDIR', 'case', shape=(64, 64, 20), seed=3, affine='lps')
" || t_notok "test case"
brats-crop -q --size 48x40 "$TMPDIR/case" >"$TMPDIR/img.nrrd"
brats-crop -q --seg --size 48x40 "$TMPDIR/case" >"$TMPDIR/seg.nrrd"
for f in img seg; do
	if "$UNU" head "$TMPDIR/$f.nrrd" >"$TMPDIR/head.txt" 2>&1 && grep -q '^sizes:' "$TMPDIR/head.txt"; then
		t_ok "unu head reads our $f record"
	else
		t_notok "unu head $f: $(head -n 2 "$TMPDIR/head.txt")"
	fi
	"$UNU" minmax "$TMPDIR/$f.nrrd" >"$TMPDIR/mm.txt" 2>&1
	"$PYTHON" - "$TMPDIR/$f.nrrd" "$TMPDIR/mm.txt" <<'PY'
import sys, os
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = brtest.read_nrrd(sys.argv[1])
mm = dict(l.split(": ") for l in open(sys.argv[2]).read().split("\n") if ": " in l)
sys.exit(0 if float(mm["min"]) == float(r.data.min()) and float(mm["max"]) == float(r.data.max()) else 1)
PY
	ok $? "unu minmax of our $f record equals NumPy's"
done
# what unu writes, we read: gzip encoding, big-endian, a cropped sub-volume
"$UNU" save -f nrrd -e gzip -i "$TMPDIR/img.nrrd" -o "$TMPDIR/gz.nrrd" &&
	"$UNU" save -f nrrd -en big -i "$TMPDIR/img.nrrd" -o "$TMPDIR/be.nrrd" &&
	"$UNU" crop -min 0 0 0 0 -max M M M 1 -i "$TMPDIR/img.nrrd" -o "$TMPDIR/two.nrrd"
ok $? "unu writes gzip, big-endian and cropped records"
for f in gz be; do
	brats-flip -q "$TMPDIR/$f.nrrd" | brats-flip -q >"$TMPDIR/$f.back.nrrd"
	"$PYTHON" - "$TMPDIR/img.nrrd" "$TMPDIR/$f.back.nrrd" <<'PY'
import sys, os
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
a, b = brtest.read_nrrd(sys.argv[1]), brtest.read_nrrd(sys.argv[2])
sys.exit(0 if np.array_equal(a.data, b.data) and np.allclose(a.affine, b.affine) and b.meta.get("case") == "case" else 1)
PY
	ok $? "unu's $f record reads back the same voxels, affine and metadata"
done
brats-norm -q "$TMPDIR/two.nrrd" >"$TMPDIR/two.out.nrrd" && "$PYTHON" - "$TMPDIR/two.out.nrrd" <<'PY'
import sys, os
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = brtest.read_nrrd(sys.argv[1])
sys.exit(0 if r.data.shape == (48, 40, 20, 2) else 1)
PY
ok $? "unu's two-channel crop goes through brats-norm"

# the real cases (not in a user's clone: skipped there)
REAL=$TOP/../shared/data/real
if [ ! -d "$REAL" ]; then
	t_ok "real cases # SKIP $REAL not present"
	finish
fi
for d in "$REAL"/*/; do
	c=$(basename "$d")
	[ -f "$d/${c}_flair.nii.gz" ] || continue
	brats-crop -q "$d" | brats-norm -q | brats-flip -q | brats-flip -q |
		brats-uncrop -q -r "$d/${c}_flair.nii.gz" -o "$TMPDIR/$c.nii.gz" &&
		brats-crop -q -o "$TMPDIR/$c.crop.nii.gz" "$d"
	"$PYTHON" - "$d" "$c" "$TMPDIR" <<'PY'
import sys
import nibabel as nib, numpy as np
d, c, t = sys.argv[1:]
ref = nib.load("%s/%s_flair.nii.gz" % (d, c))
u = nib.load("%s/%s.nii.gz" % (t, c))
k = nib.load("%s/%s.crop.nii.gz" % (t, c))
T = np.eye(4); T[:3, 3] = [48, 32, 0]
ok = np.allclose(u.affine, ref.affine) and np.allclose(u.header.get_qform(), ref.header.get_qform())
ok &= u.header["qform_code"] == ref.header["qform_code"] and u.header["sform_code"] == ref.header["sform_code"]
ok &= np.allclose(k.affine, ref.affine @ T) and np.allclose(k.header.get_qform(), ref.affine @ T)
a = np.asarray(k.dataobj)[..., 3]
ok &= np.array_equal(a, np.asarray(ref.dataobj)[48:192, 32:208, :].astype(np.float32))
print("# %s: orientation %s" % (c, "".join(nib.aff2axcodes(ref.affine))))
sys.exit(0 if ok else 1)
PY
	ok $? "real case $c: crop | norm | flip | flip | uncrop keeps the affine, qform, sform and codes; crop keeps world positions"
done
finish
