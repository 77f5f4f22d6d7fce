#!/bin/sh
# tests/post/t_cc_filter.sh - cc-filter against the SciPy reference
# (tests/post/cc_ref.py), its options, streams, and bad input.
. "$TOP/tests/lib.sh"
P="$PYTHON $TOP/tests/post"
D=$TMPDIR/data
O=$TMPDIR/out
mkdir -p "$O"

check "generate test volumes" $P/gen.py cc "$D"

# ---- the paper's rule, every connectivity, against scipy.ndimage.label ----
for c in 6 18 26; do
	check "connectivity $c: runs" cc-filter -c $c -o "$O/c$c.nii.gz" "$D/small.nii.gz"
	check "connectivity $c: reference" $P/cc_ref.py -c $c "$D/small.nii.gz" "$O/r$c.nii.gz"
	check "connectivity $c: same voxels and geometry as scipy" $P/cmp.py vol "$O/c$c.nii.gz" "$O/r$c.nii.gz"
done
for opt in "-r 0" "-r 0.5" "-r 1" "-k" "-m 20" "-r 0.02 -m 5" "-k -c 6" "--ratio 0.3 --connectivity 18 --min-voxels 3"; do
	ref=$(echo "$opt" | sed 's/--ratio/-r/; s/--connectivity/-c/; s/--min-voxels/-m/')
	# shellcheck disable=SC2086
	cc-filter $opt -o "$O/opt.nii.gz" "$D/small.nii.gz" && $P/cc_ref.py $ref "$D/small.nii.gz" "$O/ropt.nii.gz" >/dev/null &&
		$P/cmp.py vol "$O/opt.nii.gz" "$O/ropt.nii.gz" >"$O/cmp.txt"
	ok $? "options $opt: as scipy $(cat "$O/cmp.txt")"
done

# hand-made: which voxels join at 6, 18, 26
cc-filter -v -c 6 -r 0 -m 2 "$D/touch.nii.gz" -o "$O/t6.nii.gz" 2>"$O/t6.err"
grep -q "4 components, 3 kept, 1 of 39 tumour voxels removed" "$O/t6.err"
ok $? "6-connected: the edge and corner neighbours are separate components"
cc-filter -v -c 18 -r 0 "$D/touch.nii.gz" -o "$O/t18.nii.gz" 2>"$O/t18.err"
grep -q "3 components, 3 kept, 0 of 39" "$O/t18.err"
ok $? "18-connected: the edge neighbour joins, the corner one does not"
cc-filter -v -c 26 -k "$D/touch.nii.gz" -o "$O/t26.nii.gz" 2>"$O/t26.err"
grep -q "2 components, 1 kept, 8 of 39" "$O/t26.err"
ok $? "26-connected: edge and corner neighbours join"
cc-filter -k -o "$O/tie.nii.gz" "$D/tie.nii.gz" && $P/cc_ref.py -k "$D/tie.nii.gz" "$O/rtie.nii.gz" >/dev/null &&
	$PYTHON -c "
import sys; sys.path.insert(0, '$TOP/tests/post'); import postlib, numpy as np
a = np.asarray(postlib.read_volume('$O/tie.nii.gz').data)
assert (a > 0).sum() == 27 and (a == 1).sum() == 27, np.unique(a, return_counts=True)" &&
	$P/cmp.py vol "$O/tie.nii.gz" "$O/rtie.nii.gz" >/dev/null
ok $? "--keep-largest on a tie keeps the component first in storage order"

# ---- types, conventions, geometry ----
for f in small_i16.nii.gz small_f32.nii; do
	cc-filter -o "$O/$f" "$D/$f" && $P/cc_ref.py "$D/$f" "$O/r$f" >/dev/null && $P/cmp.py vol "$O/$f" "$O/r$f" >/dev/null
	ok $? "$f: filtered in its own type, as scipy"
done
check "--labels 2023 accepts label 3" cc-filter --labels 2023 -o "$O/l23.nii.gz" "$D/small23.nii.gz"
fails "--labels 2020 refuses label 3" 1 "^cc-filter: .*small23.nii.gz: record 1: label 3 at voxel .* not one of 0,1,2,4$" \
	cc-filter -o "$O/l20.nii.gz" "$D/small23.nii.gz"
check "empty label map passes through" cc-filter -o "$O/empty.nii.gz" "$D/empty.nii.gz"
check "empty label map unchanged" $P/cmp.py vol "$O/empty.nii.gz" "$D/empty.nii.gz"

# ---- streams: several records, stdin/stdout, metadata kept ----
cc-filter <"$D/stream.nrrd" >"$O/stream.nrrd" && $P/cc_ref.py "$D/stream.nrrd" "$O/rstream.nrrd" >/dev/null &&
	$P/cmp.py vol "$O/stream.nrrd" "$O/rstream.nrrd" >/dev/null
ok $? "a stream of three records on stdin: three filtered records on stdout"
$PYTHON -c "
import sys; sys.path.insert(0, '$TOP/tests/post'); import postlib, numpy as np
a, b = postlib.nrrd_read_stream('$D/stream.nrrd'), postlib.nrrd_read_stream('$O/stream.nrrd')
for x, y in zip(a, b):
    assert x.meta == y.meta, (x.meta, y.meta)
    assert np.allclose(x.affine, y.affine) and x.data.shape == y.data.shape and x.data.dtype == y.data.dtype"
ok $? "metadata, affine, sizes and type kept"
cc-filter "$D/stream.nrrd" "$D/small.nii.gz" "$D/stream.nrrd" -o "$O/multi.nrrd" &&
	$PYTHON -c "
