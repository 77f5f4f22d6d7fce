#!/bin/sh
# r2u-train over MPI ranks on the CPU (mpirun --oversubscribe, one thread per
# rank): parameters bit-identical across ranks after every step; the shards
# of an epoch disjoint, covering it, and together the steps of one process
# with the global batch; --sync-bn: 2 ranks x 16 slices = 1 process x 32
# slices to a tolerance set from the summation order; a run killed by
# SIGTERM and resumed = the uninterrupted run, also resumed with another
# number of ranks; a rank that fails or dies ends the job with a message
# naming it, not a hang.
. "$TOP/tests/lib.sh"
R2U=$BINDIR/r2u-train
if ! command -v mpirun >/dev/null 2>&1; then
	echo "ok 1 # SKIP mpirun not found (scripts/install-deps.sh installs openmpi-bin)"
	exit 0
fi
D=$TMPDIR/d
sh "$TOP/tests/net/make_data.sh" "$D" 3 || { t_notok "test data"; finish; }
cd "$D" || exit 1
PAIRS="c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd c2.nrrd c2.seg.nrrd" # 72 slices of 48 x 48
if ! ldd "$R2U" 2>/dev/null | grep -q 'libmpi'; then
	# a build without MPI refuses ranks and says why
	fails "a build without MPI refuses ranks" 1 "^r2u-train: built without MPI" \
		env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$R2U" -q -o x.st $PAIRS
	echo "ok 2 # SKIP r2u-train was built without MPI (install libopenmpi-dev and rebuild)"
	finish
fi
if [ "$(id -u)" -eq 0 ]; then
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
# no network interfaces to probe
OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl OMPI_MCA_btl_tcp_if_include OMPI_MCA_oob_tcp_if_include
MPI="timeout 120 mpirun --oversubscribe"
T="-j 1 --width 8"
ST=$TOP/tests/pylib

# ---- ranks agree: checksums of parameters, running statistics and Adam
# moments after every step (a checkpoint every step compares them too) ----
for np in 2 3; do
	$MPI -np $np sh -c 'exec "$0" "$@" 2>agree.$OMPI_COMM_WORLD_RANK.err' \
		"$R2U" $T -v -v --batch 4 --epochs 1 --steps 6 --checkpoint-every 1 -o agree$np.st $PAIRS >/dev/null
	rc=$?
	cat agree.?.err >agree$np.err
	ok $rc "-np $np: 6 steps with flips and dropout, a checkpoint after each"
	"$PYTHON" - agree$np.err $np <<'PY'
import re, sys
np_ = int(sys.argv[2])
by = {}
for l in open(sys.argv[1]):
    m = re.match(r"r2u-train: rank (\d+): step (\d+) checksum ([0-9a-f]{16})$", l.strip())
    if m:
        by.setdefault(int(m.group(2)), {})[int(m.group(1))] = m.group(3)
ok = sorted(by) == list(range(1, 7)) and all(sorted(v) == list(range(np_)) and len(set(v.values())) == 1 for v in by.values())
ok = ok and len({v[0] for v in by.values()}) == 6  # the parameters moved every step
sys.exit(0 if ok else 1)
PY
	ok $? "-np $np: every rank's checksum equals rank 0's after every one of the 6 steps"
done
if grep -q "slices" agree3.err && "$PYTHON" - agree3.err <<'PY'
import re, sys
steps = {}
for l in open(sys.argv[1]):
    m = re.match(r"r2u-train: rank (\d) epoch 1 step (\d+) slices (.*)$", l.strip())
    if m:
        steps.setdefault(int(m.group(2)), {})[int(m.group(1))] = m.group(3).split()
sys.exit(0 if all(len(v) == 3 and len(v[0]) == 4 and v[0] != v[1] for v in steps.values()) else 1)
PY
then t_ok "-np 3 --batch 4: each rank its own 4 slices per step"; else t_notok "-np 3: shards per step"; fi

# ---- the shards of an epoch: disjoint, covering it, and step by step the
# slices (and flips) of one process with --batch 12 ----
rm -f agree.?.err
$MPI -np 3 sh -c 'exec "$0" "$@" 2>sh3.$OMPI_COMM_WORLD_RANK.err' "$R2U" $T -v -v -v --batch 4 --epochs 1 --seed 3 \
	-o sh3.st $PAIRS >/dev/null
ok $? "-np 3: one epoch (72 slices, 6 steps of 3 x 4)"
cat sh3.?.err >sh3.err
"$R2U" $T -v -v -v --batch 12 --epochs 1 --seed 3 -o sh1.st $PAIRS >/dev/null 2>sh1.err
ok $? "one process: one epoch with --batch 12"
"$PYTHON" - sh3.err sh1.err <<'PY'
import re, sys
def steps(path):
    s = {}
    for l in open(path):
        m = re.match(r"r2u-train: (?:rank \d+: )?rank (\d+) epoch 1 step (\d+) slices (.*)$", l.strip())
        if m:
            s.setdefault(int(m.group(2)), {})[int(m.group(1))] = m.group(3).split()
    return s
