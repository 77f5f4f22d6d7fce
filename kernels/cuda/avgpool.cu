/*
 * avgpool.cu - global average pooling to flat (N,C) float32 and its backward.
 */
#include "common.cuh"

template <class T, int V> struct avgpool_f {
	const T *x; /* (N,HW,C) */
	long long HW;
	int C;
	__device__ void operator()(int n, long long p, int c0, double *acc) const
	{
		float v[V];
		cu_vec_io<V>::ld(x, (((long long)n * HW + p) * C + c0) / V, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			acc[u] += v[u];
	}
};

__global__ void k_avgpool_fin(float *d_z, const double *d_part, int N, int C, int splits, long long HW)
/* d_z: (N,C)  d_part: (N, splits, C, 1) */
{
	const long long total = (long long)N * C;
	CU_WARP_LOOP(i, total)
	{
		const int n = (int)(i / C), c = (int)(i % C);
		const double t = cu_red_sum(d_part, n, splits, C, 1, c, 0);
		if (CU_LANE0)
			d_z[i] = (float)(t / (double)HW);
	}
}

template <class T> static int avgpool_fwd_t(br_ctx *ctx, float *z, const br_tensor *x)
{
	cudaStream_t st = cu_stream(ctx);
	const long long HW = (long long)x->h * x->w;
	const T *d_x = static_cast<const T *>(x->data);
	const void *ptrs[1] = {d_x};
	const int V = cu_red_vec<T>(x->c, ptrs, 1);
	cu_red_geom g = cu_red_plan(HW, x->c, x->n, V);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 1));

	if (d_part == NULL)
		return -1;
	if (V > 1)
		CU_CHECK(ctx, (cu_launch_reduce<1, cu_vmax<T>::v>(d_part, g, avgpool_f<T, cu_vmax<T>::v>{d_x, HW, x->c}, st)));
	else
		CU_CHECK(ctx, (cu_launch_reduce<1, 1>(d_part, g, avgpool_f<T, 1>{d_x, HW, x->c}, st)));
	k_avgpool_fin<<<cu_warp_blocks((long long)x->n * x->c), CU_THREADS, 0, st>>>(z, d_part, x->n, x->c,
											     g.splits, HW);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_avgpool_forward(br_ctx *ctx, float *z, const br_tensor *x)
{
	if (x->n > 65535) /* the grid's z dimension */
		return br_ctx_fail(ctx, "avgpool_forward: batch %d too large", x->n);
	if (cu_p(ctx)->bf16)
		return avgpool_fwd_t<bf16>(ctx, z, x);
	return avgpool_fwd_t<float>(ctx, z, x);
}

template <class T> struct avgpool_bwd_op {
	T *dx;           /* (N,HW,C) */
	const float *dz; /* (N,C) */
	long long HW;
	int C, accum;
	float inv;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c0 = (int)(o % C);
		const long long n = o / (HW * C);
		float v[V];
		if (accum)
			cu_vec_io<V>::ld(dx, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float d = dz[n * C + c0 + u] * inv;
			v[u] = accum ? v[u] + d : d;
		}
		cu_vec_io<V>::st(dx, iv, v);
	}
};

template <class T> static int avgpool_bwd_t(br_ctx *ctx, br_tensor *dx, const float *dz, int accum)
{
	const long long HW = (long long)dx->h * dx->w;
	avgpool_bwd_op<T> op = {static_cast<T *>(dx->data), dz, HW, dx->c, accum, (float)(1.0 / (double)HW)};
	const void *ptrs[1] = {dx->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, cu_numel(dx), dx->c, ptrs, 1, cu_stream(ctx)));
	return 0;
}

int cu_avgpool_backward(br_ctx *ctx, br_tensor *dx, const float *dz, int accum)
{
	if (cu_p(ctx)->bf16)
		return avgpool_bwd_t<bf16>(ctx, dx, dz, accum);
	return avgpool_bwd_t<float>(ctx, dx, dz, accum);
}
