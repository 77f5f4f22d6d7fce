/*
 * simd_generic.c - the portable versions of the vector primitives of the
 * fast convolutions (plain C; the compiler vectorises what it can for the
 * baseline instruction set).  Also the readable statement of what the AVX2
 * versions in simd_avx2.c compute.
 *
 * Winograd F(4x4, 3x3) (Lavin & Gray), correlation form:
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 */
#include <string.h>

#include "cpu.h"

/* B^T applied to 6 values */
static inline void bt6(float *t, const float *d)
{
	float a = d[4] - 4.0f * d[2], b = d[3] - 4.0f * d[1], c = d[4] - d[2], e = 2.0f * (d[3] - d[1]);
	t[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
	t[1] = a + b;
	t[2] = a - b;
	t[3] = c + e;
	t[4] = c - e;
	t[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

/* A^T applied to 6 values */
static inline void at6(float *o, const float *m)
{
	float p = m[1] + m[2], q = m[1] - m[2], r = m[3] + m[4], s = m[3] - m[4];
	o[0] = m[0] + p + r;
	o[1] = q + 2.0f * s;
	o[2] = p + 4.0f * r;
	o[3] = q + 8.0f * s + m[5];
}

static void wino_in(float *V, size_t vstride, const float *x, int h, int w, int ty, int q0, int nq, float s, float b,
		    int relu)
{
	for (int j = 0; j < nq; j++) {
		float d[6][6], t[6][6], col[6], tc[6];
		int q = q0 + j;
		for (int u = 0; u < 6; u++) {
			int yy = 4 * ty - 1 + u;
			for (int v = 0; v < 6; v++) {
				int xx = 4 * q - 1 + v;
				d[u][v] = yy >= 0 && yy < h && xx >= 0 && xx < w
						  ? cpu_preact1(x[(size_t)yy * w + xx], s, b, relu)
						  : 0.0f;
			}
		}
		/* rows: t = d B  (per row u: t[u][.] = B^T d[u][.]) */
		for (int u = 0; u < 6; u++)
			bt6(t[u], d[u]);
		/* columns: V = B^T t */
		for (int v = 0; v < 6; v++) {
			for (int u = 0; u < 6; u++)
				col[u] = t[u][v];
			bt6(tc, col);
			for (int u = 0; u < 6; u++)
				V[(size_t)(u * 6 + v) * vstride + j] = tc[u];
		}
	}
}

static void wino_out(float *y, const float *M, size_t mstride, int h, int w, int ty, int q0, int nq, float bias,
		     int acc)
{
	for (int j = 0; j < nq; j++) {
		float m[6][6], t[6][4], col[6], o[4];
		int q = q0 + j;
		for (int u = 0; u < 6; u++) {
			for (int v = 0; v < 6; v++)
				m[u][v] = M[(size_t)(u * 6 + v) * mstride + j];
			at6(t[u], m[u]);
		}
		for (int v = 0; v < 4; v++) {
			for (int u = 0; u < 6; u++)
				col[u] = t[u][v];
			at6(o, col);
			for (int r = 0; r < 4; r++) {
				int yy = 4 * ty + r, xx = 4 * q + v;
				if (yy < h && xx < w) {
					float *p = y + (size_t)yy * w + xx;
					*p = acc ? *p + o[r] + bias : o[r] + bias;
				}
			}
		}
	}
}

/* G applied to 3 values */
static inline void g3(float *u, float g0, float g1, float g2)
{
	u[0] = 0.25f * g0;
	u[1] = -(g0 + g1 + g2) * (1.0f / 6.0f);
	u[2] = -(g0 - g1 + g2) * (1.0f / 6.0f);
	u[3] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
	u[4] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
	u[5] = g2;
}

static void wino_filter8(float *u, const float *g)
{
	for (int l = 0; l < 8; l++) {
		float t[6][3], r[6];
		/* columns: t = G g */
		for (int j = 0; j < 3; j++) {
			g3(r, g[j * 8 + l], g[(3 + j) * 8 + l], g[(6 + j) * 8 + l]);
			for (int i = 0; i < 6; i++)
				t[i][j] = r[i];
		}
		/* rows: U = t G^T */
		for (int i = 0; i < 6; i++) {
			g3(r, t[i][0], t[i][1], t[i][2]);
			for (int j = 0; j < 6; j++)
				u[(i * 6 + j) * 8 + l] = r[j];
		}
	}
}

static void gemm(int kc, const float *A, const float *B, size_t ldb, float *C, size_t ldc, int add)
{
	float acc[WINO_MR][WINO_NR];

	for (int i = 0; i < WINO_MR; i++)
		for (int j = 0; j < WINO_NR; j++)
			acc[i][j] = add ? C[(size_t)i * ldc + j] : 0.0f;
	for (int p = 0; p < kc; p++)
		for (int i = 0; i < WINO_MR; i++) {
			float a = A[(size_t)p * WINO_MR + i];
			for (int j = 0; j < WINO_NR; j++)
				acc[i][j] += a * B[(size_t)p * ldb + j];
		}
	for (int i = 0; i < WINO_MR; i++)
		memcpy(C + (size_t)i * ldc, acc[i], sizeof acc[i]);
}

static void gemm_rows(int kc, const float *const *A, const float *B, size_t ldb, float *C, size_t ldc, int add)
{
	float acc[DW_MR][DW_NR];

	for (int i = 0; i < DW_MR; i++)
		for (int j = 0; j < DW_NR; j++)
			acc[i][j] = add ? C[(size_t)i * ldc + j] : 0.0f;
	for (int p = 0; p < kc; p++)
		for (int i = 0; i < DW_MR; i++) {
			float a = A[i][p];
			for (int j = 0; j < DW_NR; j++)
				acc[i][j] += a * B[(size_t)p * ldb + j];
		}
	for (int i = 0; i < DW_MR; i++)
		memcpy(C + (size_t)i * ldc, acc[i], sizeof acc[i]);
}

static void pack_cols16(float *dst, const float *const *src, size_t len)
{
	for (size_t q = 0; q < len; q++)
		for (int j = 0; j < 16; j++)
			dst[q * 16 + j] = src[j][q];
}

static void pre_copy(float *dst, const float *src, size_t n, float s, float b, int relu)
{
	if (relu)
		for (size_t i = 0; i < n; i++) {
			float a = src[i] * s + b;
			dst[i] = a > 0.0f ? a : 0.0f;
		}
	else
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i] * s + b;
}

const struct cpu_simd cpu_simd_generic = {
	.name = "generic",
	.mr = WINO_MR,
	.nr = WINO_NR,
	.wino_in = wino_in,
	.wino_out = wino_out,
	.wino_filter8 = wino_filter8,
	.gemm = gemm,
	.gemm_rows = gemm_rows,
	.pack_cols16 = pack_cols16,
	.pre_copy = pre_copy,
};
