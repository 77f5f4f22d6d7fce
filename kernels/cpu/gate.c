/* gate.c - attention gate out = y * sigmoid(g), g one channel broadcast. */
#include <stdlib.h>

#include "cpu.h"

/* out, y: (N,C,H,W)  g: (N,1,H,W); out may alias y */
int cpu_gate_forward(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g)
{
	size_t hw;
	int c, n;

	hw = (size_t)y->h * y->w;
	c = y->c;
	n = y->n;
	/* blocks of one image and 1024 pixels: sigmoid once per pixel */
	size_t nb = (hw + 1023) / 1024;
#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(y), 1 << 15)) schedule(static)
	for (size_t t = 0; t < (size_t)n * nb; t++) {
		size_t i = t / nb, p0 = (t % nb) * 1024, len = hw - p0 < 1024 ? hw - p0 : 1024;
		float s[1024];
		const float *gp = cpu_f(g) + i * hw + p0;
		cpu_sigmoid_n(s, gp, len);
		for (int k = 0; k < c; k++) {
			const float *yp = cpu_f(y) + (i * c + k) * hw + p0;
			float *op_ = cpu_f(out) + (i * c + k) * hw + p0;
#pragma omp simd
			for (size_t p = 0; p < len; p++)
				op_[p] = yp[p] * s[p];
		}
	}
	return 0;
}

/* dy, dout, y: (N,C,H,W)  dg, g: (N,1,H,W)
 * dy (+)= dout * s;  dg = sum_c dout * y * s (1 - s)  (written) */
int cpu_gate_backward(br_ctx *ctx, br_tensor *dy, br_tensor *dg, const br_tensor *dout, const br_tensor *y,
		      const br_tensor *g, int accum)
{
	size_t hw;
	int c, n;

	hw = (size_t)y->h * y->w;
	c = y->c;
	n = y->n;
	size_t nb = (hw + 1023) / 1024;
#pragma omp parallel for num_threads(cpu_nt(ctx, cpu_numel(y), 1 << 15)) schedule(static)
	for (size_t t = 0; t < (size_t)n * nb; t++) {
		size_t i = t / nb, p0 = (t % nb) * 1024, len = hw - p0 < 1024 ? hw - p0 : 1024;
		float s[1024], acc[1024];
		const float *gp = cpu_f(g) + i * hw + p0;
		cpu_sigmoid_n(s, gp, len);
		for (size_t p = 0; p < len; p++)
			acc[p] = 0.0f;
		for (int k = 0; k < c; k++) {
			const float *op_ = cpu_f(dout) + (i * c + k) * hw + p0;
			const float *yp = cpu_f(y) + (i * c + k) * hw + p0;
			if (dg != NULL) {
#pragma omp simd
				for (size_t p = 0; p < len; p++)
					acc[p] += op_[p] * yp[p];
			}
			if (dy != NULL) {
				float *dp = cpu_f(dy) + (i * c + k) * hw + p0;
				if (accum) {
#pragma omp simd
					for (size_t p = 0; p < len; p++)
						dp[p] += op_[p] * s[p];
				} else {
#pragma omp simd
					for (size_t p = 0; p < len; p++)
						dp[p] = op_[p] * s[p];
				}
			}
		}
		if (dg != NULL) {
			float *q = cpu_f(dg) + i * hw + p0;
#pragma omp simd
			for (size_t p = 0; p < len; p++)
				q[p] = acc[p] * s[p] * (1.0f - s[p]);
		}
	}
	return 0;
}
