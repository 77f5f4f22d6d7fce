#!/bin/sh
# r2u-infer: pipes of several cases, outputs against PyTorch on a checkpoint
# of ours, the label assembly, TTA and ensembles, bad input.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
sh "$TOP/tests/net/make_data.sh" "$D" 3 || { t_notok "test data"; finish; }
cd "$D" || exit 1
check "a small model" r2u-train -q --width 8 --batch 8 --epochs 1 --steps 3 -o m.st c0.nrrd c0.seg.nrrd
check "a second model" r2u-train -q --width 16 --batch 8 --epochs 1 --steps 2 --seed 9 -o m16.st c0.nrrd c0.seg.nrrd

# a stream of three cases through the network, one model load
cat c0.nrrd c1.nrrd c2.nrrd | r2u-infer -q -m m.st --prob >prob.nrrd 2>err.txt
ok $? "three records on one stream, --prob"
cat c0.nrrd c1.nrrd c2.nrrd | r2u-infer -q -m m.st >lab.nrrd
ok $? "three records on one stream, labels"
r2u-infer -q -m m.st --wt-only c1.nrrd >wt.nrrd
ok $? "--wt-only"
"$PYTHON" - <<'PY'
import os, sys
import numpy as np, torch
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
sys.path.insert(0, os.environ["TOP"] + "/tests/golden")
import brtest, st, r2u_ref
t = brtest.Tap()
probs = brtest.read_nrrd_stream("prob.nrrd")
labs = brtest.read_nrrd_stream("lab.nrrd")
wt = brtest.read_nrrd("wt.nrrd")
t.ok(len(probs) == 3 and len(labs) == 3, "three records out")
# PyTorch loads our checkpoint (names, shapes, layouts of MODEL.md)
w, meta = st.load("m.st")
t.ok(meta.get("arch") == "r2u-mtds" and meta.get("version") == "1" and meta.get("base") == "8", "checkpoint metadata", str(meta))
net = r2u_ref.R2UMTDS(8).double()
sd = net.state_dict()
names = [k for k in sd if not k.endswith("num_batches_tracked")]
wn = [k for k in w if not k.startswith("optim.")]
t.ok(sorted(wn) == sorted(names) and all(tuple(w[k].shape) == tuple(sd[k].shape) for k in names),
     "checkpoint tensors: exactly the names and shapes of the PyTorch module")
net.load_state_dict({k: torch.from_numpy(w[k].astype(np.float64)) for k in names}, strict=False)
net.eval()
for i, name in enumerate(["c0", "c1", "c2"]):
    img = brtest.read_nrrd(name + ".nrrd")
    x = torch.from_numpy(np.ascontiguousarray(img.data.transpose(2, 3, 1, 0)).astype(np.float64))  # z, c, y, x
    with torch.no_grad():
        p = torch.sigmoid(torch.cat(net(x), dim=1)).numpy()  # z, 4, y, x
    got = probs[i].data.transpose(2, 3, 1, 0)
    err = np.abs(got - p).max()
    t.ok(err < 1e-4, "case %s: probabilities equal PyTorch's (max error %.2e)" % (name, err))
    exp = np.zeros(p[:, 0].shape, np.uint8)
    tum = p[:, 0] >= 0.5
    exp[tum] = 2
    exp[tum & (p[:, 1] >= 0.5)] = 1
    exp[tum & (p[:, 3] >= 0.5)] = 4
    g = probs[i].data
    gl = np.zeros(g.shape[:3], np.uint8)
    tw = g[..., 0] >= 0.5
    gl[tw] = 2
    gl[tw & (g[..., 1] >= 0.5)] = 1
    gl[tw & (g[..., 3] >= 0.5)] = 4
    t.ok(np.array_equal(labs[i].data, gl), "case %s: labels assembled from the probabilities as MODEL.md says" % name)
    t.ok(labs[i].data.dtype == np.uint8 and np.allclose(labs[i].affine, img.affine)
         and labs[i].meta.get("case") == img.meta.get("case") and labs[i].meta.get("crop") == img.meta.get("crop"),
         "case %s: uint8 labels, geometry and case metadata kept" % name)
