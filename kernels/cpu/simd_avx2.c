/*
 * simd_avx2.c - AVX2/FMA versions of the vector primitives of the fast
 * convolutions (simd_generic.c states what each computes).  Compiled for
 * the baseline like every file; the functions here carry the avx2,fma
 * target and run only where cpu.c found both at run time.
 *
 * The Winograd transforms work on 8 consecutive tiles of a tile row at
 * once: the 32 input values of a 6-row strip are loaded with the
 * pre-activation applied, deinterleaved by a 4x8 transpose (lane l, value
 * m = the m-th column of tile l), and transformed with the generic code's
 * operations (here with fused multiply-adds; the pre-activation itself is
 * never fused, so that the ReLU mask matches bn_relu_backward's).
 * GEMM micro-kernels: 4 x 24 (12 accumulators) broadcasting packed A and
 * loading rows of B, for the Winograd and 1x1 products; 6 x 16 with the 6
 * rows of A read in place, for the weight gradients.  In L1 both run at
 * about 100-110 GFLOP/s on one Zen 4 core (peak about 118).
 */
#pragma GCC target("avx2,fma")
#include <immintrin.h>
#include <string.h>

#include "cpu.h"

#define AVX2 __attribute__((target("avx2,fma")))

static inline __attribute__((always_inline)) AVX2 void bt6v(__m256 *t, const __m256 *d)
{
	const __m256 f4 = _mm256_set1_ps(4.0f), f5 = _mm256_set1_ps(5.0f), f2 = _mm256_set1_ps(2.0f);
	__m256 a = _mm256_fnmadd_ps(f4, d[2], d[4]);
	__m256 b = _mm256_fnmadd_ps(f4, d[1], d[3]);
	__m256 c = _mm256_sub_ps(d[4], d[2]);
	__m256 f = _mm256_sub_ps(d[3], d[1]);
	t[0] = _mm256_fmadd_ps(f4, d[0], _mm256_fnmadd_ps(f5, d[2], d[4]));
	t[1] = _mm256_add_ps(a, b);
	t[2] = _mm256_sub_ps(a, b);
	t[3] = _mm256_fmadd_ps(f2, f, c);
	t[4] = _mm256_fnmadd_ps(f2, f, c);
	t[5] = _mm256_fmadd_ps(f4, d[1], _mm256_fnmadd_ps(f5, d[3], d[5]));
}

static inline __attribute__((always_inline)) AVX2 void at6v(__m256 *o, const __m256 *m)
{
	__m256 p = _mm256_add_ps(m[1], m[2]), q = _mm256_sub_ps(m[1], m[2]);
	__m256 r = _mm256_add_ps(m[3], m[4]), s = _mm256_sub_ps(m[3], m[4]);
	o[0] = _mm256_add_ps(_mm256_add_ps(m[0], p), r);
	o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), s, q);
	o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), r, p);
	o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), s, q), m[5]);
}

static inline __attribute__((always_inline)) AVX2 __m256 prev(__m256 v, __m256 s, __m256 b, int relu)
{
	__m256 a = _mm256_add_ps(_mm256_mul_ps(v, s), b);
	return relu ? _mm256_max_ps(a, _mm256_setzero_ps()) : a;
}

