#!/bin/sh
# t_cpu_torch.sh - every CPU kernel, forward and backward, against PyTorch
# (float64), including the network's real convolution shapes at small batch.
# Fails (does not skip) when PyTorch is missing.
# Env: BUILDDIR (absolute), PYTHON (default /usr/bin/python3), TMPDIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
prog="${BUILDDIR:?BUILDDIR not set}/tests/kernels/t_torch_dump"
py="${PYTHON:-/usr/bin/python3}"
. "$here/tap.sh"
[ -x "$prog" ] || { echo "not ok 1 - $prog not built"; echo "1..1"; exit 1; }
tap_run "$prog" "$tap_tmp/dump.bin" 2
[ -s "$tap_tmp/dump.bin" ] && tap_run "$py" "$here/t_torch.py" "$tap_tmp/dump.bin"
tap_end
