#!/usr/bin/python3
"""SciPy side of bench/post.sh: in-process timings of the equivalent
NumPy/SciPy code (the references in tests/post/).

  post_ref.py cc FILE CONN REPS         label + size ranking + clearing
  post_ref.py metrics PRED GT REPS      three regions, MedPy's definitions
Prints "name wall_median_ms wall_min_ms cpu_median_ms" lines, like
bench/post_time.c.
"""
import os
import sys
import time

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "post"))
import metrics_ref  # noqa: E402
import postlib  # noqa: E402


def cc_filter(seg, conn, ratio=0.1):
    """What cc-filter does, written the usual SciPy way."""
    st = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])
    lab, n = ndimage.label(seg > 0, structure=st)
    out = seg.copy()
    if n == 0:
        return out
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep = sizes >= ratio * sizes.max()
    keep[0] = True
    out[~keep[lab]] = 0
    return out


def report(name, t, c):
    t = np.sort(np.asarray(t) * 1e3)
    c = np.sort(np.asarray(c) * 1e3)
    print("%s %.3f %.3f %.3f" % (name, t[len(t) // 2], t[0], c[len(c) // 2]))


def main():
    what, reps = sys.argv[1], int(sys.argv[-1])
    if what == "cc":
        seg = np.ascontiguousarray(np.asarray(postlib.read_volume(sys.argv[2]).data))
        conn = int(sys.argv[3])
        t, c = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            out = cc_filter(seg, conn)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        report("cc", t, c)
        print("post_ref: %d voxels removed" % int(np.sum((seg > 0) & (out == 0))), file=sys.stderr)
    else:
        t, c, s = [], [], None
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            p, g = postlib.read_volume(sys.argv[2]), postlib.read_volume(sys.argv[3])
            p, g = np.asarray(p.data), np.asarray(g.data)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        report("read", t, c)
        img = postlib.read_volume(sys.argv[3])
        sp = np.linalg.norm(img.affine[:3, :3], axis=0)
        t, c = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            s = metrics_ref.scores(p, g, sp)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        report("metrics", t, c)
        print("post_ref: HD95 ET %.5f WT %.5f TC %.5f" % (s["ET"]["Hausdorff95"], s["WT"]["Hausdorff95"],
                                                          s["TC"]["Hausdorff95"]), file=sys.stderr)


if __name__ == "__main__":
    main()
