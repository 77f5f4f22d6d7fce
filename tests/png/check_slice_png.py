#!/usr/bin/python3
"""slice-png's pictures against what synthetic volumes say they must show.

  check_slice_png.py gen DIR   write the test volumes into DIR
  check_slice_png.py run DIR   render them with slice-png (on PATH) and check
                               the pictures; TAP on stdout, exit 1 on failure

The volumes are drawn in world coordinates (RAS+, mm) and sampled on grids
with the BraTS LPS affine diag(-1,-1,1) and with an RAS affine diag(1,1,1),
so the same anatomy must give the same picture on both grids.  A bright
marker sits in the patient's right, anterior, superior part; a tumour (labels
1, 2, 4 in nested spheres) in the left, posterior, inferior part.
"""
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, HERE)
import brtest  # noqa: E402
import pngdec  # noqa: E402

SHAPE = (48, 56, 40)
A_LPS = np.array([[-1.0, 0, 0, 47], [0, -1.0, 0, 55], [0, 0, 1.0, 0], [0, 0, 0, 1]])
A_RAS = np.eye(4)
MARKER = ((34, 40), (40, 46), (26, 30))  # world x (right), y (anterior), z (superior) ranges
TUMOUR = (14.0, 22.0, 14.0)
PRED_SHIFT = 3.0  # the prediction's tumour is 3 mm to the right
G, TILE_GREY = 6, 128  # the lines between montage tiles
PANEL_GREY = 48  # and between --compare panels


def world_grid(aff, shape):
    idx = np.meshgrid(*[np.arange(s, dtype=np.float64) for s in shape], indexing="ij")
    return [aff[r, 0] * idx[0] + aff[r, 1] * idx[1] + aff[r, 2] * idx[2] + aff[r, 3] for r in range(3)]


def head(aff, shape=SHAPE):
    x, y, z = world_grid(aff, shape)
    brain = ((x - 24) / 21) ** 2 + ((y - 28) / 25) ** 2 + ((z - 20) / 17) ** 2 <= 1
    v = (100 + 30 * np.sin(x / 3) * np.cos(y / 4) + 2 * z) * brain
    (x0, x1), (y0, y1), (z0, z1) = MARKER
    v[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1) & (z >= z0) & (z <= z1)] = 1000
    return v.astype(np.float32)


def tumour(aff, centre=TUMOUR, shape=SHAPE, et=4):
    x, y, z = world_grid(aff, shape)
    d = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    lab = np.zeros(shape, np.uint8)
    lab[d < 9] = 2
    lab[d < 5.5] = et
    lab[d < 2.5] = 1
    return lab


def save(path, data, aff, meta=None):
    if os.path.exists(path):
        os.remove(path)
    brtest.write_nrrd(path, brtest.Record(data, aff, meta))


def save_nifti(path, data, aff):
    import nibabel as nib
    img = nib.Nifti1Image(data, aff)
    img.header.set_qform(aff, 1)
    img.header.set_sform(aff, 1)
    nib.save(img, path)


