/* concat.c - concatenation on the channel axis (a first) and its backward. */
#include <string.h>

#include "cpu.h"

/* y: (N,Ca+Cb,H,W)  a: (N,Ca,H,W)  b: (N,Cb,H,W) */
int cpu_concat_forward(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	size_t sa, sb;

	sa = (size_t)a->c * a->h * a->w;
	sb = (size_t)b->c * b->h * b->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)a->n * (sa + sb), 1 << 16)) schedule(static)
	for (int n = 0; n < a->n; n++) {
		memcpy(cpu_f(y) + n * (sa + sb), cpu_f(a) + n * sa, sa * sizeof(float));
		memcpy(cpu_f(y) + n * (sa + sb) + sa, cpu_f(b) + n * sb, sb * sizeof(float));
	}
	return 0;
}

static void part(float *d, const float *s, size_t n, int accum)
{
	if (!accum) {
		memcpy(d, s, n * sizeof(float));
		return;
	}
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		d[i] += s[i];
}

/* da: (N,Ca,H,W) or NULL  db: (N,Cb,H,W) or NULL  dy: (N,Ca+Cb,H,W) */
int cpu_concat_backward(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int accum_a, int accum_b)
{
	size_t sa, sb;

	if (da == NULL && db == NULL)
		return 0;
	/* with one side absent its channel count follows from dy */
	sa = (size_t)(da ? da->c : dy->c - db->c) * dy->h * dy->w;
	sb = (size_t)(db ? db->c : dy->c - da->c) * dy->h * dy->w;
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)dy->n * (sa + sb), 1 << 16)) schedule(static)
	for (int n = 0; n < dy->n; n++) {
		if (da != NULL)
			part(cpu_f(da) + n * sa, cpu_f(dy) + n * (sa + sb), sa, accum_a);
		if (db != NULL)
			part(cpu_f(db) + n * sb, cpu_f(dy) + n * (sa + sb) + sa, sb, accum_b);
	}
	return 0;
}
