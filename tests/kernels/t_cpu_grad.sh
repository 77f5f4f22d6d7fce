#!/bin/sh
# t_cpu_grad.sh - finite-difference checks of every backward of the CPU
# kernels, on every CPU path: automatic, direct reference, fast (forced even
# for tiny shapes), the opt-in AVX-512 code (AVX2 where the CPU lacks it),
# the portable vector code, one thread.
# Env: BUILDDIR (absolute; programs in $BUILDDIR/tests/kernels), TMPDIR.
. "$TOP/tests/lib.sh"
prog=$BUILDDIR/tests/kernels/test_grad
[ -x "$prog" ] || { t_notok "$prog not built"; finish; }
t_program "$prog" 2
t_program env BR_CPU_REFERENCE=1 "$prog" 2
t_program env BR_CPU_REFERENCE=0 "$prog" 2
t_program env BR_CPU_REFERENCE=0 BR_CPU_SIMD=avx512 "$prog" 2
t_program env BR_CPU_REFERENCE=0 BR_CPU_SIMD=generic "$prog" 2
t_program env BR_CPU_REFERENCE=0 "$prog" 1
finish
