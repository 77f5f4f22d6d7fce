/*
 * linear.cu - fully connected layer on flat float32 arrays (the SE block:
 * N <= 64, I, O <= 256): plain kernels, one thread per output value, sums
 * in a fixed order.
 */
#include "common.cuh"

__global__ void k_linear_fwd(float *d_y, const float *d_x, const float *d_w, const float *d_b, int N, int I, int O)
/* d_y: (N,O)  d_x: (N,I)  d_w: (O,I)  d_b: (O) or NULL */
{
	const long long total = (long long)N * O;
	CU_GRID_LOOP(t, total)
	{
		const int n = (int)(t / O), o = (int)(t % O);
		const float *xr = d_x + (long long)n * I, *wr = d_w + (long long)o * I;
		float acc = d_b != NULL ? d_b[o] : 0.0f;
		for (int i = 0; i < I; i++)
			acc += xr[i] * wr[i];
		d_y[t] = acc;
	}
}

__global__ void k_linear_bwd_x(float *d_dx, const float *d_dy, const float *d_w, int N, int I, int O)
/* d_dx: (N,I) written  d_dy: (N,O)  d_w: (O,I) */
{
	const long long total = (long long)N * I;
	CU_GRID_LOOP(t, total)
	{
		const int n = (int)(t / I), i = (int)(t % I);
		float acc = 0.0f;
		for (int o = 0; o < O; o++)
			acc += d_dy[(long long)n * O + o] * d_w[(long long)o * I + i];
		d_dx[t] = acc;
	}
}

__global__ void k_linear_bwd_w(float *d_dw, float *d_db, const float *d_dy, const float *d_x, int N, int I, int O)
/* d_dw: (O,I) added or NULL  d_db: (O) added or NULL  d_dy: (N,O)  d_x: (N,I); column I is the bias */
{
	const long long total = (long long)O * (I + 1);
	CU_GRID_LOOP(t, total)
	{
		const int o = (int)(t / (I + 1)), i = (int)(t % (I + 1));
		float acc = 0.0f;
		if (i < I) {
			if (d_dw == NULL)
				continue;
			for (int n = 0; n < N; n++)
				acc += d_dy[(long long)n * O + o] * d_x[(long long)n * I + i];
			d_dw[(long long)o * I + i] += acc;
		} else {
			if (d_db == NULL)
				continue;
			for (int n = 0; n < N; n++)
				acc += d_dy[(long long)n * O + o];
			d_db[o] += acc;
		}
	}
}

int cu_linear_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
	k_linear_fwd<<<cu_blocks((long long)n * out, 128), 128, 0, cu_stream(ctx)>>>(y, x, w, b, n, in, out);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_linear_backward(br_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
		       int n, int in, int out)
{
	cudaStream_t st = cu_stream(ctx);

	if (dx != NULL) {
		k_linear_bwd_x<<<cu_blocks((long long)n * in, 128), 128, 0, st>>>(dx, dy, w, n, in, out);
		CU_CHECK(ctx, cudaGetLastError());
	}
	if (dw != NULL || db != NULL) {
		k_linear_bwd_w<<<cu_blocks((long long)out * (in + 1), 128), 128, 0, st>>>(dw, db, dy, x, n, in, out);
		CU_CHECK(ctx, cudaGetLastError());
	}
	return 0;
}
