#!/bin/sh
# r2u-train --best: the weights of the epoch with the best validation Dice,
# a checkpoint r2u-infer loads; the line per epoch when stderr is not a
# terminal, the '\r' status line when it is, nothing with -q.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
sh "$TOP/tests/net/make_data.sh" "$D" 4 || { t_notok "test data"; finish; }
cd "$D" || exit 1
PAIRS="c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd c2.nrrd c2.seg.nrrd"
printf 'c3.nrrd c3.seg.nrrd\n' >val.txt
# a large learning rate: the Dice moves from epoch to epoch (not always up)
T="r2u-train -j 2 --width 8 --batch 8 --epochs 3 --seed 1 --lr 0.1 --val val.txt"

$T --log run.tsv --best best.st -o run.st $PAIRS 2>run.err
ok $? "3 epochs with --val and --best"
"$PYTHON" - <<'PY'
import os, re, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest, st
t = brtest.Tap()
rows = [l.rstrip("\n").split("\t") for l in open("run.tsv")][1:]
dice = [(int(r[0]), float(r[9])) for r in rows if r[9] != ""]
t.ok([e for e, _ in dice] == [1, 2, 3], "a validation Dice per epoch in the log", str(dice))
best = int(np.argmax([d for _, d in dice])) + 1
w, m = st.load("best.st")
t.ok(m.get("best_epoch") == str(best), "best.st: best_epoch %s is the argmax of the logged Dice (%d)" % (m.get("best_epoch"), best),
     str(dice))
t.ok(abs(float(m.get("val_dice", "nan")) - dice[best - 1][1]) <= 5e-6, "best.st: val_dice is the logged Dice of that epoch")
t.ok(m.get("step") == str(9 * best) and m.get("arch") == "r2u-mtds" and m.get("base") == "8" and m.get("epochs") == "3",
     "best.st: its step and the run's metadata", str(m))
t.ok(not any(k.startswith("optim.") for k in w) and "epoch" not in m, "best.st: weights only (no training state)")
_, rm = st.load("run.st")
t.ok(rm.get("best_epoch") == str(best) and abs(float(rm["best"]) - dice[best - 1][1]) <= 5e-6,
     "the run's checkpoint records the best epoch and Dice too")
# the line per epoch on stderr (not a terminal)
err = open("run.err").read().splitlines()
ep = [l for l in err if l.startswith("r2u-train: epoch ")]
pat = re.compile(r"^r2u-train: epoch (\d)/3 loss (\d+\.\d{4}) val Dice (\d\.\d{4}) \d+\.\d slices/s, (\d+m\d\ds|\d+h\d\dm) left$")
mt = [pat.match(l) for l in ep]
t.ok(len(ep) == 3 and all(mt) and [int(x.group(1)) for x in mt] == [1, 2, 3], "stderr: one line per epoch", "\n".join(err))
t.ok(all(mt) and all(abs(float(x.group(3)) - d) <= 5e-5 for x, (_, d) in zip(mt, dice)),
     "stderr: the validation Dice of each epoch, as logged")
loss = [np.mean([float(r[3]) for r in rows if int(r[0]) == e]) for e in (1, 2, 3)]
t.ok(all(mt) and all(abs(float(x.group(2)) - l) <= 1e-4 * max(1, l) for x, l in zip(mt, loss)),
     "stderr: the mean loss of each epoch's steps")
t.ok(all(mt) and mt[-1].group(4) == "0m00s", "stderr: nothing left after the last epoch")
t.ok("\r" not in open("run.err").read(), "stderr: no status line when it is not a terminal")
open("best_epoch", "w").write(str(best))
t.close()
PY
ok $? "--best against the log"
best=$(cat best_epoch)

# the same run stopped at the end of that epoch: the same weights, to the bit
$T -q --steps $((9 * best)) -o at.st $PAIRS
ok $? "the run stopped at the end of epoch $best"
"$PYTHON" - <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import st
a, _ = st.load("best.st")
b, _ = st.load("at.st")
b = {k: v for k, v in b.items() if not k.startswith("optim.")}
sys.exit(0 if sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a) else 1)
PY
ok $? "best.st holds the weights of the best epoch exactly"
r2u-infer -q -m best.st c3.nrrd >best.lab.nrrd && r2u-infer -q -m at.st c3.nrrd >at.lab.nrrd && cmp -s best.lab.nrrd at.lab.nrrd
ok $? "r2u-infer loads best.st: the segmentation of the best epoch's weights"

# a resumed run keeps the best file up to date: it only changes on a better epoch
cp best.st best0.st
$T -q --steps 4 --best best2.st -o part.st $PAIRS && $T -q --best best2.st --resume part.st -o part.st $PAIRS
ok $? "stopped inside epoch 1, resumed to the end, with --best"
if cmp -s best2.st best.st; then t_ok "resumed run: the same best file"; else t_notok "resumed run: best file differs"; fi

fails "--best without --val" 2 "^r2u-train: --best needs --val" r2u-train -q --width 8 --best b.st -o x.st $PAIRS
fails "--best equal to -o" 2 "^r2u-train: --best FILE must differ from -o MODEL" $T -q --best x.st -o x.st $PAIRS

# -q: no progress at all
r2u-train -q -j 2 --width 8 --batch 8 --epochs 1 --steps 9 -o q.st $PAIRS 2>q.err
if [ $? -eq 0 ] && [ ! -s q.err ]; then t_ok "-q: nothing on stderr"; else t_notok "-q: $(cat q.err)"; fi

# stderr a terminal: the '\r' status line, no line per epoch
"$PYTHON" - <<'PY'
import os, pty, select, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(["r2u-train", "-j", "2", "--width", "8", "--batch", "8", "--epochs", "2", "--val", "val.txt",
                      "-o", "tty.st", "c0.nrrd", "c0.seg.nrrd"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=slave)
os.close(slave)
out = b""
while True:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            b = os.read(master, 4096)
        except OSError:
            b = b""
        if not b:
            break
        out += b
    elif p.poll() is not None:
        break
p.wait()
os.close(master)
text = out.decode(errors="replace").replace("\r\n", "\n")
lines = [l for l in text.split("\n") if l.strip()]
status = [s for s in text.replace("\n", "\r").split("\r") if s.startswith("r2u-train: epoch")]
ok = p.returncode == 0 and "\r" in text and any("epoch 2/2 loss" in s and "val Dice" in s for s in status)
# the status line is redrawn in place: the epoch lines do not each end a line
ok = ok and sum(1 for l in lines if "epoch " in l) <= 1
sys.exit(0 if ok else 1)
PY
ok $? "stderr a terminal: one status line redrawn with '\\r', not a line per epoch"
finish
