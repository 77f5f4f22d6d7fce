"""Helpers for the post-processing tests and benchmarks (cc-filter,
brats-metrics): NRRD records as the tools write them, NIfTI through
nibabel, and random tumour-like label maps.

Arrays are indexed [x, y, z] (nibabel's order); on disk x runs fastest.
"""
import os
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))

from brtest import Record, nrrd_bytes  # noqa: E402  (one NRRD implementation for the tests)
from brtest import read_nrrd_stream as nrrd_read_stream  # noqa: E402
from brtest import write_nrrd_stream as nrrd_write  # noqa: E402


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
