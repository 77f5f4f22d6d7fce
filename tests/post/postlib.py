"""Helpers for the post-processing tests and benchmarks (cc-filter,
brats-metrics): NRRD records as the tools write them, NIfTI through
nibabel, and random tumour-like label maps.

Arrays are indexed [x, y, z] (nibabel's order); on disk x runs fastest.
"""
import numpy as np
from scipy import ndimage

NRRD_TYPES = {
    "uint8": np.uint8, "int8": np.int8, "uint16": np.uint16, "int16": np.int16,
    "uint32": np.uint32, "int32": np.int32, "float": np.float32, "double": np.float64,
}
NRRD_NAMES = {np.dtype(v): k for k, v in NRRD_TYPES.items()}


class Record:
    """One volume: data [x, y, z], a 4x4 affine (RAS mm), metadata."""

    def __init__(self, data, affine=None, meta=None):
        self.data = data
        self.affine = np.eye(4) if affine is None else np.asarray(affine, dtype=float)
        self.meta = dict(meta or {})


def _vec(s):
    s = s.strip()
    assert s[0] == "(" and s[-1] == ")", s
    return [float(t) for t in s[1:-1].split(",")]


def nrrd_read_stream(path):
    """Every record of an NRRD stream written by the tools."""
    recs = []
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0
    while pos < len(buf):
        assert buf[pos:pos + 4] == b"NRRD", "not an NRRD record at byte %d" % pos
        fields, meta = {}, {}
        while True:
            end = buf.index(b"\n", pos)
            line = buf[pos:end].decode()
            pos = end + 1
            if line == "":
                break
            if line.startswith("#") or line.startswith("NRRD"):
                continue
            if ":=" in line:
                k, v = line.split(":=", 1)
                meta[k] = v
            else:
                k, v = line.split(":", 1)
                fields[k.strip()] = v.strip()
        sizes = [int(t) for t in fields["sizes"].split()]
        dt = np.dtype(NRRD_TYPES[fields["type"]]).newbyteorder("<")
        n = int(np.prod(sizes))
        data = np.frombuffer(buf, dtype=dt, count=n, offset=pos).copy()
        pos += n * dt.itemsize
        arr = data.reshape(sizes[::-1]).transpose(tuple(range(len(sizes)))[::-1])
        aff = np.eye(4)
        dirs = fields["space directions"].replace(") (", ")|(").split("|")
        dirs = [d for d in dirs if d.strip() != "none"]
        for c in range(3):
            aff[:3, c] = _vec(dirs[c].replace("none", "").strip())
        aff[:3, 3] = _vec(fields["space origin"])
        assert fields.get("space", "right-anterior-superior") == "right-anterior-superior"
        recs.append(Record(arr, aff, meta))
    return recs


def nrrd_bytes(rec):
    a = np.asarray(rec.data)
    dt = a.dtype.newbyteorder("<")
    four = a.ndim == 4
    h = ["NRRD0004", "# test record", "type: %s" % NRRD_NAMES[np.dtype(a.dtype.name)],
         "dimension: %d" % a.ndim, "space: right-anterior-superior",
         "sizes: " + " ".join(str(s) for s in a.shape)]
    vec = lambda v: "(%r,%r,%r)" % tuple(float(t) for t in v)
    h.append("space directions: " + " ".join(vec(rec.affine[:3, c]) for c in range(3)) +
             (" none" if four else ""))
    h.append("kinds: domain domain domain" + (" list" if four else ""))
    if a.dtype.itemsize > 1:
        h.append("endian: little")
    h.append("encoding: raw")
    h.append("space origin: " + vec(rec.affine[:3, 3]))
    for k, v in rec.meta.items():
        h.append("%s:=%s" % (k, v))
    body = np.ascontiguousarray(a.transpose(tuple(range(a.ndim))[::-1])).astype(dt).tobytes()
    return ("\n".join(h) + "\n\n").encode() + body


def nrrd_write(path, recs):
    with open(path, "wb") as f:
        for r in recs:
            f.write(nrrd_bytes(r))


