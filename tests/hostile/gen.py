"""Hostile inputs for tests/hostile/t_hostile.sh, written into DIR.

Python's standard library only: NRRD and NIfTI-1 bytes are put together by
hand, so that every field can lie.  usage: gen.py DIR
"""
import gzip
import os
import struct
import sys
import zlib

D = sys.argv[1]
os.makedirs(D, exist_ok=True)
GIB16 = (2048, 2048, 1024)  # float32: 16 GiB
ZEROS = 64 << 20  # what the bombs really hold


def put(name, data):
    with open(os.path.join(D, name), "wb") as f:
        f.write(data)


def nrrd_header(fields, meta=()):
    lines = ["NRRD0004"] + ["%s: %s" % kv for kv in fields] + ["%s:=%s" % kv for kv in meta]
    return ("\n".join(lines) + "\n\n").encode()


def nrrd(sizes, dtype="float", data=None, encoding="raw", space_dirs=None, origin=None, meta=(), extra=()):
    es = {"float": 4, "uchar": 1, "short": 2}[dtype]
    n = 1
    for s in sizes:
        n *= s
    fields = [("type", dtype), ("dimension", str(len(sizes))), ("space", "right-anterior-superior"),
              ("sizes", " ".join(map(str, sizes)))]
    if space_dirs:
        fields.append(("space directions", space_dirs))
    fields += list(extra)
    if es > 1:
        fields.append(("endian", "little"))
    fields.append(("encoding", encoding))
    if origin:
        fields.append(("space origin", origin))
    if data is None:
        data = bytes(n * es)
    return nrrd_header(fields, meta) + data