import sys; sys.path.insert(0, '$TOP/tests/post'); import postlib
assert len(postlib.nrrd_read_stream('$O/multi.nrrd')) == 7"
ok $? "several inputs go to one stream (7 records)"
cat "$D/stream.nrrd" | cc-filter -v -q >/dev/null 2>"$O/q.err"
[ ! -s "$O/q.err" ]
ok $? "-q after -v silences the statistics"
cc-filter -v "$D/stream.nrrd" 2>"$O/v.err" >"$O/v.nrrd"
[ "$(grep -c '^cc-filter: .*stream.nrrd: record [123]: [0-9]* components, [0-9]* kept, [0-9]* of [0-9]* tumour voxels removed$' "$O/v.err")" -eq 3 ] &&
	cmp -s "$O/v.nrrd" "$O/stream.nrrd"
ok $? "-v: one statistics line per record on stderr, stdout unchanged"

# ---- a full 240x240x155 case ----
check "full grid: runs" cc-filter -o "$O/big.nii.gz" "$D/big.nii.gz"
check "full grid: reference" $P/cc_ref.py "$D/big.nii.gz" "$O/rbig.nii.gz"
check "full grid: same as scipy" $P/cmp.py vol "$O/big.nii.gz" "$O/rbig.nii.gz"

# ---- bad input and usage ----
fails "missing file" 1 "^cc-filter: $D/nope.nrrd: No such file or directory$" cc-filter -o "$O/x.nrrd" "$D/nope.nrrd"
absent "$O/x.nrrd" "missing file: no output"
fails "missing second file: fails before writing" 1 "^cc-filter: $D/nope.nrrd: No such file" \
	cc-filter -o "$O/x2.nrrd" "$D/stream.nrrd" "$D/nope.nrrd"
absent "$O/x2.nrrd" "missing second file: no output"
fails "a directory" 1 "^cc-filter: $D: is a directory$" cc-filter -o "$O/x.nrrd" "$D"
head -c 5000 "$D/stream.nrrd" >"$O/trunc.nrrd"
fails "truncated record" 1 "^cc-filter: $O/trunc.nrrd: .*(end|truncated)" cc-filter -o "$O/x.nrrd" "$O/trunc.nrrd"
absent "$O/x.nrrd" "truncated record: no output"
fails "empty stdin" 1 "^cc-filter: stdin: empty input" sh -c "cc-filter -o '$O/x.nrrd' </dev/null"
fails "not a volume" 1 "^cc-filter: .*: unknown format" sh -c "echo hello | cc-filter >/dev/null"
fails "a 4-D record" 1 "^cc-filter: .*four.nrrd: record 1: a label map has one channel" cc-filter -o "$O/x.nrrd" "$D/four.nrrd"
fails "a probability map" 1 "^cc-filter: .*float_half.nrrd: record 1: label 0.5 at voxel" cc-filter -o "$O/x.nrrd" "$D/float_half.nrrd"
fails "a bad label in the second record of a stream" 1 "^cc-filter: .*bad_label.nii.gz: record 1: label 3" \
	cc-filter -o "$O/x.nrrd" "$D/stream.nrrd" "$D/bad_label.nii.gz"
absent "$O/x.nrrd" "bad label after good records: no output file"
no_partial "$O" "no temporary left beside the outputs"
fails "several records into one NIfTI file" 1 "^cc-filter: $O/x.nii.gz: a NIfTI file holds one record" \
	cc-filter -o "$O/x.nii.gz" "$D/stream.nrrd"
absent "$O/x.nii.gz" "several records into NIfTI: no output"
fails "output into a missing folder" 1 "^cc-filter: $O/no/such/x.nrrd: cannot create" cc-filter -o "$O/no/such/x.nrrd" "$D/small.nii.gz"
fails "connectivity 5" 2 "^cc-filter: --connectivity: .*\(see cc-filter -h\)$" cc-filter -c 5 "$D/small.nii.gz"
fails "ratio 1.5" 2 "^cc-filter: --ratio: '1.5' is not a number from 0 to 1" cc-filter -r 1.5 "$D/small.nii.gz"
fails "negative min-voxels" 2 "^cc-filter: --min-voxels" cc-filter -m -1 "$D/small.nii.gz"
fails "labels 2021" 2 "^cc-filter: --labels: '2021'" cc-filter --labels 2021 "$D/small.nii.gz"
fails "unknown option" 2 "\(see cc-filter -h\)$" cc-filter --bogus "$D/small.nii.gz"

# binary to a terminal: refused unless -f
if script -qec "true" /dev/null >/dev/null 2>&1; then
	script -qec "cc-filter $D/small.nii.gz" /dev/null >"$O/tty.txt" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "refusing to write binary data to a terminal" "$O/tty.txt"
	ok $? "refuses to write binary to a terminal (exit $rc)"
	script -qec "cc-filter -f $D/empty.nii.gz" /dev/null >"$O/tty2.txt" 2>&1
	ok $? "-f writes to a terminal"
else
	t_ok "# SKIP no script(1) to provide a terminal"
	t_ok "# SKIP no script(1) to provide a terminal"
fi

# a closed pipe ends it quietly
{
	cc-filter "$D/big.nii.gz" "$D/big.nii.gz" "$D/big.nii.gz" 2>"$O/pipe.err"
	echo $? >"$O/pipe.rc"
} | head -c 100 >/dev/null
rc=$(cat "$O/pipe.rc")
[ ! -s "$O/pipe.err" ] && [ "$rc" -ne 0 ]
ok $? "closed pipe: quiet end (exit $rc, nothing on stderr)"

# ---- usage and manual ----
cc-filter -h >"$O/usage.txt" 2>"$O/usage.err"
[ $? -eq 0 ] && [ ! -s "$O/usage.err" ] && grep -q "^usage: cc-filter" "$O/usage.txt"
ok $? "-h: usage on stdout, exit 0"
finish
