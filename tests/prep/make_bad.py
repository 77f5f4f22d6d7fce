"""Bad inputs for the CLI tests: writes small cases and broken files into DIR."""
import gzip
import os
import sys

import numpy as np
import nibabel as nib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import brtest  # noqa: E402

W = sys.argv[1]
S = (64, 64, 20)
A = brtest.BRATS_AFFINE_LPS


def save(arr, path, aff=A):
    img = nib.Nifti1Image(arr, aff)
    img.header.set_qform(aff, 1)
    img.header.set_sform(aff, 1)
    nib.save(img, path)


def case(name, **kw):
    return brtest.make_case(W, name, shape=S, seed=len(name), **kw)


case("good")
case("nflair", modalities=["t1", "t1ce", "t2"])
case("dup")
os.system("cp %s/dup/dup_t1.nii.gz %s/dup/dup2_t1.nii.gz" % (W, W))
case("grid")
save(np.ones((64, 64, 21), np.int16), os.path.join(W, "grid", "grid_flair.nii.gz"))
case("affine")
A2 = A.copy()
A2[0, 3] += 2.0
save(np.ones(S, np.int16), os.path.join(W, "affine", "affine_t2.nii.gz"), A2)
# truncated gzip
case("trunc")
p = os.path.join(W, "trunc", "trunc_t1.nii.gz")
b = open(p, "rb").read()
open(p, "wb").write(b[: len(b) // 2])
# corrupt gzip (bytes in the middle flipped)
case("corrupt")
p = os.path.join(W, "corrupt", "corrupt_t2.nii.gz")
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 2, len(b) // 2 + 64):
    b[i] ^= 0x5A
open(p, "wb").write(bytes(b))
# header that lies about its size: an uncompressed .nii whose data is short
case("lies")
img = nib.load(os.path.join(W, "lies", "lies_t1ce.nii.gz"))
raw = img.header.copy()
os.remove(os.path.join(W, "lies", "lies_t1ce.nii.gz"))
with open(os.path.join(W, "lies", "lies_t1ce.nii"), "wb") as f:
    hdr = nib.Nifti1Header.from_header(raw)
    hdr.set_data_offset(352)
    f.write(hdr.binaryblock + b"\0" * 4 + np.zeros(S, np.int16).tobytes()[: 1000])
# NaN and Inf voxels
case("nan", dtype="float32")
a = np.asarray(nib.load(os.path.join(W, "nan", "nan_flair.nii.gz")).dataobj).copy()
a[10, 11, 12] = np.nan
save(a, os.path.join(W, "nan", "nan_flair.nii.gz"))
case("inf", dtype="float32")
a = np.asarray(nib.load(os.path.join(W, "inf", "inf_t2.nii.gz")).dataobj).copy()
a[3, 4, 5] = np.inf
save(a, os.path.join(W, "inf", "inf_t2.nii.gz"))
# unsupported datatype (complex64)
case("cplx")
save(np.ones(S, np.complex64), os.path.join(W, "cplx", "cplx_t1.nii.gz"))
# label values outside {0,1,2,4}
case("badlab")
l = np.asarray(nib.load(os.path.join(W, "badlab", "badlab_seg.nii.gz")).dataobj).copy()
l[30, 30, 10] = 3
save(l, os.path.join(W, "badlab", "badlab_seg.nii.gz"))
# NRRD whose header promises more data than it holds
r = brtest.Record(np.ones((8, 8, 4), np.float32), np.eye(4))
brtest.write_nrrd(os.path.join(W, "short.nrrd"), r)
b = open(os.path.join(W, "short.nrrd"), "rb").read()
open(os.path.join(W, "short.nrrd"), "wb").write(b[:-20])
# an NRRD record with a NaN
r.data[1, 2, 3] = np.nan
brtest.write_nrrd(os.path.join(W, "nan.nrrd"), r)
# garbage
open(os.path.join(W, "garbage.nrrd"), "wb").write(b"hello, this is not a volume\n" * 20)
