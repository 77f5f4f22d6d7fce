/* dropout.c - inverted dropout with the counter-based mask of kernels.h. */
#include <string.h>

#include "cpu.h"

static int run(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	float scale;

	if (n == 0)
		return 0;
	if (p == 0.0f) {
		if (y != x)
			memmove(y, x, n * sizeof(float));
		return 0;
	}
	scale = 1.0f / (1.0f - p);
#pragma omp parallel for num_threads(cpu_nt(ctx, n, 1 << 14)) schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = br_dropout_uniform(seed, i) >= p ? x[i] * scale : 0.0f;
	return 0;
}

/* y, x: flat n */
int cpu_dropout_forward(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	return run(ctx, y, x, n, p, seed);
}

/* dx, dy: flat n (written) */
int cpu_dropout_backward(br_ctx *ctx, float *dx, const float *dy, size_t n, float p, uint64_t seed)
{
	return run(ctx, dx, dy, n, p, seed);
}
