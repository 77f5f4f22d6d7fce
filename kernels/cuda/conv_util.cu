/*
 * conv_util.cu - pieces shared by the convolutions: weight layout changes,
 * bias add and bias gradient, the fused pre-activation pass.
 */
#include <stdlib.h>

#include "common.cuh"

int cu_use_cudnn(int C, int K)
{
	static int off = -1;

	if (off < 0) {
		const char *s = getenv("BR_CUDA_NO_CUDNN");
		off = s != NULL && atoi(s) != 0;
	}
	return !off && C % 8 == 0 && K % 8 == 0;
}

__global__ void k_red_add_flat(float *d_out, const double *d_part, int splits, int L, int NS)
/* d_out: (L, NS) added  d_part: (1, splits, L, NS) */
{
	const long long n = (long long)L * NS;
	CU_WARP_LOOP(o, n)
	{
		const double t = cu_red_sum(d_part, 0, splits, L, NS, (int)(o / NS), (int)(o % NS));
		if (CU_LANE0)
			d_out[o] += (float)t;
	}
}

int cu_red_add_flat(br_ctx *ctx, float *out, const double *d_part, int splits, int L, int NS)
{
	k_red_add_flat<<<cu_warp_blocks((long long)L * NS), CU_THREADS, 0, cu_stream(ctx)>>>(out, d_part, splits,
												    L, NS);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

/* ---- weights (K,C,R,S) float32 -> (K,R,S,C) tensor type --------------------------------- */

template <class T> __global__ void k_weights_krsc(T *d_wk, const float *d_w, int K, int C, int RS)
/* d_wk: (K,RS,C)  d_w: (K,C,RS) */
{
	const long long n = (long long)K * C * RS;
	CU_GRID_LOOP(o, n)
	{
		int c = (int)(o % C);
		int rs = (int)((o / C) % RS);
		int k = (int)(o / ((long long)C * RS));
		cu_st(d_wk, o, d_w[((long long)k * C + c) * RS + rs]);
	}
}

template <class T> static cudaError_t launch_weights_krsc(T *d_wk, const float *d_w, int K, int C, int RS, cudaStream_t st)
{
	long long n = (long long)K * C * RS;
	k_weights_krsc<T><<<cu_blocks(n, CU_THREADS), CU_THREADS, 0, st>>>(d_wk, d_w, K, C, RS);
	return cudaGetLastError();
}

int cu_weights_krsc(br_ctx *ctx, void *d_wk, const float *w, int K, int C, int RS)
{
	cudaStream_t st = cu_stream(ctx);

	if (cu_p(ctx)->bf16)
		CU_CHECK(ctx, launch_weights_krsc(static_cast<bf16 *>(d_wk), w, K, C, RS, st));
	else
		CU_CHECK(ctx, launch_weights_krsc(static_cast<float *>(d_wk), w, K, C, RS, st));
	return 0;
}

/* ---- dw (K,C,R,S) float32 += (K,R,S,C) tensor type ----------------------------------------- */

template <class T> __global__ void k_weights_add_kcrs(float *d_dw, const T *d_dwk, int K, int C, int RS)
/* d_dw: (K,C,RS)  d_dwk: (K,RS,C) */
{
	const long long n = (long long)K * C * RS;
	CU_GRID_LOOP(o, n)
	{
		int rs = (int)(o % RS);
		int c = (int)((o / RS) % C);
		int k = (int)(o / ((long long)C * RS));
		d_dw[o] += cu_ld(d_dwk, ((long long)k * RS + rs) * C + c);
	}
}

template <class T>
static cudaError_t launch_weights_add_kcrs(float *d_dw, const T *d_dwk, int K, int C, int RS, cudaStream_t st)
{
	long long n = (long long)K * C * RS;
	k_weights_add_kcrs<T><<<cu_blocks(n, CU_THREADS), CU_THREADS, 0, st>>>(d_dw, d_dwk, K, C, RS);
	return cudaGetLastError();
}

int cu_weights_add_kcrs(br_ctx *ctx, float *dw, const void *d_dwk, int K, int C, int RS)
{
	cudaStream_t st = cu_stream(ctx);

	if (cu_p(ctx)->bf16)
		CU_CHECK(ctx, launch_weights_add_kcrs(dw, static_cast<const bf16 *>(d_dwk), K, C, RS, st));
	else
		CU_CHECK(ctx, launch_weights_add_kcrs(dw, static_cast<const float *>(d_dwk), K, C, RS, st));
	return 0;
}

/* ---- y += b[k] --------------------------------------------------------------------------- */

template <class T> struct bias_add_op {
	T *y; /* (P,K) */
	const float *b; /* (K) */
	int K;
	template <int V> __device__ void apply(long long iv) const
	{
		float v[V];
		int k0 = (int)((iv * V) % K);
		cu_vec_io<V>::ld(y, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			v[u] += b[k0 + u];
		cu_vec_io<V>::st(y, iv, v);
	}
};

template <class T> static int bias_add_t(br_ctx *ctx, T *y, const float *b, long long P, int K)
{
	bias_add_op<T> op = {y, b, K};
	const void *ptrs[1] = {y};
	CU_CHECK(ctx, cu_launch_map<T>(op, P * K, K, ptrs, 1, cu_stream(ctx)));
	return 0;
}

int cu_bias_add(br_ctx *ctx, void *y, const float *b, long long P, int K)
{
	if (cu_p(ctx)->bf16)
		return bias_add_t(ctx, static_cast<bf16 *>(y), b, P, K);
	return bias_add_t(ctx, static_cast<float *>(y), b, P, K);
}

/* ---- db[k] += sum over pixels of dy[p,k] ----------------------------------------------------- */

template <class T, int V> struct bias_grad_f {
	const T *dy; /* (P,K) */
	int K;
	__device__ void operator()(int, long long p, int k0, double *acc) const
	{
		float v[V];
		cu_vec_io<V>::ld(dy, (p * K + k0) / V, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			acc[u] += v[u];
	}
};

__global__ void k_bias_grad_fin(float *d_db, const double *d_part, int splits, int K)
/* d_db: (K) added  d_part: (1, splits, K, 1) */
{
	CU_WARP_LOOP(k, K)
	{
		const double t = cu_red_sum(d_part, 0, splits, K, 1, (int)k, 0);
		if (CU_LANE0)
			d_db[k] += (float)t;
	}
}

template <class T> static int bias_grad_t(br_ctx *ctx, float *db, const T *dy, long long P, int K)
{
	cudaStream_t st = cu_stream(ctx);
	const void *ptrs[1] = {dy};
	const int V = cu_red_vec<T>(K, ptrs, 1);
	cu_red_geom g = cu_red_plan(P, K, 1, V);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 1));

	if (d_part == NULL)
		return -1;
	if (V > 1)
		CU_CHECK(ctx, (cu_launch_reduce<1, cu_vmax<T>::v>(d_part, g, bias_grad_f<T, cu_vmax<T>::v>{dy, K}, st)));
	else
		CU_CHECK(ctx, (cu_launch_reduce<1, 1>(d_part, g, bias_grad_f<T, 1>{dy, K}, st)));
	k_bias_grad_fin<<<cu_warp_blocks(K), CU_THREADS, 0, st>>>(db, d_part, g.splits, K);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_bias_grad(br_ctx *ctx, float *db, const void *dy, long long P, int K)
{
	if (cu_p(ctx)->bf16)
		return bias_grad_t(ctx, db, static_cast<const bf16 *>(dy), P, K);
	return bias_grad_t(ctx, db, static_cast<const float *>(dy), P, K);
}

/* ---- a = relu(x*scale+shift) ----------------------------------------------------------------- */

template <class T> struct preact_op {
	T *a;        /* (P,C) */
	const T *x;  /* (P,C) */
	const float *scale, *shift; /* (C) or NULL */
	int relu, C;
	template <int V> __device__ void apply(long long iv) const
	{
		float v[V];
		int c0 = (int)((iv * V) % C);
		cu_vec_io<V>::ld(x, iv, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			v[u] = cu_pre(v[u], c0 + u, scale, shift, relu);
		cu_vec_io<V>::st(a, iv, v);
	}
};

template <class T> static int preact_t(br_ctx *ctx, T *a, const T *x, const br_preact *pre, long long P, int C)
{
	preact_op<T> op = {a, x, pre->scale, pre->shift, pre->relu, C};
	const void *ptrs[2] = {a, x};
	CU_CHECK(ctx, cu_launch_map<T>(op, P * C, C, ptrs, 2, cu_stream(ctx)));
	return 0;
}

int cu_preact_apply(br_ctx *ctx, void *d_a, const void *x, const br_preact *pre, long long P, int C)
{
	if (cu_p(ctx)->bf16)
		return preact_t(ctx, static_cast<bf16 *>(d_a), static_cast<const bf16 *>(x), pre, P, C);
	return preact_t(ctx, static_cast<float *>(d_a), static_cast<const float *>(x), pre, P, C);
}
