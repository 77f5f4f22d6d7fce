/*
 * bn.cu - batch normalisation: training statistics with the folded affine,
 * the inference fold, and the backward of relu(bn(x)).
 *
 * Statistics: per-channel sums of (x - x0) and (x - x0)^2, x0 the channel's
 * value at the first pixel (a shift that removes most of the cancellation of
 * E[x^2] - E[x]^2), accumulated in double, reduced in a fixed order.
 */
#include "common.cuh"

/* The folded affine, computed as the CPU backend computes it (in double) so
 * that the relu mask recomputed by the backward equals the forward's. */
__device__ __forceinline__ void bn_fold(float gamma, float beta, float mean, float var, float eps, float *scale,
					float *shift)
{
	const double s = (double)gamma / sqrt((double)var + (double)eps);
	const float sf = (float)s;
	*scale = sf;
	*shift = (float)((double)beta - (double)mean * (double)sf);
}

/* ---- training statistics -------------------------------------------------------------------- */

template <class T, int V> struct bn_stat_f {
	const T *x; /* (P,C) */
	int C;
	__device__ void operator()(int, long long p, int c0, double *acc) const
	{
		float v[V], k[V];
		cu_vec_io<V>::ld(x, (p * C + c0) / V, v);
		cu_vec_io<V>::ld(x, c0 / V, k); /* the shift: pixel 0 */
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float d = v[u] - k[u];
			acc[u * 2] += d;
			acc[u * 2 + 1] += (double)d * d;
		}
	}
};

template <class T>
__global__ void k_bn_stats_fin(float *d_mean, float *d_var, float *d_scale, float *d_shift, float *d_rmean,
			       float *d_rvar, const double *d_part, const T *d_x, const float *d_gamma,
			       const float *d_beta, int splits, int C, long long M, float eps, float momentum)
/* d_mean, d_var, d_scale, d_shift, d_rmean, d_rvar: (C) or NULL (scale, shift together)  d_part: (1, splits, C, 2)
 * d_x: (P,C) for the shift x0 = x[0,c]  d_gamma, d_beta: (C) */
{
	CU_WARP_LOOP(ci, C)
	{
		const int c = (int)ci;
		const double s1 = cu_red_sum(d_part, 0, splits, C, 2, c, 0);
		const double s2 = cu_red_sum(d_part, 0, splits, C, 2, c, 1);
		if (!CU_LANE0)
			continue;
		const double m1 = s1 / (double)M;
		double var = s2 / (double)M - m1 * m1;
		if (var < 0.0)
			var = 0.0;
		const double mu = (double)cu_ld(d_x, c) + m1;
		const float mean = (float)mu, v = (float)var;
		if (d_mean != NULL)
			d_mean[c] = mean;
		if (d_var != NULL)
			d_var[c] = v;
		if (d_scale != NULL)
			bn_fold(d_gamma[c], d_beta[c], mean, v, eps, &d_scale[c], &d_shift[c]);
		if (d_rmean != NULL)
			d_rmean[c] = (float)((1.0 - momentum) * d_rmean[c] + (double)momentum * mu);
		if (d_rvar != NULL)
			d_rvar[c] = (float)((1.0 - momentum) * d_rvar[c] + (double)momentum * var * (double)M / (double)(M - 1));
	}
}

template <class T>
static int bn_stats_t(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
		      const br_tensor *x, const float *gamma, const float *beta, float eps, float momentum)
{
	cudaStream_t st = cu_stream(ctx);
	const int C = x->c;
	const long long M = (long long)x->n * x->h * x->w;
	const T *d_x = static_cast<const T *>(x->data);
	const void *ptrs[1] = {d_x};
	const int V = cu_red_vec<T>(C, ptrs, 1);
	cu_red_geom g = cu_red_plan(M, C, 1, V);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 2));

	if (d_part == NULL)
		return -1;
	if (V > 1)
		CU_CHECK(ctx, (cu_launch_reduce<2, cu_vmax<T>::v>(d_part, g, bn_stat_f<T, cu_vmax<T>::v>{d_x, C}, st)));
	else
		CU_CHECK(ctx, (cu_launch_reduce<2, 1>(d_part, g, bn_stat_f<T, 1>{d_x, C}, st)));
	k_bn_stats_fin<T><<<cu_warp_blocks(C), CU_THREADS, 0, st>>>(mean, var, scale, shift, rmean, rvar, d_part, d_x, gamma,
							    beta, g.splits, C, M, eps, momentum);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_bn_train_stats(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
		      const br_tensor *x, const float *gamma, const float *beta, float eps, float momentum)
{
	if (cu_p(ctx)->bf16)
		return bn_stats_t<bf16>(ctx, mean, var, scale, shift, rmean, rvar, x, gamma, beta, eps, momentum);
	return bn_stats_t<float>(ctx, mean, var, scale, shift, rmean, rvar, x, gamma, beta, eps, momentum);
}