def read_volume(path):
    """One record from .nii/.nii.gz (nibabel) or .nrrd (first record)."""
    if path.endswith(".nrrd"):
        return nrrd_read_stream(path)[0]
    import nibabel as nib
    img = nib.load(path)
    return Record(np.asanyarray(img.dataobj), img.affine, {})


def write_nifti(path, data, affine):
    import nibabel as nib
    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=float))
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    nib.save(img, path)


def affine_for(spacing, origin=(-90.0, 126.0, -72.0)):
    a = np.diag([spacing[0], spacing[1], spacing[2], 1.0])
    a[:3, 3] = origin
    return a


# ---- random tumour-like label maps ----

def _smooth_noise(rng, shape, sigma):
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return n / (n.std() + 1e-12)


def phantom_labels(rng, shape, centre=None, radii=None, rough=0.25, et=True, labels2023=False):
    """A blobby tumour: edema (2) around a core (1) with an enhancing rim (4)."""
    shape = tuple(shape)
    if centre is None:
        centre = [rng.uniform(0.35, 0.65) * s for s in shape]
    if radii is None:
        radii = [rng.uniform(0.09, 0.16) * s for s in shape]
    g = np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij")
    d = np.sqrt(sum(((g[i] - centre[i]) / radii[i]) ** 2 for i in range(3)))
    n1 = _smooth_noise(rng, shape, 3.0)
    n2 = _smooth_noise(rng, shape, 2.0)
    lab = np.zeros(shape, np.uint8)
    wt = d + rough * n1 < 1.0
    tc = wt & (d + rough * n2 < 0.6)
    lab[wt] = 2
    lab[tc] = 1
    if et:
        rim = tc & (d + 0.5 * rough * n2 > 0.42)
        lab[rim] = 3 if labels2023 else 4
    return lab


def add_specks(rng, lab, n, max_r=2, values=(1, 2, 4), near=None):
    """n small random blobs of random labels (cubes/balls of radius <= max_r)."""
    out = lab.copy()
    shape = lab.shape
    for _ in range(n):
        if near is not None and rng.random() < 0.7:
            c = [int(np.clip(near[i] + rng.normal(0, shape[i] / 6), 0, shape[i] - 1)) for i in range(3)]
        else:
            c = [int(rng.integers(0, s)) for s in shape]
        r = int(rng.integers(0, max_r + 1))
        sl = tuple(slice(max(0, c[i] - r), min(shape[i], c[i] + r + 1)) for i in range(3))
        out[sl] = values[int(rng.integers(0, len(values)))]
    return out


def perturb(rng, lab, shift=1, flips=0.1, specks=10, drop_et=False, labels2023=False):
    """A plausible prediction: shifted, boundary labels flipped, specks added."""
    et = 3 if labels2023 else 4
    p = lab.copy()
    if shift:
        s = [int(rng.integers(-shift, shift + 1)) for _ in range(3)]
        p = np.roll(p, s, axis=(0, 1, 2))
    edge = ndimage.binary_dilation(p > 0) & ~ndimage.binary_erosion(p > 0)
    flip = edge & (rng.random(p.shape) < flips)
    p[flip] = np.where(p[flip] > 0, 0, 2)
    if drop_et:
        p[p == et] = 1
    if specks:
        p = add_specks(rng, p, specks, 1, (1, 2, et), near=[s / 2 for s in p.shape])
    return p.astype(np.uint8)


def cc_test_mask(rng, shape, nspecks=400, labels2023=False):
    """A tumour with many small components around it: what cc-filter meets."""
    lab = phantom_labels(rng, shape, labels2023=labels2023)
    et = 3 if labels2023 else 4
    # a second, smaller tumour and scattered false positives of every size
    lab2 = phantom_labels(rng, shape, radii=[0.07 * s for s in shape], labels2023=labels2023)
    lab = np.where(lab > 0, lab, lab2)
    lab = add_specks(rng, lab, nspecks, 3, (1, 2, et), near=[s / 2 for s in shape])
    noise = (rng.random(shape) < 0.002) & (lab == 0)
    lab[noise] = 2
    return lab
