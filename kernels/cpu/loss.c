/* loss.c - deep-supervision head loss: BCE with logits (mean) + soft Dice. */
#include <math.h>

#include "cpu.h"

#include "brats_labels.h"

#define CHUNK 4096

/* loss: 1 float  dlogit, logit: (N,1,H,W)  labels: N*H*W uint8
 * L = mean(max(z,0) - z t + log1p(exp(-|z|))) + 1 - (2 sum(p t) + 1) / (sum(p p) + sum(t t) + 1)
 * Chunk partial sums in double, added in chunk order. */
int cpu_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		      int target, float weight)
{
	size_t m, nchunk;
	double *part, bce = 0, spt = 0, spp = 0, stt = 0, s, num;
	const float *z;

	m = cpu_numel(logit);
	nchunk = (m + CHUNK - 1) / CHUNK;
	part = cpu_ws(ctx, nchunk * 4 * sizeof(double));
	if (part == NULL)
		return -1;
	z = cpu_f(logit);
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
	for (size_t ch = 0; ch < nchunk; ch++) {
		bce += part[4 * ch];
		spt += part[4 * ch + 1];
		spp += part[4 * ch + 2];
		stt += part[4 * ch + 3];
	}
	s = spp + stt + 1.0;
	num = 2.0 * spt + 1.0;
	if (loss != NULL)
		*loss = (float)(bce / (double)m + 1.0 - num / s);
	if (dlogit == NULL)
		return 0;
	{
		/* dL/dz = (p - t) / m + p (1 - p) (2 num p - 2 t s) / s^2 */
		float kb = (float)((double)weight / (double)m);
		float kp = (float)((double)weight * 2.0 * num / (s * s));
		float kt = (float)((double)weight * 2.0 / s);
		float *dz = cpu_f(dlogit);
#pragma omp parallel for num_threads(cpu_nt(ctx, m, 1 << 13)) schedule(static)
		for (size_t i = 0; i < m; i++) {
			float t = br_target_of(labels[i], target), p = cpu_sigmoid(z[i]);
			dz[i] = kb * (p - t) + p * (1.0f - p) * (kp * p - kt * t);
		}
	}
	return 0;
}
