#!/bin/sh
# bench/run.sh - `make bench`: every CPU figure the project promises, each as
# a ratio against its reference measured in the same run.
#   1. preprocessing: decoding alone and brats-crop | brats-norm against
#      gzip -dc of the four files and against nibabel + NumPy; peak memory
#   2. cc-filter and brats-metrics against SciPy (bench/post.sh)
#   3. the network against PyTorch on the CPU, same threads; GFLOP/s; peak
#      memory of r2u-infer on one case
#   4. one case tool by tool (decode, crop | norm, infer, cc-filter, uncrop
#      to .nii.gz) and a stream of BENCH_STREAM cases (default 20) through
#      each tool in one process, with r2u-infer's start-up apart
# Environment: BINDIR, BUILDDIR, PYTHON, THREADS (default all cores),
# BENCH_CASE (a BraTS case folder; default a real case of ../shared/data/real
# when present, else a phantom), BENCH_OPS=1 adds the per-layer table.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${BINDIR:=$TOP/bin}" "${BUILDDIR:=$TOP/build}" "${PYTHON:=/usr/bin/python3}"
: "${THREADS:=$(nproc)}"
W=$(mktemp -d "${TMPDIR:-/tmp}/brats-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
B=$BINDIR
# median wall time of a shell command over N runs (after one untimed run), in seconds
med() {
	n=$1
	shift
	i=0
	: >"$W/times"
	sh -c "$*" >/dev/null 2>&1 # one run untimed: files, libraries and binaries cached
	while [ $i -lt "$n" ]; do
		s=$(date +%s.%N)
		sh -c "$*" >/dev/null 2>&1
		e=$(date +%s.%N)
		awk -v a="$s" -v b="$e" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/times"
		i=$((i + 1))
	done
	sort -g "$W/times" | awk '{ a[NR] = $1 } END { printf "%.4f", a[int((NR + 1) / 2)] }'
}
peak_kb() { /usr/bin/time -f %M sh -c "$*" 2>&1 >/dev/null | tail -n 1; }

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), threads $THREADS"

# ---- 1. preprocessing ----
CASE=${BENCH_CASE:-}
real=$TOP/../shared/data/real/BraTS-GLI-00001-000
[ -z "$CASE" ] && [ -d "$real" ] && CASE=$real
if [ -z "$CASE" ]; then
	"$B/brats-phantom" -q -o "$W/ph" && CASE=$W/ph/BraTS20_Training_001
fi
c=$(basename "$CASE")
files="$CASE/${c}_t1.nii.gz $CASE/${c}_t1ce.nii.gz $CASE/${c}_t2.nii.gz $CASE/${c}_flair.nii.gz"
tg=$(med 7 "cat $files | gzip -dc")
td=$("$BUILDDIR/bench/decode" -j "$THREADS" -n 7 $files | cut -f 1)
tc=$(med 7 "$B/brats-crop -j $THREADS $CASE | $B/brats-norm -j $THREADS")
tp=$(med 3 "$PYTHON $TOP/bench/prep_ref.py $CASE")
mc=$(peak_kb "$B/brats-crop -j $THREADS $CASE >$W/c.nrrd")
mn=$(peak_kb "$B/brats-norm -j $THREADS $W/c.nrrd")
echo "== preprocessing one case ($c)"
printf '  gzip -dc of the four files     %8.3f s\n' "$tg"
printf '  decoding the four files (ours) %8.3f s   %.2fx gzip -dc\n' "$td" "$(awk -v a="$td" -v b="$tg" 'BEGIN { print a / b }')"
printf '  brats-crop | brats-norm        %8.3f s   %.2fx gzip -dc (target <= 0.6x)\n' "$tc" "$(awk -v a="$tc" -v b="$tg" 'BEGIN { print a / b }')"
printf '  nibabel + NumPy                %8.3f s   brats-crop | brats-norm is %.1fx faster\n' "$tp" "$(awk -v a="$tp" -v b="$tc" 'BEGIN { print a / b }')"
printf '  peak memory: brats-crop %d MB, brats-norm %d MB (target < 200 MB)\n' $((mc / 1024)) $((mn / 1024))

# ---- 2. post-processing and evaluation ----
echo "== cc-filter and brats-metrics against SciPy (bench/post.sh, one core)"
BINDIR=$BINDIR BUILDDIR=$BUILDDIR PYTHON=$PYTHON sh "$TOP/bench/post.sh" 2>/dev/null | sed 's/^/  /'

