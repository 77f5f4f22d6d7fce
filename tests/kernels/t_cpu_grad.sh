#!/bin/sh
# t_cpu_grad.sh - finite-difference checks of every backward of the CPU
# kernels, on every CPU path: automatic, direct reference, fast (forced even
# for tiny shapes), the opt-in AVX-512 code (AVX2 where the CPU lacks it),
# the portable vector code, one thread.
# Env: BUILDDIR (absolute; programs in $BUILDDIR/tests/kernels), TMPDIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
prog="${BUILDDIR:?BUILDDIR not set}/tests/kernels/t_grad"
. "$here/tap.sh"
[ -x "$prog" ] || { echo "not ok 1 - $prog not built"; echo "1..1"; exit 1; }
tap_run "$prog" 2
tap_run env BR_CPU_REFERENCE=1 "$prog" 2
tap_run env BR_CPU_REFERENCE=0 "$prog" 2
tap_run env BR_CPU_REFERENCE=0 BR_CPU_SIMD=avx512 "$prog" 2
tap_run env BR_CPU_REFERENCE=0 BR_CPU_SIMD=generic "$prog" 2
tap_run env BR_CPU_REFERENCE=0 "$prog" 1
tap_end
