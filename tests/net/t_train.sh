#!/bin/sh
# r2u-train: the log, resuming exactly, determinism, signals, bad input,
# divergence, a full disk.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
sh "$TOP/tests/net/make_data.sh" "$D" 4 || { t_notok "test data"; finish; }
cd "$D" || exit 1
PAIRS="c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd c2.nrrd c2.seg.nrrd"
T="r2u-train -q -j 2 --width 8 --batch 8"
printf 'c3.nrrd c3.seg.nrrd\n' >val.txt
printf '# training cases\nc0.nrrd c0.seg.nrrd\n\nc1.nrrd c1.seg.nrrd\nc2.nrrd c2.seg.nrrd\n' >train.txt

# a full run: 2 epochs of 72 slices = 9 steps each, flips and dropout on
check "train 2 epochs with validation and a log" $T --epochs 2 --seed 5 --val val.txt --log full.tsv -o full.st -l train.txt
"$PYTHON" - full.tsv <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hdr = "epoch step lr loss loss_wt loss_ed loss_ncr loss_et slices_per_s val_dice".split()
ok = rows[0] == hdr and len(rows) == 1 + 18
body = rows[1:]
ok = ok and [int(r[1]) for r in body] == list(range(1, 19)) and [int(r[0]) for r in body] == [1] * 9 + [2] * 9
vals = [r[9] for r in body]
ok = ok and all(v == "" for i, v in enumerate(vals) if i not in (8, 17)) and all(0 <= float(vals[i]) <= 1 for i in (8, 17))
lrs = [float(r[2]) for r in body]
ok = ok and abs(lrs[0] - 1e-4) < 1e-12 and abs(lrs[9] - 1e-4 * 0.5 ** 0.9) < 1e-9
ok = ok and all(abs(float(r[3]) - (float(r[4]) + float(r[5]) + float(r[6]) + float(r[7]))) < 1e-4 for r in body)
sys.exit(0 if ok else 1)
PY
ok $? "the log: exact header, one row per step, lr schedule, val_dice at epoch ends, loss = sum of heads"

# interrupted by --steps inside epoch 1, then resumed: the same weights to the bit
check "train, stopped after 4 steps" $T --epochs 2 --seed 5 --val val.txt --log part.tsv --steps 4 -o part.st -l train.txt
check "resume to the end" $T --epochs 2 --seed 5 --val val.txt --log part.tsv --resume part.st -o part.st -l train.txt
if cmp -s full.st part.st; then t_ok "resumed run = uninterrupted run (checkpoint identical)"; else t_notok "resumed run differs"; fi
if cut -f 1-8,10 full.tsv | cmp -s - "$(cut -f 1-8,10 part.tsv >part.cut && echo part.cut)"; then
	t_ok "resumed log = uninterrupted log"
else
	t_notok "resumed log differs"
fi

# --resume refuses another run: each setting that shapes the schedule or the
# network, and the case list; the checkpoint is left as it was
cp part.st ref.st
R="--epochs 2 --seed 5 --val val.txt --resume part.st -o part.st"
refused() { # what pattern extra-options... (the rest of the run as before)
	what=$1 pat=$2; shift 2
	fails "--resume refuses $what" 1 "^r2u-train: part.st: the run differs from the checkpoint's: $pat; -f resumes anyway\$" "$@"
}
refused "--epochs" "--epochs 3 \(checkpoint: --epochs 2\)" $T --epochs 3 --seed 5 --val val.txt --resume part.st -o part.st -l train.txt
refused "--batch" "--batch 4 \(checkpoint: --batch 8\)" $T $R --batch 4 -l train.txt
refused "--seed" "--seed 6 \(checkpoint: --seed 5\)" $T --epochs 2 --seed 6 --val val.txt --resume part.st -o part.st -l train.txt
refused "--lr" "--lr 0.0002 \(checkpoint: --lr 0.0001\)" $T $R --lr 2e-4 -l train.txt
refused "--lambda" "--lambda 0.5 \(checkpoint: --lambda 1\)" $T $R --lambda 0.5 -l train.txt
refused "--dropout" "--dropout 0.1 \(checkpoint: --dropout 0.2\)" $T $R --dropout 0.1 -l train.txt
refused "--keep-empty" "--keep-empty 0.5 \(checkpoint: --keep-empty 1\)" $T $R --keep-empty 0.5 -l train.txt
refused "--no-flip" "--no-flip \(checkpoint: --flip\)" $T $R --no-flip -l train.txt
refused "--deterministic" "--deterministic \(checkpoint: no --deterministic\)" $T $R --deterministic -l train.txt
refused "--width" "--width 16 \(checkpoint: --width 8\)" $T $R --width 16 -l train.txt
refused "a default instead of the run's --epochs" "--epochs 50 \(checkpoint: --epochs 2\)" \
	r2u-train -q -j 2 --width 8 --batch 8 --seed 5 --val val.txt --resume part.st -o part.st -l train.txt
