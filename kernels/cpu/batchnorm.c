/* batchnorm.c - BatchNorm statistics (training), folding (inference), and the
 * backward of relu(bn(x)) with batch statistics. */
#include <math.h>

#include "cpu.h"

/* x: (N,C,H,W); mean, var, scale, shift, rmean, rvar, gamma, beta: (C)
 * Sums are shifted by the channel's first value and accumulated in double. */
int cpu_bn_train_stats(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
		       const br_tensor *x, const float *gamma, const float *beta, float eps, float momentum)
{
	size_t hw, cnt;
	int c, n;

	hw = (size_t)x->h * x->w;
	c = x->c;
	n = x->n;
	cnt = hw * n;
#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(x), 1 << 15)) schedule(dynamic, 1)
	for (int k = 0; k < c; k++) {
		const float *x0 = cpu_f(x) + (size_t)k * hw;
		float sh = x0[0];
		double s1 = 0.0, s2 = 0.0;
		for (int i = 0; i < n; i++) {
			const float *p = x0 + (size_t)i * c * hw;
			size_t j = 0;
			while (j < hw) {
				size_t e = hw - j < 256 ? hw : j + 256;
				cpu_v4 a1 = cpu_set4(0.0f), b1 = a1, a2 = a1, b2 = a1, vsh = cpu_set4(sh);
				float t1 = 0.0f, t2 = 0.0f;
				for (; j + 8 <= e; j += 8) {
					cpu_v4 d = cpu_ld4(p + j) - vsh, f = cpu_ld4(p + j + 4) - vsh;
					a1 += d;
					b1 += f;
					a2 += d * d;
					b2 += f * f;
				}
				for (; j < e; j++) {
					float d = p[j] - sh;
					t1 += d;
					t2 += d * d;
				}
				s1 += (double)(cpu_hsum8(a1, b1) + t1);
				s2 += (double)(cpu_hsum8(a2, b2) + t2);
			}
		}
		double m1 = s1 / (double)cnt;
		cpu_bn_stats_store(k, (double)sh + m1, s2 / (double)cnt - m1 * m1, (double)cnt, mean, var, scale,
				   shift, rmean, rvar, gamma, beta, eps, momentum);
	}
	return 0;
}

/* scale, shift, rmean, rvar, gamma, beta: (C) */
int cpu_bn_infer_fold(br_ctx *ctx, float *scale, float *shift, const float *rmean, const float *rvar,
		      const float *gamma, const float *beta, int c, float eps)
{
	for (int k = 0; k < c; k++)
		cpu_bn_fold(&scale[k], &shift[k], gamma[k], beta[k], rmean[k], rvar[k], eps);
	return 0;
}

/* dx, da, x: (N,C,H,W); dgamma, dbeta, mean, var, gamma, beta: (C)
 * a = relu(scale x + shift), the mask recomputed exactly as the forward's
 * pre-activation computes it. */
int cpu_bn_relu_backward(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da,
			 const br_tensor *x, const float *mean, const float *var, const float *gamma,
			 const float *beta, float eps, int accum)
{
	size_t hw, cnt;
	int c, n;

	hw = (size_t)x->h * x->w;
	c = x->c;
	n = x->n;
	cnt = hw * n;
#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(x), 1 << 15)) schedule(dynamic, 1)
	for (int k = 0; k < c; k++) {
		float sc, sh, mf = mean[k];
		double invstd = 1.0 / sqrt((double)var[k] + (double)eps), sg = 0.0, sgx = 0.0;
		cpu_bn_fold(&sc, &sh, gamma[k], beta[k], mean[k], var[k], eps);
		for (int i = 0; i < n; i++) {
			const float *p = cpu_f(x) + ((size_t)i * c + k) * hw;
			const float *g = cpu_f(da) + ((size_t)i * c + k) * hw;
			size_t j = 0;
			while (j < hw) {
				size_t e = hw - j < 256 ? hw : j + 256;
				cpu_v4 a1 = cpu_set4(0.0f), b1 = a1, a2 = a1, b2 = a1, zero = a1;
				cpu_v4 vsc = cpu_set4(sc), vsh = cpu_set4(sh), vm = cpu_set4(mf);
				float t1 = 0.0f, t2 = 0.0f;
				for (; j + 8 <= e; j += 8) {
					cpu_v4 x0 = cpu_ld4(p + j), x1 = cpu_ld4(p + j + 4);
					cpu_v4 g0 = cpu_and4(cpu_ld4(g + j), x0 * vsc + vsh > zero);
					cpu_v4 g1 = cpu_and4(cpu_ld4(g + j + 4), x1 * vsc + vsh > zero);
					a1 += g0;
					b1 += g1;
					a2 += g0 * (x0 - vm);
					b2 += g1 * (x1 - vm);
				}
				for (; j < e; j++) {
					float gv = p[j] * sc + sh > 0.0f ? g[j] : 0.0f;
					t1 += gv;
					t2 += gv * (p[j] - mf);
				}
				sg += (double)(cpu_hsum8(a1, b1) + t1);
				sgx += (double)(cpu_hsum8(a2, b2) + t2);
			}
		}
		if (dbeta != NULL)
			dbeta[k] += (float)sg;
		if (dgamma != NULL)
			dgamma[k] += (float)(sgx * invstd);
		if (dx == NULL)
			continue;
		double gi = (double)gamma[k] * invstd;
		float k1 = (float)gi;
		float k2 = (float)(-gi * invstd * invstd * sgx / (double)cnt);
		float k3 = (float)(-gi * sg / (double)cnt);
		for (int i = 0; i < n; i++) {
			const float *p = cpu_f(x) + ((size_t)i * c + k) * hw;
			const float *g = cpu_f(da) + ((size_t)i * c + k) * hw;
			float *d = cpu_f(dx) + ((size_t)i * c + k) * hw;
			if (accum) {
#pragma omp simd
				for (size_t j = 0; j < hw; j++) {
					float gj = g[j], gv = p[j] * sc + sh > 0.0f ? gj : 0.0f;
					d[j] += k1 * gv + k2 * (p[j] - mf) + k3;
				}
			} else {
#pragma omp simd
				for (size_t j = 0; j < hw; j++) {
					float gj = g[j], gv = p[j] * sc + sh > 0.0f ? gj : 0.0f;
					d[j] = k1 * gv + k2 * (p[j] - mf) + k3;
				}
			}
		}
	}
	return 0;
}
