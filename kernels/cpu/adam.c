/* adam.c - one Adam step (PyTorch's form, no weight decay). */
#include <math.h>

#include "cpu.h"

/* p, g, m, v: flat n; t >= 1 the step number after this update */
int cpu_adam_step(br_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
		  float eps, int t)
{
	double bc1, bc2;
	float step, sbc2, a1, a2;

	if (n == 0)
		return 0;
	bc1 = 1.0 - pow((double)b1, (double)t);
	bc2 = 1.0 - pow((double)b2, (double)t);
	step = (float)((double)lr / bc1);
	sbc2 = (float)sqrt(bc2);
	a1 = (float)(1.0 - (double)b1);
	a2 = (float)(1.0 - (double)b2);
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i];
		float mi = b1 * m[i] + a1 * gi;
		float vi = b2 * v[i] + a2 * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] -= step * (mi / (sqrtf(vi) / sbc2 + eps));
	}
	return 0;
}
