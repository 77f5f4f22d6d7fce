"""The same network in PyTorch on the CPU (Debian's python3-torch), for
`make bench`: training steps (forward, loss, backward, Adam) and inference,
same threads.  Prints TSV rows: mode batch ms slices_per_s.
usage: cpu_torch.py THREADS TRAIN_BATCH INFER_BATCH ITERS"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import r2u_ref  # noqa: E402

threads, tb, ib, iters = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = r2u_ref.R2UMTDS(32)
x = torch.rand(max(tb, ib), 4, 176, 144)
lab = torch.randint(0, 5, (tb, 176, 144))
lab[lab == 3] = 4
opt = torch.optim.Adam(m.parameters(), lr=1e-4)


def med(fn):
    fn()
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def step():
    opt.zero_grad()
    loss, _ = r2u_ref.total_loss(m(x[:tb]), lab)
    loss.backward()
    opt.step()


m.train()
t = med(step)
print("train\t%d\t%.1f\t%.2f" % (tb, t * 1e3, tb / t), flush=True)
m.eval()


def infer():
    with torch.no_grad():
        torch.sigmoid(torch.cat(m(x[:ib]), dim=1))


t = med(infer)
print("infer\t%d\t%.1f\t%.2f" % (ib, t * 1e3, ib / t), flush=True)