refused "a reordered case list" "case list \(hash [0-9a-f]{16}, the checkpoint's [0-9a-f]{16}\)" \
	$T $R c1.nrrd c1.seg.nrrd c0.nrrd c0.seg.nrrd c2.nrrd c2.seg.nrrd
refused "another case" "case list \(hash [0-9a-f]{16}, the checkpoint's [0-9a-f]{16}\)" \
	$T $R c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd c3.nrrd c3.seg.nrrd
refused "fewer cases" "2 cases \(checkpoint: 3 cases\), case list \(hash [0-9a-f]{16}, the checkpoint's [0-9a-f]{16}\)" \
	$T $R c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd
refused "several changes, each named" "--epochs 4 \(checkpoint: --epochs 2\), --batch 16 \(checkpoint: --batch 8\), --seed 7 \(checkpoint: --seed 5\)" \
	r2u-train -q -j 2 --width 8 --batch 16 --epochs 4 --seed 7 --val val.txt --resume part.st -o part.st -l train.txt
if cmp -s part.st ref.st; then t_ok "a refused --resume leaves the checkpoint alone"; else t_notok "a refused --resume changed the checkpoint"; fi
mkdir -p sub
printf '../c3.nrrd ../c3.seg.nrrd\n' >sub/val.txt
check "the same run from another directory, the same files as operands: accepted" sh -c "cd sub &&
	$T --epochs 2 --seed 5 --val val.txt --resume ../part.st -o ../same.st ../c0.nrrd ../c0.seg.nrrd ../c1.nrrd ../c1.seg.nrrd ../c2.nrrd ../c2.seg.nrrd"
cp part.st force.st
r2u-train -j 2 --width 8 --batch 8 --epochs 3 --seed 5 --val val.txt --resume force.st -o force.st --force -l train.txt 2>force.err
ok $? "--force (-f) resumes a run with another --epochs"
if [ "$(grep -c warning force.err)" -eq 1 ] && grep -Eq "^r2u-train: force.st: warning: resuming although the run differs \(-f\): --epochs 3 \(checkpoint: --epochs 2\)$" force.err; then
	t_ok "-f: one warning naming the difference"
else
	t_notok "-f: stderr: $(cat force.err)"
fi
"$PYTHON" - <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import st
_, m = st.load("force.st")
_, r = st.load("ref.st")
ok = m["epochs"] == "3" and m["epoch"] == "3" and int(m["step"]) == 27 and r["epoch"] == "2"
ok = ok and len(r["case_list"]) == 16 and r["case_list"] == m["case_list"] and r["cases"] == "3"
sys.exit(0 if ok else 1)
PY
ok $? "-f: the run continued to the new --epochs and records it; the case list hash in the metadata"

# deterministic mode: a pure function of the inputs
check "deterministic run 1" $T --epochs 1 --deterministic --no-flip --dropout 0 -o det1.st $PAIRS
check "deterministic run 2" $T --epochs 1 --deterministic --no-flip --dropout 0 -o det2.st $PAIRS
if cmp -s det1.st det2.st; then t_ok "--deterministic runs are identical"; else t_notok "--deterministic runs differ"; fi
mkdir -p moved/data && cp c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd c2.nrrd c2.seg.nrrd moved/data/
check "the same run on the same files in another folder" sh -c "cd moved && $T --epochs 1 --deterministic --no-flip --dropout 0 -o det.st \
	data/c0.nrrd data/c0.seg.nrrd data/c1.nrrd data/c1.seg.nrrd data/c2.nrrd data/c2.seg.nrrd"
if cmp -s det1.st moved/det.st; then t_ok "the checkpoint does not depend on where the data lie"; else t_notok "moved data: another checkpoint"; fi
check "--init from a checkpoint" $T --epochs 1 --steps 2 --init det1.st -o init.st $PAIRS
check "--keep-empty 0.5 and --checkpoint-every 2" $T --epochs 1 --keep-empty 0.5 --checkpoint-every 2 -o ke.st $PAIRS

# SIGINT: a resumable checkpoint, then the run completes from it
$T --epochs 50 -o sig.st $PAIRS 2>sig.err &
pid=$!
sleep 4
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && [ -s sig.st ]; then t_ok "SIGINT: exit 130 and a checkpoint"; else t_notok "SIGINT: exit $rc"; fi
check "resume after SIGINT" $T --epochs 50 --steps 30 --resume sig.st -o sig.st $PAIRS

