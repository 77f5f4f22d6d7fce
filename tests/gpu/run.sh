#!/bin/sh
# tests/gpu/run.sh - every GPU test and the GPU benchmarks, on a machine with
# a GPU and nothing of ours installed, from a build made elsewhere:
#
#   make STATIC=1                 (here: nifti_clib, zlib, libpng, OpenBLAS and
#                                  the CUDA runtime linked in; cuDNN found at run time)
#   tests/gpu/run.sh [-o OUTDIR] [--no-bench]     (there)
#
# It needs the tree (tests/, bench/), bin/ and build/ (BINDIR, BUILDDIR), a
# python3 with torch (for the golden data and the PyTorch baselines), and
# cuDNN: found by the dynamic linker, or inside the Python environment's
# nvidia packages (LD_LIBRARY_PATH is set from them).  Results go to OUTDIR
# (default ./gpu-results): summary.txt (TAP lines and the figures),
# tests.log (everything the tests printed), scores.csv, and the benchmark
# tables of bench/gpu.sh.  Exit status 1 when a test failed.
# GPU_DEVICE, TRAIN_EPOCHS and TRAIN_WIDTH (default cuda, 12, 32) exist to
# rehearse the script on a machine without a GPU (GPU_DEVICE=cpu).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
: "${BINDIR:=$TOP/bin}" "${BUILDDIR:=$TOP/build}" "${PYTHON:=python3}"
: "${GPU_DEVICE:=cuda}" "${TRAIN_EPOCHS:=12}" "${TRAIN_WIDTH:=32}"
G=$GPU_DEVICE
OUT=${OUT:-$TOP/gpu-results}
BENCH=1
while [ $# -gt 0 ]; do
	case $1 in
	-o) OUT=$2; shift 2 ;;
	--no-bench) BENCH=0; shift ;;
	*) echo "usage: tests/gpu/run.sh [-o OUTDIR] [--no-bench]" >&2; exit 2 ;;
	esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d)