/* 4x8 transpose: v0..v3 hold values 0..31; D[m] lane l = value 4l + m */
static inline __attribute__((always_inline)) AVX2 void deinterleave(__m256 *D, __m256 v0, __m256 v1, __m256 v2, __m256 v3)
{
	__m256 A = _mm256_permute2f128_ps(v0, v2, 0x20), B = _mm256_permute2f128_ps(v0, v2, 0x31);
	__m256 C = _mm256_permute2f128_ps(v1, v3, 0x20), E = _mm256_permute2f128_ps(v1, v3, 0x31);
	__m256 t0 = _mm256_unpacklo_ps(A, B), t1 = _mm256_unpackhi_ps(A, B);
	__m256 t2 = _mm256_unpacklo_ps(C, E), t3 = _mm256_unpackhi_ps(C, E);
	D[0] = _mm256_shuffle_ps(t0, t2, 0x44);
	D[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
	D[2] = _mm256_shuffle_ps(t1, t3, 0x44);
	D[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* the inverse: out[k] holds values 8k..8k+7 of value 4l + m = D[m] lane l */
static inline __attribute__((always_inline)) AVX2 void interleave(__m256 *out, const __m256 *D)
{
	__m256 t0 = _mm256_unpacklo_ps(D[0], D[1]), t1 = _mm256_unpackhi_ps(D[0], D[1]);
	__m256 t2 = _mm256_unpacklo_ps(D[2], D[3]), t3 = _mm256_unpackhi_ps(D[2], D[3]);
	__m256 A = _mm256_shuffle_ps(t0, t2, 0x44), B = _mm256_shuffle_ps(t0, t2, 0xEE);
	__m256 C = _mm256_shuffle_ps(t1, t3, 0x44), E = _mm256_shuffle_ps(t1, t3, 0xEE);
	out[0] = _mm256_permute2f128_ps(A, B, 0x20);
	out[1] = _mm256_permute2f128_ps(C, E, 0x20);
	out[2] = _mm256_permute2f128_ps(A, B, 0x31);
	out[3] = _mm256_permute2f128_ps(C, E, 0x31);
}

static inline __attribute__((always_inline)) AVX2 __m256i lane_mask(int nvalid)
{
	const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(nvalid), idx);
}

static inline __attribute__((always_inline)) AVX2 void wino_in_body(float *V, size_t vstride, const float *x, int h,
									int w, int ty, int q0, int nq, float s, float b,
									const int relu)
{
	const __m256 vs = _mm256_set1_ps(s), vb = _mm256_set1_ps(b);
	const __m256i rot = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);

	for (int g = 0; g < nq; g += 8) {
		__m256 t[6][6];
		int X = 4 * (q0 + g) - 1;
#pragma GCC unroll 6
		for (int u = 0; u < 6; u++) {
			int yy = 4 * ty - 1 + u;
			__m256 D[6];
			if (yy < 0 || yy >= h) {
				for (int j = 0; j < 6; j++)
					t[u][j] = _mm256_setzero_ps();
				continue;
			}
			const float *xr = x + (size_t)yy * w;
			/* the rows stream from memory: ask for the next group's part early */
			_mm_prefetch((const char *)(xr + X + 64), _MM_HINT_T0);
			_mm_prefetch((const char *)(xr + X + 80), _MM_HINT_T0);
			__m256 v[4];
			float e0, e1;
			if (X >= 0 && X + 34 <= w) {
#pragma GCC unroll 4
				for (int k = 0; k < 4; k++)
					v[k] = prev(_mm256_loadu_ps(xr + X + 8 * k), vs, vb, relu);
				e0 = cpu_preact1(xr[X + 32], s, b, relu);
				e1 = cpu_preact1(xr[X + 33], s, b, relu);
			} else {
				/* masked loads: columns outside 0 .. w-1 are zero after the pre-activation */
				const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), vw = _mm256_set1_epi32(w);
				for (int k = 0; k < 4; k++) {
					__m256i pos = _mm256_add_epi32(_mm256_set1_epi32(X + 8 * k), idx);
					__m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), pos),
									_mm256_cmpgt_epi32(vw, pos));
					__m256 a = prev(_mm256_maskload_ps(xr + X + 8 * k, m), vs, vb, relu);
					v[k] = _mm256_and_ps(a, _mm256_castsi256_ps(m));
				}
				e0 = X + 32 >= 0 && X + 32 < w ? cpu_preact1(xr[X + 32], s, b, relu) : 0.0f;
				e1 = X + 33 >= 0 && X + 33 < w ? cpu_preact1(xr[X + 33], s, b, relu) : 0.0f;
			}
			deinterleave(D, v[0], v[1], v[2], v[3]);
			D[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(D[0], rot), _mm256_set1_ps(e0), 0x80);
			D[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(D[1], rot), _mm256_set1_ps(e1), 0x80);
			bt6v(t[u], D);
		}
#pragma GCC unroll 6
		for (int j = 0; j < 6; j++) {
			__m256 col[6], o[6];
#pragma GCC unroll 6
			for (int u = 0; u < 6; u++)
				col[u] = t[u][j];
			bt6v(o, col);
#pragma GCC unroll 6
			for (int i = 0; i < 6; i++)
				_mm256_storeu_ps(V + (size_t)(i * 6 + j) * vstride + g, o[i]);
		}
	}
}

