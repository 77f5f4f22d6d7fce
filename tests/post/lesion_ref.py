#!/usr/bin/python3
"""Reference BraTS 2023 lesion-wise scores in NumPy/SciPy, written from the
definitions (libcommon/lesion.h, man brats-metrics), independent of the C
code.

Lesions: scipy.ndimage.label with the 3x3x3 structure (26-connected); the
ground truth dilated with binary_dilation(structure =
generate_binary_structure(3, 2), iterations = 3), its components cutting
the true region into lesions; a predicted lesion matches a true lesion when
it meets the lesion dilated the same way.  Surface HD95: the neighbour codes
of the 2x2x2 cells at the voxels' corners, each border cell weighted by the
area of its marching-cubes surface, the distances by
scipy.ndimage.distance_transform_edt.

    lesion_ref.py areas SX SY SZ   the 256 surface-element areas, one a line
"""
import functools
import itertools
import math
import sys

import numpy as np
from scipy import ndimage

MISS_HD = 374.0

# ---- surface elements ----

def _corner(bit):
    """Offsets (a, b, c) in {0,1}^3 of the cell corner of a code's bit."""
    v = 7 - bit
    return ((v >> 2) & 1, (v >> 1) & 1, v & 1)


def _polygons(corners):
    """The marching-cubes polygons (lists of edge midpoints, in cyclic order)
    around the groups of the given corners that touch along cell edges."""
    corners = set(corners)
    groups, seen = [], set()
    for c in sorted(corners):
        if c in seen:
            continue
        group, todo = set(), [c]
        while todo:
            x = todo.pop()
            if x in group:
                continue
            group.add(x)
            todo += [y for y in corners if sum(p != q for p, q in zip(x, y)) == 1]
        seen |= group
        groups.append(group)
    out = []
    for group in groups:
        nbr = {}
        for ax, val in itertools.product(range(3), (0, 1)):
            o = [a for a in range(3) if a != ax]
            ring = []
            for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
                c = [0, 0, 0]
                c[ax], c[o[0]], c[o[1]] = val, u, v
                ring.append(tuple(c))
            inside = [c in group for c in ring]
            if not any(inside) or all(inside):
                continue
            for i in range(4):
                if inside[i] and not inside[i - 1]:
                    j = i
                    while inside[(j + 1) % 4]:
                        j = (j + 1) % 4
                    e1 = frozenset((ring[i], ring[i - 1]))
                    e2 = frozenset((ring[j], ring[(j + 1) % 4]))
                    nbr.setdefault(e1, []).append(e2)
                    nbr.setdefault(e2, []).append(e1)
        start = next(iter(nbr))
        cyc, prev, cur = [start], None, start
        while True:
            nxt = [e for e in nbr[cur] if e != prev][0]
            if nxt == start:
                break
            cyc.append(nxt)
            prev, cur = cur, nxt
        out.append([np.mean([np.array(p, float) for p in e], axis=0) for e in cyc])
    return out


def _triangulations(idx):
    if len(idx) < 3:
        yield []
        return
    for k in range(1, len(idx) - 1):
        for left in _triangulations(idx[:k + 1]):
            for right in _triangulations(idx[k:]):
                yield left + right + [(idx[0], idx[k], idx[-1])]


def _scaled_area(vec, sp):
    return math.sqrt((vec[0] * sp[1] * sp[2]) ** 2 + (vec[1] * sp[0] * sp[2]) ** 2 + (vec[2] * sp[0] * sp[1]) ** 2)


def surfel_areas(spacing):
    """Area (mm^2) of the surface of each 2x2x2 code: the smaller side's
    corners (the inside on four and four), cut apart where they touch only
    diagonally, each polygon cut into the triangles of largest area."""
    return _surfel_areas(tuple(float(s) for s in spacing)).copy()


@functools.lru_cache(maxsize=None)
def _surfel_areas(spacing):
    table = np.zeros(256)
    for code in range(1, 255):
        m = code if bin(code).count("1") <= 4 else 255 - code
        corners = [_corner(t) for t in range(8) if m >> t & 1]
        for poly in _polygons(corners):
            best = None
            for tris in _triangulations(list(range(len(poly)))):
                vecs = [0.5 * np.cross(poly[j] - poly[i], poly[k] - poly[i]) for i, j, k in tris]
                a = sum(np.linalg.norm(v) for v in vecs)
                if best is None or a > best[0] + 1e-12:
                    best = (a, vecs)
            table[code] += sum(_scaled_area(v, spacing) for v in best[1])
    return table


