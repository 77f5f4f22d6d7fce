/*
 * maxpool.cu - 2x2 max pooling, stride 2, NHWC.  The maximum is the first in
 * row-major window order (strict >), and the backward sends the gradient of
 * each window to that element only.
 */
#include "common.cuh"

/* index 0..3 of the first maximum of a 2x2 window, row-major */
__device__ __forceinline__ int mp_arg(float v0, float v1, float v2, float v3, float *m)
{
	int a = 0;
	float b = v0;
	if (v1 > b) {
		b = v1;
		a = 1;
	}
	if (v2 > b) {
		b = v2;
		a = 2;
	}
	if (v3 > b) {
		b = v3;
		a = 3;
	}
	*m = b;
	return a;
}

template <class T> struct maxpool_fwd_op {
	T *y;       /* (N,Ho,Wo,C) */
	const T *x; /* (N,2Ho,2Wo,C) */
	int Ho, Wo, C;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c = (int)(o % C);
		const long long q = o / C; /* output pixel */
		const int j = (int)(q % Wo), i = (int)((q / Wo) % Ho);
		const long long n = q / ((long long)Ho * Wo);
		const long long r0 = ((n * 2 * Ho + 2 * i) * 2 * Wo + 2 * j) * C + c, r1 = r0 + 2LL * Wo * C;
		float v[4][V], m[V];
		cu_vec_io<V>::ld(x, r0 / V, v[0]);
		cu_vec_io<V>::ld(x, (r0 + C) / V, v[1]);
		cu_vec_io<V>::ld(x, r1 / V, v[2]);
		cu_vec_io<V>::ld(x, (r1 + C) / V, v[3]);
#pragma unroll
		for (int u = 0; u < V; u++)
			(void)mp_arg(v[0][u], v[1][u], v[2][u], v[3][u], &m[u]);
		cu_vec_io<V>::st(y, iv, m);
	}
};

template <class T> struct maxpool_bwd_op {
	T *dx;       /* (N,2Ho,2Wo,C) */
	const T *dy; /* (N,Ho,Wo,C) */
	const T *x;  /* (N,2Ho,2Wo,C) */
	int Ho, Wo, C, accum;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c = (int)(o % C);
		const long long q = o / C;
		const int j = (int)(q % Wo), i = (int)((q / Wo) % Ho);
		const long long n = q / ((long long)Ho * Wo);
		const long long r0 = ((n * 2 * Ho + 2 * i) * 2 * Wo + 2 * j) * C + c, r1 = r0 + 2LL * Wo * C;
		const long long at[4] = {r0, r0 + C, r1, r1 + C};
		float v[4][V], g[V], d[4][V], m;
		int a[V];
#pragma unroll
		for (int k = 0; k < 4; k++)
			cu_vec_io<V>::ld(x, at[k] / V, v[k]);
		cu_vec_io<V>::ld(dy, iv, g);
#pragma unroll
		for (int u = 0; u < V; u++)
			a[u] = mp_arg(v[0][u], v[1][u], v[2][u], v[3][u], &m);
#pragma unroll
		for (int k = 0; k < 4; k++) {
			if (accum)
				cu_vec_io<V>::ld(dx, at[k] / V, d[k]);
#pragma unroll
			for (int u = 0; u < V; u++) {
				const float e = a[u] == k ? g[u] : 0.0f;
				d[k][u] = accum ? d[k][u] + e : e;
			}
			cu_vec_io<V>::st(dx, at[k] / V, d[k]);
		}
	}
};

template <class T> static int maxpool_fwd_t(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	maxpool_fwd_op<T> op = {static_cast<T *>(y->data), static_cast<const T *>(x->data), y->h, y->w, y->c};
	const void *ptrs[2] = {y->data, x->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(y), y->c, ptrs, 2, cu_stream(ctx)));
	return 0;
}

int cu_maxpool2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	if (cu_p(ctx)->bf16)
		return maxpool_fwd_t<bf16>(ctx, y, x);
	return maxpool_fwd_t<float>(ctx, y, x);
}

template <class T> static int maxpool_bwd_t(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum)
{
	maxpool_bwd_op<T> op = {static_cast<T *>(dx->data), static_cast<const T *>(dy->data),
				static_cast<const T *>(x->data), dy->h, dy->w, dy->c, accum};
	const void *ptrs[3] = {dx->data, dy->data, x->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(dy), dy->c, ptrs, 3, cu_stream(ctx)));
	return 0;
}

int cu_maxpool2_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum)
{
	if (cu_p(ctx)->bf16)
		return maxpool_bwd_t<bf16>(ctx, dx, dy, x, accum);
	return maxpool_bwd_t<float>(ctx, dx, dy, x, accum);
}
