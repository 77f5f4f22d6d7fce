#!/bin/sh
# bench/gpu.sh - `make bench-gpu`: the network on the GPU against PyTorch on
# the same GPU in the same run: training steps at batch 32 and inference of a
# 155-slice case, in fp32, tf32 and bf16, with the per-op profile.
# Then one case from its record to its label map with r2u-infer (host wall
# time after start-up, start-up apart, device time from --profile) and a
# stream of BENCH_STREAM cases (default 20) in one process (cases/s), in
# tf32 and bf16, beside torch's time for the same 155 slices.
# Environment: BUILDDIR (net_bench), BINDIR (the tools), PYTHON (with torch
# and CUDA), OUT (where the tables go; default a temporary directory),
# COMPILE_BUDGET (s), GPU_DEVICE (default cuda; cpu rehearses the script).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILDDIR:=$TOP/build}" "${BINDIR:=$TOP/bin}" "${PYTHON:=python3}" "${COMPILE_BUDGET:=240}"
: "${GPU_DEVICE:=cuda}" "${BENCH_STREAM:=20}"
OUT=${OUT:-$(mktemp -d)}
NB=$BUILDDIR/bench/net_bench
[ -x "$NB" ] || { echo "bench/gpu.sh: $NB: not built" >&2; exit 1; }
ours=$OUT/bench_ours.tsv
prof=$OUT/bench_profile.txt
: >"$prof"
echo "mode	device	precision	batch	ms	slices_per_s	TFLOP_per_s" >"$ours"
for p in fp32 tf32 bf16; do
	"$NB" -d "$GPU_DEVICE" -p "$p" -b 32 -i 155 -n 10 -v >"$OUT/nb_$p.txt" 2>&1 || { echo "net_bench $p failed:"; tail -n 5 "$OUT/nb_$p.txt"; }
	grep -E '^(train|infer)	' "$OUT/nb_$p.txt" >>"$ours"
	{ echo "== $p"; grep -v -E '^(train|infer|mode)	' "$OUT/nb_$p.txt"; } >>"$prof"
	rm -f "$OUT/nb_$p.txt"
done
# training throughput against the batch size (bf16 and tf32; the learning
# rate is the user's to scale): the curve, not a target
echo "== training throughput by batch size (slices/s)" >"$OUT/bench_batch.txt"
for p in bf16 tf32; do
	line="  $p"
	for b in 16 32 64 128; do
		r=$("$NB" -d "$GPU_DEVICE" -p "$p" -b "$b" -m train -n 5 2>/dev/null | awk -F'\t' '$1 == "train" { print $6 }')
		line="$line  b$b ${r:-n/a}"
	done
	echo "$line" >>"$OUT/bench_batch.txt"
done
"$PYTHON" "$TOP/bench/gpu_torch.py" --compile-budget "$COMPILE_BUDGET" >"$OUT/bench_torch.tsv" 2>"$OUT/bench_torch.err"
"$PYTHON" "$TOP/bench/gpu_report.py" "$ours" "$OUT/bench_torch.tsv" | tee "$OUT/bench_summary.txt"
tee -a "$OUT/bench_summary.txt" <"$OUT/bench_batch.txt"

# ---- one case and a stream of cases through r2u-infer ----
B=$BINDIR
C=$OUT/case
mkdir -p "$C"
if "$B/brats-phantom" -q -n 1 --seed 5 -o "$C/ph" && ph=$(ls -d "$C"/ph/*/ | head -n 1) &&
	"$B/brats-crop" -q "$ph" | "$B/brats-norm" -q >"$C/n.nrrd" && "$B/brats-crop" -q --seg -o "$C/s.nrrd" "$ph" &&
	"$B/r2u-train" -q -d "$GPU_DEVICE" --width 32 --batch 4 --steps 1 -o "$C/m.st" "$C/n.nrrd" "$C/s.nrrd"; then
	i=0
	: >"$C/stream.nrrd"
	while [ $i -lt "$BENCH_STREAM" ]; do cat "$C/n.nrrd" >>"$C/stream.nrrd"; i=$((i + 1)); done
	echo "== r2u-infer, one case (155 slices of 176 x 144, record to label map) and a stream of $BENCH_STREAM" | tee -a "$OUT/bench_summary.txt"
	for p in tf32 bf16; do
		# host: the best of 3 single-case runs (time after start-up, the reading included)
		best=""
		for k in 1 2 3; do
			"$B/r2u-infer" -v -d "$GPU_DEVICE" --precision $p -m "$C/m.st" -o "$C/l.nrrd" "$C/n.nrrd" 2>"$C/one.err"
			t=$(sed -n 's/.*record, [0-9]* slices in \([0-9.]*\) s.*/\1/p' "$C/one.err")
			su=$(sed -n 's/.*start-up \([0-9.]*\) s.*/\1/p' "$C/one.err")
			[ -n "$t" ] && { [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; } && best=$t
		done
		"$B/r2u-infer" -q --profile -d "$GPU_DEVICE" --precision $p -m "$C/m.st" -o "$C/l.nrrd" "$C/n.nrrd" 2>"$C/prof.err"
		dev=$(awk -F'\t' '$1 == "total" { print $3 }' "$C/prof.err")
		"$B/r2u-infer" -v -d "$GPU_DEVICE" --precision $p -m "$C/m.st" -o "$C/ls.nrrd" "$C/stream.nrrd" 2>"$C/stream.err"
		rate=$(sed -n 's/.*: \([0-9.]*\) records\/s.*/\1/p' "$C/stream.err")
		printf '  %-5s one case: host %s ms after start-up (start-up %s s), device %s ms; stream of %d: %s cases/s\n' \
			"$p" "$(awk -v t="${best:-nan}" 'BEGIN { printf "%.1f", t * 1000 }')" "${su:-?}" "${dev:-?}" \
			"$BENCH_STREAM" "${rate:-?}" | tee -a "$OUT/bench_summary.txt"
		{ echo "== r2u-infer --profile $p"; cat "$C/prof.err"; } >>"$prof"
	done
	echo "  (targets on an H100/H200 in bf16: host <= 15 ms, device <= 8 ms, stream >= 60 cases/s; torch's time for the same 155 slices: the infer rows above)" | tee -a "$OUT/bench_summary.txt"
else
	echo "bench/gpu.sh: could not make the case for r2u-infer" >&2
fi
