#!/bin/sh
# t_cpu_split.sh - the split-batch ops (sync-BN, a loss over ranks) against
# the one-piece ops, with 2 threads and 1.
. "$TOP/tests/lib.sh"
prog=$BUILDDIR/tests/kernels/test_split
[ -x "$prog" ] || { t_notok "$prog not built"; finish; }
t_program "$prog" 2
t_program "$prog" 1
finish
