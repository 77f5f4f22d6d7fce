"""The preprocessing of brats-crop | brats-norm in nibabel + NumPy, for the
benchmark: load the four modalities, check the grids, crop 144 x 176, min-max
normalise each channel, write the float32 record (raw) to stdout.
usage: prep_ref.py CASE_DIR"""
import os
import sys

import nibabel as nib
import numpy as np

d = sys.argv[1]
case = os.path.basename(os.path.normpath(d))
imgs = [nib.load(os.path.join(d, "%s_%s.nii.gz" % (case, m))) for m in ("t1", "t1ce", "t2", "flair")]
assert all(i.shape == imgs[0].shape and np.allclose(i.affine, imgs[0].affine) for i in imgs)
out = np.empty((4, 155, 176, 144), np.float32)
for c, im in enumerate(imgs):
    a = np.asarray(im.dataobj)[48:192, 32:208, :].astype(np.float64)
    lo, hi = a.min(), a.max()
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    out[c] = a.astype(np.float32).T
sys.stdout.buffer.write(out.tobytes())
