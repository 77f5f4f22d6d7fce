/*
 * scale.cu - squeeze-and-excitation rescaling out = x * s[n,c] and its
 * backward (dx elementwise, fused into the reduction that gives ds).
 */
#include "common.cuh"

template <class T> struct scale_fwd_op {
	T *out;         /* (N,HW,C) */
	const T *x;     /* (N,HW,C) */
	const float *s; /* (N,C) */
	long long HW;
	int C;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c0 = (int)(o % C);
		const long long n = o / (HW * C);
		float v[V];
		cu_vec_io<V>::ld(x, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			v[u] *= s[n * C + c0 + u];
		cu_vec_io<V>::st(out, iv, v);
	}
};

template <class T> static int scale_fwd_t(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s)
{
	scale_fwd_op<T> op = {static_cast<T *>(out->data), static_cast<const T *>(x->data), s,
			      (long long)x->h * x->w, x->c};
	const void *ptrs[2] = {out->data, x->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(x), x->c, ptrs, 2, cu_stream(ctx)));
	return 0;
}

int cu_scale_forward(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s)
{
	if (cu_p(ctx)->bf16)
		return scale_fwd_t<bf16>(ctx, out, x, s);
	return scale_fwd_t<float>(ctx, out, x, s);
}

/* ds[n,c] = sum_hw dout*x; dx (+)= dout*s written on the way (each element once) */
template <class T, int V> struct scale_bwd_f {
	T *dx;             /* (N,HW,C) or NULL */
	const T *dout, *x; /* (N,HW,C) */
	const float *s;    /* (N,C) */
	long long HW;
	int C, accum;
	__device__ void operator()(int n, long long p, int c0, double *acc) const
	{
		const long long iv = (((long long)n * HW + p) * C + c0) / V;
		float g[V], xv[V], d[V];
		cu_vec_io<V>::ld(dout, iv, g);
		cu_vec_io<V>::ld(x, iv, xv);
#pragma unroll
		for (int u = 0; u < V; u++)
			acc[u] += (double)(g[u] * xv[u]);
		if (dx != NULL) {
			if (accum)
				cu_vec_io<V>::ld(dx, iv, d);
#pragma unroll
			for (int u = 0; u < V; u++) {
				const float e = g[u] * s[(long long)n * C + c0 + u];
				d[u] = accum ? d[u] + e : e;
			}
			cu_vec_io<V>::st(dx, iv, d);
		}
	}
};

__global__ void k_scale_bwd_fin(float *d_ds, const double *d_part, int N, int C, int splits)
/* d_ds: (N,C) written  d_part: (N, splits, C, 1) */
{
	const long long total = (long long)N * C;
	CU_WARP_LOOP(i, total)
	{
		const double t = cu_red_sum(d_part, (int)(i / C), splits, C, 1, (int)(i % C), 0);
		if (CU_LANE0)
			d_ds[i] = (float)t;
	}
}

template <class T> struct scale_dx_op {
	T *dx;            /* (N,HW,C) */
	const T *dout;    /* (N,HW,C) */
	const float *s;   /* (N,C) */
	long long HW;
	int C, accum;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c0 = (int)(o % C);
		const long long n = o / (HW * C);
		float g[V], v[V];
		cu_vec_io<V>::ld(dout, iv, g);
		if (accum)
			cu_vec_io<V>::ld(dx, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float d = g[u] * s[n * C + c0 + u];
			v[u] = accum ? v[u] + d : d;
		}
		cu_vec_io<V>::st(dx, iv, v);
	}
};

template <class T>
static int scale_bwd_t(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x, const float *s,
		       int accum)
{
	cudaStream_t st = cu_stream(ctx);
	const long long HW = (long long)x->h * x->w;
	const int N = x->n, C = x->c;

	if (ds == NULL) {
		scale_dx_op<T> op = {static_cast<T *>(dx->data), static_cast<const T *>(dout->data), s, HW, C, accum};
		const void *ptrs[2] = {dx->data, dout->data};
		CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(x), C, ptrs, 2, st));
		return 0;
	}
	T *d_dx = dx != NULL ? static_cast<T *>(dx->data) : NULL;
	const T *d_dout = static_cast<const T *>(dout->data), *d_x = static_cast<const T *>(x->data);
	const void *ptrs[3] = {d_dx, d_dout, d_x};
	const int V = cu_red_vec<T>(C, ptrs, 3);
	cu_red_geom g = cu_red_plan(HW, C, N, V);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 1));
	if (d_part == NULL)
		return -1;
	if (V > 1)
		CU_CHECK(ctx, (cu_launch_reduce<1, cu_vmax<T>::v>(
				      d_part, g, scale_bwd_f<T, cu_vmax<T>::v>{d_dx, d_dout, d_x, s, HW, C, accum}, st)));
	else
		CU_CHECK(ctx, (cu_launch_reduce<1, 1>(d_part, g, scale_bwd_f<T, 1>{d_dx, d_dout, d_x, s, HW, C, accum}, st)));
	k_scale_bwd_fin<<<cu_warp_blocks((long long)N * C), CU_THREADS, 0, st>>>(ds, d_part, N, C, g.splits);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_scale_backward(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x, const float *s,
		      int accum)
{
	if (dx == NULL && ds == NULL)
		return 0;
	if (x->n > 65535) /* the grid's z dimension */
		return br_ctx_fail(ctx, "scale_backward: batch %d too large", x->n);
	if (cu_p(ctx)->bf16)
		return scale_bwd_t<bf16>(ctx, dx, ds, dout, x, s, accum);
	return scale_bwd_t<float>(ctx, dx, ds, dout, x, s, accum);
}