three, one = steps(sys.argv[1]), steps(sys.argv[2])
allsl = [x.rstrip("f") for st in three.values() for r in st.values() for x in r]
want = {"%d:%d" % (c, z) for c in range(3) for z in range(24)}
ok = len(allsl) == 72 and set(allsl) == want                        # disjoint and covering
ok = ok and sorted(three) == list(range(1, 7)) and sorted(one) == list(range(1, 7))
ok = ok and all(three[s][0] + three[s][1] + three[s][2] == one[s][0] for s in one)  # same slices, flips, order
sys.exit(0 if ok else 1)
PY
ok $? "the 3 ranks' shards are disjoint, cover the epoch, and step s = step s of one process with --batch 12"

# ---- --sync-bn: 2 ranks x 16 = 1 process x 32 ----
# Tolerances, fixed before running: both sides compute every per-pixel term
# in float32 identically; they differ only in how the terms are added up.
# One process adds BatchNorm terms in float32 partials of up to 256 values
# (relative error up to 256 * 2^-24 = 1.5e-5 of the sum of magnitudes, about
# 1e-6 in practice) and then in double; the ranks add in double and add the
# two halves in rank order.  So: the loss (a sum in double of identical
# terms) to 2e-6 relative; running statistics after one step (one sum each)
# to 1e-5 * (1 + |x|); the gradient of step 1 (Adam's first moment is 0.1 g),
# propagated through some 40 layers and the odd ReLU or max-pool decision
# flipped by a last-bit change, to 1e-3 in relative L2 norm; the losses of 5
# steps to 1e-5 relative (the parameters move by lr = 1e-4 per step).  The
# same comparison without --sync-bn must fail (per-rank statistics).
C="$T --epochs 2 --seed 4 --dropout 0"
"$R2U" $C --batch 32 --steps 1 --log one1.tsv -o one1.st $PAIRS && "$R2U" $C --batch 32 --steps 5 --log one5.tsv -o one5.st $PAIRS
ok $? "one process, --batch 32: 1 and 5 steps"
$MPI -np 2 "$R2U" $C --batch 16 --sync-bn --steps 1 --log two1.tsv -o two1.st $PAIRS &&
	$MPI -np 2 "$R2U" $C --batch 16 --sync-bn --steps 5 --log two5.tsv -o two5.st $PAIRS &&
	$MPI -np 2 "$R2U" $C --batch 16 --steps 1 -o loc1.st $PAIRS
ok $? "2 ranks, --batch 16: 1 and 5 steps with --sync-bn, 1 without"
cat >cmp.py <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, st
a, _ = st.load(sys.argv[2]); b, _ = st.load(sys.argv[3])
def rows(p): return [l.split("\t") for l in open(p).read().splitlines()[1:]]
run = [k for k in a if "running" in k and not k.startswith("optim.")]
ok_run = all(np.all(np.abs(a[k] - b[k]) <= 1e-5 * (1 + np.abs(a[k]))) for k in run)
ks = sorted(k for k in a if k.startswith("optim.m."))
ga = np.concatenate([a[k].ravel() for k in ks]).astype(np.float64)
gb = np.concatenate([b[k].ravel() for k in ks]).astype(np.float64)
rel = np.linalg.norm(ga - gb) / np.linalg.norm(ga)
la, lb = rows(sys.argv[4]), rows(sys.argv[5])
ok_loss = len(la) == len(lb) == 1 and all(abs(float(x) - float(y)) <= 2e-6 * abs(float(x)) + 1e-6 for x, y in zip(la[0][3:8], lb[0][3:8]))
print("# running statistics %s, gradient relative L2 %.3g, loss %s vs %s" % ("agree" if ok_run else "differ", rel, la[0][3], lb[0][3]))
sys.exit(0 if ok_run and rel <= 1e-3 and ok_loss else 1)
PY
"$PYTHON" cmp.py "$ST" one1.st two1.st one1.tsv two1.tsv
ok $? "--sync-bn step 1: loss (2e-6), running statistics (1e-5), gradient (1e-3 relative L2) equal one process's"
"$PYTHON" - one5.tsv two5.tsv <<'PY'
import sys
def rows(p): return [l.split("\t") for l in open(p).read().splitlines()[1:]]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if len(a) == len(b) == 5 and all(abs(float(x[3]) - float(y[3])) <= 1e-5 * abs(float(x[3])) for x, y in zip(a, b)) else 1)
PY
ok $? "--sync-bn: the losses of 5 steps equal one process's to 1e-5"
if "$PYTHON" cmp.py "$ST" one1.st loc1.st one1.tsv one1.tsv >/dev/null; then
	t_notok "without --sync-bn the running statistics should differ from one process's (the test cannot tell)"
else
	t_ok "without --sync-bn each rank normalises its own 16 slices: the statistics differ, as they should"
fi