AVX2 void cpu_avx2_wino_in(float *V, size_t vstride, const float *x, int h, int w, int ty, int q0, int nq, float s,
			 float b, int relu)
{
	if (relu)
		wino_in_body(V, vstride, x, h, w, ty, q0, nq, s, b, 1);
	else
		wino_in_body(V, vstride, x, h, w, ty, q0, nq, s, b, 0);
}

AVX2 void cpu_avx2_wino_out(float *y, const float *M, size_t mstride, int h, int w, int ty, int q0, int nq, float bias,
			  int acc)
{
	const __m256 vb = _mm256_set1_ps(bias);

	for (int g = 0; g < nq; g += 8) {
		__m256 t[6][4];
		int X = 4 * (q0 + g), len = 4 * (nq - g);
		if (len > w - X)
			len = w - X;
		if (len > 32)
			len = 32;
#pragma GCC unroll 6
		for (int u = 0; u < 6; u++) {
			__m256 m[6];
#pragma GCC unroll 6
			for (int v = 0; v < 6; v++)
				m[v] = _mm256_loadu_ps(M + (size_t)(u * 6 + v) * mstride + g);
			at6v(t[u], m);
		}
		__m256 o[4][4]; /* o[c][r] */
#pragma GCC unroll 4
		for (int c = 0; c < 4; c++) {
			__m256 col[6];
#pragma GCC unroll 6
			for (int u = 0; u < 6; u++)
				col[u] = t[u][c];
			at6v(o[c], col);
		}
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++) {
			int yy = 4 * ty + r;
			__m256 D[4], out[4];
			if (yy >= h)
				break;
			for (int c = 0; c < 4; c++)
				D[c] = o[c][r];
			interleave(out, D);
			float *yr = y + (size_t)yy * w + X;
			if (len == 32) {
				for (int k = 0; k < 4; k++) {
					__m256 v = _mm256_add_ps(out[k], vb);
					if (acc)
						v = _mm256_add_ps(_mm256_loadu_ps(yr + 8 * k), v);
					_mm256_storeu_ps(yr + 8 * k, v);
				}
			} else {
				for (int k = 0; k < 4 && 8 * k < len; k++) {
					__m256i mk = lane_mask(len - 8 * k);
					__m256 v = _mm256_add_ps(out[k], vb);
					if (acc)
						v = _mm256_add_ps(_mm256_maskload_ps(yr + 8 * k, mk), v);
					_mm256_maskstore_ps(yr + 8 * k, mk, v);
				}
			}
		}
	}
}

static inline __attribute__((always_inline)) AVX2 void g3v(__m256 *u, __m256 g0, __m256 g1, __m256 g2)
{
	const __m256 q = _mm256_set1_ps(0.25f), s6 = _mm256_set1_ps(1.0f / 6.0f), s12 = _mm256_set1_ps(1.0f / 12.0f);
	const __m256 s24 = _mm256_set1_ps(1.0f / 24.0f), m1 = _mm256_set1_ps(-1.0f);
	u[0] = _mm256_mul_ps(q, g0);
	u[1] = _mm256_mul_ps(_mm256_mul_ps(m1, _mm256_add_ps(_mm256_add_ps(g0, g1), g2)), s6);
	u[2] = _mm256_mul_ps(_mm256_mul_ps(m1, _mm256_add_ps(_mm256_sub_ps(g0, g1), g2)), s6);
	u[3] = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(g0, s24), _mm256_mul_ps(g1, s12)), _mm256_mul_ps(g2, s6));
	u[4] = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(g0, s24), _mm256_mul_ps(g1, s12)), _mm256_mul_ps(g2, s6));
	u[5] = g2;
}

AVX2 void cpu_avx2_wino_filter8(float *u, const float *g)
{
	__m256 t[3][6], r[6];

	for (int j = 0; j < 3; j++)
		g3v(t[j], _mm256_loadu_ps(g + j * 8), _mm256_loadu_ps(g + (3 + j) * 8), _mm256_loadu_ps(g + (6 + j) * 8));
	for (int i = 0; i < 6; i++) {
		g3v(r, t[0][i], t[1][i], t[2][i]);
		for (int j = 0; j < 6; j++)
			_mm256_storeu_ps(u + (i * 6 + j) * 8, r[j]);
	}
}