t.ok(set(np.unique(wt.data)) <= {0, 1} and np.array_equal(wt.data, (labs[1].data > 0).astype(np.uint8)),
     "--wt-only: the binary whole-tumour mask")
t.close()
PY
ok $? "outputs against PyTorch"

# TTA and ensembles: the mean of the flipped/models' probabilities
r2u-infer -q -m m.st --tta --prob c1.nrrd >tta.nrrd && brats-flip c1.nrrd | r2u-infer -q -m m.st --prob | brats-flip >flp.nrrd &&
	r2u-infer -q -m m.st -m m16.st --prob c1.nrrd >ens.nrrd && r2u-infer -q -m m16.st --prob c1.nrrd >p16.nrrd &&
	r2u-infer -q -m m.st --prob c1.nrrd >p8.nrrd
ok $? "--tta and two models"
"$PYTHON" - <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = lambda f: brtest.read_nrrd(f).data
ok = np.abs(r("tta.nrrd") - (r("p8.nrrd") + r("flp.nrrd")) / 2).max() < 1e-6
ok &= np.abs(r("ens.nrrd") - (r("p8.nrrd") + r("p16.nrrd")) / 2).max() < 1e-6
sys.exit(0 if ok else 1)
PY
ok $? "--tta averages with the flipped input, -m -m averages the models"
brats-crop -q --size 48x48 raw/c2 | brats-norm -q | r2u-infer -q -m m.st | cc-filter >pipe.nrrd
ok $? "brats-crop | brats-norm | r2u-infer | cc-filter"

# only brats-norm's output goes in, unless --no-check
brats-crop -q --size 48x48 raw/c1 >raw.nrrd
"$PYTHON" - <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
r = brtest.read_nrrd("c0.nrrd")
n = r.data.copy(); n[3, 4, 5, 2] = 1.5
brtest.write_nrrd("big.nrrd", brtest.Record(n, r.affine, r.meta))
n = r.data.copy(); n[7, 0, 1, 3] = -0.25
brtest.write_nrrd("neg.nrrd", brtest.Record(n, r.affine, r.meta))
brtest.write_nrrd("nometa.nrrd", brtest.Record(r.data, r.affine, {k: v for k, v in r.meta.items() if k != "normalisation"}))
PY
NOTNORM="not normalised \(no brats-norm metadata\): run brats-norm first, or --no-check$"
fails "a record brats-norm did not see" 1 "^r2u-infer: raw.nrrd: record 1: $NOTNORM" r2u-infer -q -m m.st -o raw.lab.nrrd raw.nrrd
absent raw.lab.nrrd "... and no output file"
fails "values in [0, 1] but no brats-norm metadata" 1 "^r2u-infer: nometa.nrrd: record 1: $NOTNORM" r2u-infer -q -m m.st nometa.nrrd
fails "a value above 1" 1 "^r2u-infer: big.nrrd: record 1: voxel \(3,4,5\) channel 2 is 1.5, outside \[0, 1\]: run brats-norm first, or --no-check$" \
	r2u-infer -q -m m.st big.nrrd
fails "a value below 0" 1 "^r2u-infer: neg.nrrd: record 1: voxel \(7,0,1\) channel 3 is -0.25, outside \[0, 1\]" r2u-infer -q -m m.st neg.nrrd
fails "an unnormalised second record of a stream" 1 "^r2u-infer: stdin: record 2: $NOTNORM" \
	sh -c 'cat c0.nrrd raw.nrrd c2.nrrd | r2u-infer -q -m m.st -o stream.lab.nrrd'