# ---- killed by SIGTERM and resumed = uninterrupted (flips, dropout, validation on) ----
printf 'c2.nrrd c2.seg.nrrd\n' >val.txt
K="$T --batch 6 --epochs 2 --seed 9 --val val.txt"
$MPI -np 2 "$R2U" $K --log full.tsv -o full.st c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd 2>full.err
ok $? "2 ranks: 2 uninterrupted epochs of 48 slices (4 steps each) with validation"
$MPI -np 2 sh -c 'echo $$ >pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$R2U" $K --log part.tsv -o part.st \
	c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd 2>part.err &
mpid=$!
i=0
while [ $i -lt 600 ] && [ "$({ wc -l <part.tsv; } 2>/dev/null || echo 0)" -lt 3 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$(cat pid.0)" "$(cat pid.1)" 2>/dev/null
wait $mpid
rc=$?
rows=$(($(wc -l <part.tsv) - 1))
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ -s part.st ] && [ $rows -lt 8 ]; then
	t_ok "SIGTERM to both ranks after step $rows: they stop after the same step, rank 0 writes a checkpoint"
else
	t_notok "SIGTERM: exit $rc, $rows steps logged"
fi
cp part.st part3.st
head -n $((rows + 1)) part.tsv >part3.tsv
$MPI -np 2 "$R2U" $K --log part.tsv --resume part.st -o part.st c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd 2>>part.err
ok $? "2 ranks: resume to the end"
if cmp -s full.st part.st; then t_ok "resumed run = uninterrupted run (checkpoint identical)"; else t_notok "resumed run differs"; fi
cut -f 1-8,10 full.tsv >full.cut
cut -f 1-8,10 part.tsv >part.cut
if cmp -s full.cut part.cut; then t_ok "resumed log = uninterrupted log"; else t_notok "resumed log differs"; fi

# ---- resumed with another number of ranks (--sync-bn: 2 x 6 = 3 x 4) ----
S="$T --epochs 2 --seed 9 --dropout 0 --sync-bn"
$MPI -np 2 "$R2U" $S --batch 6 --log s2.tsv -o s2.st $PAIRS && $MPI -np 2 "$R2U" $S --batch 6 --steps 4 --log s3.tsv -o s3.st $PAIRS &&
	$MPI -np 3 "$R2U" $S --batch 4 --resume s3.st --log s3.tsv -o s3.st $PAIRS
ok $? "--sync-bn: 2 ranks x 6 for 4 steps, then resumed with 3 ranks x 4"
"$PYTHON" - s2.tsv s3.tsv <<'PY'
import sys
def rows(p): return [l.split("\t") for l in open(p).read().splitlines()[1:]]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
ok = len(a) == len(b) == 12 and [r[:3] for r in a] == [r[:3] for r in b]
ok = ok and all(abs(float(x[3]) - float(y[3])) <= 1e-5 * abs(float(x[3])) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
PY
ok $? "resumed with 3 ranks: the same 12 steps, losses equal to 1e-5"

# ---- a rank that fails, or dies, ends the job: a message, no hang ----
$MPI -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$0" -q -o bad.st missing.nrrd missing.seg.nrrd; else exec "$0" "$@"; fi' \
	"$R2U" $T --epochs 50 -o bad.st $PAIRS >/dev/null 2>bad.err
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "^r2u-train: rank 1: missing.nrrd" bad.err; then
	t_ok "rank 1 cannot read its input: the job ends (exit $rc) and says so"
else
	t_notok "rank 1 failing: exit $rc"; sed 's/^/#   /' bad.err | head -n 5
fi
$MPI -np 2 sh -c 'echo $$ >dpid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$R2U" $T --epochs 50 -o die.st $PAIRS >/dev/null 2>die.err &
mpid=$!
i=0
while [ $i -lt 600 ] && ! [ -s dpid.1 ]; do sleep 0.05; i=$((i + 1)); done
sleep 1
kill -KILL "$(cat dpid.1)"
wait $mpid
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qi "rank 1" die.err; then
	t_ok "rank 1 killed: the job ends (exit $rc) with a message naming rank 1"
else
	t_notok "rank 1 killed: exit $rc"; sed 's/^/#   /' die.err | head -n 5
fi
# a rank launched with another seed starts from other weights: the first
# checkpoint's checksums disagree, the rank says so and the job ends
$MPI -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$0" "$@" --seed 2; else exec "$0" "$@"; fi' \
	"$R2U" $T --batch 4 --epochs 1 --checkpoint-every 2 -o mis.st $PAIRS >/dev/null 2>mis.err
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "^r2u-train: rank 1: the parameters differ from rank 0's after step 2" mis.err &&
	grep -q "^r2u-train: rank 0: .*rank 1 disagrees" mis.err && [ ! -e mis.st ]; then
	t_ok "ranks that disagree: rank 1 names itself at the first checkpoint, the job ends (exit $rc), nothing written"
else
	t_notok "ranks that disagree: exit $rc"; sed 's/^/#   /' mis.err | head -n 5
fi
finish