LOG=$OUT/tests.log
SUM=$OUT/summary.txt
: >"$LOG"
: >"$SUM"
# the cuDNN plan cache of these runs stays in W, not in the user's ~/.cache
BR_CACHE_DIR=$W/cache
export BINDIR BUILDDIR PYTHON TOP GPU_DEVICE BR_CACHE_DIR
PATH=$BINDIR:$PATH
N=0 FAILED=0
T0=$(date +%s)
ok() { N=$((N + 1)); echo "ok $N - $*" | tee -a "$SUM"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*" | tee -a "$SUM"; }
note() { echo "# $*" | tee -a "$SUM"; }
stamp() { note "[$(($(date +%s) - T0)) s] $*"; }

# cuDNN and cuBLAS from the Python environment when the linker cannot find them
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9'; then
	P=$("$PYTHON" -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0] + "/"))' 2>/dev/null)
	if [ -n "$P" ]; then
		LD_LIBRARY_PATH=$(find "$P" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')${LD_LIBRARY_PATH:-}
		export LD_LIBRARY_PATH
	fi
fi
note "$(nvidia-smi -L 2>/dev/null | head -n 1)"
note "$("$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuDNN", torch.backends.cudnn.version())' 2>&1 | tail -n 1)"
if ! "$BUILDDIR/bench/net_bench" -d $G -n 1 -b 2 -i 2 -H 32 -W 32 -w 8 >>"$LOG" 2>&1; then
	notok "a CUDA context and one training step (see tests.log)"
	tail -n 5 "$LOG" | sed 's/^/# /' | tee -a "$SUM"
	exit 1
fi

# 1. every op, CUDA against the CPU reference, three precisions (in parallel)
for p in fp32 tf32 bf16; do
	timeout 300 "$BUILDDIR/tests/gpu/test_cuda_ops" -p $p >"$W/ops_$p.log" 2>&1 &
done
# 2. meanwhile, on the CPU: phantoms, preprocessed
mkdir -p "$W/data" "$W/prep"
brats-phantom -q -n 10 --seed 7 -o "$W/data" >>"$LOG" 2>&1 || notok "brats-phantom"
for d in "$W"/data/BraTS20_Training_*; do
	c=${d##*/}
	(brats-crop -q "$d" | brats-norm -q -o "$W/prep/$c.nrrd" && brats-crop -q --seg -o "$W/prep/$c.seg.nrrd" "$d") &
done
wait
for p in fp32 tf32 bf16; do
	cat "$W/ops_$p.log" >>"$LOG"
	if grep -q '^not ok' "$W/ops_$p.log" || ! grep -q '^ok' "$W/ops_$p.log"; then
		notok "CUDA ops against the CPU, $p: $(grep -c '^not ok' "$W/ops_$p.log") failures"
		grep '^not ok' "$W/ops_$p.log" | head -n 10 | sed 's/^/#   /' | tee -a "$SUM"
	else
		ok "CUDA ops against the CPU, $p: $(grep -c '^ok' "$W/ops_$p.log") checks"
	fi
done
stamp "op tests and phantoms done"

# 3. the golden test (PyTorch, float64) on the GPU
for cfg in "8 3 32 24" "32 2 176 144"; do
	set -- $cfg
	g=$W/golden_$1
	mkdir -p "$g"
	if ! "$PYTHON" "$TOP/tests/golden/golden.py" "$g" "$1" "$2" "$3" "$4" 11 5 1e-4 >>"$LOG" 2>&1; then
		notok "golden data for width $1"
		continue
	fi
	# bf16's accuracy is checked on segmentations (section 5), not against float64
	for p in fp32 tf32; do
		timeout 120 "$BUILDDIR/tests/golden/test_golden" "$g" "$2" "$3" "$4" 5 1e-4 $G $p >"$g/$p.log" 2>&1
		rc=$?
		cat "$g/$p.log" >>"$LOG"
		if [ $rc -eq 0 ]; then
			ok "golden width $1 ($2 x $3 x $4) on cuda $p: $(grep -c '^ok' "$g/$p.log") checks"
		else
			notok "golden width $1 on cuda $p"
			grep '^not ok' "$g/$p.log" | sed 's/^/#   /' | tee -a "$SUM"
		fi
	done
done
stamp "golden done"

# 4. 50 training steps on the CPU and on the GPU: the same loss curve.  At
#    the paper's learning rate: at 1e-3, rounding differences grow by tens of
#    per cent within 50 steps even between two CPU builds (AVX2 and portable
#    code), while at 1e-4 they stay near 2e-4.
cd "$W/prep" || exit 1
PAIRS=""
for i in 001 002 003 004 005 006 007 008; do PAIRS="$PAIRS BraTS20_Training_$i.nrrd BraTS20_Training_$i.seg.nrrd"; done
DET="--deterministic --no-flip --dropout 0 --width 16 --batch 8 --steps 50 --lr 1e-4 --keep-empty 0.2"
r2u-train -q -d cpu $DET --log "$W/cpu.tsv" -o "$W/cpu50.st" $PAIRS >>"$LOG" 2>&1 &
r2u-train -q -d $G --precision fp32 $DET --log "$W/gpu.tsv" -o "$W/gpu50.st" $PAIRS >>"$LOG" 2>&1
wait
if "$PYTHON" - "$W/cpu.tsv" "$W/gpu.tsv" >>"$SUM" 2>&1 <<'PY'
import sys
a = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:]]
b = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()[1:]]
assert len(a) == len(b) == 50, (len(a), len(b))
worst = max(abs(float(x[3]) - float(y[3])) / float(x[3]) for x, y in zip(a, b))
print("# 50-step loss curves: cpu %.4f -> %.4f, cuda %.4f -> %.4f, worst relative difference %.2e" %
      (float(a[0][3]), float(a[-1][3]), float(b[0][3]), float(b[-1][3]), worst))
