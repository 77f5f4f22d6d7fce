/*
 * gate.cu - attention gate out = y * sigmoid(g), g one channel broadcast
 * over the channels of y (NHWC: one value per pixel).
 */
#include "common.cuh"

template <class T> struct gate_fwd_op {
	T *out;     /* (P,C) */
	const T *y; /* (P,C) */
	const T *g; /* (P) */
	int C;
	template <int V> __device__ void apply(long long iv) const
	{
		float v[V];
		const float s = cu_sigmoid(cu_ld(g, (iv * V) / C)); /* C % V == 0: one pixel per vector */
		cu_vec_io<V>::ld(y, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			v[u] *= s;
		cu_vec_io<V>::st(out, iv, v);
	}
};

template <class T> static int gate_fwd_t(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g)
{
	gate_fwd_op<T> op = {static_cast<T *>(out->data), static_cast<const T *>(y->data),
			     static_cast<const T *>(g->data), y->c};
	const void *ptrs[2] = {out->data, y->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(y), y->c, ptrs, 2, cu_stream(ctx)));
	return 0;
}

int cu_gate_forward(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g)
{
	if (cu_p(ctx)->bf16)
		return gate_fwd_t<bf16>(ctx, out, y, g);
	return gate_fwd_t<float>(ctx, out, y, g);
}

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_gate_bwd(T *d_dy, T *d_dg, const T *d_dout, const T *d_y, const T *d_g, long long P, int C, int accum)
/* d_dy: (P,C) or NULL  d_dg: (P) or NULL  d_dout, d_y: (P,C)  d_g: (P); one warp per pixel */
{
	const int lane = threadIdx.x & 31;
	const long long nw = ((long long)gridDim.x * blockDim.x) >> 5;
	for (long long p = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; p < P; p += nw) {
		const float s = cu_sigmoid(cu_ld(d_g, p));
		float acc = 0.0f;
		for (int c = lane; c < C; c += 32) {
			const long long i = p * C + c;
			const float go = cu_ld(d_dout, i);
			acc += go * cu_ld(d_y, i);
			if (d_dy != NULL)
				cu_st(d_dy, i, accum ? cu_ld(d_dy, i) + go * s : go * s);
		}
#pragma unroll
		for (int o = 16; o > 0; o >>= 1)
			acc += __shfl_xor_sync(0xffffffffu, acc, o);
		if (lane == 0 && d_dg != NULL)
			cu_st(d_dg, p, acc * s * (1.0f - s));
	}
}

template <class T>
static cudaError_t launch_gate_bwd(T *d_dy, T *d_dg, const T *d_dout, const T *d_y, const T *d_g, long long P, int C,
				   int accum, cudaStream_t st)
{
	k_gate_bwd<T><<<cu_blocks(P * 32, CU_THREADS), CU_THREADS, 0, st>>>(d_dy, d_dg, d_dout, d_y, d_g, P, C, accum);
	return cudaGetLastError();
}

int cu_gate_backward(br_ctx *ctx, br_tensor *dy, br_tensor *dg, const br_tensor *dout, const br_tensor *y,
		     const br_tensor *g, int accum)
{
	const long long P = (long long)y->n * y->h * y->w;

	if (dy == NULL && dg == NULL)
		return 0;
	if (cu_p(ctx)->bf16)
		CU_CHECK(ctx, launch_gate_bwd(dy != NULL ? static_cast<bf16 *>(dy->data) : NULL,
					      dg != NULL ? static_cast<bf16 *>(dg->data) : NULL,
					      static_cast<const bf16 *>(dout->data), static_cast<const bf16 *>(y->data),
					      static_cast<const bf16 *>(g->data), P, y->c, accum, cu_stream(ctx)));
	else
		CU_CHECK(ctx, launch_gate_bwd(dy != NULL ? static_cast<float *>(dy->data) : NULL,
					      dg != NULL ? static_cast<float *>(dg->data) : NULL,
					      static_cast<const float *>(dout->data), static_cast<const float *>(y->data),
					      static_cast<const float *>(g->data), P, y->c, accum, cu_stream(ctx)));
	return 0;
}
