#!/bin/sh
# The paper's ablations (r2u-train --block, --supervision, --no-se): the
# default options are the paper's network to the bit; each variant trains,
# resumes exactly, is recorded in the checkpoint and is what r2u-infer runs
# (against the PyTorch reference); unknown variants are refused.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
sh "$TOP/tests/net/make_data.sh" "$D" 3 || { t_notok "test data"; finish; }
cd "$D" || exit 1
PAIRS="c0.nrrd c0.seg.nrrd c1.nrrd c1.seg.nrrd"
T="r2u-train -q -j 2 --width 8 --batch 8 --epochs 1"

# the default is the paper's network: explicit default options change nothing
check "deterministic run, no variant options" $T --steps 3 --deterministic --no-flip --dropout 0 -o def.st $PAIRS
check "deterministic run, --block apr --supervision multi" $T --steps 3 --deterministic --no-flip --dropout 0 \
	--block apr --supervision multi -o def2.st $PAIRS
if cmp -s def.st def2.st; then t_ok "explicit default options: the same checkpoint"; else t_notok "explicit default options change the checkpoint"; fi
check "shuffled run with flips and dropout" $T --steps 3 --seed 5 -o rnd.st $PAIRS
check "the same with --block apr --supervision multi --dropout 0.2" $T --steps 3 --seed 5 --block apr \
	--supervision multi --dropout 0.2 -o rnd2.st $PAIRS
if cmp -s rnd.st rnd2.st; then t_ok "explicit default options with dropout: the same checkpoint"; else t_notok "checkpoints differ"; fi

# each ablation: train a few steps (with a log), infer labels and probabilities
VARIANTS="pre-res:multi:1 pre-res-gated-skip:multi:1 apr:single:1 apr:none:1 apr:multi:0 pre-res-gated-skip:none:0"
for v in $VARIANTS; do
	IFS=: read -r b s e <<EOF
$v
EOF
	n=$b-$s-$e
	opts="--block $b --supervision $s"
	[ "$e" = 0 ] && opts="$opts --no-se"
	check "train $opts" $T --steps 3 --seed 7 $opts --log "$n.tsv" -o "$n.st" $PAIRS
	r2u-infer -q -j 2 -m "$n.st" --prob c1.nrrd c2.nrrd >"$n.prob.nrrd" && r2u-infer -q -j 2 -m "$n.st" c2.nrrd >"$n.lab.nrrd"
	ok $? "r2u-infer with the $opts checkpoint (probabilities, labels)"
done
"$PYTHON" - $VARIANTS <<'PY'
import os, sys
import numpy as np, torch
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
sys.path.insert(0, os.environ["TOP"] + "/tests/golden")
import brtest, st, r2u_ref
t = brtest.Tap()
imgs = [brtest.read_nrrd(c + ".nrrd") for c in ("c1", "c2")]
for v in sys.argv[1:]:
    b, s, e = v.split(":")
    n = "%s-%s-%s" % (b, s, e)
    w, meta = st.load(n + ".st")
    want = {k: x for k, x in (("block", b), ("supervision", s), ("se", e)) if x not in ("apr", "multi", "1")}
    got = {k: meta[k] for k in ("block", "supervision", "se") if k in meta}
    t.ok(got == want and meta.get("dropout") == ("0" if e == "0" else "0.2"), n + ": the variant in the metadata", str(meta))
    net = r2u_ref.R2UMTDS(8, block=b, supervision=s, se=e == "1").double()
    sd = net.state_dict()
    names = [k for k in sd if not k.endswith("num_batches_tracked")]
    wn = [k for k in w if not k.startswith("optim.")]
    t.ok(sorted(wn) == sorted(names) and all(tuple(w[k].shape) == tuple(sd[k].shape) for k in names),
         n + ": tensors are exactly those of the PyTorch module", str(sorted(set(wn) ^ set(names))))
    net.load_state_dict({k: torch.from_numpy(w[k].astype(np.float64)) for k in names}, strict=False)
    net.eval()
    probs = brtest.read_nrrd_stream(n + ".prob.nrrd")
    err = 0
    for img, p in zip(imgs, probs):
        x = torch.from_numpy(np.ascontiguousarray(img.data.transpose(2, 3, 1, 0)).astype(np.float64))
        with torch.no_grad():
            ref = torch.sigmoid(torch.cat(net(x), dim=1)).numpy()
        err = max(err, np.abs(p.data.transpose(2, 3, 1, 0) - ref).max())
    t.ok(len(probs) == 2 and err < 1e-4, n + ": r2u-infer's probabilities equal PyTorch's (max error %.2e)" % err)
    g = probs[1].data
    lab = np.zeros(g.shape[:3], np.uint8)
    tum = g[..., 0] >= 0.5
    lab[tum] = 2
    lab[tum & (g[..., 1] >= 0.5)] = 1
    lab[tum & (g[..., 3] >= 0.5)] = 4
    t.ok(np.array_equal(brtest.read_nrrd(n + ".lab.nrrd").data, lab), n + ": the label map assembled from the heads")
    rows = [l.rstrip("\n").split("\t") for l in open(n + ".tsv")][1:]
    loss = np.array([[float(c) for c in r[3:8]] for r in rows])
    # the total adds the whole-tumour side outputs with single-task deep supervision
    okl = len(rows) == 3 and np.all(np.isfinite(loss))
    if s == "single":
        okl = okl and np.all(loss[:, 0] > loss[:, 1:].sum(axis=1) + 1e-3)
    else:
        okl = okl and np.all(np.abs(loss[:, 0] - loss[:, 1:].sum(axis=1)) < 1e-4)
    t.ok(okl, n + ": the training log (total = heads" + (" + side outputs)" if s == "single" else ")"))
