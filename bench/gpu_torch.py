"""The same network in PyTorch on the GPU: the baselines of `make bench-gpu`.

Eager mode with cuDNN benchmark mode on, in fp32, tf32 and bf16 (autocast),
NCHW and channels-last; then torch.compile.  Training steps at batch 32
(forward, loss, backward, Adam) and inference of a 155-slice case.  Prints
TSV rows: impl mode precision layout batch ms slices_per_s.

usage: gpu_torch.py [--compile-budget SECONDS] [--iters N] [--precisions fp32,tf32,bf16]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import r2u_ref  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--compile-budget", type=float, default=240)
ap.add_argument("--iters", type=int, default=10)
ap.add_argument("--precisions", default="fp32,tf32,bf16")
ap.add_argument("--train-batch", type=int, default=32)
ap.add_argument("--infer-batch", type=int, default=155)
args = ap.parse_args()
dev = "cuda"
torch.backends.cudnn.benchmark = True
H, W = 176, 144
print("# torch %s, cuDNN %s, %s" % (torch.__version__, torch.backends.cudnn.version(), torch.cuda.get_device_name()))
print("impl\tmode\tprecision\tlayout\tbatch\tms\tslices_per_s", flush=True)


def timed(fn, iters):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def setup(prec, layout):
    torch.backends.cudnn.allow_tf32 = prec == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
    torch.manual_seed(0)
    m = r2u_ref.R2UMTDS(32).to(dev)
    mf = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    m = m.to(memory_format=mf)
    x = torch.rand(args.train_batch, 4, H, W, device=dev).to(memory_format=mf)
    xi = torch.rand(args.infer_batch, 4, H, W, device=dev).to(memory_format=mf)
    lab = torch.randint(0, 5, (args.train_batch, H, W), device=dev)
    lab[lab == 3] = 4
    return m, x, xi, lab


def bench(impl, prec, layout, compiled=False):
    m, x, xi, lab = setup(prec, layout)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    fwd = torch.compile(m) if compiled else m
    amp = prec == "bf16"

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            outs = fwd(x)
        loss, _ = r2u_ref.total_loss([o.float() for o in outs], lab)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    m.train()
    ms = timed(step, args.iters)
    print("%s\ttrain\t%s\t%s\t%d\t%.3f\t%.1f" % (impl, prec, layout, args.train_batch, ms, args.train_batch / ms * 1e3),
          flush=True)
    m.eval()

    def infer():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            return fwd(xi)

    ms = timed(infer, args.iters)
    print("%s\tinfer\t%s\t%s\t%d\t%.3f\t%.1f" % (impl, prec, layout, args.infer_batch, ms, args.infer_batch / ms * 1e3),
          flush=True)
    del m, opt, fwd
    torch.cuda.empty_cache()


precs = args.precisions.split(",")
for prec in precs:
    for layout in ("nchw", "nhwc"):
        bench("eager", prec, layout)
t0 = time.time()
for prec in [p for p in ("bf16", "tf32", "fp32") if p in precs]:
    if time.time() - t0 >= args.compile_budget:
        print("# torch.compile %s skipped: over the time budget of %.0f s" % (prec, args.compile_budget), flush=True)
        continue
    try:
        bench("compile", prec, "nhwc", compiled=True)
    except Exception as e:  # a failing compiler is reported, not fatal
        print("# torch.compile %s failed: %s" % (prec, str(e).splitlines()[0][:200]), flush=True)
    print("# torch.compile %s took %.0f s so far" % (prec, time.time() - t0), flush=True)
