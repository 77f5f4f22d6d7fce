#!/bin/sh
# tests/phantom/t_phantom.sh - brats-phantom: layouts, headers, labels,
# intensity relations, determinism, the procedural fallback, errors.
# The cases are checked with nibabel by check_phantom.py, independently of
# the C code.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$HERE/../.." && pwd)}
CHECK="$PYTHON $HERE/check_phantom.py"
P=brats-phantom
D=$TMPDIR/d

# ---- one run of two full cases, checked thoroughly ----
start=$(date +%s)
check "two cases, brats2020 layout" $P -q -j 2 -n 2 --seed 3 -o "$D/a"
secs=$(( $(date +%s) - start ))
echo "# two full cases in ${secs}s"
cp "$TMPDIR/check.err" "$TMPDIR/a.err"
check "-q: no progress lines" test ! -s "$TMPDIR/a.err"
check "nothing else in DIR" test "$(ls "$D/a" | tr '\n' ' ')" = "BraTS20_Training_001 BraTS20_Training_002 "
check "headers, labels, volumes, intensity relations (nibabel)" \
	$CHECK "$D/a/BraTS20_Training_001" "$D/a/BraTS20_Training_002"
no_partial "$D/a/BraTS20_Training_001" "no temporaries left"

# ---- determinism ----
check "one case again, other -j and --first" $P -q -j 1 -n 1 --first 2 --seed 3 -o "$D/b"
check "same seed and number, any -j and --first: same bytes" \
	cmp "$D/a/BraTS20_Training_002/BraTS20_Training_002_t1ce.nii.gz" "$D/b/BraTS20_Training_002/BraTS20_Training_002_t1ce.nii.gz"
check "same bytes for every file" diff -r "$D/a/BraTS20_Training_002" "$D/b/BraTS20_Training_002"
if cmp -s "$D/a/BraTS20_Training_001/BraTS20_Training_001_flair.nii.gz" \
	"$D/a/BraTS20_Training_002/BraTS20_Training_002_flair.nii.gz"; then
	t_notok "two cases differ"
else
	t_ok "two cases differ"
fi

# ---- progress: without a terminal, a line per case when there are several ----
$P -n 2 --first 5 --size small --tumours 0 -o "$D/pr" 2>"$TMPDIR/pr.err"
ok $? "two small cases, no -q"
n=$(grep -Ec '^brats-phantom: BraTS20_Training_00[56] \([12]/2\) [0-9.]+ s, [0-9]+m[0-9]{2}s left$' "$TMPDIR/pr.err")
if [ "$n" -eq 2 ] && [ "$(grep -vc 'procedural brain' "$TMPDIR/pr.err")" -eq 2 ] && tail -n 1 "$TMPDIR/pr.err" | grep -q '_006 (2/2) .* 0m00s left$'; then
	t_ok "a line per case on stderr (not a terminal)"
else
	t_notok "progress lines: $(cat "$TMPDIR/pr.err")"
fi

# ---- brats2023 layout: the same case, ET labelled 3 ----
check "brats2023 layout" $P -q -n 1 --first 2 --seed 3 --layout brats2023 -o "$D/c"
check "brats2023 names, headers, labels 0 1 2 3" $CHECK --layout brats2023 "$D/c/BraTS-GLI-00002-000"
check "brats2023: same images, ET 4 -> 3" $PYTHON - "$D/a/BraTS20_Training_002/BraTS20_Training_002_" \
	"$D/c/BraTS-GLI-00002-000/BraTS-GLI-00002-000-" <<'EOF'
import sys, nibabel as nib, numpy as np
a, b = sys.argv[1], sys.argv[2]
ld = lambda p: np.asanyarray(nib.load(p + '.nii.gz').dataobj)
for m20, m23 in (('t1', 't1n'), ('t1ce', 't1c'), ('t2', 't2w'), ('flair', 't2f')):
    assert np.array_equal(ld(a + m20), ld(b + m23)), m20
s20, s23 = ld(a + 'seg'), ld(b + 'seg')
assert (s20 == 4).any(), 'case 2 has no enhancing tumour: pick another'
assert np.array_equal(np.where(s20 == 4, 3, s20), s23)
EOF

# ---- small: a slab of the same case; validation names; other seed ----
check "small, no labels" $P -q -n 1 --first 2 --seed 3 --size small --no-seg -o "$D/s"
check "small: names, headers (z origin 46), no seg" $CHECK --small --no-seg "$D/s/BraTS20_Validation_002"
check "small is slices 46..109 of the full case, with tumour" $PYTHON - \
	"$D/a/BraTS20_Training_002/BraTS20_Training_002_" "$D/s/BraTS20_Validation_002/BraTS20_Validation_002_" <<'EOF'
import sys, nibabel as nib, numpy as np
a, b = sys.argv[1], sys.argv[2]
ld = lambda p: np.asanyarray(nib.load(p + '.nii.gz').dataobj)
for m in ('t1', 't1ce', 't2', 'flair'):
    assert np.array_equal(ld(a + m)[:, :, 46:110], ld(b + m)), m
