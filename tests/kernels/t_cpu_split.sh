#!/bin/sh
# t_cpu_split.sh - the split-batch ops (sync-BN, a loss over ranks) against
# the one-piece ops, with 2 threads and 1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
prog="${BUILDDIR:?BUILDDIR not set}/tests/kernels/t_split"
. "$here/tap.sh"
[ -x "$prog" ] || { echo "not ok 1 - $prog not built"; echo "1..1"; exit 1; }
tap_run "$prog" 2
tap_run "$prog" 1
tap_end
