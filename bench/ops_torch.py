#!/usr/bin/python3
"""Op-level benchmark of PyTorch's CPU convolutions on the shapes of R2U-MTDS,
the counterpart of bench/ops_cpu.c, and the table that compares the two.

usage: ops_torch.py [-t threads] [-r reps] [-b 32,8] [-f substring] [--ours ops_cpu.tsv | --lib libkernels.so]

Times F.conv2d / F.conv_transpose2d (forward, no grad) and
aten.convolution_backward with only the input gradient (bwd_data) or only the
weight and bias gradients (bwd_weight); best of -r after one warm-up.  With
--ours, prints one table: both times, GFLOP/s (2 N H W C K k k, the direct
convolution's count) and speed-up = torch ms / ours ms.  The torch forward
reads an already activated input: ours applies the pre-activation
(BatchNorm fold + ReLU) on the fly.

With --lib (a shared build of kernels/, see bench/ops_cpu.sh) the CPU
kernels run in this process through ctypes, each repetition right after
torch's on the same tensors, so that both see the same machine load: on a
shared machine this comparison is the fairer one.
"""
import ctypes
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

# name, C, K, H, W, k (2: 2x2 transposed conv, H W of its input)
SHAPES = [
    ("enc1.conv1", 4, 32, 176, 144, 3), ("enc1.conv2", 32, 32, 176, 144, 3),
    ("enc1.proj", 4, 32, 176, 144, 1), ("enc1.gate", 32, 1, 176, 144, 1),
    ("enc2.conv1", 32, 64, 88, 72, 3), ("enc2.conv2", 64, 64, 88, 72, 3),
    ("enc2.proj", 32, 64, 88, 72, 1), ("enc2.gate", 64, 1, 88, 72, 1),
    ("enc3.conv1", 64, 128, 44, 36, 3), ("enc3.conv2", 128, 128, 44, 36, 3),
    ("enc3.proj", 64, 128, 44, 36, 1), ("enc3.gate", 128, 1, 44, 36, 1),
    ("enc4.conv1", 128, 256, 22, 18, 3), ("enc4.conv2", 256, 256, 22, 18, 3),
    ("enc4.proj", 128, 256, 22, 18, 1), ("enc4.gate", 256, 1, 22, 18, 1),
    ("dec3.up", 256, 128, 22, 18, 2), ("dec3.conv1", 256, 128, 44, 36, 3),
    ("dec3.conv2", 128, 128, 44, 36, 3), ("dec3.proj", 256, 128, 44, 36, 1),
    ("dec2.up", 128, 64, 44, 36, 2), ("dec2.conv1", 128, 64, 88, 72, 3),
    ("dec2.conv2", 64, 64, 88, 72, 3), ("dec2.proj", 128, 64, 88, 72, 1),
    ("dec1.up", 64, 32, 88, 72, 2), ("dec1.conv1", 64, 32, 176, 144, 3),
    ("dec1.conv2", 32, 32, 176, 144, 3), ("dec1.proj", 64, 32, 176, 144, 1),
    ("head_wt", 32, 1, 176, 144, 1), ("head_ncr", 64, 1, 88, 72, 1),
    ("head_ed", 128, 1, 44, 36, 1),
]
PASSES = ("fwd", "bwd_data", "bwd_weight")


def best_ms(fn, reps):
    """best wall and best process CPU time (all threads) in ms"""
    fn()
    best = cbest = 1e30
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        cbest = min(cbest, time.process_time() - c0)
    return best * 1e3, cbest * 1e3


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("n", ctypes.c_int), ("c", ctypes.c_int), ("h", ctypes.c_int),
                ("w", ctypes.c_int)]


class Preact(ctypes.Structure):
    _fields_ = [("scale", ctypes.c_void_p), ("shift", ctypes.c_void_p), ("relu", ctypes.c_int)]