static AVX2 void gemm(int kc, const float *A, const float *B, size_t ldb, float *C, size_t ldc, int add)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
	__m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;

	if (add) {
		c00 = _mm256_loadu_ps(C), c01 = _mm256_loadu_ps(C + 8), c02 = _mm256_loadu_ps(C + 16);
		c10 = _mm256_loadu_ps(C + ldc), c11 = _mm256_loadu_ps(C + ldc + 8), c12 = _mm256_loadu_ps(C + ldc + 16);
		c20 = _mm256_loadu_ps(C + 2 * ldc), c21 = _mm256_loadu_ps(C + 2 * ldc + 8);
		c22 = _mm256_loadu_ps(C + 2 * ldc + 16);
		c30 = _mm256_loadu_ps(C + 3 * ldc), c31 = _mm256_loadu_ps(C + 3 * ldc + 8);
		c32 = _mm256_loadu_ps(C + 3 * ldc + 16);
	}

	for (int p = 0; p < kc; p++) {
		__m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8), b2 = _mm256_loadu_ps(B + 16), a;
		a = _mm256_broadcast_ss(A);
		c00 = _mm256_fmadd_ps(a, b0, c00);
		c01 = _mm256_fmadd_ps(a, b1, c01);
		c02 = _mm256_fmadd_ps(a, b2, c02);
		a = _mm256_broadcast_ss(A + 1);
		c10 = _mm256_fmadd_ps(a, b0, c10);
		c11 = _mm256_fmadd_ps(a, b1, c11);
		c12 = _mm256_fmadd_ps(a, b2, c12);
		a = _mm256_broadcast_ss(A + 2);
		c20 = _mm256_fmadd_ps(a, b0, c20);
		c21 = _mm256_fmadd_ps(a, b1, c21);
		c22 = _mm256_fmadd_ps(a, b2, c22);
		a = _mm256_broadcast_ss(A + 3);
		c30 = _mm256_fmadd_ps(a, b0, c30);
		c31 = _mm256_fmadd_ps(a, b1, c31);
		c32 = _mm256_fmadd_ps(a, b2, c32);
		A += 4;
		B += ldb;
	}
	_mm256_storeu_ps(C, c00);
	_mm256_storeu_ps(C + 8, c01);
	_mm256_storeu_ps(C + 16, c02);
	C += ldc;
	_mm256_storeu_ps(C, c10);
	_mm256_storeu_ps(C + 8, c11);
	_mm256_storeu_ps(C + 16, c12);
	C += ldc;
	_mm256_storeu_ps(C, c20);
	_mm256_storeu_ps(C + 8, c21);
	_mm256_storeu_ps(C + 16, c22);
	C += ldc;
	_mm256_storeu_ps(C, c30);
	_mm256_storeu_ps(C + 8, c31);
	_mm256_storeu_ps(C + 16, c32);
}