assert (ld(a + 'seg')[:, :, 46:110] > 0).any()
EOF
check "another seed" $P -q -n 1 --first 2 --seed 4 --size small --no-seg -o "$D/s4"
if cmp -s "$D/s/BraTS20_Validation_002/BraTS20_Validation_002_t1.nii.gz" \
	"$D/s4/BraTS20_Validation_002/BraTS20_Validation_002_t1.nii.gz"; then
	t_notok "another seed gives another case"
else
	t_ok "another seed gives another case"
fi

# ---- tumour-free ----
check "healthy brains" $P -q -n 1 --seed 5 --size small --tumours 0 -o "$D/h"
check "healthy: all labels 0" $CHECK --small --tumour-free "$D/h/BraTS20_Training_001"

# ---- the procedural brain when the template is missing ----
BR_PHANTOM_TEMPLATE=$TMPDIR/no-such-template.nii.gz $P -n 1 --seed 6 -o "$D/p" 2>"$TMPDIR/p.err"
ok $? "missing template: still works"
check "missing template: one notice on stderr" test "$(wc -l <"$TMPDIR/p.err")" -eq 1
check "missing template: the notice names the file and the fallback" \
	grep -q "^brats-phantom: .*no-such-template.nii.gz: .*procedural brain" "$TMPDIR/p.err"
check "procedural brain: headers, labels, intensity relations" $CHECK "$D/p/BraTS20_Training_001"
BR_PHANTOM_TEMPLATE=$TMPDIR/no-such-template.nii.gz $P -q -n 1 --seed 6 --size small -o "$D/pq" 2>"$TMPDIR/pq.err"
check "missing template with -q: silent" test ! -s "$TMPDIR/pq.err"

# ---- bad usage: exit 2, one line ----
fails "-n 0" 2 "^brats-phantom: -n: " $P -n 0 -o "$D/x"
fails "-n abc" 2 "^brats-phantom: -n: " $P -n abc -o "$D/x"
fails "--layout bad" 2 "^brats-phantom: --layout: 'bad'" $P --layout bad -o "$D/x"
fails "--size bad" 2 "^brats-phantom: --size: 'huge'" $P --size huge -o "$D/x"
fails "--tumours 4" 2 "^brats-phantom: --tumours: '4'" $P --tumours 4 -o "$D/x"
fails "-o with an empty name" 2 "^brats-phantom: no output folder" $P -o ""
fails "--tumours 2-1" 2 "^brats-phantom: --tumours: '2-1'" $P --tumours 2-1 -o "$D/x"
fails "--seed -1" 2 "^brats-phantom: --seed: " $P --seed -1 -o "$D/x"
fails "--first beyond 3 digits" 2 "do not fit 3 digits" $P --first 999 -n 2 -o "$D/x"
fails "unknown option" 2 "^brats-phantom: .*unknown option" $P --bogus -o "$D/x"
fails "unknown short option" 2 "^brats-phantom: option -Z: unknown option" $P -Z -o "$D/x"
fails "missing value" 2 "^brats-phantom: option -n: needs a value" $P -o "$D/x" -n
fails "no -o" 2 "^brats-phantom: no output folder" $P -n 1
fails "extra argument" 2 "^brats-phantom: unexpected argument 'extra'" $P -o "$D/x" extra
absent "$D/x" "bad usage creates nothing"

# ---- unwritable output: exit 1, "tool: path: reason", nothing left ----
: >"$TMPDIR/plain"
fails "DIR under a plain file" 1 "^brats-phantom: $TMPDIR/plain/sub: .*not a directory" $P -o "$TMPDIR/plain/sub"
mkdir -p "$D/e"
: >"$D/e/BraTS20_Training_001"
fails "case folder is a plain file" 1 "^brats-phantom: $D/e/BraTS20_Training_001: exists and is not a folder" $P --size small -o "$D/e"
mkdir -p "$D/f/BraTS20_Training_001/BraTS20_Training_001_t2.nii.gz"
fails "a file cannot be renamed into place" 1 \
	"^brats-phantom: $D/f/BraTS20_Training_001/BraTS20_Training_001_t2.nii.gz: " $P --size small -o "$D/f"
check "failed case: its other files removed, no temporaries" \
	test "$(ls -A "$D/f/BraTS20_Training_001")" = "BraTS20_Training_001_t2.nii.gz"
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$D/ro" && chmod 555 "$D/ro"
	fails "DIR not writable" 1 "^brats-phantom: $D/ro: " $P -o "$D/ro"
	chmod 755 "$D/ro"
else
	t_ok "DIR not writable # SKIP running as root"
fi

# ---- -h and the man page agree ----
$P -h >"$TMPDIR/h.out" 2>"$TMPDIR/h.err"
ok $? "-h exits 0"
check "-h prints the usage on stdout only" sh -c "grep -q '^usage: brats-phantom' '$TMPDIR/h.out' && test ! -s '$TMPDIR/h.err'"
finish
