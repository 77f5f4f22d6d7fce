#!/bin/sh
# bench/post.sh - cc-filter and brats-metrics against the equivalent
# NumPy/SciPy code, on one core.
#
#   1. in-process: the work of each tool (bench/post_time.c, linked with
#      libcommon) against the same work in SciPy (bench/post_ref.py):
#      cc-filter's copy + labelling + size ranking + clearing against
#      scipy.ndimage.label + bincount + masking; brats-metrics' three
#      regions against the MedPy-style reference of tests/post/metrics_ref.py
#      (binary_erosion, distance_transform_edt with sampling, percentile);
#   2. end to end with hyperfine: the tools as processes against the Python
#      scripts (interpreter start and imports included: reported, not the
#      headline).
# Environment: BINDIR, BUILDDIR (as make bench sets them), PYTHON, CC,
# REPS (C repetitions, default 15), PYREPS (SciPy repetitions, default 5).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${BINDIR:=$TOP/bin}" "${BUILDDIR:=$TOP/build}" "${PYTHON:=/usr/bin/python3}" "${CC:=cc}"
: "${REPS:=15}" "${PYREPS:=5}"
W=$(mktemp -d "${TMPDIR:-/tmp}/brats-post-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
ONE=""
command -v taskset >/dev/null && ONE="taskset -c 0"

for t in cc-filter brats-metrics; do
	[ -x "$BINDIR/$t" ] || { echo "bench/post.sh: $BINDIR/$t: not built (make first)" >&2; exit 1; }
done
[ -x "$BUILDDIR/bench/post_time" ] || { echo "bench/post.sh: $BUILDDIR/bench/post_time: not built (make test-programs)" >&2; exit 1; }
cp "$BUILDDIR/bench/post_time" "$W/post_time"
echo "post: generating inputs" >&2
$PYTHON "$TOP/bench/post_data.py" "$W" 2>"$W/data.log"

col() { awk -v n="$1" -v c="$3" '$1 == n { print $c }' "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b / a }'; }

echo "Timings on one core (taskset, OMP_NUM_THREADS=1): wall is the median of the runs, cpu the"
echo "median process CPU time (what a busy shared machine inflates least).  Load now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo
echo "== cc-filter: label, rank by size, clear (in-process; $REPS C runs, $PYREPS SciPy runs)"
printf '%-12s %4s %9s %9s %11s %11s %9s %9s\n' volume conn "C wall" "C cpu" "SciPy wall" "SciPy cpu" "x wall" "x cpu"
worst=1000
for v in cc_240x240x155 cc_144x176x155; do
	for c in 26 6; do
		$ONE "$W/post_time" cc "$W/$v.nii" $c "$REPS" >"$W/c.txt" 2>"$W/c.err"
		$ONE $PYTHON "$TOP/bench/post_ref.py" cc "$W/$v.nii" $c "$PYREPS" >"$W/p.txt" 2>"$W/p.err"
		aw=$(col cc "$W/c.txt" 2) ac=$(col cc "$W/c.txt" 4) bw=$(col cc "$W/p.txt" 2) bc=$(col cc "$W/p.txt" 4)
		rw=$(ratio "$aw" "$bw") rc=$(ratio "$ac" "$bc")
		worst=$(awk -v w="$worst" -v a="$rw" -v b="$rc" 'BEGIN { m = a < b ? a : b; print (m < w ? m : w) }')
		printf '%-12s %4s %7.1fms %7.1fms %9.1fms %9.1fms %8sx %8sx\n' "${v#cc_}" $c "$aw" "$ac" "$bw" "$bc" "$rw" "$rc"
		# the same voxels removed by both
		[ "$(sed 's/.*: //' "$W/c.err")" = "$(sed 's/.*: //' "$W/p.err")" ] ||
			echo "   WARNING: different results: $(cat "$W/c.err") / $(cat "$W/p.err")"
	done
done
echo "cc-filter over scipy.ndimage.label + bincount, worst ratio: ${worst}x (target >= 2x: $(awk -v w="$worst" 'BEGIN { print (w >= 2 ? "met" : "NOT MET") }'))"

echo
echo "== brats-metrics: one 240x240x155 case, ET + WT + TC (in-process; SciPy: MedPy's definitions, 2 runs)"
$ONE "$W/post_time" metrics "$W/pred.nii.gz" "$W/gt.nii.gz" "$REPS" >"$W/c.txt" 2>"$W/c.err"
$ONE $PYTHON "$TOP/bench/post_ref.py" metrics "$W/pred.nii.gz" "$W/gt.nii.gz" 2 >"$W/p.txt" 2>"$W/p.err"
printf '%-26s %9s %9s %11s %11s %9s %9s\n' "" "C wall" "C cpu" "SciPy wall" "SciPy cpu" "x wall" "x cpu"
for k in read metrics; do
	aw=$(col $k "$W/c.txt" 2) ac=$(col $k "$W/c.txt" 4) bw=$(col $k "$W/p.txt" 2) bc=$(col $k "$W/p.txt" 4)
	printf '%-26s %7.1fms %7.1fms %9.1fms %9.1fms %8sx %8sx\n' "$k" "$aw" "$ac" "$bw" "$bc" "$(ratio "$aw" "$bw")" "$(ratio "$ac" "$bc")"
done
[ "$(sed 's/.*: //' "$W/c.err")" = "$(sed 's/.*: //' "$W/p.err")" ] ||
	echo "   WARNING: different HD95: $(cat "$W/c.err") / $(cat "$W/p.err")"
echo "   (both: $(sed 's/.*: //' "$W/c.err"))"
# the same case after cc-filter, as the paper scores it
$ONE "$BINDIR/cc-filter" -o "$W/pred_cc.nii.gz" "$W/pred.nii.gz"
$ONE "$W/post_time" metrics "$W/pred_cc.nii.gz" "$W/gt.nii.gz" "$REPS" >"$W/c2.txt" 2>/dev/null
printf '%-26s %7.1fms %7.1fms\n' "metrics, after cc-filter" "$(col metrics "$W/c2.txt" 2)" "$(col metrics "$W/c2.txt" 4)"

if command -v hyperfine >/dev/null; then
	echo
	echo "== end to end (hyperfine; processes, file I/O and Python start-up included)"
	hyperfine -N --warmup 1 --runs 10 --export-json "$W/h1.json" \
		-n cc-filter "$ONE $BINDIR/cc-filter -f $W/cc_240x240x155.nii" \
		-n "cc_ref.py (scipy)" "$ONE $PYTHON $TOP/tests/post/cc_ref.py $W/cc_240x240x155.nii $W/ref.nii" \
		>"$W/h1.txt" 2>&1 || true
	hyperfine -N --warmup 1 --runs 10 --export-json "$W/h2.json" \
		-n brats-metrics "$ONE $BINDIR/brats-metrics -j 1 $W/pred.nii.gz $W/gt.nii.gz" \
		>"$W/h2.txt" 2>&1 || true
	hyperfine -N --runs 2 --export-json "$W/h3.json" \
		-n "metrics_ref.py (scipy)" "$ONE $PYTHON $TOP/tests/post/metrics_ref.py $W/pred.nii.gz $W/gt.nii.gz" \
		>"$W/h3.txt" 2>&1 || true
	$PYTHON - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
res = []
for f in ("h1.json", "h2.json", "h3.json"):
    p = os.path.join(w, f)
    if os.path.exists(p):
        res += json.load(open(p))["results"]
t = {r["command"]: r for r in res}
for r in res:
    r["cpu"] = r["user"] + r["system"]
    print("%-24s wall %8.1f ms (min %7.1f, %2d runs)   cpu %8.1f ms" % (
        r["command"], 1e3 * r["median"], 1e3 * r["min"], len(r["times"]), 1e3 * r["cpu"]))
if "cc-filter" in t and "cc_ref.py (scipy)" in t:
    a, b = t["cc-filter"], t["cc_ref.py (scipy)"]
    print("cc-filter end to end: %.1fx faster (wall), %.1fx (cpu)" % (b["median"] / a["median"], b["cpu"] / a["cpu"]))
if "brats-metrics" in t and "metrics_ref.py (scipy)" in t:
    a, b = t["brats-metrics"], t["metrics_ref.py (scipy)"]
    print("brats-metrics end to end: %.1fx faster (wall), %.1fx (cpu)" % (b["median"] / a["median"], b["cpu"] / a["cpu"]))
    print("brats-metrics, one case read and scored: %.3f s wall, %.3f s cpu (target < 0.3 s on one core: %s)" % (
        a["median"], a["cpu"], "met" if min(a["median"], a["cpu"]) < 0.3 else "NOT MET"))
PY
else
	echo "(hyperfine not installed: no end-to-end timings)"
fi
