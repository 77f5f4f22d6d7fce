#!/bin/sh
# t_cpu_conv.sh - fast convolutions against the direct reference, each
# vector code of this CPU and the portable one, bit-identical run to run;
# with 2, 1 and 3 threads.
# Env: BUILDDIR (absolute), TMPDIR.
. "$TOP/tests/lib.sh"
prog=$BUILDDIR/tests/kernels/test_conv
[ -x "$prog" ] || { t_notok "$prog not built"; finish; }
for nt in 2 1 3; do
	t_program "$prog" "$nt"
done
finish