/* 6 rows of A in place x 16 columns of packed B: 12 accumulators */
AVX2 void cpu_avx2_gemm_rows(int kc, const float *const *A, const float *B, size_t ldb, float *C, size_t ldc, int add)
{
	const float *a0 = A[0], *a1 = A[1], *a2 = A[2], *a3 = A[3], *a4 = A[4], *a5 = A[5];
	__m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;

	if (add) {
		c00 = _mm256_loadu_ps(C), c01 = _mm256_loadu_ps(C + 8);
		c10 = _mm256_loadu_ps(C + ldc), c11 = _mm256_loadu_ps(C + ldc + 8);
		c20 = _mm256_loadu_ps(C + 2 * ldc), c21 = _mm256_loadu_ps(C + 2 * ldc + 8);
		c30 = _mm256_loadu_ps(C + 3 * ldc), c31 = _mm256_loadu_ps(C + 3 * ldc + 8);
		c40 = _mm256_loadu_ps(C + 4 * ldc), c41 = _mm256_loadu_ps(C + 4 * ldc + 8);
		c50 = _mm256_loadu_ps(C + 5 * ldc), c51 = _mm256_loadu_ps(C + 5 * ldc + 8);
	} else {
		c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
	}
	for (int p = 0; p < kc; p++) {
		__m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8), a;
		a = _mm256_broadcast_ss(a0 + p);
		c00 = _mm256_fmadd_ps(a, b0, c00);
		c01 = _mm256_fmadd_ps(a, b1, c01);
		a = _mm256_broadcast_ss(a1 + p);
		c10 = _mm256_fmadd_ps(a, b0, c10);
		c11 = _mm256_fmadd_ps(a, b1, c11);
		a = _mm256_broadcast_ss(a2 + p);
		c20 = _mm256_fmadd_ps(a, b0, c20);
		c21 = _mm256_fmadd_ps(a, b1, c21);
		a = _mm256_broadcast_ss(a3 + p);
		c30 = _mm256_fmadd_ps(a, b0, c30);
		c31 = _mm256_fmadd_ps(a, b1, c31);
		a = _mm256_broadcast_ss(a4 + p);
		c40 = _mm256_fmadd_ps(a, b0, c40);
		c41 = _mm256_fmadd_ps(a, b1, c41);
		a = _mm256_broadcast_ss(a5 + p);
		c50 = _mm256_fmadd_ps(a, b0, c50);
		c51 = _mm256_fmadd_ps(a, b1, c51);
		B += ldb;
	}
	_mm256_storeu_ps(C, c00), _mm256_storeu_ps(C + 8, c01);
	_mm256_storeu_ps(C + ldc, c10), _mm256_storeu_ps(C + ldc + 8, c11);
	_mm256_storeu_ps(C + 2 * ldc, c20), _mm256_storeu_ps(C + 2 * ldc + 8, c21);
	_mm256_storeu_ps(C + 3 * ldc, c30), _mm256_storeu_ps(C + 3 * ldc + 8, c31);
	_mm256_storeu_ps(C + 4 * ldc, c40), _mm256_storeu_ps(C + 4 * ldc + 8, c41);
	_mm256_storeu_ps(C + 5 * ldc, c50), _mm256_storeu_ps(C + 5 * ldc + 8, c51);
}

AVX2 void cpu_avx2_pack_cols16(float *dst, const float *const *src, size_t len)
{
	size_t q = 0;

	for (; q + 8 <= len; q += 8)
		for (int j0 = 0; j0 < 16; j0 += 8) {
			__m256 r[8], t[8], u[8];
			for (int j = 0; j < 8; j++)
				r[j] = _mm256_loadu_ps(src[j0 + j] + q);
			for (int j = 0; j < 8; j += 2) {
				t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
				t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
			}
			for (int j = 0; j < 8; j += 4) {
				u[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
				u[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
				u[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
				u[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
			}
			for (int l = 0; l < 4; l++) {
				_mm256_storeu_ps(dst + (q + l) * 16 + j0, _mm256_permute2f128_ps(u[l], u[l + 4], 0x20));
				_mm256_storeu_ps(dst + (q + l + 4) * 16 + j0, _mm256_permute2f128_ps(u[l], u[l + 4], 0x31));
			}
		}
	for (; q < len; q++)
		for (int j = 0; j < 16; j++)
			dst[q * 16 + j] = src[j][q];
}

AVX2 void cpu_avx2_pre_copy(float *dst, const float *src, size_t n, float s, float b, int relu)
{
	const __m256 vs = _mm256_set1_ps(s), vb = _mm256_set1_ps(b);
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, prev(_mm256_loadu_ps(src + i), vs, vb, relu));
	for (; i < n; i++)
		dst[i] = cpu_preact1(src[i], s, b, relu);
}

const struct cpu_simd cpu_simd_avx2 = {
	.name = "avx2",
	.mr = WINO_MR,
	.nr = WINO_NR,
	.wino_in = cpu_avx2_wino_in,
	.wino_out = cpu_avx2_wino_out,
	.wino_filter8 = cpu_avx2_wino_filter8,
	.gemm = gemm,
	.gemm_rows = cpu_avx2_gemm_rows,
	.pack_cols16 = cpu_avx2_pack_cols16,
	.pre_copy = cpu_avx2_pre_copy,
};
