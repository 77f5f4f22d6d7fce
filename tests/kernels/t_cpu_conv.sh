#!/bin/sh
# t_cpu_conv.sh - fast convolutions against the direct reference, each
# vector code of this CPU and the portable one, bit-identical run to run;
# with 2, 1 and 3 threads.
# Env: BUILDDIR (absolute), TMPDIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
prog="${BUILDDIR:?BUILDDIR not set}/tests/kernels/t_conv"
. "$here/tap.sh"
[ -x "$prog" ] || { echo "not ok 1 - $prog not built"; echo "1..1"; exit 1; }
for nt in 2 1 3; do
	tap_run "$prog" "$nt"
done
tap_end
