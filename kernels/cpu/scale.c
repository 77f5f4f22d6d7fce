/* scale.c - channel scaling out = x * s[n,c] (the excitation of SE). */
#include "cpu.h"

/* out, x: (N,C,H,W)  s: flat (N,C); out may alias x */
int cpu_scale_forward(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s)
{
	size_t planes, hw;

	planes = (size_t)x->n * x->c;
	hw = (size_t)x->h * x->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * hw, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *a = cpu_f(x) + p * hw;
		float *o = cpu_f(out) + p * hw, v = s[p];
#pragma omp simd
		for (size_t i = 0; i < hw; i++)
			o[i] = a[i] * v;
	}
	return 0;
}

/* dx, dout, x: (N,C,H,W)  ds, s: flat (N,C)
 * dx (+)= dout * s;  ds = sum_hw dout * x (written) */
int cpu_scale_backward(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x,
		       const float *s, int accum)
{
	size_t planes, hw;

	planes = (size_t)x->n * x->c;
	hw = (size_t)x->h * x->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * hw, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		const float *g = cpu_f(dout) + p * hw;
		if (ds != NULL)
			ds[p] = (float)cpu_dot(g, cpu_f(x) + p * hw, hw);
		if (dx != NULL) {
			float *d = cpu_f(dx) + p * hw, v = s[p];
			if (accum) {
#pragma omp simd
				for (size_t i = 0; i < hw; i++)
					d[i] += g[i] * v;
			} else {
#pragma omp simd
				for (size_t i = 0; i < hw; i++)
					d[i] = g[i] * v;
			}
		}
	}
	return 0;
}
