/* avgpool.c - global average pooling (the squeeze of SE) and its backward. */
#include "cpu.h"

/* z: flat (N,C)  x: (N,C,H,W) */
int cpu_avgpool_forward(br_ctx *ctx, float *z, const br_tensor *x)
{
	size_t planes, hw;

	planes = (size_t)x->n * x->c;
	hw = (size_t)x->h * x->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * hw, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++)
		z[p] = (float)(cpu_sum(cpu_f(x) + p * hw, hw) / (double)hw);
	return 0;
}

/* dx: (N,C,H,W)  dz: flat (N,C) */
int cpu_avgpool_backward(br_ctx *ctx, br_tensor *dx, const float *dz, int accum)
{
	size_t planes, hw;

	planes = (size_t)dx->n * dx->c;
	hw = (size_t)dx->h * dx->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, planes * hw, 1 << 15)) schedule(static)
	for (size_t p = 0; p < planes; p++) {
		float g = (float)((double)dz[p] / (double)hw);
		float *d = cpu_f(dx) + p * hw;
		if (accum) {
#pragma omp simd
			for (size_t i = 0; i < hw; i++)
				d[i] += g;
		} else {
#pragma omp simd
			for (size_t i = 0; i < hw; i++)
				d[i] = g;
		}
	}
	return 0;
}
