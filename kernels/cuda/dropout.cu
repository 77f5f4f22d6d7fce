/*
 * dropout.cu - inverted dropout on flat float32 arrays.  The mask is
 * br_dropout_uniform(seed, i) >= p, the same arithmetic as kernels.h's
 * static inline function (copied here for the device, bit for bit).
 */
#include "common.cuh"

__device__ __forceinline__ float dropout_uniform(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z = z ^ (z >> 31);
	return (float)(z >> 40) * (1.0f / 16777216.0f);
}

__global__ void k_dropout(float *d_y, const float *d_x, long long n, float p, float scale, uint64_t seed)
/* d_y, d_x: (n) */
{
	CU_GRID_LOOP(i, n)
	d_y[i] = dropout_uniform(seed, (uint64_t)i) >= p ? d_x[i] * scale : 0.0f;
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
