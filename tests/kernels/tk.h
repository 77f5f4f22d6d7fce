/*
 * tk.h - small helpers shared by the kernel test programs (TAP output,
 * seeded random numbers, tolerance checks).  Header-only.
 */
#ifndef TK_H
#define TK_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "tap.h"
#include "rng.h"

#define TK_UNUSED __attribute__((unused))
/* results: tests/tap.h */
#define tk_result tap
#define tk_done() tap_done("kernel test")

TK_UNUSED static uint64_t tk_state = 0x12345678u;
TK_UNUSED static void tk_seed(uint64_t s) { tk_state = s * 0x9E3779B97F4A7C15ULL + 1; }
TK_UNUSED static uint64_t tk_u64(void) { return br_splitmix64(&tk_state); }
TK_UNUSED static double tk_unif(void) { return br_unit_double(tk_u64()); }
TK_UNUSED static float tk_randf(float lo, float hi) { return lo + (hi - lo) * (float)tk_unif(); }
TK_UNUSED static float tk_normal(void)
{
	double u = tk_unif() + 1e-12, v = tk_unif();
	return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
TK_UNUSED static float *tk_alloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}
TK_UNUSED static float *tk_rand(size_t n, float lo, float hi)
{
	float *p = tk_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = tk_randf(lo, hi);
	return p;
}
TK_UNUSED static float *tk_randn(size_t n, float sd)
{
	float *p = tk_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = sd * tk_normal();
	return p;
}
TK_UNUSED static float *tk_copy(const float *s, size_t n)
{
	float *p = tk_alloc(n);
	memcpy(p, s, n * sizeof(float));
	return p;
}

/* |a - b| <= atol + rtol |ref|, non-finite values first; returns 1 when all pass
 * and describes the worst element in msg */
TK_UNUSED static int tk_close(const float *a, const float *ref, size_t n, double atol, double rtol, char *msg, size_t len)
{
	double worst = 0.0;
	size_t wi = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(a[i]) || !isfinite(ref[i])) {
			snprintf(msg, len, "non-finite at %zu: %g vs %g", i, (double)a[i], (double)ref[i]);
			return 0;
		}
		double e = fabs((double)a[i] - ref[i]) / (atol + rtol * fabs((double)ref[i]));
		if (e > worst) {
			worst = e;
			wi = i;
		}
	}
	snprintf(msg, len, "worst at %zu: %.7g vs %.7g (%.3g of tolerance)", wi, n ? (double)a[wi] : 0.0,
		 n ? (double)ref[wi] : 0.0, worst);
	return worst <= 1.0;
}

TK_UNUSED static double tk_maxabs(const float *a, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(a[i]) > m)
			m = fabs(a[i]);
	return m;
}

TK_UNUSED static br_ctx *tk_ctx(int nthreads)
{
	char err[256];
	br_ctx *ctx = br_ctx_new("cpu", nthreads, BR_PREC_FP32, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "br_ctx_new: %s\n", err);
		exit(2);
	}
	return ctx;
}

TK_UNUSED static br_tensor tk_t(float *d, int n, int c, int h, int w)
{
	br_tensor t = { d, n, c, h, w };
	return t;
}

#define TK_CALL(ctx, call)                                                                                \
	do {                                                                                                \
		if ((call) < 0) {                                                                             \
			fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, br_ctx_error(ctx)); \
			exit(2);                                                                               \
		}                                                                                           \
	} while (0)

#endif
