#!/bin/sh
# t_cpu_torch.sh - every CPU kernel, forward and backward, against PyTorch
# (float64), including the network's real convolution shapes at small batch.
# Fails (does not skip) when PyTorch is missing.
# Env: BUILDDIR (absolute), PYTHON (default /usr/bin/python3), TMPDIR.
. "$TOP/tests/lib.sh"
prog=$BUILDDIR/tests/kernels/test_torch_dump
[ -x "$prog" ] || { t_notok "$prog not built"; finish; }
t_program "$prog" "$TMPDIR/dump.bin" 2
[ -s "$TMPDIR/dump.bin" ] && t_program "$PYTHON" "$TOP/tests/kernels/t_torch.py" "$TMPDIR/dump.bin"
finish