# ---- 3. the network ----
echo "== R2U-MTDS (width 32, 176 x 144) on the CPU, $THREADS threads, against PyTorch $($PYTHON -c 'import torch; print(torch.__version__)')"
"$BUILDDIR/bench/net_bench" -d cpu -j "$THREADS" -b 32 -i 16 -n 3 >"$W/ours.tsv" 2>&1
OMP_NUM_THREADS=$THREADS "$PYTHON" "$TOP/bench/cpu_torch.py" "$THREADS" 32 16 3 >"$W/torch.tsv" 2>&1
ghz=$(awk -F: '/cpu MHz/ { s += $2; n++ } END { printf "%.2f", s / n / 1000 }' /proc/cpuinfo)
"$PYTHON" - "$W/ours.tsv" "$W/torch.tsv" "$THREADS" "$ghz" <<'PY'
import sys
ours = {l.split("\t")[0]: l.split("\t") for l in open(sys.argv[1]) if l.startswith(("train", "infer"))}
torch = {l.split("\t")[0]: l.split("\t") for l in open(sys.argv[2]) if l.startswith(("train", "infer"))}
threads, ghz = int(sys.argv[3]), float(sys.argv[4])
peak = threads * 32 * ghz  # AVX2 FMA: 2 x 8 x 2 FLOP per cycle per core
for mode, target in (("train", 1.0), ("infer", 1.5)):
    o, t = ours[mode], torch[mode]
    s_o, s_t = float(o[5]), float(t[3])
    gf = float(o[6]) * 1000
    print("  %-5s batch %-3s ours %7.2f slices/s  torch %7.2f slices/s  ratio %.2fx (target >= %.1fx)  %5.0f effective GFLOP/s (direct-convolution count; Winograd needs fewer), peak %.0f at the nominal clock" %
          (mode, o[3], s_o, s_t, s_o / s_t, target, gf, peak))
PY
"$B/brats-norm" -q "$W/c.nrrd" >"$W/n.nrrd"
# a checkpoint of width 32 (one step); an empty label map when the case has none
"$B/brats-crop" -q --seg "$CASE" >"$W/s.nrrd" 2>/dev/null || "$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib'); import brtest, numpy as np
r = brtest.read_nrrd('$W/n.nrrd'); brtest.write_nrrd('$W/s.nrrd', brtest.Record(np.zeros(r.data.shape[:3], np.uint8), r.affine, r.meta))"
"$B/r2u-train" -q -d cpu -j "$THREADS" --width 32 --batch 4 --steps 1 -o "$W/m.st" "$W/n.nrrd" "$W/s.nrrd"
mi=$(peak_kb "$B/r2u-infer -q -d cpu -j $THREADS -m $W/m.st $W/n.nrrd")
ti=$(med 1 "$B/r2u-infer -q -d cpu -j $THREADS -m $W/m.st $W/n.nrrd")
printf '  r2u-infer, one whole case (155 slices): %.1f s, peak memory %d MB (target < 1024 MB)\n' "$ti" $((mi / 1024))

# ---- 4. a case, and a stream of cases, tool by tool ----
NS=${BENCH_STREAM:-20}
echo "== one case and a stream of $NS cases, tool by tool ($THREADS threads; wall time of each tool, whole process)"
"$B/r2u-infer" -q -d cpu -j "$THREADS" -m "$W/m.st" -o "$W/l.nrrd" "$W/n.nrrd"
t1=$CASE/${c}_t1.nii.gz
tcc=$(med 5 "$B/cc-filter -q $W/l.nrrd")
tun=$(med 5 "$B/brats-uncrop -q -r $t1 -o $W/u.nii.gz $W/l.nrrd")
i=0
: >"$W/pre.sh"
while [ $i -lt "$NS" ]; do echo "$B/brats-crop -q -j $THREADS $CASE | $B/brats-norm -q -j $THREADS" >>"$W/pre.sh"; i=$((i + 1)); done
s=$(date +%s.%N)
sh "$W/pre.sh" >"$W/ns.nrrd"
tps=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
i=0
: >"$W/ls.nrrd"
while [ $i -lt "$NS" ]; do cat "$W/l.nrrd" >>"$W/ls.nrrd"; i=$((i + 1)); done
s=$(date +%s.%N)
"$B/r2u-infer" -v -d cpu -j "$THREADS" -m "$W/m.st" "$W/ns.nrrd" 2>"$W/inf.err" >/dev/null
tis=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
tcs=$(med 1 "$B/cc-filter -q $W/ls.nrrd")
printf '  %-28s %10s %12s %12s
' "" "one case" "$NS cases" "per case"
printf '  %-28s %9.3fs %11s  %11s
' "decoding (ours, in process)" "$td" "" ""
printf '  %-28s %9.3fs %11.2fs %11.3fs
' "brats-crop | brats-norm" "$tc" "$tps" "$(awk -v a="$tps" -v n="$NS" 'BEGIN { print a / n }')"
printf '  %-28s %9.3fs %11.2fs %11.3fs
' "r2u-infer (CPU)" "$ti" "$tis" "$(awk -v a="$tis" -v n="$NS" 'BEGIN { print a / n }')"
printf '  %-28s %9.3fs %11.2fs %11.3fs
' "cc-filter" "$tcc" "$tcs" "$(awk -v a="$tcs" -v n="$NS" 'BEGIN { print a / n }')"
printf '  %-28s %9.3fs %11s  %11s
' "brats-uncrop to .nii.gz" "$tun" "" ""
sed -n 's/^r2u-infer: start-up/  r2u-infer of the stream: start-up/p' "$W/inf.err"
printf '  reference: nibabel + NumPy preprocessing %.3f s per case (above); PyTorch for the network (section 3)\n' "$tp"
if [ "${BENCH_OPS:-0}" = 1 ]; then
	echo "== every convolution layer against PyTorch (bench/ops_cpu.sh)"
	BUILDDIR=$BUILDDIR PYTHON=$PYTHON sh "$TOP/bench/ops_cpu.sh" -t "$THREADS" -b 32,8
fi
