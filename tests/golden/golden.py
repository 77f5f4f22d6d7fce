"""Golden data for the network: PyTorch (float64) built from MODEL.md.

Writes into DIR: weights.safetensors (initial weights, float32), input.f32,
labels.u8, expected.safetensors (outputs, loss, gradients after one
backward, parameters after STEPS Adam steps, inference outputs after them).

Usage: golden.py DIR BASE N H W SEED STEPS LR [BLOCK SUPERVISION SE]
(the variant of doc/MODEL.md's "Ablations"; default apr multi 1, the paper's
network; the weights file records it in its metadata as r2u-train does)
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import r2u_ref  # noqa: E402
import st  # noqa: E402

d, b, n, h, w, seed, steps, lr = sys.argv[1], *map(int, sys.argv[2:7]), int(sys.argv[7]), float(sys.argv[8])
block, sup, se = (sys.argv[9], sys.argv[10], sys.argv[11] == "1") if len(sys.argv) > 9 else ("apr", "multi", True)
variant = dict(block=block, supervision=sup, se=se)
torch.manual_seed(seed)
rng = np.random.default_rng(seed)
net = r2u_ref.R2UMTDS(b, p=0.0, **variant)
# non-trivial BatchNorm parameters and running statistics
with torch.no_grad():
    for name, p in net.named_parameters():
        if ".bn" in name:
            p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, p.shape) if name.endswith("weight")
                                     else rng.uniform(-0.2, 0.2, p.shape)))
    for name, bt in net.named_buffers():
        if name.endswith("running_mean"):
            bt.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, bt.shape)))
        elif name.endswith("running_var"):
            bt.copy_(torch.from_numpy(rng.uniform(0.8, 1.2, bt.shape)))
sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items() if "num_batches" not in k}
meta = {"arch": "r2u-mtds", "version": "1", "base": str(b)}
if len(sys.argv) > 9:
    meta.update(block=block, supervision=sup, se="1" if se else "0")
st.save(os.path.join(d, "weights.safetensors"), sd, meta)

x = rng.uniform(0, 1, (n, 4, h, w)).astype(np.float32)
# labels: blobs with every class present
yy, xx = np.mgrid[0:h, 0:w]
lab = np.zeros((n, h, w), np.uint8)
for i in range(n):
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / (min(h, w) / 3)
    lab[i][r < 1.0] = 2
    lab[i][r < 0.6] = 4
    lab[i][r < 0.3] = 1
x.tofile(os.path.join(d, "input.f32"))
lab.tofile(os.path.join(d, "labels.u8"))



def run(dtype, device="cpu"):
    """The reference run in dtype: outputs, loss, gradients, weights after
    the Adam steps, inference outputs before and after."""
    net = r2u_ref.R2UMTDS(b, p=0.0, **variant).to(dtype)
    net.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in sd.items()}, strict=False)
    net = net.to(device)
    xt = torch.from_numpy(x).to(dtype).to(device)
    lt = torch.from_numpy(lab.astype(np.int64)).to(device)
    r = {}
    net.eval()
    with torch.no_grad():
        for k, o in zip(["wt", "ncr", "ed", "et"], net(xt)):
            r["eval0." + k] = o.cpu().numpy().copy()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    for s in range(steps):
        opt.zero_grad()
        outs = net(xt)
        loss, parts = r2u_ref.total_loss(outs, lt, 1.0, net.aux)
        loss.backward()
        if s == 0:
            for k, o in zip(["wt", "ncr", "ed", "et"], outs):
                r["out." + k] = o.detach().cpu().numpy().copy()
            r["loss"] = np.array([loss.item()] + [p.item() for p in parts])
            for name, p in net.named_parameters():
                r["grad." + name] = p.grad.cpu().numpy().copy()
        opt.step()
    for k, v in net.state_dict().items():
        if "num_batches" not in k:
            r["after." + k] = v.cpu().numpy().copy()
    net.eval()
    with torch.no_grad():
        for k, o in zip(["wt", "ncr", "ed", "et"], net(xt)):
            r["eval." + k] = o.cpu().numpy().copy()
    return r


exp = run(torch.float64)
f32 = run(torch.float32)
# PyTorch's own float32 error against float64, tensor by tensor: the C code
# computes in float32 too, and is held to a small multiple of it
# (with the floors of test_golden.c: zero-gradient biases measure only noise)
gs = np.sqrt(np.mean(np.concatenate([v.ravel() for k, v in exp.items() if k.startswith("grad.")]) ** 2))


def errors(got, prefix):
    for k in [k for k in exp if not k.startswith(("err32.", "errtf32."))]:
        a, e = got[k].astype(np.float64), exp[k]
        floor = (1e-2 * gs if k.startswith("grad.") else 1e-3) * np.sqrt(e.size)
        exp[prefix + k] = np.array([np.linalg.norm(a - e) / max(np.linalg.norm(e), floor)])


errors(f32, "err32.")
# On a GPU, PyTorch's own TF32 error against float64 on the same tensors
# (matmuls and cuDNN convolutions in TF32): the tolerance of our tf32 run
# is a multiple of it (test_golden.c), not a number chosen after the fact.
if torch.cuda.is_available() and os.environ.get("GOLDEN_TF32", "1") == "1":
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    errors(run(torch.float32, "cuda"), "errtf32.")
    worst = max((v[0], k) for k, v in exp.items() if k.startswith("errtf32.grad."))
    print("golden: PyTorch's TF32 error against float64, worst gradient %.2e (%s)" % worst)
st.save(os.path.join(d, "expected.safetensors"), exp)
print("golden: base %d, %s, %d x %d x %d, %d steps, loss %.6f" % (b, variant, n, h, w, steps, exp["loss"][0]))
