/*
 * concat.cu - concatenation on the channel axis (a first) and its backward.
 * NHWC: each output pixel is the Ca channels of a then the Cb of b.
 */
#include "common.cuh"

template <class T> struct concat_fwd_op {
	T *y;       /* (P, Ca+Cb) */
	const T *a; /* (P, Ca) */
	const T *b; /* (P, Cb) */
	int Ca, Cb;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int C = Ca + Cb, c = (int)(o % C);
		const long long p = o / C;
		float v[V];
		/* Ca and Cb are multiples of V when V > 1: a vector never straddles a and b */
		if (c < Ca)
			cu_vec_io<V>::ld(a, (p * Ca + c) / V, v);
		else
			cu_vec_io<V>::ld(b, (p * Cb + c - Ca) / V, v);
		cu_vec_io<V>::st(y, iv, v);
	}
};

template <class T> struct concat_bwd_op {
	T *da;       /* (P, Ca) or NULL */
	T *db;       /* (P, Cb) or NULL */
	const T *dy; /* (P, Ca+Cb) */
	int Ca, Cb, acc_a, acc_b;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int C = Ca + Cb, c = (int)(o % C);
		const long long p = o / C;
		T *dst = c < Ca ? da : db;
		const int accum = c < Ca ? acc_a : acc_b;
		const long long at = c < Ca ? (p * Ca + c) / V : (p * Cb + c - Ca) / V;
		float g[V], d[V];
		if (dst == NULL)
			return;
		cu_vec_io<V>::ld(dy, iv, g);
		if (accum) {
			cu_vec_io<V>::ld(dst, at, d);
#pragma unroll
			for (int u = 0; u < V; u++)
				g[u] += d[u];
		}
		cu_vec_io<V>::st(dst, at, g);
	}
};

/* the vector width divides the channel counts of both parts */
static int concat_inner(int Ca, int Cb, int V) { return (Ca % V == 0 && Cb % V == 0) ? 0 : 1; }

template <class T> static int concat_fwd_t(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	concat_fwd_op<T> op = {static_cast<T *>(y->data), static_cast<const T *>(a->data),
			       static_cast<const T *>(b->data), a->c, b->c};
	const void *ptrs[3] = {y->data, a->data, b->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(y), concat_inner(a->c, b->c, cu_vmax<T>::v), ptrs, 3,
				       cu_stream(ctx)));
	return 0;
}

int cu_concat_forward(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	if (cu_p(ctx)->bf16)
		return concat_fwd_t<bf16>(ctx, y, a, b);
	return concat_fwd_t<float>(ctx, y, a, b);
}

template <class T>
static int concat_bwd_t(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int Ca, int Cb, int acc_a,
			int acc_b)
{
	concat_bwd_op<T> op = {da != NULL ? static_cast<T *>(da->data) : NULL,
			       db != NULL ? static_cast<T *>(db->data) : NULL,
			       static_cast<const T *>(dy->data),
			       Ca,
			       Cb,
			       acc_a,
			       acc_b};
	const void *ptrs[3] = {dy->data, da != NULL ? da->data : NULL, db != NULL ? db->data : NULL};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(dy), concat_inner(Ca, Cb, cu_vmax<T>::v), ptrs, 3, cu_stream(ctx)));
	return 0;
}

int cu_concat_backward(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int accum_a, int accum_b)
{
	int Ca, Cb;

	if (da == NULL && db == NULL)
		return 0;
	/* with one side NULL its channel count is what remains of dy */
	Ca = da != NULL ? da->c : dy->c - db->c;
	Cb = db != NULL ? db->c : dy->c - da->c;
	if (cu_p(ctx)->bf16)
		return concat_bwd_t<bf16>(ctx, da, db, dy, Ca, Cb, accum_a, accum_b);
	return concat_bwd_t<float>(ctx, da, db, dy, Ca, Cb, accum_a, accum_b);
}
