/* maxpool.c - 2x2 max pooling, stride 2, and its backward (first maximum in
 * row-major order of the window takes the gradient). */
#include "cpu.h"

/* y: (N,C,H/2,W/2)  x: (N,C,H,W) */
int cpu_maxpool2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	size_t planes;
	int h, w, ho, wo;

	h = x->h;
	w = x->w;
	ho = h / 2;
	wo = w / 2;
	planes = (size_t)x->n * x->c;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * h * w, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *xp = cpu_f(x) + p * h * w;
		float *yp = cpu_f(y) + p * ho * wo;
		for (int i = 0; i < ho; i++) {
			const float *r0 = xp + (size_t)(2 * i) * w, *r1 = r0 + w;
#pragma omp simd
			for (int j = 0; j < wo; j++) {
				float a = r0[2 * j] > r0[2 * j + 1] ? r0[2 * j] : r0[2 * j + 1];
				float b = r1[2 * j] > r1[2 * j + 1] ? r1[2 * j] : r1[2 * j + 1];
				yp[(size_t)i * wo + j] = a > b ? a : b;
			}
		}
	}
	return 0;
}

/* dx: (N,C,H,W)  dy: (N,C,H/2,W/2)  x: (N,C,H,W) */
int cpu_maxpool2_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum)
{
	size_t planes;
	int h, w, ho, wo;

	h = x->h;
	w = x->w;
	ho = h / 2;
	wo = w / 2;
	planes = (size_t)x->n * x->c;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * h * w, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *xp = cpu_f(x) + p * h * w;
		const float *gp = cpu_f(dy) + p * ho * wo;
		float *dp = cpu_f(dx) + p * h * w;
		for (int i = 0; i < ho; i++) {
			const float *r0 = xp + (size_t)(2 * i) * w, *r1 = r0 + w;
			float *d0 = dp + (size_t)(2 * i) * w, *d1 = d0 + w;
			const float *gr = gp + (size_t)i * wo;
			/* branch-free: the first maximum in row-major order takes g */
			if (accum) {
#pragma omp simd
				for (int j = 0; j < wo; j++) {
					float v0 = r0[2 * j], v1 = r0[2 * j + 1], v2 = r1[2 * j], v3 = r1[2 * j + 1], g = gr[j];
					int c1 = v1 > v0;
					float b1 = c1 ? v1 : v0;
					int c2 = v2 > b1;
					float b2 = c2 ? v2 : b1;
					int c3 = v3 > b2;
					int m = c3 ? 3 : c2 ? 2 : c1;
					d0[2 * j] += m == 0 ? g : 0.0f;
					d0[2 * j + 1] += m == 1 ? g : 0.0f;
					d1[2 * j] += m == 2 ? g : 0.0f;
					d1[2 * j + 1] += m == 3 ? g : 0.0f;
				}
			} else {
#pragma omp simd
				for (int j = 0; j < wo; j++) {
					float v0 = r0[2 * j], v1 = r0[2 * j + 1], v2 = r1[2 * j], v3 = r1[2 * j + 1], g = gr[j];
					int c1 = v1 > v0;
					float b1 = c1 ? v1 : v0;
					int c2 = v2 > b1;
					float b2 = c2 ? v2 : b1;
					int c3 = v3 > b2;
					int m = c3 ? 3 : c2 ? 2 : c1;
					d0[2 * j] = m == 0 ? g : 0.0f;
					d0[2 * j + 1] = m == 1 ? g : 0.0f;
					d1[2 * j] = m == 2 ? g : 0.0f;
					d1[2 * j + 1] = m == 3 ? g : 0.0f;
				}
			}
		}
	}
	return 0;
}
