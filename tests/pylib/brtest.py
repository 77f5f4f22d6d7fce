"""Test helpers written independently of the C code: an NRRD stream reader
and writer (NumPy), a BraTS-like case generator (nibabel), comparisons."""
import os
import re
import sys

import numpy as np

_TYPES = {
    "uint8": np.uint8, "uchar": np.uint8, "unsigned char": np.uint8,
    "int8": np.int8, "signed char": np.int8,
    "uint16": np.uint16, "ushort": np.uint16, "unsigned short": np.uint16,
    "int16": np.int16, "short": np.int16,
    "uint32": np.uint32, "uint": np.uint32, "unsigned int": np.uint32,
    "int32": np.int32, "int": np.int32,
    "float": np.float32, "double": np.float64,
}
_NAMES = {np.dtype(np.uint8): "uint8", np.dtype(np.int8): "int8", np.dtype(np.uint16): "uint16",
          np.dtype(np.int16): "int16", np.dtype(np.uint32): "uint32", np.dtype(np.int32): "int32",
          np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


class Record:
    """data: array indexed [x, y, z] or [x, y, z, c]; affine: 4x4 RAS."""

    def __init__(self, data, affine=None, meta=None):
        self.data = data
        self.affine = np.eye(4) if affine is None else np.asarray(affine, dtype=np.float64)
        self.meta = dict(meta or {})


def _vec(s):
    s = s.strip()
    if s == "none":
        return None
    m = re.fullmatch(r"\(([^,]+),([^,]+),([^)]+)\)", s)
    if not m:
        raise ValueError("bad vector " + s)
    return [float(m.group(i)) for i in (1, 2, 3)]


def read_nrrd_stream(path_or_bytes):
    """All records of an NRRD stream (our subset: raw encoding, attached data)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        buf = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            buf = f.read()
    pos = 0
    out = []
    while pos < len(buf):
        end = buf.index(b"\n\n", pos)
        lines = buf[pos:end].decode("ascii").split("\n")
        if not lines[0].startswith("NRRD000"):
            raise ValueError("bad magic at %d" % pos)
        fields, meta = {}, {}
        for ln in lines[1:]:
            if ln.startswith("#"):
                continue
            if ":=" in ln:
                k, v = ln.split(":=", 1)
                meta[k] = v
            else:
                k, v = ln.split(": ", 1)
                fields[k] = v
        dt = np.dtype(_TYPES[fields["type"]])
        if dt.itemsize > 1:
            dt = dt.newbyteorder("<" if fields.get("endian", "little") == "little" else ">")
        if fields.get("encoding", "raw") != "raw":
            raise ValueError("only raw encoding")
        sizes = [int(s) for s in fields["sizes"].split()]
        n = int(np.prod(sizes))
        start = end + 2
        arr = np.frombuffer(buf, dtype=dt, count=n, offset=start)
        pos = start + n * dt.itemsize
        arr = arr.reshape(sizes[::-1]).T  # x fastest -> index [x, y, z, (c)]
        aff = np.eye(4)
        dirs = re.findall(r"\([^)]*\)|none", fields.get("space directions", ""))
        sp = [d for d in dirs if d != "none"]
        for i, d in enumerate(sp):
            aff[:3, i] = _vec(d)
        if "space origin" in fields:
            aff[:3, 3] = _vec(fields["space origin"])
        space = fields.get("space", "right-anterior-superior")
        if space in ("left-posterior-superior", "LPS"):
            aff[:2, :] *= -1
        out.append(Record(np.array(arr.astype(dt.newbyteorder("="))), aff, meta))
    return out


def read_nrrd(path):
    recs = read_nrrd_stream(path)
    if len(recs) != 1:
        raise ValueError("%s holds %d records" % (path, len(recs)))
    return recs[0]


def nrrd_bytes(rec, space="right-anterior-superior", endian="little"):
    """One record as NRRD0004 bytes (raw data, x fastest)."""
    a = np.asarray(rec.data)
    aff = rec.affine.copy()
    if space == "left-posterior-superior":
        aff[:2, :] *= -1
    ndim = a.ndim
    dt = a.dtype.newbyteorder("<" if endian == "little" else ">")
    hdr = ["NRRD0004", "type: " + _NAMES[np.dtype(a.dtype.newbyteorder("="))], "dimension: %d" % ndim,
           "space: " + space, "sizes: " + " ".join(str(s) for s in a.shape)]
    d = " ".join("(%r,%r,%r)" % tuple(float(v) for v in aff[:3, i]) for i in range(3))
    hdr.append("space directions: " + d + (" none" if ndim == 4 else ""))
    hdr.append("kinds: domain domain domain" + (" list" if ndim == 4 else ""))
    if a.dtype.itemsize > 1:
        hdr.append("endian: " + endian)
    hdr.append("encoding: raw")
    hdr.append("space origin: (%r,%r,%r)" % tuple(float(v) for v in aff[:3, 3]))
    for k, v in rec.meta.items():
        hdr.append("%s:=%s" % (k, v))
    return ("\n".join(hdr) + "\n\n").encode("ascii") + np.asarray(a, dtype=dt).T.tobytes()


def write_nrrd(path, rec, space="right-anterior-superior", endian="little"):
    with open(path, "wb") as f:
        f.write(nrrd_bytes(rec, space, endian))


def write_nrrd_stream(path, recs):
    with open(path, "wb") as f:
        for r in recs:
            f.write(nrrd_bytes(r))


BRATS_AFFINE_LPS = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
BRATS_AFFINE_RAS = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1]])


def make_case(outdir, case, layout="2020", affine="lps", dtype="int16", seed=0, shape=(240, 240, 155),
              seg=True, labels2023=False, modalities=None):
    """A BraTS-like case written with nibabel: an ellipsoid 'brain' of random
    intensities per modality and a blob 'tumour' with labels 1, 2, 4."""
    import nibabel as nib
    rng = np.random.default_rng(seed)
    A = BRATS_AFFINE_LPS if affine == "lps" else BRATS_AFFINE_RAS
    X, Y, Z = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    c = np.array(shape) / 2 + rng.uniform(-6, 6, 3)
    r = np.array([70, 85, 65]) * rng.uniform(0.9, 1.05)
    brain = ((X - c[0]) / r[0]) ** 2 + ((Y - c[1]) / r[1]) ** 2 + ((Z - c[2]) / r[2]) ** 2 <= 1
    tc = c + rng.uniform(-20, 20, 3)
    d = np.sqrt((X - tc[0]) ** 2 + (Y - tc[1]) ** 2 + (Z - tc[2]) ** 2)
    lab = np.zeros(shape, np.uint8)
    lab[(d < 22) & brain] = 2
    lab[(d < 13) & brain] = 4
    lab[(d < 8) & brain] = 1
    os.makedirs(os.path.join(outdir, case), exist_ok=True)
    names = {"2020": ["t1", "t1ce", "t2", "flair", "seg"], "2023": ["t1n", "t1c", "t2w", "t2f", "seg"]}[layout]
    sep = "_" if layout == "2020" else "-"
    mods = modalities if modalities is not None else names[:4]
    vols = {}
    for i, m in enumerate(names[:4]):
        hi = rng.integers(300, 5000)
        v = (rng.uniform(0.2, 1.0, shape) * hi * brain + lab * 37 * (i + 1)).astype(np.float64)
        v[~brain] = 0
        if dtype == "int16":
            arr = np.round(v).astype(np.int16)
        elif dtype == "float64":
            arr = v
        elif dtype == "float32":
            arr = v.astype(np.float32)
        elif dtype == "uint8":
            arr = np.clip(v / 20, 0, 255).astype(np.uint8)
        else:
            raise ValueError(dtype)
        vols[m] = arr
        if m in mods:
            img = nib.Nifti1Image(arr, A)
            img.header.set_qform(A, 1)
            img.header.set_sform(A, 1)
            nib.save(img, os.path.join(outdir, case, "%s%s%s.nii.gz" % (case, sep, m)))
    if seg:
        s = lab.copy()
        if labels2023:
            s[s == 4] = 3
        img = nib.Nifti1Image(s, A)
        img.header.set_qform(A, 1)
        img.header.set_sform(A, 1)
        nib.save(img, os.path.join(outdir, case, "%s%sseg.nii.gz" % (case, sep)))
    return vols, lab, A


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what))
        else:
            self.failed += 1
            print("not ok %d - %s%s" % (self.n, what, (": " + detail) if detail else ""))
        sys.stdout.flush()
        return cond

    def skip(self, what, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, what, why))

    def close(self):
        sys.exit(1 if self.failed else 0)
