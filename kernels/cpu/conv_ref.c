/* conv_ref.c - direct convolution, the plain reference (k = 1 or 3, stride 1,
 * zero padding k/2 of the activated input).  Double accumulation. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* the activated plane c of image i, zero padded by p on every side:
 * (h + 2p) x (w + 2p) */
static void act_plane(float *dst, const float *x, int h, int w, int p, const struct cpu_pre *pre, int c)
{
	int wp = w + 2 * p;
	float s = cpu_pre_s(pre, c), b = cpu_pre_b(pre, c);

	memset(dst, 0, (size_t)(h + 2 * p) * wp * sizeof(float));
	for (int yy = 0; yy < h; yy++)
		for (int xx = 0; xx < w; xx++)
			dst[(size_t)(yy + p) * wp + xx + p] = cpu_preact1(x[(size_t)yy * w + xx], s, b, pre->relu);
}

/* y: (N,K,H,W)  x: (N,C,H,W)  w: (K,C,k,k)  b: (K) or NULL */
int cpu_conv_ref_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c,
			 int kk, int h, int wd, int k, const struct cpu_pre *pre)
{
	size_t hw = (size_t)h * wd;
	int p = k / 2, wp = wd + 2 * p, hp = h + 2 * p, fail = 0;

#pragma omp parallel num_threads(ctx->nthreads)
	{
		double *acc = malloc(hw * sizeof(double));
		float *a = malloc((size_t)hp * wp * sizeof(float));
		if (acc == NULL || a == NULL) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp for schedule(dynamic, 1)
		for (long t = 0; t < (long)n * kk; t++) {
			int i = (int)(t / kk), o = (int)(t % kk);
			if (acc == NULL || a == NULL)
				continue;
			for (size_t q = 0; q < hw; q++)
				acc[q] = b != NULL ? b[o] : 0.0;
			for (int ci = 0; ci < c; ci++) {
				act_plane(a, x + ((size_t)i * c + ci) * hw, h, wd, p, pre, ci);
				for (int dy = 0; dy < k; dy++)
					for (int dx = 0; dx < k; dx++) {
						double wv = w[(((size_t)o * c + ci) * k + dy) * k + dx];
						for (int yy = 0; yy < h; yy++) {
							const float *ar = a + (size_t)(yy + dy) * wp + dx;
							double *ac = acc + (size_t)yy * wd;
							for (int xx = 0; xx < wd; xx++)
								ac[xx] += wv * ar[xx];
						}
					}
			}
			float *yp = y + ((size_t)i * kk + o) * hw;
			for (size_t q = 0; q < hw; q++)
				yp[q] = (float)acc[q];
		}
		free(acc);
		free(a);
	}
	return fail ? br_ctx_fail(ctx, "conv2d_forward: out of memory") : 0;
}

/* da: (N,C,H,W) or NULL  dw: (K,C,k,k) or NULL  db: (K) or NULL  dy: (N,K,H,W) */
int cpu_conv_ref_backward(br_ctx *ctx, float *da, float *dw, float *db, const float *dy, const float *x,
			  const float *w, int n, int c, int kk, int h, int wd, int k, const struct cpu_pre *pre,
			  int accum)
{
	size_t hw = (size_t)h * wd;
	int p = k / 2, wp = wd + 2 * p, hp = h + 2 * p, fail = 0;

	if (db != NULL)
		for (int o = 0; o < kk; o++) {
			double s = 0.0;
			for (int i = 0; i < n; i++) {
				const float *g = dy + ((size_t)i * kk + o) * hw;
				for (size_t q = 0; q < hw; q++)
					s += g[q];
			}
			db[o] += (float)s;
		}
#pragma omp parallel num_threads(ctx->nthreads)
	{
		/* da[i,ci] = sum_o correlation of the zero-padded dy with the flipped kernel */
		double *acc = malloc(hw * sizeof(double));
		float *g = malloc((size_t)hp * wp * sizeof(float));
		float *a = malloc((size_t)hp * wp * sizeof(float));
		if (acc == NULL || g == NULL || a == NULL) {
#pragma omp atomic write
			fail = 1;
		}
		if (da != NULL) {
#pragma omp for schedule(dynamic, 1)
			for (long t = 0; t < (long)n * c; t++) {
				int i = (int)(t / c), ci = (int)(t % c);
				if (acc == NULL || g == NULL)
					continue;
				memset(acc, 0, hw * sizeof(double));
				for (int o = 0; o < kk; o++) {
					const float *gp = dy + ((size_t)i * kk + o) * hw;
					memset(g, 0, (size_t)hp * wp * sizeof(float));
					for (int yy = 0; yy < h; yy++)
						memcpy(g + (size_t)(yy + p) * wp + p, gp + (size_t)yy * wd, wd * sizeof(float));
					for (int dy_ = 0; dy_ < k; dy_++)
						for (int dx = 0; dx < k; dx++) {
							/* a[y][x] gets g[y - dy_ + p][x - dx + p] * w[dy_][dx] */
							double wv = w[(((size_t)o * c + ci) * k + dy_) * k + dx];
							for (int yy = 0; yy < h; yy++) {
								const float *gr = g + (size_t)(yy - dy_ + 2 * p) * wp + 2 * p - dx;
								double *ac = acc + (size_t)yy * wd;
								for (int xx = 0; xx < wd; xx++)
									ac[xx] += wv * gr[xx];
							}
						}
				}
				float *dp = da + ((size_t)i * c + ci) * hw;
				for (size_t q = 0; q < hw; q++)
					dp[q] = accum ? dp[q] + (float)acc[q] : (float)acc[q];
			}
		}
		if (dw != NULL) {
#pragma omp for schedule(dynamic, 1)
			for (long t = 0; t < (long)kk * c; t++) {
				int o = (int)(t / c), ci = (int)(t % c);
				double s[9] = { 0 };
				if (a == NULL)
					continue;
				for (int i = 0; i < n; i++) {
					const float *gp = dy + ((size_t)i * kk + o) * hw;
					act_plane(a, x + ((size_t)i * c + ci) * hw, h, wd, p, pre, ci);
					for (int dy_ = 0; dy_ < k; dy_++)
						for (int dx = 0; dx < k; dx++)
							for (int yy = 0; yy < h; yy++) {
								const float *ar = a + (size_t)(yy + dy_) * wp + dx;
								const float *gr = gp + (size_t)yy * wd;
								double r = 0.0;
								for (int xx = 0; xx < wd; xx++)
									r += (double)gr[xx] * ar[xx];
								s[dy_ * k + dx] += r;
							}
				}
				for (int q = 0; q < k * k; q++)
					dw[((size_t)o * c + ci) * k * k + q] += (float)s[q];
			}
		}
		free(acc);
		free(g);
		free(a);
	}
	return fail ? br_ctx_fail(ctx, "conv2d_backward: out of memory") : 0;
}
