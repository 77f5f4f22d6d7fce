/* slices.c - batches of axial slices out of a case record and the heads'
 * probabilities back into one (a whole case in backend memory). */
#include <math.h>
#include <string.h>

#include "cpu.h"

/* x (n, c, h, w) <- slices z0.. of rec (c, nz, h, w), rows mirrored when flip */
int cpu_slices_gather(br_ctx *ctx, br_tensor *x, const float *rec, int nz, int z0, int flip)
{
	const int n = x->n, c = x->c, h = x->h, w = x->w;
	const size_t hw = (size_t)h * w, nvox = hw * (size_t)nz;
	float *d = x->data;

#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * c * hw, 1 << 16)) schedule(static)
	for (long p = 0; p < (long)n * c; p++) {
		const int i = (int)(p / c), ch = (int)(p % c);
		const float *s = rec + (size_t)ch * nvox + (size_t)(z0 + i) * hw;
		float *o = d + (size_t)p * hw;
		if (!flip) {
			memcpy(o, s, hw * sizeof *o);
			continue;
		}
		for (int y = 0; y < h; y++)
			for (int xx = 0; xx < w; xx++)
				o[(size_t)y * w + xx] = s[(size_t)y * w + (w - 1 - xx)];
	}
	return 0;
}

/* channel k of rec (nk, nz, h, w), slices z0.. += (or =) (float)(sigmoid(y) * scale) */
int cpu_slices_scatter_sigmoid(br_ctx *ctx, float *rec, int k, int nk, int nz, const br_tensor *y, int z0, int flip,
			       double scale, int accum)
{
	const int n = y->n, h = y->h, w = y->w;
	const size_t hw = (size_t)h * w, nvox = hw * (size_t)nz;
	const float *src = y->data;

	(void)nk;
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * hw, 1 << 16)) schedule(static)
	for (long r = 0; r < (long)n * h; r++) {
		const int i = (int)(r / h), yy = (int)(r % h);
		const float *s = src + (size_t)i * hw + (size_t)yy * w;
		float *o = rec + (size_t)k * nvox + (size_t)(z0 + i) * hw + (size_t)yy * w;
		for (int xx = 0; xx < w; xx++) {
			/* the sigmoid of r2u_download, then the ensemble's scaled sum */
			const float z = s[flip ? w - 1 - xx : xx], p = 1.0f / (1.0f + expf(-z));
			o[xx] = accum ? o[xx] + (float)(p * scale) : (float)(p * scale);
		}
	}
	return 0;
}
