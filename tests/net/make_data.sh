#!/bin/sh
# Small preprocessed cases for the network tests: DIR/cN.nrrd (image) and
# DIR/cN.seg.nrrd (labels), 48 x 48 x 24, from generated BraTS-like cases.
# usage: make_data.sh DIR NCASES
set -e
d=$1 n=$2
mkdir -p "$d/raw"
"$PYTHON" -c "
import sys; sys.path.insert(0, '$TOP/tests/pylib'); import brtest
for i in range($n): brtest.make_case('$d/raw', 'c%d' % i, shape=(64, 64, 24), seed=100 + i)
"
i=0
while [ $i -lt "$n" ]; do
	brats-crop -q --size 48x48 "$d/raw/c$i" | brats-norm -q >"$d/c$i.nrrd"
	brats-crop -q --seg --size 48x48 "$d/raw/c$i" >"$d/c$i.seg.nrrd"
	i=$((i + 1))
done