def gen(d):
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    for name, aff in (("lps", A_LPS), ("ras", A_RAS)):
        save(p("head_%s.nrrd" % name), head(aff), aff)
        save_nifti(p("head_%s.nii.gz" % name), head(aff), aff)
        save(p("lab_%s.nrrd" % name), tumour(aff), aff, {"content": "labels"})
        shifted = (TUMOUR[0] + PRED_SHIFT, TUMOUR[1], TUMOUR[2])
        save(p("pred_%s.nrrd" % name), tumour(aff, shifted), aff, {"content": "labels"})
    save(p("lab_float.nrrd"), tumour(A_LPS).astype(np.float32), A_LPS)
    save_nifti(p("lab_lps.nii.gz"), tumour(A_LPS), A_LPS)
    save(p("lab_2023.nrrd"), tumour(A_LPS, et=3), A_LPS)
    save(p("lab_empty.nrrd"), np.zeros(SHAPE, np.uint8), A_LPS)
    # anisotropic voxels 1 x 2 x 3 mm (LPS), a sphere of radius 12 mm
    aa = np.diag([-1.0, -2.0, 3.0, 1.0])
    aa[:3, 3] = (39, 58, 0)
    x, y, z = world_grid(aa, (40, 30, 20))
    save(p("aniso.nrrd"), (((x - 20) ** 2 + (y - 30) ** 2 + (z - 30) ** 2 <= 144) * 200.0).astype(np.float32), aa)
    # four channels: channel c has a bright square in quadrant c of the axial picture
    four = np.repeat(head(A_LPS)[..., None], 4, axis=3)
    four[(four == 1000)] = 150
    for c in range(4):
        xr = (36, 44) if c in (0, 2) else (4, 12)     # world x: right (picture left) for 0, 2
        yr = (40, 50) if c in (0, 1) else (6, 16)     # world y: anterior (picture top) for 0, 1
        x, y, z = world_grid(A_LPS, SHAPE)
        m = (x >= xr[0]) & (x <= xr[1]) & (y >= yr[0]) & (y <= yr[1]) & (z >= 16) & (z <= 24)
        four[..., c][m] = 1000
    save(p("four.nrrd"), four, A_LPS, {"content": "image", "channels": "t1 t1ce t2 flair"})
    save(p("four_nometa.nrrd"), four, A_LPS)
    save(p("three.nrrd"), four[..., :3], A_LPS)
    save(p("prob.nrrd"), np.zeros(SHAPE + (4,), np.float32), A_LPS, {"content": "prob", "channels": "wt ncr ed et"})
    # bad inputs
    bad = tumour(A_LPS)
    bad[20, 21, 22] = 3
    save(p("lab_bad3.nrrd"), bad, A_LPS)
    save(p("lab_grid.nrrd"), tumour(A_LPS, shape=(48, 56, 41)), A_LPS)
    shifted = A_LPS.copy()
    shifted[0, 3] += 2
    save(p("lab_affine.nrrd"), tumour(A_LPS), shifted)
    save(p("lab_4ch.nrrd"), np.zeros(SHAPE + (4,), np.uint8), A_LPS)
    nan = head(A_LPS)
    nan[1, 2, 3] = np.nan
    save(p("nan.nrrd"), nan, A_LPS)
    with open(p("garbage.nrrd"), "wb") as f:
        f.write(b"this is not a volume\n")


# ---- running slice-png and reading its pictures ----