class Ours:
    """the CPU kernels of kernels.h through ctypes"""

    def __init__(self, path, threads):
        self.lib = ctypes.CDLL(path)
        self.lib.br_ctx_new.restype = ctypes.c_void_p
        self.lib.br_ctx_describe.restype = ctypes.c_char_p
        self.lib.br_ctx_error.restype = ctypes.c_char_p
        for f in ("br_ctx_describe", "br_ctx_error", "br_ctx_free"):
            getattr(self.lib, f).argtypes = [ctypes.c_void_p]
        self.lib.br_ctx_new.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        err = ctypes.create_string_buffer(256)
        self.ctx = self.lib.br_ctx_new(b"cpu", threads, 1, err, 256)
        if not self.ctx:
            raise RuntimeError(err.value.decode())

    def describe(self):
        return self.lib.br_ctx_describe(self.ctx).decode()

    def call(self, name, *args):
        if getattr(self.lib, name)(ctypes.c_void_p(self.ctx), *args) < 0:
            raise RuntimeError("%s: %s" % (name, self.lib.br_ctx_error(self.ctx).decode()))


def tref(t):
    n, c, h, w = t.shape
    return ctypes.byref(Tensor(t.data_ptr(), n, c, h, w))


def fptr(t):
    return ctypes.c_void_p(t.data_ptr() if t is not None else 0)


def ours_fns(ours, name, x, wt, b, dy, dx, dw, db, y, ks):
    """the three passes of one layer, as in ops_cpu.c (pre-activation: BN fold + ReLU on 3x3, ReLU on gates)"""
    c = x.shape[1]
    sc, sh = torch.rand(c) + 0.5, torch.randn(c) * 0.3
    if ks == 3:
        pre = Preact(sc.data_ptr(), sh.data_ptr(), 1)
    elif ".gate" in name:
        pre = Preact(None, None, 1)
    else:
        pre = None
    keep = (sc, sh, pre)
    pp = ctypes.byref(pre) if pre is not None else None
    if ks == 2:
        return keep, (
            lambda: ours.call("br_convt2x2_forward", tref(y), tref(x), fptr(wt), fptr(b)),
            lambda: ours.call("br_convt2x2_backward", tref(dx), None, None, tref(dy), tref(x), fptr(wt), 0),
            lambda: ours.call("br_convt2x2_backward", None, fptr(dw), fptr(db), tref(dy), tref(x), fptr(wt), 0))
    return keep, (
        lambda: ours.call("br_conv2d_forward", tref(y), tref(x), fptr(wt), fptr(b), ks, pp),
        lambda: ours.call("br_conv2d_backward", tref(dx), None, None, tref(dy), tref(x), fptr(wt), ks, pp, 0),
        lambda: ours.call("br_conv2d_backward", None, fptr(dw), fptr(db), tref(dy), tref(x), fptr(wt), ks, pp, 0))