absent stream.lab.nrrd "... and no partial output"
check "--no-check segments the unnormalised record" r2u-infer -q -m m.st --no-check -o raw.lab.nrrd raw.nrrd
check "--no-check: values outside [0, 1] too" r2u-infer -q -m m.st --no-check -o big.lab.nrrd big.nrrd
r2u-infer -q -m m.st c1.nrrd >c1.lab.nrrd && r2u-infer -q -m m.st --no-check c1.nrrd >c1.nc.nrrd && cmp -s c1.lab.nrrd c1.nc.nrrd
ok $? "a normalised record: the same segmentation with and without --no-check"
brats-crop -q --size 48x48 raw/c1 | brats-norm -q --mask nonzero --clip 1 | r2u-infer -q -m m.st >nz.lab.nrrd
ok $? "brats-norm --mask nonzero --clip 1 output is accepted"
"$PYTHON" - <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
raw = brtest.read_nrrd("raw.nrrd")
a, b = brtest.read_nrrd("raw.lab.nrrd"), brtest.read_nrrd("c1.lab.nrrd")
ok = raw.data.max() > 1 and "normalisation" not in raw.meta and a.data.shape == b.data.shape
sys.exit(0 if ok else 1)
PY
ok $? "the refused record was unnormalised (values above 1, no metadata); --no-check wrote a label map"

# progress: a line per record without a terminal, none with -q
cat c0.nrrd c1.nrrd c2.nrrd | r2u-infer -m m.st >stream3.nrrd 2>lines.err
ok $? "three records, no -q"
n=$(grep -Ec '^r2u-infer: stdin record [123] \(c[012]\): 24 slices, [0-9.]+ s$' lines.err)
if [ "$n" -eq 3 ] && [ "$(grep -c 'record' lines.err)" -eq 3 ] && grep -q 'record 1 (c0)' lines.err && grep -q 'record 3 (c2)' lines.err; then
	t_ok "stderr not a terminal: one line per record"
else
	t_notok "lines per record: $(cat lines.err)"