/* ---- inference fold ----------------------------------------------------------------------------- */

__global__ void k_bn_infer_fold(float *d_scale, float *d_shift, const float *d_rmean, const float *d_rvar,
				const float *d_gamma, const float *d_beta, int C, float eps)
/* all (C) */
{
	const int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c < C)
		bn_fold(d_gamma[c], d_beta[c], d_rmean[c], d_rvar[c], eps, &d_scale[c], &d_shift[c]);
}

int cu_bn_infer_fold(br_ctx *ctx, float *scale, float *shift, const float *rmean, const float *rvar,
		     const float *gamma, const float *beta, int c, float eps)
{
	k_bn_infer_fold<<<(c + 127) / 128, 128, 0, cu_stream(ctx)>>>(scale, shift, rmean, rvar, gamma, beta, c, eps);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

/* ---- backward of a = relu(bn(x)) ------------------------------------------------------------------
 *
 * The relu mask from x*scale + shift > 0 (two roundings, scale and shift
 * folded exactly as bn_train_stats folds them), g = da * mask:
 *   dbeta += sum g,  dgamma += invstd * sum g*(x - mean),
 *   dx = k1*g + k2*(x - mean) + k3,  k1 = gamma*invstd,
 *   k2 = -k1 * invstd^2 * sum(g*(x-mean)) / M,  k3 = -k1 * sum(g) / M.
 * A prep kernel folds scale/shift per channel, pass 1 reduces the two sums,
 * a finalize writes k1..k3, pass 2 is elementwise. */

enum { BN_SCALE, BN_SHIFT, BN_K1, BN_K2, BN_K3, BNC };

__global__ void k_bn_bwd_prep(float *d_coef, const float *d_mean, const float *d_var, const float *d_gamma,
			      const float *d_beta, int C, float eps)
/* d_coef: (C, BNC)  others (C) */
{
	const int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c < C)
		bn_fold(d_gamma[c], d_beta[c], d_mean[c], d_var[c], eps, &d_coef[c * BNC + BN_SCALE],
			&d_coef[c * BNC + BN_SHIFT]);
}

__device__ __forceinline__ float bn_mask(float x, float scale, float shift)
{
	return __fadd_rn(__fmul_rn(x, scale), shift) > 0.0f ? 1.0f : 0.0f;
}

template <class T, int V> struct bn_bwd_f {
	const T *da, *x;   /* (P,C) */
	const float *mean; /* (C) */
	const float *coef; /* (C, BNC) */
	int C;
	__device__ void operator()(int, long long p, int c0, double *acc) const
	{
		float xv[V], gv[V];
		cu_vec_io<V>::ld(x, (p * C + c0) / V, xv);
		cu_vec_io<V>::ld(da, (p * C + c0) / V, gv);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const int c = c0 + u;
			const float g = bn_mask(xv[u], coef[c * BNC + BN_SCALE], coef[c * BNC + BN_SHIFT]) > 0.0f ? gv[u] : 0.0f;
			acc[u * 2] += g;
			acc[u * 2 + 1] += (double)(g * (xv[u] - mean[c]));
		}
	}
};

__global__ void k_bn_bwd_fin(float *d_coef, float *d_dgamma, float *d_dbeta, const double *d_part,
			     const float *d_var, const float *d_gamma, int splits, int C, long long M, float eps)
/* d_coef: (C, BNC)  d_dgamma, d_dbeta: (C) added or NULL  d_part: (1, splits, C, 2)  d_var, d_gamma: (C) */
{
	CU_WARP_LOOP(ci, C)
	{
		const int c = (int)ci;
		const double sg = cu_red_sum(d_part, 0, splits, C, 2, c, 0);
		const double sgx = cu_red_sum(d_part, 0, splits, C, 2, c, 1);
		if (!CU_LANE0)
			continue;
		const double invstd = 1.0 / sqrt((double)d_var[c] + (double)eps);
		const double gi = (double)d_gamma[c] * invstd;
		if (d_dbeta != NULL)
			d_dbeta[c] += (float)sg;
		if (d_dgamma != NULL)
			d_dgamma[c] += (float)(sgx * invstd);
		d_coef[c * BNC + BN_K1] = (float)gi;
		d_coef[c * BNC + BN_K2] = (float)(-gi * invstd * invstd * sgx / (double)M);
		d_coef[c * BNC + BN_K3] = (float)(-gi * sg / (double)M);
	}
}

