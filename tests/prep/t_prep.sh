#!/bin/sh
# crop, norm, flip, uncrop against NumPy/nibabel on generated BraTS-like cases
exec "$PYTHON" "$TOP/tests/prep/check_prep.py" "$TMPDIR"
