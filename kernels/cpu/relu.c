/* relu.c - backward of a ReLU whose output was consumed: dx (+)= da * (x > 0). */
#include "cpu.h"

/* dx, da, x: (N,C,H,W) */
int cpu_relu_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	float *d;
	const float *g, *v;
	size_t n;

	d = cpu_f(dx);
	g = cpu_f(da);
	v = cpu_f(x);
	n = cpu_numel(dx);
	if (accum) {
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
		for (size_t i = 0; i < n; i++)
			{
			float gi = g[i];
			d[i] += v[i] > 0.0f ? gi : 0.0f;
		}
	} else {
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
		for (size_t i = 0; i < n; i++)
			{
			float gi = g[i];
			d[i] = v[i] > 0.0f ? gi : 0.0f;
		}
	}
	return 0;
}