# bad input
"$PYTHON" - <<'PY'
import sys, numpy as np
sys.path.insert(0, __import__("os").environ["TOP"] + "/tests/pylib")
import brtest
r = brtest.read_nrrd("c0.nrrd")
brtest.write_nrrd("three.nrrd", brtest.Record(r.data[..., :3], r.affine, r.meta))
brtest.write_nrrd("odd.nrrd", brtest.Record(r.data[:44, :44], r.affine, r.meta))
n = r.data.copy(); n[5, 6, 7, 1] = np.nan
brtest.write_nrrd("nan.nrrd", brtest.Record(n, r.affine, r.meta))
s = brtest.read_nrrd("c0.seg.nrrd")
brtest.write_nrrd("short.seg.nrrd", brtest.Record(s.data[:, :, :20], s.affine, s.meta))
PY
fails "image without 4 channels" 1 "^r2u-train: three.nrrd: 3 channels, expected 4" $T -o x.st three.nrrd c0.seg.nrrd
fails "H and W not multiples of 8" 1 "^r2u-train: odd.nrrd: slices of 44 x 44, but both must be multiples of 8" $T -o x.st odd.nrrd c0.seg.nrrd
fails "label record that does not match" 1 "^r2u-train: short.seg.nrrd: the label record .* does not match its image c0.nrrd" $T -o x.st c0.nrrd short.seg.nrrd
fails "NaN in the input" 1 "^r2u-train: nan.nrrd: voxel \(5,6,7\) channel 1 is NaN" $T -o x.st nan.nrrd c0.seg.nrrd
fails "odd number of operands" 2 "^r2u-train: expected IMAGE LABEL pairs" $T -o x.st c0.nrrd
fails "missing -o" 2 "^r2u-train: -o MODEL is required" $T c0.nrrd c0.seg.nrrd
fails "bad --width" 2 "^r2u-train: --width" $T --width 12 -o x.st c0.nrrd c0.seg.nrrd
fails "a list with a bad line" 1 "^r2u-train: bad.txt: line 1: expected 'IMAGE LABEL'" sh -c "echo 'only-one' >bad.txt; $T -o x.st -l bad.txt"
# a path longer than the parser takes, and a line with a NUL byte: refused, never cut in two
"$PYTHON" -c "open('long.txt', 'w').write('c0.nrrd ' + 'x' * 5000 + '\\n'); open('nul.txt', 'wb').write(b'c0.nrrd c0.seg.nrrd\\nc1.nrrd\\0 c1.seg.nrrd\\n')"
fails "a list with a path of 5000 bytes" 1 "^r2u-train: long.txt: line 1: a path longer than 4095 bytes" $T -o x.st -l long.txt
fails "a list with a NUL byte" 1 "^r2u-train: nul.txt: line 2: a NUL byte" $T -o x.st -l nul.txt
fails "an empty list" 1 "^r2u-train: empty.txt: no image/label pairs" sh -c "printf '# nothing\\n\\n' >empty.txt; $T -o x.st -l empty.txt"
absent x.st "no checkpoint written by the failures"

# a diverging loss: stop, keep the last good checkpoint
cp det1.st keep.st
"$PYTHON" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import st
t, meta = st.load("det1.st")
for k in t:
    if k.startswith("head_") or ".conv2.weight" in k:
        t[k] = t[k] * 0 + 3e38
st.save("huge.st", {k: v for k, v in t.items() if not k.startswith("optim.")}, meta)
PY
fails "diverging loss" 1 "^r2u-train: the loss diverged .* at step 1 .*keep.st keeps the last good checkpoint" $T --init huge.st -o keep.st $PAIRS
if cmp -s keep.st det1.st; then t_ok "the previous checkpoint is intact after divergence"; else t_notok "checkpoint changed"; fi

# a full disk while saving (a file size limit): the old checkpoint intact
cp det1.st disk.st
(ulimit -f 200; $T --epochs 1 --steps 1 -o disk.st $PAIRS) 2>disk.err
rc=$?
if [ $rc -eq 1 ] && grep -q "^r2u-train: disk.st: write failed.*previous checkpoint is intact" disk.err && cmp -s disk.st det1.st; then
	t_ok "write failure while saving: exit 1, message, old checkpoint intact"
else
	t_notok "write failure while saving: exit $rc, $(cat disk.err)"
fi
no_partial . "no temporary checkpoint left"
finish