def bench_pair(fo, ft, reps):
    """alternate ours and torch; best wall and CPU ms of each"""
    fo()
    ft()
    bo = [1e30, 1e30]
    bt = [1e30, 1e30]
    for _ in range(reps):
        for fn, best in ((fo, bo), (ft, bt)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            best[0] = min(best[0], time.perf_counter() - t0)
            best[1] = min(best[1], time.process_time() - c0)
    return bo[0] * 1e3, bo[1] * 1e3, bt[0] * 1e3, bt[1] * 1e3


def bench_torch(batches, reps, filt, ours=None):
    res = {}
    mine = {}
    for n in batches:
        for name, c, k, h, w, ks in SHAPES:
            if filt and filt not in name:
                continue
            x = torch.randn(n, c, h, w)
            if ks == 2:
                wt = torch.randn(c, k, 2, 2) * 0.1
                dy = torch.randn(n, k, 2 * h, 2 * w)
                conv = dict(stride=[2, 2], padding=[0, 0], transposed=True)
                fwd = lambda: F.conv_transpose2d(x, wt, b, stride=2)
            else:
                wt = torch.randn(k, c, ks, ks) * 0.1
                dy = torch.randn(n, k, h, w)
                conv = dict(stride=[1, 1], padding=[ks // 2, ks // 2], transposed=False)
                fwd = lambda: F.conv2d(x, wt, b, padding=ks // 2)
            b = torch.randn(k)

            def bwd(mask):
                return torch.ops.aten.convolution_backward(
                    dy, x, wt, [k], conv["stride"], conv["padding"], [1, 1], conv["transposed"], [0, 0], 1, mask)
            flop = 2.0 * n * c * k * h * w * (4 if ks == 2 else ks * ks)
            tfns = (fwd, lambda: bwd([True, False, False]), lambda: bwd([False, True, True]))
            if ours is not None:
                y = torch.empty_like(dy)
                dx, dw, db = torch.empty_like(x), torch.zeros_like(wt), torch.zeros_like(b)
                keep, ofns = ours_fns(ours, name, x, wt, b, dy, dx, dw, db, y, ks)
            with torch.no_grad():
                for i, p in enumerate(PASSES):
                    if ours is None:
                        ms, cms = best_ms(tfns[i], reps)
                    else:
                        oms, ocms, ms, cms = bench_pair(ofns[i], tfns[i], reps)
                        mine[(name, n, p)] = (oms, flop / oms * 1e-6, ocms)
                    res[(name, n, p)] = (ms, flop / ms * 1e-6, cms)
    return res, mine


def peak_note(threads):
    mhz = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    mhz = float(line.split(":")[1])
                    break
    except OSError:
        pass
    if mhz is None:
        return "machine peak: unknown clock"
    # 2 FMA pipes x 8 fp32 lanes x 2 flops per core and cycle (AVX2 or Zen 4 AVX-512)
    return ("machine peak: %d cores x 32 fp32 FLOP/cycle x %.2f GHz = %.0f GFLOP/s (nominal clock; boost is higher)"
            % (threads, mhz / 1e3, threads * 32 * mhz / 1e3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-b", default="32,8")
    ap.add_argument("-f", default=None)
    ap.add_argument("--ours", default=None, help="TSV written by ops_cpu")
    ap.add_argument("--lib", default=None, help="shared build of kernels/ to run in this process")
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    batches = [int(v) for v in a.b.split(",")]
    lib = Ours(a.lib, a.t) if a.lib else None
    res, mine = bench_torch(batches, a.r, a.f, lib)
    if lib is not None:
        print("# ours: %s, in this process, interleaved with torch" % lib.describe())
    print("# torch %s, %d threads, oneDNN %s" % (torch.__version__, torch.get_num_threads(),
                                                   torch.backends.mkldnn.is_available()))
    print("# " + peak_note(a.t))
    if a.ours is None and lib is None:
        print("layer\tbatch\tpass\tms\tgflops\tcpu_ms")
        for (name, n, p), (ms, gf, cms) in res.items():
            print("%s\t%d\t%s\t%.3f\t%.1f\t%.3f" % (name, n, p, ms, gf, cms))
        return 0
    ours = mine
    if a.ours is not None:
        with open(a.ours) as f:
            for line in f:
                v = line.rstrip("\n").split("\t")
                if len(v) == 6 and v[0] != "layer":
                    ours[(v[0], int(v[1]), v[2])] = (float(v[3]), float(v[4]), float(v[5]))
    print("# wall: best wall-clock ms; cpu: best process CPU ms (all threads); speed-up = torch / ours")
    print("%-11s %5s %-10s %8s %8s %7s %7s %7s %8s %8s %7s" % (
        "layer", "batch", "pass", "ours_ms", "torch_ms", "ours_GF", "torch_GF", "speedup", "ours_cpu", "torch_cpu",
        "cpu_spd"))
    tot = {}
    for key, (tms, tgf, tcms) in res.items():
        if key not in ours:
            continue
        oms, ogf, ocms = ours[key]
        print("%-11s %5d %-10s %8.2f %8.2f %7.1f %7.1f %7.2f %8.2f %8.2f %7.2f" % (
            key[0], key[1], key[2], oms, tms, ogf, tgf, tms / oms, ocms, tcms, tcms / ocms))
        t = tot.setdefault((key[1], key[2]), [0.0, 0.0, 0.0, 0.0])
        t[0] += oms
        t[1] += tms
        t[2] += ocms
        t[3] += tcms
    for (n, p), (o, t, oc, tc) in sorted(tot.items()):
        print("%-11s %5d %-10s %8.2f %8.2f %7s %7s %7.2f %8.2f %8.2f %7.2f" % (
            "TOTAL", n, p, o, t, "", "", t / o, oc, tc, tc / oc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