sys.exit(0 if worst < 1e-2 and float(b[-1][3]) < float(b[0][3]) else 1)
PY
then ok "r2u-train 50 steps: the CUDA loss curve matches the CPU's (fp32)"; else notok "CUDA and CPU loss curves differ"; fi
stamp "loss curves done"

# 5. train on the GPU (bf16), segment held-out phantoms on the GPU in fp32,
#    tf32, bf16 and on the CPU: same checkpoint, Dice within 0.001
TRAIN=""
for i in 001 002 003 004 005 006 007 008; do TRAIN="$TRAIN BraTS20_Training_$i.nrrd BraTS20_Training_$i.seg.nrrd"; done
if r2u-train -q -d $G --precision bf16 --width $TRAIN_WIDTH --batch 32 --epochs $TRAIN_EPOCHS --lr 1e-3 --keep-empty 0.2 --seed 3 \
	--log "$W/train.tsv" -o "$W/model.st" $TRAIN >>"$LOG" 2>&1; then
	ok "r2u-train -d $G --precision bf16: $TRAIN_EPOCHS epochs at batch 32 ($(tail -n 1 "$W/train.tsv" | cut -f 2) steps, $(
		awk -F'\t' 'NR > 2 { s += $9; n++ } END { printf "%.0f", s / n }' "$W/train.tsv") slices/s)"
else
	notok "r2u-train -d cuda"
