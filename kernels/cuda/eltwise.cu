/*
 * eltwise.cu - relu backward, add, accumulate: one pass each over NHWC
 * tensors, 16-byte vectors where the pointers allow.
 */
#include "common.cuh"

/* ---- dx (+)= da * (x > 0) ----------------------------------------------------------------- */

template <class T> struct relu_bwd_op {
	T *dx;          /* (n) */
	const T *da, *x; /* (n) */
	int accum;
	template <int V> __device__ void apply(long long iv) const
	{
		float g[V], xv[V], o[V];
		cu_vec_io<V>::ld(da, iv, g);
		cu_vec_io<V>::ld(x, iv, xv);
		if (accum)
			cu_vec_io<V>::ld(dx, iv, o);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float d = xv[u] > 0.0f ? g[u] : 0.0f;
			o[u] = accum ? o[u] + d : d;
		}
		cu_vec_io<V>::st(dx, iv, o);
	}
};

template <class T> static int relu_bwd_t(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	relu_bwd_op<T> op = {static_cast<T *>(dx->data), static_cast<const T *>(da->data),
			     static_cast<const T *>(x->data), accum};
	const void *ptrs[3] = {dx->data, da->data, x->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(x), 0, ptrs, 3, cu_stream(ctx)));
	return 0;
}

int cu_relu_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	if (cu_p(ctx)->bf16)
		return relu_bwd_t<bf16>(ctx, dx, da, x, accum);
	return relu_bwd_t<float>(ctx, dx, da, x, accum);
}

/* ---- y = a + b (y may alias a or b); y += x ------------------------------------------------------ */

template <class T> struct add_op {
	T *y;           /* (n) */
	const T *a, *b; /* (n) */
	template <int V> __device__ void apply(long long iv) const
	{
		float u[V], v[V];
		cu_vec_io<V>::ld(a, iv, u);
		cu_vec_io<V>::ld(b, iv, v);
#pragma unroll
		for (int k = 0; k < V; k++)
			u[k] += v[k];
		cu_vec_io<V>::st(y, iv, u);
	}
};

template <class T> static int add_t(br_ctx *ctx, void *y, const void *a, const void *b, long long n)
{
	add_op<T> op = {static_cast<T *>(y), static_cast<const T *>(a), static_cast<const T *>(b)};
	const void *ptrs[3] = {y, a, b};
	CU_CHECK(ctx, cu_launch_map<T>(op, n, 0, ptrs, 3, cu_stream(ctx)));
	return 0;
}

int cu_add(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	if (cu_p(ctx)->bf16)
		return add_t<bf16>(ctx, y->data, a->data, b->data, cu_numel(y));
	return add_t<float>(ctx, y->data, a->data, b->data, cu_numel(y));
}

int cu_acc(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	if (cu_p(ctx)->bf16)
		return add_t<bf16>(ctx, y->data, y->data, x->data, cu_numel(y));
	return add_t<float>(ctx, y->data, y->data, x->data, cu_numel(y));
}
