/* convt2x2.c - 2x2 transposed convolution, stride 2 (the decoder's up-sampling).
 * y[n,k,2i+a,2j+b] = b[k] + sum_c x[n,c,i,j] w[c,k,a,b]
 *
 * A GEMM of the 4K rows (k,a,b) by the pixels of x (conv1x1.c): the forward
 * scatters its rows into y, the backward-data gathers dy's four phases as
 * its input rows, the weight gradient is the 1x1 weight gradient of x
 * against the gathered dy (conv_dw.c).  BR_CPU_REFERENCE=1 runs the direct
 * loops below. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* direct reference: y (N,K,2H,2W)  x (N,C,H,W) */
static void ref_forward(float *y, const float *x, const float *w, const float *b, int n, int c, int kk, int h,
			int wd)
{
	for (int i = 0; i < n; i++)
		for (int o = 0; o < kk; o++)
			for (int r = 0; r < 2 * h; r++)
				for (int s = 0; s < 2 * wd; s++) {
					double acc = b != NULL ? b[o] : 0.0;
					for (int ci = 0; ci < c; ci++)
						acc += (double)x[(((size_t)i * c + ci) * h + r / 2) * wd + s / 2] *
						       w[(((size_t)ci * kk + o) * 2 + r % 2) * 2 + s % 2];
					y[(((size_t)i * kk + o) * 2 * h + r) * 2 * wd + s] = (float)acc;
				}
}

static void ref_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n,
			 int c, int kk, int h, int wd, int accum)
{
	size_t oh = 2 * (size_t)h, ow = 2 * (size_t)wd;

	if (dx != NULL)
		for (int i = 0; i < n; i++)
			for (int ci = 0; ci < c; ci++)
				for (int r = 0; r < h; r++)
					for (int s = 0; s < wd; s++) {
						double acc = 0.0;
						for (int o = 0; o < kk; o++)
							for (int ab = 0; ab < 4; ab++)
								acc += (double)dy[(((size_t)i * kk + o) * oh + 2 * r + ab / 2) * ow +
										  2 * s + ab % 2] *
								       w[((size_t)ci * kk + o) * 4 + ab];
						float *d = dx + (((size_t)i * c + ci) * h + r) * wd + s;
						*d = accum ? *d + (float)acc : (float)acc;
					}
	if (dw != NULL)
		for (int ci = 0; ci < c; ci++)
			for (int o = 0; o < kk; o++)
				for (int ab = 0; ab < 4; ab++) {
					double acc = 0.0;
					for (int i = 0; i < n; i++)
						for (int r = 0; r < h; r++)
							for (int s = 0; s < wd; s++)
								acc += (double)x[(((size_t)i * c + ci) * h + r) * wd + s] *
								       dy[(((size_t)i * kk + o) * oh + 2 * r + ab / 2) * ow + 2 * s +
									  ab % 2];
					dw[((size_t)ci * kk + o) * 4 + ab] += (float)acc;
				}
	if (db != NULL)
		for (int o = 0; o < kk; o++) {
			double acc = 0.0;
			for (int i = 0; i < n; i++)
				for (size_t q = 0; q < oh * ow; q++)
					acc += dy[((size_t)i * kk + o) * oh * ow + q];
			db[o] += (float)acc;
		}
}

/* y: (N,K,2H,2W)  x: (N,C,H,W)  w: (C,K,2,2)  b: (K) or NULL */
int cpu_convt2x2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b)
{
	static const struct cpu_pre none = { NULL, NULL, 0 };

	if (cpu_priv(ctx)->reference == 1) {
		ref_forward(cpu_f(y), cpu_f(x), w, b, x->n, x->c, y->c, x->h, x->w);
		return 0;
	}
	return cpu_conv1x1(ctx, cpu_f(y), cpu_f(x), w, b, x->n, x->c, 4 * y->c, x->h, x->w, &none, 1, 0,
			   CPU_GEMM_CONVT_FWD);
}

/* dx: (N,C,H,W) or NULL (written or added)  dw: (C,K,2,2) added or NULL
 * db: (K) added or NULL  dy: (N,K,2H,2W)  x: (N,C,H,W) */
int cpu_convt2x2_backward(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
			  const float *w, int accum)
{
	static const struct cpu_pre none = { NULL, NULL, 0 };
	int n, c, kk, h, wd;

	n = x->n;
	c = x->c;
	kk = dy->c;
	h = x->h;
	wd = x->w;
	if (cpu_priv(ctx)->reference == 1) {
		ref_backward(dx ? cpu_f(dx) : NULL, dw, db, cpu_f(dy), cpu_f(x), w, n, c, kk, h, wd, accum);
		return 0;
	}
	if (db != NULL) {
		size_t ohw = 4 * (size_t)h * wd;
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * kk * ohw, 1 << 15)) schedule(static)
		for (int o = 0; o < kk; o++) {
			double s = 0.0;
			for (int i = 0; i < n; i++)
				s += cpu_sum(cpu_f(dy) + ((size_t)i * kk + o) * ohw, ohw);
			db[o] += (float)s;
		}
	}
	/* dw[c][q] = sum_p x[c][p] g[q][p]: the 1x1 weight gradient with dy := x, x := gathered dy */
	if (dw != NULL && cpu_conv_dw(ctx, dw, NULL, cpu_f(x), cpu_f(dy), n, 4 * kk, c, h, wd, 1, &none,
				      CPU_GEMM_CONVT_BWD) < 0)
		return -1;
	if (dx == NULL)
		return 0;
	return cpu_conv1x1(ctx, cpu_f(dx), cpu_f(dy), w, NULL, n, 4 * kk, c, h, wd, &none, 0, accum,
			   CPU_GEMM_CONVT_BWD);
}