def render(*args, stdin=None):
    """Run slice-png with args (the picture on stdout); (Png or None, stderr)."""
    r = subprocess.run(["slice-png", "-o", "-"] + [str(a) for a in args], stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        return None, r.stderr.decode().strip()
    return pngdec.decode(r.stdout), r.stderr.decode().strip()


def slices_of(png):
    m = re.search(r"slices ([0-9 ]+) \(", png.text.get("Comment", ""))
    return [int(s) for s in m.group(1).split()] if m else None


def window_of(png):
    m = re.search(r"window (\S+) (\S+);", png.text.get("Comment", ""))
    return (float(m.group(1)), float(m.group(2))) if m else None


# ---- an independent reference for axis-aligned 1 mm grids ----

def orient_axial(sl, aff):
    """sl indexed [i, j] -> picture rows top (anterior) to bottom, columns
    from the patient's right to left (radiological)."""
    pic = sl.T  # rows j, columns i
    if aff[0, 0] > 0:  # i runs towards the right: columns must run towards the left
        pic = pic[:, ::-1]
    if aff[1, 1] > 0:  # j runs anterior: rows must run posterior
        pic = pic[::-1, :]
    return pic


def grey(pic, lo, hi):
    g = np.floor(np.clip((pic.astype(np.float64) - lo) * 255.0 / (hi - lo) + 0.5, 0, 255))
    return np.repeat(g[..., None], 3, axis=2)


COLOURS = {1: (255, 0, 0), 2: (0, 255, 0), 3: (255, 255, 0), 4: (255, 255, 0)}


def blend(rgb, lab, alpha):
    out = rgb.copy()
    for l, c in COLOURS.items():
        m = lab == l
        out[m] = (1 - alpha) * rgb[m] + alpha * np.array(c, np.float64)
    return np.floor(out + 0.5)


def edges(lab):
    p = np.pad(lab, 1)
    c = p[1:-1, 1:-1]
    diff = (p[:-2, 1:-1] != c) | (p[2:, 1:-1] != c) | (p[1:-1, :-2] != c) | (p[1:-1, 2:] != c)
    return (c != 0) & diff


def close(a, b, tol=1):
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    if a.shape != b.shape:
        return False, "shape %s, expected %s" % (a.shape, b.shape)
    d = np.abs(a - b)
    if d.max() > tol:
        y, x = np.unravel_index(np.argmax(d.max(axis=-1) if d.ndim == 3 else d), d.shape[:2])
        return False, "pixel (%d,%d) is %s, expected %s" % (x, y, a[y, x].tolist(), b[y, x].tolist())
    return True, ""


def montage_size(cols, rows, tile_w, tile_h):
    return cols * tile_w + (cols - 1) * G, rows * tile_h + (rows - 1) * G


def same(t, got, ref, what, tol=1):
    good, detail = close(got, ref, tol)
    return t.ok(good, what, detail)


def white_box(png, thr=250):
    """Bounding box (x0, y0, x1, y1) of the white pixels, or None."""
    m = (png.pixels >= thr).all(axis=2)
    if not m.any():
        return None
    ys, xs = np.nonzero(m)
    return xs.min(), ys.min(), xs.max(), ys.max()


def quadrant(png, box):
    if box is None:
        return "none"
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return ("top" if cy < png.height / 2 else "bottom") + "-" + ("left" if cx < png.width / 2 else "right")


def is_grey(px):
    return px[0] == px[1] == px[2]


def run(d):
    t = brtest.Tap()
    p = lambda name: os.path.join(d, name)  # noqa: E731
    vol = {n: brtest.read_nrrd(p("head_%s.nrrd" % n)) for n in ("lps", "ras")}
    lab = {n: brtest.read_nrrd(p("lab_%s.nrrd" % n)) for n in ("lps", "ras")}
    pred = {n: brtest.read_nrrd(p("pred_%s.nrrd" % n)) for n in ("lps", "ras")}
    W, H = SHAPE[0], SHAPE[1]
    mz = 28  # an axial slice through the marker (k = z on both grids)
    tz = 14  # through the tumour's centre

    # -- orientation: the marker is in the patient's right, anterior, superior part
    pics = {}
    for n in ("lps", "ras"):
        png, err = render("-z", mz, "--window", "0,1000", p("head_%s.nrrd" % n))
        pics[n] = png
        if not t.ok(png is not None, "%s axial slice renders" % n, err):
            continue
        t.ok((png.width, png.height) == (W, H), "%s axial: %d x %d pixels" % (n, W, H), "%d x %d" % (png.width, png.height))
        t.ok(png.pixels.std() > 20 and (png.pixels > 0).mean() > 0.3, "%s axial: not blank" % n)
        q = quadrant(png, white_box(png))
        t.ok(q == "top-left", "%s axial radiological: right-anterior marker at the picture's top left" % n, q)
        ref = grey(orient_axial(vol[n].data[:, :, mz], vol[n].affine), 0, 1000)
        same(t, png.pixels, ref, "%s axial: grey levels match the reference" % n)
    if pics.get("lps") is not None and pics.get("ras") is not None:
        t.ok(np.array_equal(pics["lps"].pixels, pics["ras"].pixels), "LPS and RAS grids give the same axial picture")
    png, err = render("-z", mz, "--window", "0,1000", "--neurological", p("head_lps.nrrd"))
    if t.ok(png is not None, "--neurological renders", err):
        t.ok(quadrant(png, white_box(png)) == "top-right", "neurological: marker at the top right",
             quadrant(png, white_box(png)))
        if pics.get("lps") is not None:
            t.ok(np.array_equal(png.pixels, pics["lps"].pixels[:, ::-1]), "neurological = radiological mirrored")
    # coronal (world y = 43) and sagittal (world x = 37) through the marker; voxel indices differ by grid
    for plane, idx, size in (("coronal", {"lps": 55 - 43, "ras": 43}, (48, 40)),
                             ("sagittal", {"lps": 47 - 37, "ras": 37}, (56, 40))):
        got = {}
        for n in ("lps", "ras"):
            png, err = render("--" + plane, idx[n], "--window", "0,1000", p("head_%s.nrrd" % n))
            if not t.ok(png is not None, "%s %s slice renders" % (n, plane), err):
                continue
            got[n] = png
            t.ok((png.width, png.height) == size, "%s %s: %d x %d pixels" % (n, plane, size[0], size[1]),
                 "%d x %d" % (png.width, png.height))
            q = quadrant(png, white_box(png))
            what = "right" if plane == "coronal" else "anterior"
            t.ok(q == "top-left", "%s %s: %s-superior marker at the top left" % (n, plane, what), q)
        if len(got) == 2:
            t.ok(np.array_equal(got["lps"].pixels, got["ras"].pixels), "LPS and RAS give the same %s picture" % plane)
    # NIfTI inputs, stdin
    for n in ("lps", "ras"):
        png, err = render("-z", mz, "--window", "0,1000", p("head_%s.nii.gz" % n))
        t.ok(png is not None and pics.get(n) is not None and np.array_equal(png.pixels, pics[n].pixels),
             "%s NIfTI input gives the NRRD picture" % n, err)
    with open(p("head_lps.nrrd"), "rb") as f:
        png, err = render("-z", mz, "--window", "0,1000", stdin=f)
    t.ok(png is not None and pics.get("lps") is not None and np.array_equal(png.pixels, pics["lps"].pixels),
         "input from stdin", err)

    # -- the default window: 0.5 and 99.5 percentiles of the nonzero voxels
    png, err = render("-z", mz, p("head_lps.nrrd"))
    if t.ok(png is not None, "default window renders", err):
        v = vol["lps"].data
        lo, hi = np.percentile(v[v != 0].astype(np.float64), [0.5, 99.5])
        w = window_of(png)
        t.ok(w is not None and abs(w[0] - lo) <= 1e-4 * abs(lo) + 1e-4 and abs(w[1] - hi) <= 1e-4 * abs(hi) + 1e-4,
             "default window = percentiles 0.5, 99.5 of the nonzero voxels", "%s vs %.6g %.6g" % (w, lo, hi))
        if w is not None:
            ref = grey(orient_axial(v[:, :, mz], vol["lps"].affine), w[0], w[1])
            same(t, png.pixels, ref, "default window: grey levels match")

    # -- label colours, blended
    for n in ("lps", "ras"):
        png, err = render("-z", tz, "--window", "0,1000", "--overlay", p("lab_%s.nrrd" % n), p("head_%s.nrrd" % n))
        if not t.ok(png is not None, "%s overlay renders" % n, err):
            continue
        g = grey(orient_axial(vol[n].data[:, :, tz], vol[n].affine), 0, 1000)
        ref = blend(g, orient_axial(lab[n].data[:, :, tz], lab[n].affine), 0.5)
        same(t, png.pixels, ref, "%s overlay: colours match the reference (alpha 0.5)" % n)
        # the tumour is in the patient's left, posterior: picture right, bottom
        lm = orient_axial(lab[n].data[:, :, tz], lab[n].affine)
        ys, xs = np.nonzero(lm)
        t.ok(xs.mean() > W / 2 and ys.mean() > H / 2, "%s overlay: left-posterior tumour at the bottom right" % n)
        if n == "lps":
            # named voxels: ET 4 mm right of the centre, NCR at the centre, ED 7 mm behind it
            cx, cy = 47 - int(TUMOUR[0]), 55 - int(TUMOUR[1])  # picture column, row of the centre (LPS: i, j)
            et = png.pixels[cy, cx - 4].astype(int)
            ncr = png.pixels[cy, cx].astype(int)
            ed = png.pixels[cy + 7, cx].astype(int)
            t.ok(et[0] >= 128 and et[1] >= 128 and abs(et[0] - et[1]) <= 1 and et[2] <= et[0] - 100,
                 "ET voxel is yellow over grey", str(et))
            t.ok(ncr[0] >= 128 and ncr[0] - ncr[1] >= 100 and ncr[1] == ncr[2], "NCR voxel is red over grey", str(ncr))
            t.ok(ed[1] >= 128 and ed[1] - ed[0] >= 100 and ed[0] == ed[2], "ED voxel is green over grey", str(ed))
            out = png.pixels[5, 5]
            t.ok(is_grey(out), "no label: grey", str(out))
    png, err = render("-z", tz, "--window", "0,1000", "--alpha", "1", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "--alpha 1 renders", err):
        cx, cy = 47 - int(TUMOUR[0]), 55 - int(TUMOUR[1])
        t.ok(png.pixels[cy, cx - 4].tolist() == [255, 255, 0] and png.pixels[cy, cx].tolist() == [255, 0, 0] and
             png.pixels[cy + 7, cx].tolist() == [0, 255, 0], "--alpha 1: pure yellow, red, green")
    for f, what in (("lab_float.nrrd", "float label map"), ("lab_lps.nii.gz", "NIfTI label map"),
                    ("lab_2023.nrrd", "BraTS 2023 labels with --labels 2023")):
        extra = ["--labels", "2023"] if "2023" in f else []
        png2, err = render("-z", tz, "--window", "0,1000", "--overlay", p(f), *extra, p("head_lps.nrrd"))
        png1, _ = render("-z", tz, "--window", "0,1000", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
        t.ok(png2 is not None and png1 is not None and np.array_equal(png1.pixels, png2.pixels),
             "%s: same picture" % what, err)

    # -- contours: boundary pixels in the label's colour, one pixel wide; the interior grey
    png, err = render("-z", tz, "--window", "0,1000", "--contour", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "--contour renders", err):
        g = grey(orient_axial(vol["lps"].data[:, :, tz], A_LPS), 0, 1000)
        lm = orient_axial(lab["lps"].data[:, :, tz], A_LPS)
        e = edges(lm)
        ref = g.copy()
        for l, c in COLOURS.items():
            ref[e & (lm == l)] = c
        same(t, png.pixels, ref, "contours match the reference")
        interior = (lm != 0) & ~e
        px = png.pixels[interior]
        t.ok(interior.sum() > 20 and (px[:, 0] == px[:, 1]).all() and (px[:, 1] == px[:, 2]).all(),
             "interior of the labels stays grey")
        px = png.pixels[e]
        t.ok(e.sum() > 20 and not (((px[:, 0] == px[:, 1]) & (px[:, 1] == px[:, 2])).any()), "every boundary pixel is coloured")
        # one pixel wide: along the row through the centre, the outer ED edge is one pixel each side
        cy = 55 - int(TUMOUR[1])
        row = png.pixels[cy]
        green = [x for x in range(W) if row[x].tolist() == [0, 255, 0]]
        t.ok(len(green) >= 2 and green[1] - green[0] > 1, "outer boundary one pixel wide", str(green))

    # -- --compare: two panels side by side; with --contour one panel in two colours
    png, err = render("-z", tz, "--window", "0,1000", "--overlay", p("lab_lps.nrrd"), "--compare", p("pred_lps.nrrd"),
                      p("head_lps.nrrd"))
    if t.ok(png is not None, "--compare renders", err):
        t.ok((png.width, png.height) == (2 * W + 2, H), "--compare: two panels, %d x %d" % (2 * W + 2, H),
             "%d x %d" % (png.width, png.height))
        a, _ = render("-z", tz, "--window", "0,1000", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
        b, _ = render("-z", tz, "--window", "0,1000", "--overlay", p("pred_lps.nrrd"), p("head_lps.nrrd"))
        if png.width == 2 * W + 2 and a is not None and b is not None:
            t.ok(np.array_equal(png.pixels[:, :W], a.pixels), "--compare: left panel = LABELS overlay")
            t.ok(np.array_equal(png.pixels[:, W + 2:], b.pixels), "--compare: right panel = PRED overlay")
            t.ok((png.pixels[:, W:W + 2] == PANEL_GREY).all(), "--compare: panels separated by a dark grey line")
    png, err = render("-z", tz, "--window", "0,1000", "--compare", p("pred_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None and png.width == 2 * W + 2, "--compare without --overlay: two panels", err):
        plain, _ = render("-z", tz, "--window", "0,1000", p("head_lps.nrrd"))
        t.ok(plain is not None and np.array_equal(png.pixels[:, :W], plain.pixels), "left panel is the plain image")
    png, err = render("-z", tz, "--window", "0,1000", "--contour", "--overlay", p("lab_lps.nrrd"), "--compare",
                      p("pred_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "--compare --contour renders", err):
        t.ok((png.width, png.height) == (W, H), "--compare --contour: one panel", "%d x %d" % (png.width, png.height))
        g = grey(orient_axial(vol["lps"].data[:, :, tz], A_LPS), 0, 1000)
        eg = edges(orient_axial(lab["lps"].data[:, :, tz], A_LPS))
        ep = edges(orient_axial(pred["lps"].data[:, :, tz], A_LPS))
        ref = g.copy()
        ref[eg & ~ep] = (0, 255, 255)
        ref[ep & ~eg] = (255, 0, 255)
        ref[ep & eg] = (255, 255, 255)
        t.ok((eg & ~ep).sum() > 10 and (ep & ~eg).sum() > 10, "(the two contours differ)")
        same(t, png.pixels, ref, "LABELS cyan, PRED magenta, both white")

    # -- montages
    lk = np.nonzero(lab["lps"].data.any(axis=(0, 1)))[0]
    first, last = int(lk.min()), int(lk.max())
    png, err = render("--montage", "3x2", "--window", "0,1000", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "--montage 3x2 renders", err):
        size = montage_size(3, 2, W, H)
        t.ok((png.width, png.height) == size, "--montage 3x2: %d x %d" % size, "%d x %d" % (png.width, png.height))
        s = slices_of(png)
        want = [first + int(np.floor(i * (last - first) / 5 + 0.5)) for i in range(6)]
        t.ok(s == want, "--montage 3x2: six slices evenly spaced from the first to the last tumour slice",
             "%s, expected %s" % (s, want))
        if s and (png.width, png.height) == size:
            for tile, (tx, ty) in ((1, (W + G, 0)), (5, (2 * (W + G), H + G))):
                one, _ = render("-z", s[tile], "--window", "0,1000", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
                t.ok(one is not None and np.array_equal(png.pixels[ty:ty + H, tx:tx + W], one.pixels),
                     "montage tile %d = slice %d alone" % (tile, s[tile]))
            t.ok((png.pixels[:, W:W + G] == TILE_GREY).all() and (png.pixels[H:H + G, :] == TILE_GREY).all(),
                 "montage tiles separated by grey lines")
    png, err = render("--window", "0,1000", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "labels without a slice: a montage", err):
        t.ok((png.width, png.height) == montage_size(4, 3, W, H), "default montage 4x3")
        s = slices_of(png)
        t.ok(s is not None and len(s) == 12 and s[0] == first and s[-1] == last and s == sorted(s),
             "default montage through the tumour (slices %d to %d)" % (first, last), str(s))
    png_l, err = render("--montage", "4x2", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    png_r, err2 = render("--montage", "4x2", "--overlay", p("lab_ras.nrrd"), p("head_ras.nrrd"))
    t.ok(png_l is not None and png_r is not None and np.array_equal(png_l.pixels, png_r.pixels),
         "LPS and RAS give the same montage", err + err2)
    for n in ("lps", "ras"):
        png, err = render("--view", "coronal", "--montage", "4x1", "--overlay", p("lab_%s.nrrd" % n), p("head_%s.nrrd" % n))
        ly = np.nonzero(lab[n].data.any(axis=(0, 2)))[0]
        s = slices_of(png) if png is not None else None
        wy = [lab[n].affine[1, 1] * j + lab[n].affine[1, 3] for j in (s or [])]
        t.ok(s is not None and min(s) == ly.min() and max(s) == ly.max() and wy == sorted(wy),
             "%s coronal montage: through the tumour, posterior to anterior" % n, "%s %s" % (s, err))
    png, err = render("--montage", "8x4", "--overlay", p("lab_lps.nrrd"), p("head_lps.nrrd"))
    if t.ok(png is not None, "a montage with more tiles than tumour slices renders", err):
        s = slices_of(png)
        t.ok(s == list(range(first, last + 1)), "each tumour slice once", str(s))
        n = last - first + 1
        tx, ty = (n % 8) * (W + G), (n // 8) * (H + G)
        t.ok(n < 32 and (png.pixels[ty:ty + H, tx:tx + W] == 0).all(), "tiles past the last slice are black")
    png, err = render(p("head_lps.nrrd"))
    if t.ok(png is not None, "no labels, no slice: a montage", err):
        bk = np.nonzero(vol["lps"].data.any(axis=(0, 1)))[0]
        s = slices_of(png)
        t.ok(s is not None and len(s) == 12 and s[0] == bk.min() and s[-1] == bk.max(),
             "montage through the brain (nonzero voxels)", str(s))
    png, err = render("--montage", "3x1", "--compare", p("pred_lps.nrrd"), p("head_lps.nrrd"))
    pk = np.nonzero(pred["lps"].data.any(axis=(0, 1)))[0]
    t.ok(png is not None and slices_of(png) == [pk.min(), (pk.min() + pk.max() + 1) // 2, pk.max()] and
         (png.width, png.height) == montage_size(3, 1, 2 * W + 2, H), "PRED alone: montage through its tumour, two panels per tile", err)
    png, err = render("--montage", "2x1", "--overlay", p("lab_empty.nrrd"), p("head_lps.nrrd"))
    t.ok(png is not None and "no tumour" in err, "empty LABELS: a warning, montage through the brain", err)

    # -- aspect: 1 x 2 x 3 mm voxels drawn with square pixels; a sphere stays round
    for plane, idx, size in (("axial", 10, (40, 60)), ("coronal", 14, (40, 60)), ("sagittal", 19, (30, 30))):
        png, err = render("--" + plane, idx, p("aniso.nrrd"))
        if not t.ok(png is not None, "anisotropic %s renders" % plane, err):
            continue
        t.ok((png.width, png.height) == size, "anisotropic %s: %d x %d pixels" % (plane, size[0], size[1]),
             "%d x %d" % (png.width, png.height))
        b = white_box(png, 128)
        if b is None:
            t.ok(False, "anisotropic %s: sphere drawn" % plane)
            continue
        px = 1.0 if plane != "sagittal" else 2.0  # mm per pixel
        bw, bh = (b[2] - b[0] + 1) * px, (b[3] - b[1] + 1) * px
        t.ok(abs(bw - bh) <= 2 * px and abs(bw - 24) <= 3 * px, "anisotropic %s: the sphere is round" % plane,
             "%g x %g mm" % (bw, bh))
    png, err = render("-z", mz, "--zoom", "2", "--window", "0,1000", p("head_lps.nrrd"))
    if t.ok(png is not None, "--zoom 2 renders", err):
        t.ok((png.width, png.height) == (2 * W, 2 * H), "--zoom 2 doubles the size")
        t.ok(quadrant(png, white_box(png)) == "top-left", "--zoom 2 keeps the orientation")

    # -- channels
    for args, c, what in ((["-z", 20], 3, "4-channel record: flair by default"),
                          (["-z", 20, "-m", "t1"], 0, "-m t1"),
                          (["-z", 20, "-m", "t1ce"], 1, "-m t1ce"),
                          (["-z", 20, "--channel", 2], 2, "--channel 2")):
        want = ["top-left", "top-right", "bottom-left", "bottom-right"][c]
        for f in ("four.nrrd", "four_nometa.nrrd"):
            png, err = render(*(args + [p(f)]))
            got = quadrant(png, white_box(png)) if png is not None else err
            t.ok(got == want, "%s (%s)" % (what, f), got)
    t.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("gen", "run"):
        sys.exit("usage: check_slice_png.py gen|run DIR")
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        run(sys.argv[2])
