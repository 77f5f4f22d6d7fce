#!/usr/bin/python3
"""Recompute with PyTorch (float64) what test_torch_dump ran with the CPU kernels.

usage: t_torch.py DUMP.bin      TAP on stdout, exit 1 on any failure.
Tolerance: |a - ref| <= atol + rtol |ref|, atol = arel * max|ref|, non-finite
values failing first.  Torch missing is a failure, not a skip.
"""
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the dependency script installs torch: its absence is an error
    print("not ok 1 - PyTorch is required: %s (install python3-torch / run scripts/install-deps.sh)" % e)
    print("1..1")
    sys.exit(1)

torch.set_default_dtype(torch.float64)
N_TEST = 0
N_FAIL = 0


def result(ok, text):
    global N_TEST, N_FAIL
    N_TEST += 1
    if not ok:
        N_FAIL += 1
    print("%sok %d - %s" % ("" if ok else "not ", N_TEST, text))


def read(path):
    cases = {}
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        (ln,) = struct.unpack_from("<I", data, off)
        off += 4
        name = data[off:off + ln].decode()
        off += ln
        (nd,) = struct.unpack_from("<I", data, off)
        off += 4
        dims = struct.unpack_from("<%di" % nd, data, off)
        off += 4 * nd
        n = int(np.prod(dims)) if nd else 1
        arr = np.frombuffer(data, dtype="<f4", count=n, offset=off).reshape(dims)
        off += 4 * n
        cas, tname = name.rsplit("/", 1)
        cases.setdefault(cas, {})[tname] = torch.from_numpy(arr.astype(np.float64))
    return cases


def check(what, got, ref, rtol=1e-4, arel=1e-5):
    got = got.double().reshape(ref.shape)
    if not torch.isfinite(got).all() or not torch.isfinite(ref).all():
        result(False, "%s: non-finite values" % what)
        return
    scale = ref.abs().max().item() if ref.numel() else 0.0
    atol = arel * max(scale, 1e-30)
    tol = atol + rtol * ref.abs()
    diff = (got - ref).abs()
    err = torch.where(tol > 0, diff / tol.clamp(min=1e-300), torch.where(diff > 0, torch.inf, 0.0))
    worst = err.max().item() if err.numel() else 0.0
    i = int(err.argmax()) if err.numel() else 0
    result(worst <= 1.0, "%s: worst %.3g of tolerance (%.8g vs %.8g, max|ref| %.3g)"
           % (what, worst, got.flatten()[i].item(), ref.flatten()[i].item(), scale))


def leaf(t):
    return t.clone().requires_grad_(True)