template <class T> struct bn_bwd_op {
	T *dx;             /* (P,C) */
	const T *da, *x;   /* (P,C) */
	const float *mean; /* (C) */
	const float *coef; /* (C, BNC) */
	int C, accum;
	template <int V> __device__ void apply(long long iv) const
	{
		float xv[V], g[V], o[V];
		const int c0 = (int)((iv * V) % C);
		cu_vec_io<V>::ld(x, iv, xv);
		cu_vec_io<V>::ld(da, iv, g);
		if (accum)
			cu_vec_io<V>::ld(dx, iv, o);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float *k = coef + (c0 + u) * BNC;
			const float gg = bn_mask(xv[u], k[BN_SCALE], k[BN_SHIFT]) > 0.0f ? g[u] : 0.0f;
			const float d = k[BN_K1] * gg + k[BN_K2] * (xv[u] - mean[c0 + u]) + k[BN_K3];
			o[u] = accum ? o[u] + d : d;
		}
		cu_vec_io<V>::st(dx, iv, o);
	}
};

template <class T>
static int bn_bwd_t(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da, const br_tensor *x,
		    const float *mean, const float *var, const float *gamma, const float *beta, float eps, int accum)
{
	cudaStream_t st = cu_stream(ctx);
	const int C = x->c;
	const long long M = (long long)x->n * x->h * x->w;
	const T *d_da = static_cast<const T *>(da->data), *d_x = static_cast<const T *>(x->data);
	const void *ptrs[2] = {d_da, d_x};
	const int V = cu_red_vec<T>(C, ptrs, 2);
	cu_red_geom g = cu_red_plan(M, C, 1, V);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 2));
	float *d_coef = (float *)cu_slot_get(ctx, SLOT_COEF, (size_t)C * BNC * sizeof(float));

	if (d_part == NULL || d_coef == NULL)
		return -1;
	k_bn_bwd_prep<<<(C + 127) / 128, 128, 0, st>>>(d_coef, mean, var, gamma, beta, C, eps);
	CU_CHECK(ctx, cudaGetLastError());
	if (V > 1)
		CU_CHECK(ctx, (cu_launch_reduce<2, cu_vmax<T>::v>(
				      d_part, g, bn_bwd_f<T, cu_vmax<T>::v>{d_da, d_x, mean, d_coef, C}, st)));
	else
		CU_CHECK(ctx, (cu_launch_reduce<2, 1>(d_part, g, bn_bwd_f<T, 1>{d_da, d_x, mean, d_coef, C}, st)));
	k_bn_bwd_fin<<<cu_warp_blocks(C), CU_THREADS, 0, st>>>(d_coef, dgamma, dbeta, d_part, var, gamma, g.splits, C, M, eps);
	CU_CHECK(ctx, cudaGetLastError());
	if (dx != NULL) {
		bn_bwd_op<T> op = {static_cast<T *>(dx->data), static_cast<const T *>(da->data),
				   static_cast<const T *>(x->data), mean, d_coef, C, accum};
		const void *eptrs[3] = {dx->data, da->data, x->data};
		CU_CHECK(ctx, cu_launch_map<T>(op, M * C, C, eptrs, 3, st));
	}
	return 0;
}

int cu_bn_relu_backward(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da,
			const br_tensor *x, const float *mean, const float *var, const float *gamma, const float *beta,
			float eps, int accum)
{
	if (cu_p(ctx)->bf16)
		return bn_bwd_t<bf16>(ctx, dx, dgamma, dbeta, da, x, mean, var, gamma, beta, eps, accum);
	return bn_bwd_t<float>(ctx, dx, dgamma, dbeta, da, x, mean, var, gamma, beta, eps, accum);
}

/* ---- a batch split across processes (sync-BN) ---------------------------------------------------
 *
 * Plain per-channel sums in double (no shift: the parts must add up), the
 * statistics from the sums of the whole batch, and the backward in two
 * steps around the addition of its two per-channel sums. */

