#!/bin/sh
# ops_cpu.sh - op-level benchmark: every convolution of R2U-MTDS, forward,
# backward-data, backward-weights, CPU kernels against PyTorch's, same shapes,
# same threads, each repetition of ours right after torch's (in one process,
# through a shared build of kernels/), so that both see the same load.
# usage: bench/ops_cpu.sh [-t threads] [-r reps] [-b 32,8] [-f substring]
# Env: BUILDDIR (default build), PYTHON (default /usr/bin/python3), CC.
# bench/ops_cpu.c is the same benchmark as a plain C program (for profiling).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILDDIR:-$root/build}
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$build/bench"
${CC:-cc} -std=c11 -O2 -march=x86-64-v2 -mtune=generic -fopenmp -fPIC -shared -I"$root/kernels" \
	-o "$build/bench/libbrkernels.so" "$root/kernels/dispatch.c" "$root"/kernels/cpu/*.c -lm
# waiting threads sleep: CPU times then count work only
export OMP_WAIT_POLICY=passive
exec "$py" "$here/ops_torch.py" "$@" --lib "$build/bench/libbrkernels.so"
