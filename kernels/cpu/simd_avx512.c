/*
 * simd_avx512.c - an AVX-512 GEMM micro-kernel for the Winograd and 1x1
 * products, 8 x 32 (16 accumulators of 16 lanes); everything else is the
 * AVX2 code.  Opt-in (BR_CPU_SIMD=avx512): on Zen 4, whose 512-bit
 * operations are double pumped, it measured no faster than the AVX2 4 x 24
 * kernel (the peak is the same; half the operand traffic per multiply-add
 * bought nothing measurable), so the default stays AVX2.  Kept for CPUs
 * with two 512-bit FMA units, where it should be worth measuring again.
 */
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "cpu.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define MR 8
#define NR 32

static AVX512 void gemm(int kc, const float *A, const float *B, size_t ldb, float *C, size_t ldc, int add)
{
	__m512 c[MR][2];

	for (int i = 0; i < MR; i++) {
		c[i][0] = add ? _mm512_loadu_ps(C + (size_t)i * ldc) : _mm512_setzero_ps();
		c[i][1] = add ? _mm512_loadu_ps(C + (size_t)i * ldc + 16) : _mm512_setzero_ps();
	}
	for (int p = 0; p < kc; p++) {
		__m512 b0 = _mm512_loadu_ps(B), b1 = _mm512_loadu_ps(B + 16);
#pragma GCC unroll 8
		for (int i = 0; i < MR; i++) {
			__m512 a = _mm512_set1_ps(A[i]);
			c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
			c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
		}
		A += MR;
		B += ldb;
	}
	for (int i = 0; i < MR; i++) {
		_mm512_storeu_ps(C + (size_t)i * ldc, c[i][0]);
		_mm512_storeu_ps(C + (size_t)i * ldc + 16, c[i][1]);
	}
}

const struct cpu_simd cpu_simd_avx512 = {
	.name = "avx512",
	.mr = MR,
	.nr = NR,
	.gemm = gemm,
	.wino_in = cpu_avx2_wino_in,
	.wino_out = cpu_avx2_wino_out,
	.wino_filter8 = cpu_avx2_wino_filter8,
	.pre_copy = cpu_avx2_pre_copy,
	.gemm_rows = cpu_avx2_gemm_rows,
	.pack_cols16 = cpu_avx2_pack_cols16,
};