template <class T> struct bn_raw_f {
	const T *x; /* (P,C) */
	int C;
	__device__ void operator()(int, long long p, int c, double *acc) const
	{
		const double v = (double)cu_ld(x, p * C + c);
		acc[0] += v;
		acc[1] += v * v;
	}
};

__global__ void k_bn_sums_fin(double *d_sums, const double *d_part, int splits, int C)
/* d_sums: (C,2)  d_part: (1, splits, C, 2) */
{
	CU_WARP_LOOP(ci, C)
	{
		const int c = (int)ci;
		const double s1 = cu_red_sum(d_part, 0, splits, C, 2, c, 0);
		const double s2 = cu_red_sum(d_part, 0, splits, C, 2, c, 1);
		if (CU_LANE0) {
			d_sums[2 * c] = s1;
			d_sums[2 * c + 1] = s2;
		}
	}
}

template <class T> static int bn_sums_t(br_ctx *ctx, double *sums, const br_tensor *x)
{
	cudaStream_t st = cu_stream(ctx);
	const int C = x->c;
	const long long M = (long long)x->n * x->h * x->w;
	cu_red_geom g = cu_red_plan(M, C, 1, 1);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 2));

	if (d_part == NULL)
		return -1;
	CU_CHECK(ctx, (cu_launch_reduce<2, 1>(d_part, g, bn_raw_f<T>{static_cast<const T *>(x->data), C}, st)));
	k_bn_sums_fin<<<cu_warp_blocks(C), CU_THREADS, 0, st>>>(sums, d_part, g.splits, C);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_bn_sums(br_ctx *ctx, double *sums, const br_tensor *x)
{
	if (cu_p(ctx)->bf16)
		return bn_sums_t<bf16>(ctx, sums, x);
	return bn_sums_t<float>(ctx, sums, x);
}

__global__ void k_bn_stats_from_sums(float *d_mean, float *d_var, float *d_scale, float *d_shift, float *d_rmean,
				     float *d_rvar, const double *d_sums, double count, const float *d_gamma,
				     const float *d_beta, int C, float eps, float momentum)
/* d_sums: (C,2); the others (C) or NULL (scale with shift, rmean with rvar) */
{
	const int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	const double mu = d_sums[2 * c] / count;
	double var = d_sums[2 * c + 1] / count - mu * mu;
	if (var < 0.0)
		var = 0.0;
	const float mean = (float)mu, v = (float)var;
	if (d_mean != NULL)
		d_mean[c] = mean;
	if (d_var != NULL)
		d_var[c] = v;
	if (d_scale != NULL)
		bn_fold(d_gamma[c], d_beta[c], mean, v, eps, &d_scale[c], &d_shift[c]);
	if (d_rmean != NULL) {
		d_rmean[c] = (float)((1.0 - momentum) * d_rmean[c] + (double)momentum * mu);
		d_rvar[c] = (float)((1.0 - momentum) * d_rvar[c] + (double)momentum * var * count / (count - 1.0));
	}
}