fi
for d in $G:fp32 $G:tf32 $G:bf16 cpu:fp32; do
	dev=${d%%:*} p=${d#*:}
	mkdir -p "$W/pred_$dev$p"
	for c in BraTS20_Training_009 BraTS20_Training_010; do
		r2u-infer -q -d $dev --precision $p -m "$W/model.st" "$c.nrrd" | cc-filter |
			brats-uncrop -r "$W/data/$c/${c}_flair.nii.gz" -o "$W/pred_$dev$p/$c.nii.gz" 2>>"$LOG"
	done
	brats-metrics -q --subset -p "$W/pred_$dev$p" -g "$W/data" -o "$W/scores_$dev$p.csv" 2>>"$LOG" ||
		notok "brats-metrics on the $d predictions"
done
cp "$W/scores_${G}bf16.csv" "$OUT/scores.csv" 2>/dev/null
if "$PYTHON" - "$W" >>"$SUM" 2>&1 <<'PY'
import csv, sys
w = sys.argv[1]
def mean(tag):
    rows = {r["Label"]: r for r in csv.DictReader(open("%s/scores_%s.csv" % (w, tag)))}
    return [float(rows["Mean"][k]) for k in ("Dice_ET", "Dice_WT", "Dice_TC")]
import os
g = os.environ.get("GPU_DEVICE", "cuda")
ref = mean(g + "fp32")
ok = True
for tag in (g + "tf32", g + "bf16", "cpufp32"):
    m = mean(tag)
    d = max(abs(a - b) for a, b in zip(m, ref))
    print("# mean Dice ET/WT/TC %s: %.4f %.4f %.4f (fp32 on cuda: %.4f %.4f %.4f), largest difference %.5f" %
          (tag, *m, *ref, d))
    ok &= d <= 0.001
sys.exit(0 if ok and ref[1] > 0.3 else 1)
PY
then ok "segmentation on cuda bf16/tf32 and on the CPU: Dice within 0.001 of cuda fp32"; else notok "Dice differs between precisions or devices"; fi

# 6. checkpoints are interchangeable: trained on the CPU, inferred on the GPU
r2u-infer -q -d cpu --prob -m "$W/cpu50.st" BraTS20_Training_009.nrrd >"$W/pc.nrrd" 2>>"$LOG" &&
	r2u-infer -q -d $G --precision fp32 --prob -m "$W/cpu50.st" BraTS20_Training_009.nrrd >"$W/pg.nrrd" 2>>"$LOG" &&
	r2u-infer -q -d $G --precision fp32 --prob -m "$W/model.st" BraTS20_Training_009.nrrd >"$W/pg2.nrrd" 2>>"$LOG" &&
	r2u-infer -q -d cpu --prob -m "$W/model.st" BraTS20_Training_009.nrrd >"$W/pc2.nrrd" 2>>"$LOG"
if [ $? -eq 0 ] && "$PYTHON" - "$W" >>"$SUM" 2>&1 <<PY
import sys
sys.path.insert(0, "$TOP/tests/pylib")
import brtest, numpy as np
w = sys.argv[1]
r = lambda f: brtest.read_nrrd("%s/%s" % (w, f)).data
d1 = np.abs(r("pc.nrrd") - r("pg.nrrd")).max()
d2 = np.abs(r("pc2.nrrd") - r("pg2.nrrd")).max()
print("# probabilities, CPU-trained model: largest |cpu - cuda| %.2e; GPU-trained model: %.2e" % (d1, d2))
sys.exit(0 if d1 < 1e-3 and d2 < 1e-3 else 1)
PY
then ok "checkpoints interchangeable: CPU-trained on the GPU and GPU-trained on the CPU give the same probabilities"
else notok "CPU and GPU probabilities differ for the same checkpoint"; fi
# 6b. the case in device memory: the label map assembled on the GPU is the
#     rule applied to the GPU's own probabilities, voxel for voxel; the
#     flip (TTA) and an ensemble of two on the GPU against the CPU
r2u-infer -q -d $G --precision fp32 -m "$W/model.st" BraTS20_Training_009.nrrd >"$W/lg.nrrd" 2>>"$LOG" &&
	r2u-infer -q -d $G --precision fp32 --tta --prob -m "$W/model.st" -m "$W/cpu50.st" BraTS20_Training_009.nrrd >"$W/tg.nrrd" 2>>"$LOG" &&
	r2u-infer -q -d cpu --tta --prob -m "$W/model.st" -m "$W/cpu50.st" BraTS20_Training_009.nrrd >"$W/tc.nrrd" 2>>"$LOG"
if [ $? -eq 0 ] && "$PYTHON" - "$W" >>"$SUM" 2>&1 <<PY
import sys
sys.path.insert(0, "$TOP/tests/pylib")
import brtest, numpy as np
w = sys.argv[1]
r = lambda f: brtest.read_nrrd("%s/%s" % (w, f)).data
p = r("pg2.nrrd")
wt, ncr, et = p[..., 0], p[..., 1], p[..., 3]
rule = np.where(~(wt >= 0.5), 0, np.where(et >= 0.5, 4, np.where(ncr >= 0.5, 1, 2))).astype(np.uint8)
lab = r("lg.nrrd")
bad = int((lab != rule).sum())
d = np.abs(r("tg.nrrd") - r("tc.nrrd")).max()
print("# labels assembled on the GPU: %d voxels off the rule on its probabilities; TTA ensemble |cpu - cuda| %.2e" % (bad, d))
sys.exit(0 if bad == 0 and d < 1e-3 else 1)
PY
then ok "a case in device memory: GPU label map = the rule on the GPU's probabilities; TTA ensemble on the GPU = on the CPU"
else notok "the device-side label map or TTA ensemble differs"; fi
stamp "pipeline done"

# 7. one whole case through r2u-infer, timed by the tool
for p in bf16 tf32; do
	r2u-infer -v -d $G --precision $p -m "$W/model.st" BraTS20_Training_009.nrrd BraTS20_Training_010.nrrd \
		BraTS20_Training_009.nrrd >/dev/null 2>"$W/t.log"
	note "r2u-infer $p, 3 cases incl. start-up and I/O: $(grep 'slices in' "$W/t.log" | sed 's/^r2u-infer: //')"
done

# 7b'. recorded forward passes (BR_CUDA_GRAPH=1, opt-in until checked here):
#     in a stream of the same case three times, the first pass runs as it
#     comes, the second is recorded and launched, the third launched; every
#     record must equal the run without graphs, and the times are noted
for p in bf16 tf32; do
	cat BraTS20_Training_009.nrrd BraTS20_Training_009.nrrd BraTS20_Training_009.nrrd >"$W/same3.nrrd"
	r2u-infer -v -d $G --precision $p --prob -m "$W/model.st" "$W/same3.nrrd" >"$W/g0.nrrd" 2>"$W/g0.log"
	BR_CUDA_GRAPH=1 r2u-infer -v -d $G --precision $p --prob -m "$W/model.st" "$W/same3.nrrd" >"$W/g1.nrrd" 2>"$W/g1.log"
	if "$PYTHON" - "$W" >>"$SUM" 2>&1 <<PY
import sys
sys.path.insert(0, "$TOP/tests/pylib")
import brtest, numpy as np
w = sys.argv[1]
a = brtest.read_nrrd_stream("%s/g0.nrrd" % w)
b = brtest.read_nrrd_stream("%s/g1.nrrd" % w)
d = [float(np.abs(x.data - y.data).max()) for x, y in zip(a, b)]
e = float(np.abs(a[0].data - a[2].data).max())
print("# $p graphs: records %d/%d, |graph - eager| per record %s; eager record 1 vs 3 %.2e" % (len(a), len(b), " ".join("%.2e" % v for v in d), e))
sys.exit(0 if len(a) == 3 and len(b) == 3 and max(d) <= max(e, 1e-6) else 1)
PY
	then ok "$p: recorded forward passes give the probabilities of the calls run as they come"
	else notok "$p: recorded forward passes differ (BR_CUDA_GRAPH=1 stays off by default)"; fi
	note "$p per record without graphs: $(sed -n 's/.*record \([0-9]\) .*slices, \([0-9.]*\) s/\1:\2s/p' "$W/g0.log" | tr '\n' ' ')" \
		"with: $(sed -n 's/.*record \([0-9]\) .*slices, \([0-9.]*\) s/\1:\2s/p' "$W/g1.log" | tr '\n' ' ')"
done

# 7a. the cuDNN plan cache: a second run takes every algorithm the first
#     one timed from the file, and segments the same
if [ "$G" != cpu ]; then
	rm -rf "$W/cache"
	BR_CUDA_LOG=1 r2u-infer -v -d $G --precision bf16 -m "$W/model.st" BraTS20_Training_009.nrrd >"$W/c1.nrrd" 2>"$W/c1.log"
	BR_CUDA_LOG=1 r2u-infer -v -d $G --precision bf16 -m "$W/model.st" BraTS20_Training_009.nrrd >"$W/c2.nrrd" 2>"$W/c2.log"
	nf1=$(grep -c ': find algo' "$W/c1.log") nc2=$(grep -c ': cached algo' "$W/c2.log") nf2=$(grep -c ': find algo' "$W/c2.log")
	diff=$("$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib'); import brtest
a = brtest.read_nrrd('$W/c1.nrrd').data; b = brtest.read_nrrd('$W/c2.nrrd').data
print(int((a != b).sum()))" 2>>"$LOG")
	note "plan cache: first run $nf1 searches; second run $nc2 from the cache, $nf2 searches, $diff voxels differ;" \
		"start-up $(sed -n 's/.*start-up \([0-9.]*\) s.*/\1/p' "$W/c1.log") s -> $(sed -n 's/.*start-up \([0-9.]*\) s.*/\1/p' "$W/c2.log") s," \
		"first case $(sed -n 's/.*slices in \([0-9.]*\) s.*/\1/p' "$W/c1.log") s -> $(sed -n 's/.*slices in \([0-9.]*\) s.*/\1/p' "$W/c2.log") s"
	if [ "$nf1" -gt 0 ] && [ "$nc2" -eq "$nf1" ] && [ "$nf2" -eq 0 ] && [ "${diff:-1}" -le 100 ]; then
		ok "cuDNN plan cache: the second run searches nothing and segments the same"
	else
		notok "cuDNN plan cache (see the note above)"
	fi
fi

# 7b. data parallelism on this GPU: the NCCL path with one rank, and two MPI
#     ranks sharing the GPU through the mpi kind (NCCL refuses two ranks on
#     one GPU); the same equalities as tests/mpi/t_mpi.sh on the CPU.  The
#     split-batch loss and BatchNorm add the same float32 terms in another
#     order (in double), so the losses of 10 steps equal section 4's one
#     process with --batch 8 to 1e-4 relative (fp32).
if command -v mpirun >/dev/null 2>&1 && ldd "$BINDIR/r2u-train" 2>/dev/null | grep -q libmpi && [ "$G" = cuda ]; then
	[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	D10="--deterministic --no-flip --dropout 0 --width 16 --steps 10 --lr 1e-4 --keep-empty 0.2 --precision fp32"
	MPIRUN="timeout 300 mpirun --oversubscribe"
	cmp_loss() { # ranks.tsv: its 10 losses against the first 10 of gpu.tsv
		"$PYTHON" - "$W/gpu.tsv" "$1" >>"$SUM" 2>&1 <<'PY'
import sys
a = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:11]]
b = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()[1:]]
worst = max(abs(float(x[3]) - float(y[3])) / float(x[3]) for x, y in zip(a, b))
print("# %s: 10 losses against one process, worst relative difference %.2e" % (sys.argv[2].split("/")[-1], worst))
sys.exit(0 if len(b) == 10 and worst <= 1e-4 else 1)
PY
	}
	if $MPIRUN -np 1 r2u-train -q -d $G --comm nccl $D10 --batch 8 --checkpoint-every 1 --log "$W/nccl1.tsv" \
		-o "$W/nccl1.st" $PAIRS >>"$LOG" 2>&1 && cmp_loss "$W/nccl1.tsv"; then
		ok "NCCL, one rank: 10 steps equal one process's (split loss and gradient all-reduce on the GPU)"
	else notok "NCCL, one rank (see tests.log)"; fi
	rm -f "$W"/mpi2.*.err
	if $MPIRUN -np 2 env W="$W" sh -c 'exec "$0" "$@" 2>"$W/mpi2.$OMPI_COMM_WORLD_RANK.err"' "$(command -v r2u-train)" -v -v \
		-d $G --comm mpi --sync-bn $D10 --batch 4 --checkpoint-every 1 --log "$W/mpi2.tsv" -o "$W/mpi2.st" $PAIRS \
		>>"$LOG" 2>&1 && cmp_loss "$W/mpi2.tsv" && "$PYTHON" - "$W"/mpi2.0.err "$W"/mpi2.1.err >>"$SUM" 2>&1 <<'PY'
