/* loss_sums.c - the head loss of a batch split across processes: the sums
 * of one part, then the loss and gradient from the sums of the whole batch. */
#include <math.h>

#include "cpu.h"

#include "brats_labels.h"

#define CHUNK 4096

/* sums: 4 double  logit: (N,1,H,W)  labels: N*H*W uint8
 * Chunk partial sums in double, added in chunk order (as loss.c does). */
int cpu_loss_sums(br_ctx *ctx, double *sums, const br_tensor *logit, const uint8_t *labels, int target)
{
	size_t m = cpu_numel(logit), nchunk = (m + CHUNK - 1) / CHUNK;
	double *part = cpu_ws(ctx, nchunk * 4 * sizeof(double));
	const float *z = cpu_f(logit);

	if (part == NULL)
		return -1;
#pragma omp parallel for num_threads(cpu_nt(ctx, m, 1 << 13)) schedule(static)
	for (size_t ch = 0; ch < nchunk; ch++) {
		size_t i0 = ch * CHUNK, i1 = i0 + CHUNK < m ? i0 + CHUNK : m;
		double a = 0, b = 0, c = 0, d = 0;
		for (size_t i = i0; i < i1; i++) {
			float zi = z[i], t = br_target_of(labels[i], target), p = cpu_sigmoid(zi);
			a += (double)((zi > 0.0f ? zi : 0.0f) - zi * t + log1pf(expf(-fabsf(zi))));
			b += (double)(p * t);
			c += (double)(p * p);
			d += (double)t;
		}
		part[4 * ch] = a;
		part[4 * ch + 1] = b;
		part[4 * ch + 2] = c;
		part[4 * ch + 3] = d;
	}
	sums[0] = sums[1] = sums[2] = sums[3] = 0;
	for (size_t ch = 0; ch < nchunk; ch++)
		for (int k = 0; k < 4; k++)
			sums[k] += part[4 * ch + k];
	return 0;
}

/* loss: 1 float or NULL  dlogit (or NULL), logit: (N,1,H,W)  labels: N*H*W  sums: 4 double (whole batch)
 * dL/dz = (p - t) / count + p (1 - p) (2 num p - 2 t s) / s^2 */
int cpu_loss_from_sums(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		       const double *sums, double count, int target, float weight)
{
	size_t m = cpu_numel(logit);
	double s = sums[2] + sums[3] + 1.0, num = 2.0 * sums[1] + 1.0;
	float kb = (float)((double)weight / count);
	float kp = (float)((double)weight * 2.0 * num / (s * s));
	float kt = (float)((double)weight * 2.0 / s);
	const float *z = cpu_f(logit);
	float *dz;

	if (loss != NULL)
		*loss = (float)(sums[0] / count + 1.0 - num / s);
	if (dlogit == NULL)
		return 0;
	dz = cpu_f(dlogit);
#pragma omp parallel for num_threads(cpu_nt(ctx, m, 1 << 13)) schedule(static)
	for (size_t i = 0; i < m; i++) {
		float t = br_target_of(labels[i], target), p = cpu_sigmoid(z[i]);
		dz[i] = kb * (p - t) + p * (1.0f - p) * (kp * p - kt * t);
	}
	return 0;
}