def nifti(dims, datatype=16, bitpix=32, vox_offset=352.0, data=b"", sizeof_hdr=348, dim0=None, big=False):
    """A NIfTI-1 single-file header (+ 4 extension bytes + data)."""
    e = ">" if big else "<"
    h = bytearray(348)
    struct.pack_into(e + "i", h, 0, sizeof_hdr)
    d = [dim0 if dim0 is not None else len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into(e + "8h", h, 40, *d)
    struct.pack_into(e + "hh", h, 70, datatype, bitpix)
    struct.pack_into(e + "8f", h, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into(e + "f", h, 108, vox_offset)
    struct.pack_into(e + "f", h, 112, 1.0)  # scl_slope
    struct.pack_into(e + "hh", h, 252, 1, 1)  # qform, sform codes
    struct.pack_into(e + "4f", h, 280, 1, 0, 0, 0)
    struct.pack_into(e + "4f", h, 296, 0, 1, 0, 0)
    struct.pack_into(e + "4f", h, 312, 0, 0, 1, 0)
    h[344:348] = b"n+1\0"
    return bytes(h) + b"\0\0\0\0" + data


def floats(n, bad=None):
    v = [float(i % 17) for i in range(n)]
    if bad is not None:
        v[bad[0]] = bad[1]
    return struct.pack("<%df" % n, *v)


def gz(data):
    return gzip.compress(data, 9, mtime=0)


def zeros_gz(n):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(bytes(1 << 20)) for _ in range(n >> 20)]
    return b"".join(out) + c.flush()


# ---- findings of issue 10 ----
# 2: sizes whose product wraps to 0 (145 bytes)
put("wrap.nrrd", nrrd_header([("type", "uchar"), ("dimension", "4"), ("sizes", "1048576 1048576 1048576 16"),
                              ("encoding", "raw")]) + b"x" * 64)
# 3: a case folder with two t1 files (the message names both)
os.makedirs(os.path.join(D, "dup"), exist_ok=True)
img = nifti((8, 8, 4), data=floats(256))
for m in ["t1", "t1ce", "t2", "flair"]:
    put("dup/dup_%s.nii" % m, img)
put("dup/dup2_t1.nii", img)
# 4: crop boxes that overflow, an origin far off the grid
put("ref16.nrrd", nrrd((16, 16, 4), space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(0,0,0)"))
src = [("source_sizes", "16 16 4"), ("source_affine", "1 0 0 0 0 1 0 0 0 0 1 0")]
put("uncrop_min.nrrd", nrrd((8, 8, 4), space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(-9223372036854775808,0,0)",
                            meta=[("crop", "-9223372036854775808 0 0 8 8 4")] + src))
put("uncrop_1e300.nrrd", nrrd((8, 8, 4), space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(1e300,0,0)",
                              meta=[("crop", "1e300 0 0 8 8 4")] + src))
put("uncrop_far.nrrd", nrrd((8, 8, 4), space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(1e30,0,0)"))
# 7: honest-but-huge headers: 16 GiB claimed by a small file, by gzip bombs
put("huge.nrrd", nrrd_header([("type", "float"), ("dimension", "3"), ("sizes", "%d %d %d" % GIB16),
                              ("endian", "little"), ("encoding", "raw")]) + b"z" * 64)
put("bomb.nrrd", nrrd_header([("type", "float"), ("dimension", "3"), ("sizes", "%d %d %d" % GIB16),
                              ("endian", "little"), ("encoding", "gzip")]) + zeros_gz(ZEROS))
put("huge.nii", nifti(GIB16))
with open(os.path.join(D, "bomb.nii.gz"), "wb") as f:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    f.write(c.compress(nifti(GIB16)))
    for _ in range(ZEROS >> 20):
        f.write(c.compress(bytes(1 << 20)))
    f.write(c.flush())
# 8: per-axis fields before 'dimension'; vox_offset out of range
put("dirs_first.nrrd", nrrd_header([("type", "uchar"), ("space directions", "(1,0,0) (0,1,0) (0,0,1)"),
                                    ("dimension", "3"), ("sizes", "2 2 2"), ("encoding", "raw")]) + bytes(8))
put("spacings_first.nrrd", nrrd_header([("type", "uchar"), ("spacings", "1 1 1"), ("dimension", "3"),
                                        ("sizes", "2 2 2"), ("encoding", "raw")]) + bytes(8))
put("voxneg.nii", nifti((8, 8, 4), vox_offset=-1000.0, data=floats(256)))
put("voxhuge.nii", nifti((8, 8, 4), vox_offset=3e38, data=floats(256)))

# ---- bad input that was already refused ----
put("good.nrrd", nrrd((8, 8, 4), data=floats(256), space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(0,0,0)"))
put("trunc.nrrd", nrrd((8, 8, 4), data=floats(256))[:-100])
put("garbage.bin", b"\x7fELF garbage, neither NRRD nor NIfTI" * 20)
put("empty.nrrd", b"")
put("nan.nrrd", nrrd((8, 8, 4), data=floats(256, bad=(1, float("nan")))))
put("bzip2.nrrd", nrrd((8, 8, 4), encoding="bzip2"))
put("detached.nrrd", nrrd_header([("type", "uchar"), ("dimension", "3"), ("sizes", "2 2 2"),
                                  ("data file", "/etc/passwd"), ("encoding", "raw")]))
put("noendian.nrrd", nrrd_header([("type", "float"), ("dimension", "3"), ("sizes", "2 2 2"),
                                  ("encoding", "raw")]) + bytes(32))
put("nosizes.nrrd", nrrd_header([("type", "float"), ("dimension", "3"), ("encoding", "raw")]))
put("badtype.nrrd", nrrd_header([("type", "block"), ("dimension", "3"), ("sizes", "2 2 2"), ("encoding", "raw")]))
put("negsize.nrrd", nrrd_header([("type", "uchar"), ("dimension", "3"), ("sizes", "4 -2 3"), ("encoding", "raw")]))
put("dim5.nrrd", nrrd_header([("type", "uchar"), ("dimension", "5"), ("sizes", "1 1 1 1 1"), ("encoding", "raw")]))
put("longline.nrrd", b"NRRD0004\n# " + b"x" * 70000 + b"\n")
put("noblank.nrrd", b"NRRD0004\ntype: uchar\ndimension: 3\n")
put("trailing.nrrd", nrrd((8, 8, 4), data=floats(256)) + b"JUNK after the record")
put("gztrunc.nrrd", nrrd((8, 8, 4), data=gz(floats(256)), encoding="gzip")[:-40])
bad = bytearray(nrrd((8, 8, 4), data=gz(floats(256)), encoding="gzip"))
for i in range(len(bad) - 60, len(bad) - 20):
    bad[i] ^= 0x5A
put("gzcorrupt.nrrd", bytes(bad))
put("gzlong.nrrd", nrrd((8, 8, 2), data=gz(floats(256)), encoding="gzip"))
put("nii2.nii", struct.pack("<i", 540) + bytes(540))
put("niitrunc.nii", nifti((8, 8, 4), data=floats(256))[:-100])
put("niigztrunc.nii.gz", gz(nifti((8, 8, 4), data=floats(256)))[:-30])
put("cplx.nii", nifti((8, 8, 4), datatype=32, bitpix=64, data=bytes(2048)))
put("dim7.nii", nifti((8, 8, 4, 1, 1, 1, 2), data=bytes(4096)))
put("negdim.nii", nifti((8, -3, 4), data=floats(256)))
put("nan.nii", nifti((8, 8, 4), data=floats(256, bad=(5, float("inf")))))
put("lab3.nrrd", nrrd((8, 8, 4), dtype="uchar", data=bytes([0] * 100 + [3] + [0] * 155)))
put("two.nrrd", nrrd((8, 8, 4), data=floats(256)) * 2)
os.makedirs(os.path.join(D, "adir"), exist_ok=True)
os.makedirs(os.path.join(D, "noflair"), exist_ok=True)
for m in ["t1", "t1ce", "t2"]:
    put("noflair/noflair_%s.nii" % m, img)
os.makedirs(os.path.join(D, "grid"), exist_ok=True)
for m in ["t1", "t1ce", "t2"]:
    put("grid/grid_%s.nii" % m, img)
put("grid/grid_flair.nii", nifti((8, 8, 5), data=floats(320)))

# ---- good input, for the tests of special output files ----
os.makedirs(os.path.join(D, "good"), exist_ok=True)
for m in ["t1", "t1ce", "t2", "flair"]:
    put("good/good_%s.nii" % m, img)
seg = bytes([0] * 60 + [2] * 30 + [1] * 10 + [4] * 8 + [0] * 148)
put("good/good_seg.nii", nifti((8, 8, 4), datatype=2, bitpix=8, data=seg))
put("labels.nrrd", nrrd((8, 8, 4), dtype="uchar", data=seg, space_dirs="(1,0,0) (0,1,0) (0,0,1)", origin="(0,0,0)"))
