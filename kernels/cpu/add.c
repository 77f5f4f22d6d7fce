/* add.c - y = a + b, and gradient accumulation y += x. */
#include "cpu.h"

/* y, a, b: (N,C,H,W); y may alias a or b */
int cpu_add(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	float *o;
	const float *p, *q;
	size_t n;

	o = cpu_f(y);
	p = cpu_f(a);
	q = cpu_f(b);
	n = cpu_numel(y);
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++)
		o[i] = p[i] + q[i];
	return 0;
}

/* y, x: (N,C,H,W) */
int cpu_acc(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	float *o;
	const float *p;
	size_t n;

	o = cpu_f(y);
	p = cpu_f(x);
	n = cpu_numel(y);
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++)
		o[i] += p[i];
	return 0;
}
