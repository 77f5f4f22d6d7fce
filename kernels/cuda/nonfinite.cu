/*
 * nonfinite.cu - count the NaN and Inf values of a flat float32 array; the
 * count comes back to the host (one of the backend's two waits).
 */
#include "common.cuh"

struct nonfinite_f {
	const float *x; /* (n) */
	__device__ void operator()(int, long long p, int, double *acc) const { acc[0] += isfinite(x[p]) ? 0.0 : 1.0; }
};

__global__ void k_nonfinite_fin(unsigned long long *d_count, const double *d_part, int splits)
/* d_count: (1)  d_part: (1, splits, 1, 1) */
{
	if (blockIdx.x == 0 && threadIdx.x < 32) { /* one warp */
		const double t = cu_red_sum(d_part, 0, splits, 1, 1, 0, 0);
		if (CU_LANE0)
			d_count[0] = (unsigned long long)t;
	}
}

int cu_count_nonfinite(br_ctx *ctx, size_t *count, const float *x, size_t n)
{
	struct cu_priv *P = cu_p(ctx);
	cudaStream_t st = P->stream;
	cu_red_geom g;
	double *d_part;
	unsigned long long *d_count;

	*count = 0;
	if (n == 0)
		return 0;
	g = cu_red_plan((long long)n, 1, 1);
	d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 1));
	d_count = (unsigned long long *)cu_slot_get(ctx, SLOT_COEF, sizeof *d_count);
	if (d_part == NULL || d_count == NULL)
		return -1;
	nonfinite_f f = {x};
	CU_CHECK(ctx, cu_launch_reduce<1>(d_part, g, f, st));
	k_nonfinite_fin<<<1, 32, 0, st>>>(d_count, d_part, g.splits);
	CU_CHECK(ctx, cudaGetLastError());
	CU_CHECK(ctx, cudaMemcpyAsync(P->h_count, d_count, sizeof *d_count, cudaMemcpyDeviceToHost, st));
	CU_CHECK(ctx, cudaStreamSynchronize(st));
	*count = (size_t)P->h_count[0];
	return 0;
}