def _codes(mask):
    """Neighbour code of every corner of the voxels of mask (one more corner
    than voxels along each axis); bit 7-(4a+2b+c) is voxel (a-1, b-1, c-1)."""
    pad = np.zeros(tuple(s + 2 for s in mask.shape), np.uint16)
    pad[1:-1, 1:-1, 1:-1] = mask
    n = mask.shape
    code = np.zeros(tuple(s + 1 for s in n), np.uint16)
    for a, b, c in itertools.product((0, 1), repeat=3):
        code |= pad[a:a + n[0] + 1, b:b + n[1] + 1, c:c + n[2] + 1] << (7 - (4 * a + 2 * b + c))
    return code


def surface_hd(gt, pred, spacing, percent=95.0, areas=None):
    """The robust Hausdorff distance of the surface elements (inf when a mask is empty)."""
    if not gt.any() or not pred.any():
        return math.inf
    if areas is None:
        areas = surfel_areas(spacing)
    idx = np.nonzero(gt | pred)
    lo, hi = [int(i.min()) for i in idx], [int(i.max()) for i in idx]
    box = tuple(slice(l, h + 1) for l, h in zip(lo, hi))
    cg, cp = _codes(gt[box]), _codes(pred[box])
    bg, bp = (cg != 0) & (cg != 255), (cp != 0) & (cp != 255)
    dg = ndimage.distance_transform_edt(~bg, sampling=spacing)
    dp = ndimage.distance_transform_edt(~bp, sampling=spacing)

    def perc(d, a):
        order = np.lexsort((a, d))
        d, a = d[order], a[order]
        idx = np.searchsorted(np.cumsum(a) / np.sum(a), percent / 100.0)
        return d[min(idx, len(d) - 1)]

    return max(perc(dp[bg], areas[cg[bg]]), perc(dg[bp], areas[cp[bp]]))


# ---- lesions ----

def lesion_wise(pred, gt, spacing, dilations=3, min_volume=50.0, miss_hd=MISS_HD):
    """dict: LesionWise_Dice, LesionWise_Hausdorff95, Num_TP, Num_FP, Num_FN."""
    s26 = np.ones((3, 3, 3), bool)
    s18 = ndimage.generate_binary_structure(3, 2)
    plab, npred = ndimage.label(pred, structure=s26)
    if gt.any():
        glab, ngt = ndimage.label(ndimage.binary_dilation(gt, structure=s18, iterations=dilations), structure=s26)
    else:
        glab, ngt = np.zeros(gt.shape, int), 0
    areas = surfel_areas(spacing)
    voxel_volume = spacing[0] * spacing[1] * spacing[2]
    matched = set()
    dice_sum = hd_sum = 0.0
    kept = tp = fn = 0
    for k in range(1, ngt + 1):
        les = gt & (glab == k)
        near = ndimage.binary_dilation(les, structure=s18, iterations=dilations)
        hits = set(int(c) for c in np.unique(plab[near]) if c != 0)
        matched |= hits
        m = np.isin(plab, sorted(hits)) if hits else np.zeros(gt.shape, bool)
        dice = 2.0 * np.sum(les & m) / (np.sum(les) + np.sum(m))
        hd = surface_hd(les, m, spacing, areas=areas) if hits else math.inf
        if float(np.sum(les)) * voxel_volume <= min_volume:
            continue
        kept += 1
        dice_sum += dice
        hd_sum += miss_hd if math.isinf(hd) else hd
        tp += bool(hits)
        fn += not hits
    fp = npred - len(matched)
    if kept + fp == 0:
        ld, lh = 1.0, 0.0
    else:
        ld, lh = dice_sum / (kept + fp), (hd_sum + fp * miss_hd) / (kept + fp)
    return {"LesionWise_Dice": ld, "LesionWise_Hausdorff95": lh, "Num_TP": tp, "Num_FP": fp, "Num_FN": fn}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "areas":
        for a in surfel_areas([float(t) for t in sys.argv[2:5]]):
            print("%.17g" % a)
    else:
        sys.exit(__doc__)
