/*
 * dropout.cu - inverted dropout on flat float32 arrays.  The mask is
 * br_dropout_uniform(seed, i) >= p, kernels.h's function on rng.h's
 * generator, compiled for the device from the same source as the host's.
 */
#include "common.cuh"

__global__ void k_dropout(float *d_y, const float *d_x, long long n, float p, float scale, uint64_t seed)
/* d_y, d_x: (n) */
{
	CU_GRID_LOOP(i, n)
	d_y[i] = br_dropout_uniform(seed, (uint64_t)i) >= p ? d_x[i] * scale : 0.0f;
}

static int dropout_run(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	if (n == 0)
		return 0;
	if (p == 0.0f) {
		if (y != x)
			CU_CHECK(ctx, cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, cu_stream(ctx)));
		return 0;
	}
	k_dropout<<<cu_blocks((long long)n, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(y, x, (long long)n, p,
											   1.0f / (1.0f - p), seed);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_dropout_forward(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	return dropout_run(ctx, y, x, n, p, seed);
}

int cu_dropout_backward(br_ctx *ctx, float *dx, const float *dy, size_t n, float p, uint64_t seed)
{
	return dropout_run(ctx, dx, dy, n, p, seed);
}
