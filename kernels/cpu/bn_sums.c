/* bn_sums.c - BatchNorm over a batch split across processes (sync-BN): the
 * per-channel sums of one part, and the statistics and the backward from
 * the sums of the whole batch.  Every sum runs over the channel's values in
 * memory order, in double, so that it does not depend on the threads. */
#include <math.h>

#include "cpu.h"

/* sums: (C,2) double  x: (N,C,H,W) */
int cpu_bn_sums(br_ctx *ctx, double *sums, const br_tensor *x)
{
	size_t hw = (size_t)x->h * x->w;
	int c = x->c, n = x->n;

#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(x), 1 << 15)) schedule(dynamic, 1)
	for (int k = 0; k < c; k++) {
		double s1 = 0.0, s2 = 0.0;
		for (int i = 0; i < n; i++) {
			const float *p = cpu_f(x) + ((size_t)i * c + k) * hw;
			for (size_t j = 0; j < hw; j++) {
				double v = (double)p[j];
				s1 += v;
				s2 += v * v;
			}
		}
		sums[2 * k] = s1;
		sums[2 * k + 1] = s2;
	}
	return 0;
}

/* mean, var, scale, shift, rmean, rvar, gamma, beta: (C)  sums: (C,2) over count values */
int cpu_bn_stats_from_sums(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean,
			   float *rvar, const double *sums, double count, const float *gamma, const float *beta,
			   int c, float eps, float momentum)
{
	for (int k = 0; k < c; k++) {
		double mu = sums[2 * k] / count, vb = sums[2 * k + 1] / count - mu * mu;
		cpu_bn_stats_store(k, mu, vb, count, mean, var, scale, shift, rmean, rvar, gamma, beta, eps, momentum);
	}
	return 0;
}

/* sums: (C,2) double  dgamma, dbeta: (C) added or NULL  da, x: (N,C,H,W)  mean, var, gamma, beta: (C) */
int cpu_bn_relu_backward_sums(br_ctx *ctx, double *sums, float *dgamma, float *dbeta, const br_tensor *da,
			      const br_tensor *x, const float *mean, const float *var, const float *gamma,
			      const float *beta, float eps)
{
	size_t hw = (size_t)x->h * x->w;
	int c = x->c, n = x->n;

#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(x), 1 << 15)) schedule(dynamic, 1)
	for (int k = 0; k < c; k++) {
		float sc, sh, mf = mean[k];
		double sg = 0.0, sgx = 0.0, invstd = 1.0 / sqrt((double)var[k] + (double)eps);
		cpu_bn_fold(&sc, &sh, gamma[k], beta[k], mean[k], var[k], eps);
		for (int i = 0; i < n; i++) {
			const float *p = cpu_f(x) + ((size_t)i * c + k) * hw;
			const float *g = cpu_f(da) + ((size_t)i * c + k) * hw;
			for (size_t j = 0; j < hw; j++) {
				float gv = cpu_preact1(p[j], sc, sh, 1) > 0.0f ? g[j] : 0.0f;
				sg += (double)gv;
				sgx += (double)gv * (double)(p[j] - mf);
			}
		}
		sums[2 * k] = sg;
		sums[2 * k + 1] = sgx;
		if (dbeta != NULL)
			dbeta[k] += (float)sg;
		if (dgamma != NULL)
			dgamma[k] += (float)(sgx * invstd);
	}
	return 0;
}

/* dx, da, x: (N,C,H,W)  sums: (C,2) of the whole batch, count values per channel */
int cpu_bn_relu_backward_from_sums(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x,
				   const double *sums, double count, const float *mean, const float *var,
				   const float *gamma, const float *beta, float eps, int accum)
{
	size_t hw = (size_t)x->h * x->w;
	int c = x->c, n = x->n;

#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(x), 1 << 15)) schedule(dynamic, 1)
	for (int k = 0; k < c; k++) {
		float sc, sh, mf = mean[k];
		double invstd = 1.0 / sqrt((double)var[k] + (double)eps), gi = (double)gamma[k] * invstd;
		float k1 = (float)gi;
		float k2 = (float)(-gi * invstd * invstd * sums[2 * k + 1] / count);
		float k3 = (float)(-gi * sums[2 * k] / count);
		cpu_bn_fold(&sc, &sh, gamma[k], beta[k], mean[k], var[k], eps);
		for (int i = 0; i < n; i++) {
			const float *p = cpu_f(x) + ((size_t)i * c + k) * hw;
			const float *g = cpu_f(da) + ((size_t)i * c + k) * hw;
			float *d = cpu_f(dx) + ((size_t)i * c + k) * hw;
			for (size_t j = 0; j < hw; j++) {
				float gv = cpu_preact1(p[j], sc, sh, 1) > 0.0f ? g[j] : 0.0f;
				float v = k1 * gv + k2 * (p[j] - mf) + k3;
				d[j] = accum ? d[j] + v : v;
			}
		}
	}
	return 0;
}