fi
r2u-infer -q -m m.st c0.nrrd c1.nrrd >q.nrrd 2>q.err
if [ $? -eq 0 ] && [ ! -s q.err ]; then t_ok "-q: no progress lines"; else t_notok "-q: $(cat q.err)"; fi
# bad input
"$PYTHON" - <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest, st
r = brtest.read_nrrd("c0.nrrd")
brtest.write_nrrd("three.nrrd", brtest.Record(r.data[..., :3], r.affine, r.meta))
brtest.write_nrrd("odd.nrrd", brtest.Record(r.data[:44, :44], r.affine, r.meta))
n = r.data.copy(); n[1, 2, 3, 0] = np.inf
brtest.write_nrrd("inf.nrrd", brtest.Record(n, r.affine, r.meta))
w, meta = st.load("m.st")
b = open("m.st", "rb").read()
open("trunc.st", "wb").write(b[: len(b) // 2])
open("garbage.st", "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
open("hugelen.st", "wb").write(b"\xff" * 8 + b"{}")
m2 = dict(meta); m2["base"] = "16"
st.save("wrongbase.st", w, m2)
m3 = dict(meta); m3["arch"] = "unet"
st.save("arch.st", w, m3)
w4 = dict(w); del w4["head_et.bias"]
st.save("missing.st", w4, meta)
w5 = dict(w); w5["extra.weight"] = np.zeros(3, np.float32)
st.save("extra.st", w5, meta)
w6 = dict(w); w6["enc2.block.unit.conv1.weight"] = w["enc2.block.unit.conv1.weight"][:, :4]
st.save("shape.st", w6, meta)
m7 = dict(meta); m7["base"] = "512"
st.save("lying.st", w, m7)
PY
# --profile: the table of kernel calls on stderr, the output unchanged;
# -v: start-up apart, records/s; BR_CUDA_GRAPH=1 changes nothing on the CPU
r2u-infer -q -d cpu -m m.st c0.nrrd >plain.nrrd 2>/dev/null
r2u-infer -q -d cpu --profile -m m.st c0.nrrd >prof.nrrd 2>prof.err
cmp -s plain.nrrd prof.nrrd && grep -q '^conv2d_forward	[0-9]' prof.err && grep -q '^slices	[0-9]' prof.err && grep -q '^total		[0-9.]' prof.err
ok $? "--profile: a table of kernel calls (conv2d_forward, slices, total), the same output"
cat c0.nrrd c0.nrrd >two.nrrd
r2u-infer -v -d cpu -m m.st two.nrrd >two.out 2>v.err
grep -Eq '^r2u-infer: start-up [0-9.]+ s \(device, 1 model\); 2 records, [0-9]+ slices in [0-9.]+ s: [0-9.]+ records/s' v.err
ok $? "-v: start-up apart, records and records/s"
BR_CUDA_GRAPH=1 r2u-infer -q -d cpu -m m.st c0.nrrd | cmp -s - plain.nrrd
ok $? "BR_CUDA_GRAPH=1 on the CPU: the same output"
# records staged in pinned memory (a GPU's path; BR_STAGE_RECORDS=1 takes it
# on the CPU): four records, more than the three staging buffers at once
# would hold were they not given back, the same bytes
cat c0.nrrd c0.nrrd c0.nrrd c0.nrrd >four.nrrd
r2u-infer -q -d cpu -m m.st four.nrrd >four0.nrrd
BR_STAGE_RECORDS=1 r2u-infer -v -d cpu -m m.st four.nrrd 2>stage.err | cmp -s - four0.nrrd &&
	grep -q '^r2u-infer: 4 of 4 records staged in staging memory' stage.err
ok $? "staged records (BR_STAGE_RECORDS=1): all four staged, the same output"
fails "record without 4 channels" 1 "^r2u-infer: three.nrrd: record 1: 3 channels, expected 4" r2u-infer -q -m m.st three.nrrd
fails "H/W not multiples of 8" 1 "^r2u-infer: odd.nrrd: record 1: slices of 44 x 44, but both must be multiples of 8" r2u-infer -q -m m.st odd.nrrd
fails "infinite input" 1 "^r2u-infer: inf.nrrd: record 1: voxel \(1,2,3\) channel 0 is infinite" r2u-infer -q -m m.st inf.nrrd
fails "truncated checkpoint" 1 "^r2u-infer: trunc.st: .*(truncated|do not fit)" r2u-infer -q -m trunc.st c0.nrrd
fails "not a checkpoint" 1 "^r2u-infer: garbage.st: malformed safetensors header" r2u-infer -q -m garbage.st c0.nrrd
fails "header length past the file" 1 "^r2u-infer: hugelen.st: not a safetensors file or truncated" r2u-infer -q -m hugelen.st c0.nrrd
fails "wrong width" 1 "^r2u-infer: wrongbase.st: tensor '.*' has shape .* expected .* for width 16" r2u-infer -q -m wrongbase.st c0.nrrd
# a width-8 file that claims width 512: refused from its tensors' shapes
# before a network of width 512 (gigabytes) is built (2 GiB of address
# space; AddressSanitizer's shadow memory needs more)
lim="ulimit -v 2097152;"
[ -z "${ASAN_OPTIONS+x}" ] || lim=
fails "a checkpoint that lies about its width" 1 "^r2u-infer: lying.st: tensor '.*' has shape .* expected .* for width 512" \
	sh -c "$lim exec r2u-infer -q -m lying.st c0.nrrd"
fails "wrong architecture" 1 "^r2u-infer: arch.st: architecture 'unet', not r2u-mtds" r2u-infer -q -m arch.st c0.nrrd
fails "missing tensor" 1 "^r2u-infer: missing.st: missing tensor 'head_et.bias'" r2u-infer -q -m missing.st c0.nrrd
fails "unknown tensor" 1 "^r2u-infer: extra.st: unexpected tensor 'extra.weight'" r2u-infer -q -m extra.st c0.nrrd
fails "wrong shape" 1 "^r2u-infer: shape.st: tensor 'enc2.block.unit.conv1.weight' has shape 16x4x3x3, expected 16x8x3x3" r2u-infer -q -m shape.st c0.nrrd
fails "no model" 2 "^r2u-infer: -m MODEL is required" r2u-infer c0.nrrd
fails "--prob with --wt-only" 2 "^r2u-infer: --prob and --wt-only exclude each other" r2u-infer -m m.st --prob --wt-only c0.nrrd
fails "empty stdin" 1 "^r2u-infer: stdin: empty input" r2u-infer -q -m m.st </dev/null
fails "bad --precision" 2 "^r2u-infer: --precision" r2u-infer -m m.st --precision fp8 c0.nrrd
finish