import re, sys
sums = [[m.group(1) for m in (re.search(r"step \d+ checksum ([0-9a-f]{16})$", l.strip()) for l in open(p)) if m] for p in sys.argv[1:]]
print("# 2 ranks on one GPU: %d and %d checksums" % (len(sums[0]), len(sums[1])))
sys.exit(0 if len(sums[0]) >= 10 and sums[0] == sums[1] else 1)  # every step, and epoch ends
PY
	then
		ok "two MPI ranks on one GPU, --sync-bn, 2 x 4 slices: parameters identical after every step, losses = one process with 8"
	else notok "two MPI ranks on one GPU (see tests.log)"; fi
	stamp "data parallelism done"
else
	note "data parallelism: skipped (needs mpirun and r2u-train built with MPI)"
fi
cd "$TOP" || exit 1

# 8. benchmarks against PyTorch on this GPU
if [ $BENCH = 1 ] && [ "$G" = cuda ]; then
	# torch.compile gets what is left of about seven minutes
	left=$((420 - $(date +%s) + T0))
	[ $left -lt 0 ] && left=0
	OUT=$OUT BUILDDIR=$BUILDDIR PYTHON=$PYTHON COMPILE_BUDGET=$left sh "$TOP/bench/gpu.sh" >>"$LOG" 2>&1
	cat "$OUT/bench_summary.txt" >>"$SUM" 2>/dev/null
	stamp "benchmarks done"
fi
rm -rf "$W"
echo "$((N - FAILED)) passed, $FAILED failed" | tee -a "$SUM"
[ $FAILED -eq 0 ]
