#!/bin/sh
# bench/gpu.sh - `make bench-gpu`: the network on the GPU against PyTorch on
# the same GPU in the same run: training steps at batch 32 and inference of a
# 155-slice case, in fp32, tf32 and bf16, with the per-op profile.
# Environment: BUILDDIR (net_bench), PYTHON (with torch and CUDA), OUT
# (where the tables go; default a temporary directory), COMPILE_BUDGET (s).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILDDIR:=$TOP/build}" "${PYTHON:=python3}" "${COMPILE_BUDGET:=240}"
OUT=${OUT:-$(mktemp -d)}
NB=$BUILDDIR/bench/net_bench
[ -x "$NB" ] || { echo "bench/gpu.sh: $NB: not built" >&2; exit 1; }
ours=$OUT/bench_ours.tsv
prof=$OUT/bench_profile.txt
: >"$prof"
echo "mode	device	precision	batch	ms	slices_per_s	TFLOP_per_s" >"$ours"
for p in fp32 tf32 bf16; do
	"$NB" -d cuda -p "$p" -b 32 -i 155 -n 10 -v >"$OUT/nb_$p.txt" 2>&1 || { echo "net_bench $p failed:"; tail -n 5 "$OUT/nb_$p.txt"; }
	grep -E '^(train|infer)	' "$OUT/nb_$p.txt" >>"$ours"
	{ echo "== $p"; grep -v -E '^(train|infer|mode)	' "$OUT/nb_$p.txt"; } >>"$prof"
	rm -f "$OUT/nb_$p.txt"
done
"$PYTHON" "$TOP/bench/gpu_torch.py" --compile-budget "$COMPILE_BUDGET" >"$OUT/bench_torch.tsv" 2>"$OUT/bench_torch.err"
"$PYTHON" "$TOP/bench/gpu_report.py" "$ours" "$OUT/bench_torch.tsv" | tee "$OUT/bench_summary.txt"
