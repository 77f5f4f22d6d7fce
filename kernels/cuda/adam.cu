/*
 * adam.cu - one Adam step (PyTorch's form, no weight decay) over a flat
 * float32 parameter array, with the CPU backend's arithmetic.
 */
#include <math.h>

#include "common.cuh"

__global__ void k_adam(float *d_p, const float *d_g, float *d_m, float *d_v, long long n, float b1, float b2, float a1,
		       float a2, float step, float sbc2, float eps)
/* d_p, d_g, d_m, d_v: (n) */
{
	CU_GRID_LOOP(i, n)
	{
		const float gi = d_g[i];
		const float mi = b1 * d_m[i] + a1 * gi;
		const float vi = b2 * d_v[i] + a2 * gi * gi;
		d_m[i] = mi;
		d_v[i] = vi;
		d_p[i] -= step * (mi / (sqrtf(vi) / sbc2 + eps));
	}
}

int cu_adam_step(br_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
		 float eps, int t)
{
	double bc1, bc2;

	if (n == 0)
		return 0;
	bc1 = 1.0 - pow((double)b1, (double)t);
	bc2 = 1.0 - pow((double)b2, (double)t);
	k_adam<<<cu_blocks((long long)n, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(
		p, g, m, v, (long long)n, b1, b2, (float)(1.0 - (double)b1), (float)(1.0 - (double)b2),
		(float)((double)lr / bc1), (float)sqrt(bc2), eps);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}