t.close()
PY
ok $? "the ablations against PyTorch"

# an ensemble may mix variants: the mean of the models' probabilities
r2u-infer -q -j 2 -m pre-res-multi-1.st -m apr-none-1.st --prob c1.nrrd >ens.nrrd &&
	r2u-infer -q -j 2 -m pre-res-multi-1.st --prob c1.nrrd >e1.nrrd && r2u-infer -q -j 2 -m apr-none-1.st --prob c1.nrrd >e2.nrrd
ok $? "an ensemble of two variants"
"$PYTHON" - <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = lambda f: brtest.read_nrrd(f).data
sys.exit(0 if np.abs(r("ens.nrrd") - (r("e1.nrrd") + r("e2.nrrd")) / 2).max() < 1e-6 else 1)
PY
ok $? "the ensemble averages the variants' probabilities"

# resuming a variant's run: the same weights to the bit as an uninterrupted run
V="--block pre-res-gated-skip --supervision single --no-se"
check "uninterrupted run of $V" $T --steps 4 --seed 3 $V -o full.st $PAIRS
check "the same stopped after 2 steps" $T --steps 2 --seed 3 $V -o part.st $PAIRS
check "resumed to 4 steps" $T --steps 4 --seed 3 $V --resume part.st -o part.st $PAIRS
if cmp -s full.st part.st; then t_ok "resumed variant run = uninterrupted run"; else t_notok "resumed variant run differs"; fi
# --init takes the file's network; options may repeat it, not change it
check "--init from a pre-res checkpoint, no variant options" $T --steps 1 --init pre-res-multi-1.st -o init.st $PAIRS
"$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib'); import st
w, m = st.load('init.st'); sys.exit(0 if m.get('block') == 'pre-res' and 'enc1.block.bn1.weight' in w else 1)"
ok $? "--init keeps the checkpoint's variant"
fails "--init with a different variant" 1 \
	"^r2u-train: pre-res-multi-1.st: the checkpoint's network is block pre-res, supervision multi, SE; the options ask for block apr, supervision multi, SE$" \
	$T --steps 1 --block apr --init pre-res-multi-1.st -o x.st $PAIRS
fails "--init from a network without SE with --dropout" 1 "^r2u-train: apr-multi-0.st: the network has no SE blocks" \
	$T --steps 1 --dropout 0.1 --init apr-multi-0.st -o x.st $PAIRS

# bad options and unknown variants
fails "unknown --block" 2 "^r2u-train: --block: 'gated' is not" $T --block gated -o x.st $PAIRS
fails "unknown --supervision" 2 "^r2u-train: --supervision: 'deep' is not" $T --supervision deep -o x.st $PAIRS
fails "--no-se with --dropout" 2 "^r2u-train: --dropout 0.3: --no-se leaves no SE blocks" $T --no-se --dropout 0.3 -o x.st $PAIRS
"$PYTHON" - <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import st
w, meta = st.load("pre-res-multi-1.st")
st.save("badblock.st", w, dict(meta, block="gated"))
st.save("badsup.st", w, dict(meta, supervision="deep"))
st.save("badse.st", w, dict(meta, se="yes"))
st.save("noblock.st", w, {k: v for k, v in meta.items() if k != "block"})
PY
fails "r2u-infer: unknown block" 1 \
	"^r2u-infer: badblock.st: unknown network variant: block 'gated' \(known: apr, pre-res, pre-res-gated-skip\)$" \
	r2u-infer -q -m badblock.st c1.nrrd
fails "r2u-infer: unknown supervision" 1 \
	"^r2u-infer: badsup.st: unknown network variant: supervision 'deep' \(known: multi, single, none\)$" \
	r2u-infer -q -m badsup.st c1.nrrd
fails "r2u-infer: unknown se" 1 "^r2u-infer: badse.st: unknown network variant: se 'yes' \(known: 1, 0\)$" \
	r2u-infer -q -m badse.st c1.nrrd
fails "r2u-train: --init with an unknown variant" 1 "^r2u-train: badblock.st: unknown network variant: block 'gated'" \
	$T --init badblock.st -o x.st $PAIRS
fails "r2u-infer: metadata that does not match the tensors" 1 "^r2u-infer: noblock.st: unexpected tensor 'enc1.block.bn1.weight'" \
	r2u-infer -q -m noblock.st c1.nrrd
absent x.st "no checkpoint written by the failures"
finish