int cu_bn_stats_from_sums(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
			  const double *sums, double count, const float *gamma, const float *beta, int c, float eps,
			  float momentum)
{
	k_bn_stats_from_sums<<<(c + 127) / 128, 128, 0, cu_stream(ctx)>>>(mean, var, scale, shift, rmean, rvar, sums,
									   count, gamma, beta, c, eps, momentum);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

__global__ void k_bn_bwd_sums_fin(double *d_sums, float *d_dgamma, float *d_dbeta, const double *d_part,
				  const float *d_var, int splits, int C, float eps)
/* d_sums: (C,2)  d_dgamma, d_dbeta: (C) added or NULL  d_part: (1, splits, C, 2)  d_var: (C) */
{
	CU_WARP_LOOP(ci, C)
	{
		const int c = (int)ci;
		const double sg = cu_red_sum(d_part, 0, splits, C, 2, c, 0);
		const double sgx = cu_red_sum(d_part, 0, splits, C, 2, c, 1);
		if (!CU_LANE0)
			continue;
		d_sums[2 * c] = sg;
		d_sums[2 * c + 1] = sgx;
		if (d_dbeta != NULL)
			d_dbeta[c] += (float)sg;
		if (d_dgamma != NULL)
			d_dgamma[c] += (float)(sgx / sqrt((double)d_var[c] + (double)eps));
	}
}

template <class T>
static int bn_bwd_sums_t(br_ctx *ctx, double *sums, float *dgamma, float *dbeta, const br_tensor *da, const br_tensor *x,
			 const float *mean, const float *var, const float *gamma, const float *beta, float eps)
{
	cudaStream_t st = cu_stream(ctx);
	const int C = x->c;
	const long long M = (long long)x->n * x->h * x->w;
	const T *d_da = static_cast<const T *>(da->data), *d_x = static_cast<const T *>(x->data);
	cu_red_geom g = cu_red_plan(M, C, 1, 1);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 2));
	float *d_coef = (float *)cu_slot_get(ctx, SLOT_COEF, (size_t)C * BNC * sizeof(float));

	if (d_part == NULL || d_coef == NULL)
		return -1;
	k_bn_bwd_prep<<<(C + 127) / 128, 128, 0, st>>>(d_coef, mean, var, gamma, beta, C, eps);
	CU_CHECK(ctx, cudaGetLastError());
	CU_CHECK(ctx, (cu_launch_reduce<2, 1>(d_part, g, bn_bwd_f<T, 1>{d_da, d_x, mean, d_coef, C}, st)));
	k_bn_bwd_sums_fin<<<cu_warp_blocks(C), CU_THREADS, 0, st>>>(sums, dgamma, dbeta, d_part, var, g.splits, C, eps);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_bn_relu_backward_sums(br_ctx *ctx, double *sums, float *dgamma, float *dbeta, const br_tensor *da,
			     const br_tensor *x, const float *mean, const float *var, const float *gamma,
			     const float *beta, float eps)
{
	if (cu_p(ctx)->bf16)
		return bn_bwd_sums_t<bf16>(ctx, sums, dgamma, dbeta, da, x, mean, var, gamma, beta, eps);
	return bn_bwd_sums_t<float>(ctx, sums, dgamma, dbeta, da, x, mean, var, gamma, beta, eps);
}

__global__ void k_bn_bwd_from_sums(float *d_coef, const double *d_sums, const float *d_var, const float *d_gamma,
				   int C, double count, float eps)
/* d_coef: (C, BNC), scale and shift already folded  d_sums: (C,2)  d_var, d_gamma: (C) */
{
	const int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	const double invstd = 1.0 / sqrt((double)d_var[c] + (double)eps);
	const double gi = (double)d_gamma[c] * invstd;
	d_coef[c * BNC + BN_K1] = (float)gi;
	d_coef[c * BNC + BN_K2] = (float)(-gi * invstd * invstd * d_sums[2 * c + 1] / count);
	d_coef[c * BNC + BN_K3] = (float)(-gi * d_sums[2 * c] / count);
}

template <class T>
static int bn_bwd_from_sums_t(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, const double *sums,
			      double count, const float *mean, const float *var, const float *gamma, const float *beta,
			      float eps, int accum)
{
	cudaStream_t st = cu_stream(ctx);
	const int C = x->c;
	const long long M = (long long)x->n * x->h * x->w;
	float *d_coef = (float *)cu_slot_get(ctx, SLOT_COEF, (size_t)C * BNC * sizeof(float));

	if (d_coef == NULL)
		return -1;
	k_bn_bwd_prep<<<(C + 127) / 128, 128, 0, st>>>(d_coef, mean, var, gamma, beta, C, eps);
	CU_CHECK(ctx, cudaGetLastError());
	k_bn_bwd_from_sums<<<(C + 127) / 128, 128, 0, st>>>(d_coef, sums, var, gamma, C, count, eps);
	CU_CHECK(ctx, cudaGetLastError());
	bn_bwd_op<T> op = {static_cast<T *>(dx->data), static_cast<const T *>(da->data), static_cast<const T *>(x->data),
			   mean, d_coef, C, accum};
	const void *eptrs[3] = {dx->data, da->data, x->data};
	CU_CHECK(ctx, cu_launch_map<T>(op, M * C, C, eptrs, 3, st));
	return 0;
}

int cu_bn_relu_backward_from_sums(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x,
				  const double *sums, double count, const float *mean, const float *var,
				  const float *gamma, const float *beta, float eps, int accum)
{
	if (cu_p(ctx)->bf16)
		return bn_bwd_from_sums_t<bf16>(ctx, dx, da, x, sums, count, mean, var, gamma, beta, eps, accum);
	return bn_bwd_from_sums_t<float>(ctx, dx, da, x, sums, count, mean, var, gamma, beta, eps, accum);
}
