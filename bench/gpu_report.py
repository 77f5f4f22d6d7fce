"""Ratios of our GPU numbers against PyTorch's from the same run.

usage: gpu_report.py OURS.tsv TORCH.tsv"""
import sys

ours = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith(("#", "mode"))]
torch = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if not l.startswith(("#", "impl"))]
for l in open(sys.argv[2]):
    if l.startswith("#"):
        print(l.rstrip())
print("%-6s %-5s %12s %14s %16s %9s %16s %9s" % ("mode", "prec", "ours", "TFLOP/s", "torch eager best", "ratio",
                                                  "torch.compile", "ratio"))
for r in ours:
    mode, prec, ms, sps, tf = r[0], r[2], float(r[4]), float(r[5]), float(r[6])
    eager = [t for t in torch if t[0] == "eager" and t[1] == mode and t[2] == prec]
    comp = [t for t in torch if t[0] == "compile" and t[1] == mode and t[2] == prec]
    unit = "slices/s" if mode == "train" else "ms/case"
    mine = sps if mode == "train" else ms
    def fmt(rows):
        if not rows:
            return "-", "-"
        if mode == "train":
            best = max(float(t[6]) for t in rows)
            return "%.1f" % best, "%.2fx" % (mine / best)
        best = min(float(t[5]) for t in rows)
        return "%.2f" % best, "%.2fx" % (best / mine)
    e, er = fmt(eager)
    c, cr = fmt(comp)
    print("%-6s %-5s %12s %14.1f %16s %9s %16s %9s" % (mode, prec, "%.1f %s" % (mine, unit) if mode == "train" else
                                                        "%.2f %s" % (mine, unit), tf, e, er, c, cr))
print("(train: slices/s at batch 32, ratio = ours / torch; infer: ms for 155 slices, ratio = torch / ours)")