def conv(name, c):
    ks, pk = int(c["params"][0]), int(c["params"][1])
    x = c["x"]
    if pk == 2:
        a = torch.relu(x * c["scale"][None, :, None, None] + c["shift"][None, :, None, None])
    elif pk == 1:
        a = torch.relu(x)
    else:
        a = x
    a, w, b = leaf(a), leaf(c["w"]), leaf(c["b"])
    y = F.conv2d(a, w, b, padding=ks // 2)
    y.backward(c["dy"])
    # Winograd: errors relative to the output's scale
    check(name + " y", c["y"], y.detach(), arel=2e-5)
    check(name + " da", c["da"], a.grad, arel=2e-5)
    check(name + " dw", c["dw"], w.grad, arel=1e-5)
    check(name + " db", c["db"], b.grad)


def convt(name, c):
    x, w, b = leaf(c["x"]), leaf(c["w"]), leaf(c["b"])
    y = F.conv_transpose2d(x, w, b, stride=2)
    y.backward(c["dy"])
    check(name + " y", c["y"], y.detach())
    check(name + " dx", c["dx"], x.grad)
    check(name + " dw", c["dw"], w.grad)
    check(name + " db", c["db"], b.grad)


def bn(name, c):
    x, g, be = leaf(c["x"]), leaf(c["gamma"]), leaf(c["beta"])
    rm, rv = c["rmean0"].clone(), c["rvar0"].clone()
    z = F.batch_norm(x, rm, rv, g, be, training=True, momentum=0.1, eps=1e-5)
    a = torch.relu(z)
    a.backward(c["da"])
    xd = c["x"]
    mean = xd.mean(dim=(0, 2, 3))
    var = xd.var(dim=(0, 2, 3), unbiased=False)
    scale = c["gamma"] / torch.sqrt(var + 1e-5)
    check(name + " mean", c["mean"], mean, arel=1e-6, rtol=1e-6)
    check(name + " var", c["var"], var, arel=1e-6, rtol=1e-6)
    check(name + " scale", c["scale"], scale, arel=1e-6, rtol=1e-6)
    check(name + " shift", c["shift"], c["beta"] - mean * scale, arel=1e-6, rtol=1e-6)
    check(name + " running_mean", c["rmean"], rm, arel=1e-6, rtol=1e-6)
    check(name + " running_var", c["rvar"], rv, arel=1e-6, rtol=1e-6)
    check(name + " dx", c["dx"], x.grad)
    check(name + " dgamma", c["dgamma"], g.grad)
    check(name + " dbeta", c["dbeta"], be.grad)


def small(cases):
    x0 = cases["small"]["x"]
    n, ch, h, w = x0.shape

    c = cases["maxpool"]
    x = leaf(x0)
    y = F.max_pool2d(x, 2)
    y.backward(c["dy"])
    check("maxpool2 y", c["y"], y.detach())
    check("maxpool2 dx", c["dx"], x.grad)
    for f in (2, 4):
        c = cases["upsample%d" % f]
        x = leaf(x0)
        y = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
        y.backward(c["dy"])
        check("upsample x%d y" % f, c["y"], y.detach())
        check("upsample x%d dx" % f, c["dx"], x.grad)
    c = cases["concat"]
    a, b = leaf(x0), leaf(c["b"])
    y = torch.cat([a, b], dim=1)
    y.backward(c["dy"])
    check("concat y", c["y"], y.detach(), rtol=0, arel=0)
    check("concat da", c["da"], a.grad, rtol=0, arel=0)
    check("concat db", c["db"], b.grad, rtol=0, arel=0)
    c = cases["gate"]
    yy, g = leaf(x0), leaf(c["g"])
    out = yy * torch.sigmoid(g)
    out.backward(c["dout"])
    check("gate out", c["y"], out.detach())
    check("gate dy", c["dy"], yy.grad)
    check("gate dg", c["dg"], g.grad)
    c = cases["avgpool"]
    x = leaf(x0)
    z = x.mean(dim=(2, 3))
    z.backward(c["dz"])
    check("avgpool z", c["z"], z.detach(), arel=1e-6, rtol=1e-6)
    check("avgpool dx", c["dx"], x.grad)
    c = cases["scale"]
    x, s = leaf(x0), leaf(c["s"])
    out = x * s[:, :, None, None]
    out.backward(c["dout"])
    check("scale out", c["y"], out.detach())
    check("scale dx", c["dx"], x.grad)
    check("scale ds", c["ds"], s.grad)
    c = cases["relu"]
    x = leaf(x0)
    torch.relu(x).backward(c["da"])
    check("relu_backward dx", c["dx"], x.grad, rtol=0, arel=0)
    c = cases["sigmoid"]
    x = leaf(x0.flatten())
    y = torch.sigmoid(x)
    y.backward(c["dy"])
    check("vec_sigmoid y", c["y"], y.detach(), arel=1e-6)
    check("vec_sigmoid dx", c["dx"], x.grad, arel=1e-6)
    c = cases["vrelu"]
    x = leaf(x0.flatten())
    y = torch.relu(x)
    y.backward(c["dy"])
    check("vec_relu y", c["y"], y.detach(), rtol=0, arel=0)
    check("vec_relu dx", c["dx"], x.grad, rtol=0, arel=0)
    # dropout: the splitmix64 mask of kernels.h, recomputed here
    c = cases["dropout"]
    m = x0.numel()
    seed = np.uint64(0xFEED)
    with np.errstate(over="ignore"):
        i = np.arange(m, dtype=np.uint64)
        zz = seed + (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        zz = (zz ^ (zz >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        zz = (zz ^ (zz >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        zz = zz ^ (zz >> np.uint64(31))
    u = (zz >> np.uint64(40)).astype(np.float64) / 16777216.0
    keep = torch.from_numpy((u >= np.float32(0.2)).astype(np.float64))
    check("dropout y", c["y"], x0.flatten() * keep / 0.8, arel=1e-6)
    check("dropout dx", c["dx"], c["dy"] * keep / 0.8, arel=1e-6)


def linear(name, c):
    x, w, b = leaf(c["x"]), leaf(c["w"]), leaf(c["b"])
    y = F.linear(x, w, b)
    y.backward(c["dy"])
    check(name + " y", c["y"], y.detach())
    check(name + " dx", c["dx"], x.grad)
    check(name + " dw", c["dw"], w.grad)
    check(name + " db", c["db"], b.grad)


def loss(name, c):
    target = int(c["params"][0])
    lab = c["labels"][:, None]
    t = [(lab > 0), (lab == 1), (lab == 2), (lab == 4)][target].double()
    z = leaf(c["z"])
    p = torch.sigmoid(z)
    l = F.binary_cross_entropy_with_logits(z, t) + 1 - (2 * (p * t).sum() + 1) / ((p * p).sum() + (t * t).sum() + 1)
    (0.7 * l).backward()
    check(name + " value", c["loss"], l.detach().reshape(1), arel=1e-6, rtol=1e-6)
    check(name + " dlogit", c["dz"], z.grad, arel=1e-5)


def adam(c):
    p = torch.nn.Parameter(c["p0"].clone())
    opt = torch.optim.Adam([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    for s in range(3):
        p.grad = c["g"][s].clone()
        opt.step()
    st = opt.state[p]
    check("adam 3 steps p", c["p"], p.detach(), arel=1e-6, rtol=1e-6)
    check("adam 3 steps m", c["m"], st["exp_avg"], arel=1e-6)
    check("adam 3 steps v", c["v"], st["exp_avg_sq"], arel=1e-6)


def main():
    if len(sys.argv) != 2:
        print("usage: t_torch.py DUMP.bin", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    cases = read(sys.argv[1])
    for name, c in cases.items():
        if name.startswith("conv."):
            conv(name, c)
        elif name.startswith("convt."):
            convt(name, c)
        elif name.startswith("bn."):
            bn(name, c)
        elif name.startswith("linear."):
            linear(name, c)
        elif name.startswith("loss."):
            loss(name, c)
        elif name == "adam":
            adam(c)
    small(cases)
    print("1..%d" % N_TEST)
    if N_FAIL:
        print("%d of %d tests failed" % (N_FAIL, N_TEST), file=sys.stderr)
    return 1 if N_FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
