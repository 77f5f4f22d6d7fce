/* upsample.c - bilinear up-sampling by an integer factor, half-pixel centres
 * (PyTorch interpolate(mode="bilinear", align_corners=False)). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* source index and weight of output coordinate d of a factor-s axis of n inputs */
static void coord(int d, int s, int n, int *i0, int *i1, float *l1)
{
	float src = ((float)d + 0.5f) * (1.0f / (float)s) - 0.5f;
	int i;

	if (src < 0.0f)
		src = 0.0f;
	i = (int)src;
	if (i > n - 1)
		i = n - 1;
	*i0 = i;
	*i1 = i < n - 1 ? i + 1 : i;
	*l1 = src - (float)i;
}

/* y: (N,C,H*s,W*s)  x: (N,C,H,W) */
int cpu_upsample_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, int s)
{
	size_t planes;
	int h, w, ho, wo;

	h = x->h;
	w = x->w;
	ho = h * s;
	wo = w * s;
	planes = (size_t)x->n * x->c;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * ho * wo, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *xp = cpu_f(x) + p * h * w;
		float *yp = cpu_f(y) + p * ho * wo;
		for (int i = 0; i < ho; i++) {
			int y0, y1;
			float ly;
			coord(i, s, h, &y0, &y1, &ly);
			const float *r0 = xp + (size_t)y0 * w, *r1 = xp + (size_t)y1 * w;
			for (int j = 0; j < wo; j++) {
				int x0, x1;
				float lx;
				coord(j, s, w, &x0, &x1, &lx);
				float a = (1.0f - lx) * r0[x0] + lx * r0[x1];
				float b = (1.0f - lx) * r1[x0] + lx * r1[x1];
				yp[(size_t)i * wo + j] = (1.0f - ly) * a + ly * b;
			}
		}
	}
	return 0;
}

/* dx: (N,C,H,W)  dy: (N,C,H*s,W*s) */
int cpu_upsample_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, int s, int accum)
{
	size_t planes;
	int h, w, ho, wo;

	h = dx->h;
	w = dx->w;
	ho = h * s;
	wo = w * s;
	planes = (size_t)dx->n * dx->c;
	/* each plane sums its own contributions in a fixed order */
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * ho * wo, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *gp = cpu_f(dy) + p * ho * wo;
		float *dp = cpu_f(dx) + p * h * w;
		if (!accum)
			memset(dp, 0, (size_t)h * w * sizeof(float));
		for (int i = 0; i < ho; i++) {
			int y0, y1;
			float ly;
			coord(i, s, h, &y0, &y1, &ly);
			float *r0 = dp + (size_t)y0 * w, *r1 = dp + (size_t)y1 * w;
			for (int j = 0; j < wo; j++) {
				int x0, x1;
				float lx;
				coord(j, s, w, &x0, &x1, &lx);
				float g = gp[(size_t)i * wo + j];
				float a = (1.0f - ly) * g, b = ly * g;
				r0[x0] += (1.0f - lx) * a;
				r0[x1] += lx * a;
				r1[x0] += (1.0f - lx) * b;
				r1[x1] += lx * b;
			}
		}
	}
	return 0;
}
