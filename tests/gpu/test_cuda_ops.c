/*
 * test_cuda_ops.c - every op of kernels.h on the CUDA backend against the
 * CPU backend (the reference), forward and backward, every accum flag, in
 * each precision (fp32, tf32, bf16), on odd shapes and on the network's own
 * shapes at a small batch.
 *
 * Each comparison: NaN/Inf first, then |gpu - cpu| <= atol*S + rtol*|cpu|
 * with S = max |cpu| over the output (reductions over many terms get a
 * wider atol).  Outputs that an op writes are poisoned with NaN before the
 * call, so an element it forgets shows up; outputs it adds to are filled
 * with the same random values on both sides.  TAP on stdout; exit 1 when
 * anything failed; "ok 1 # SKIP" when there is no CUDA device.
 *
 * Usage: test_cuda_ops [-p fp32|tf32|bf16] [-q]   (default: all three)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "tap.h"

/* ---- TAP ------------------------------------------------------------------------ */


/* ---- state ------------------------------------------------------------------------- */

static br_ctx *CX[2]; /* 0: cpu (reference), 1: cuda */
static int prec;      /* precision of CX[1] */
static const char *pname;
static char shape[96]; /* description of the current case */
static int side;       /* loop variable of RUN2 */

static double tol_atol(void) { return prec == BR_PREC_FP32 ? 1e-5 : prec == BR_PREC_TF32 ? 2e-3 : 2e-2; }
static double tol_rtol(void) { return prec == BR_PREC_FP32 ? 1e-4 : prec == BR_PREC_TF32 ? 2e-3 : 2e-2; }

static uint64_t rng = 1;
static void seed(uint64_t s) { rng = s * 0x9E3779B97F4A7C15ULL + 7; }
static double unif(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* round to the nearest bfloat16 (ties to even) */
static float q_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	u += 0x7FFFu + ((u >> 16) & 1u);
	u &= 0xFFFF0000u;
	memcpy(&f, &u, 4);
	return f;
}

/* a random value, exactly representable in the GPU's storage type */
static float rnd(float lo, float hi)
{
	float v = lo + (hi - lo) * (float)unif();
	return prec == BR_PREC_BF16 ? q_bf16(v) : v;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "test_cuda_ops: out of memory\n");
		exit(2);
	}
	return p;
}

/* ---- paired tensors and flat arrays ------------------------------------------------------ */

typedef struct {
	br_tensor t[2];
	float *h; /* host NCHW */
	size_t n;
} T2;

typedef struct {
	float *p[2];
	float *h;
	size_t n;
} F2;

static void die_ctx(int s, const char *what)
{
	fprintf(stderr, "test_cuda_ops: %s on %s: %s\n", what, s ? "cuda" : "cpu", br_ctx_error(CX[s]));
	exit(2);
}

static T2 t2_new(int n, int c, int h, int w)
{
	T2 a;
	int s;

	a.n = (size_t)n * c * h * w;
	a.h = xmalloc(a.n * sizeof(float));
	for (s = 0; s < 2; s++) {
		a.t[s].n = n;
		a.t[s].c = c;
		a.t[s].h = h;
		a.t[s].w = w;
		a.t[s].data = br_malloc(CX[s], br_tensor_bytes(CX[s], n, c, h, w));
		if (a.t[s].data == NULL)
			die_ctx(s, "br_malloc");
	}
	return a;
}

static void t2_upload(T2 *a)
{
	for (int s = 0; s < 2; s++)
		if (br_tensor_upload(CX[s], &a->t[s], a->h) < 0)
			die_ctx(s, "br_tensor_upload");
}

static void t2_rand(T2 *a, float lo, float hi)
{
	for (size_t i = 0; i < a->n; i++)
		a->h[i] = rnd(lo, hi);
	t2_upload(a);
}

static void t2_poison(T2 *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->h[i] = NAN;
	t2_upload(a);
}

static void t2_free(T2 *a)
{
	for (int s = 0; s < 2; s++)
		br_free(CX[s], a->t[s].data);
	free(a->h);
	memset(a, 0, sizeof *a);
}

static F2 f2_new(size_t n)
{
	F2 a;

	a.n = n;
	a.h = xmalloc(n * sizeof(float));
	for (int s = 0; s < 2; s++) {
		a.p[s] = br_malloc(CX[s], n * sizeof(float));
		if (a.p[s] == NULL)
			die_ctx(s, "br_malloc");
	}
	return a;
}

static void f2_upload(F2 *a)
{
	for (int s = 0; s < 2; s++)
		if (br_memcpy_h2d(CX[s], a->p[s], a->h, a->n * sizeof(float)) < 0)
			die_ctx(s, "br_memcpy_h2d");
}

static void f2_rand(F2 *a, float lo, float hi)
{
	for (size_t i = 0; i < a->n; i++)
		a->h[i] = rnd(lo, hi);
	f2_upload(a);
}

static void f2_poison(F2 *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->h[i] = NAN;
	f2_upload(a);
}

static void f2_free(F2 *a)
{
	for (int s = 0; s < 2; s++)
		br_free(CX[s], a->p[s]);
	free(a->h);
	memset(a, 0, sizeof *a);
}

/* Run expr for the cpu (side 0) and the cuda ctx (side 1); report a failure. */
static int run_ok;
#define RUN2(expr)                                                                                         \
	do {                                                                                               \
		run_ok = 1;                                                                                \
		for (side = 0; side < 2; side++)                                                           \
			if ((expr) < 0) {                                                                  \
				tap(0, "%s %s %s: call failed on %s: %s", #expr, pname, shape,             \
				    side ? "cuda" : "cpu", br_ctx_error(CX[side]));                        \
				run_ok = 0;                                                                \
			}                                                                                  \
	} while (0)
#define TS(a) (&(a).t[side]) /* this side's tensor */
#define FS(a) ((a).p[side])  /* this side's flat array */
#define CS (CX[side])        /* this side's ctx */

/* ---- comparison ------------------------------------------------------------------------------ */

/* terms: number of terms summed into one output (widens atol for long sums) */
static int compare(const char *what, const float *ref, const float *got, size_t n, double terms)
{
	double S = 0, atol, rtol = tol_rtol(), worst = 0, wref = 0, wgot = 0;
	size_t bad = 0, nonfin = 0, wi = 0;
	double f = sqrt(terms > 1 ? terms : 1) / 16.0, fmax = prec == BR_PREC_FP32 ? 64.0 : 4.0;

	/* long sums: fp32 rounding grows with sqrt(terms); tf32/bf16 tolerances already cover it */
	atol = tol_atol() * (f < 1 ? 1 : f > fmax ? fmax : f);
	for (size_t i = 0; i < n; i++)
		if (isfinite(ref[i]) && fabs(ref[i]) > S)
			S = fabs(ref[i]);
	if (S < 1e-30)
		S = 1e-30;
	for (size_t i = 0; i < n; i++) {
		double d, lim;
		if (!isfinite(got[i]) || !isfinite(ref[i])) {
			if (!(isnan(got[i]) && isnan(ref[i])) && got[i] != ref[i]) {
				if (nonfin++ == 0)
					wi = i;
			}
			continue;
		}
		d = fabs((double)got[i] - ref[i]);
		lim = atol * S + rtol * fabs(ref[i]);
		if (d > lim) {
			bad++;
			if (d / lim > worst) {
				worst = d / lim;
				wi = i;
				wref = ref[i];
				wgot = got[i];
			}
		}
	}
	if (nonfin > 0) {
		tap(0, "%s %s %s: %zu non-finite mismatches (first at %zu: cpu %g cuda %g)", what, pname, shape, nonfin,
		    wi, (double)ref[wi], (double)got[wi]);
		return -1;
	}
	if (bad > 0) {
		tap(0, "%s %s %s: %zu of %zu beyond tolerance, max err %.3g x tol at %zu (cpu %.7g cuda %.7g, scale %.3g)",
		    what, pname, shape, bad, n, worst, wi, wref, wgot, S);
		return -1;
	}
	tap(1, "%s %s %s", what, pname, shape);
	return 0;
}

static int check_t(const char *what, T2 *a, double terms)
{
	float *g = xmalloc(a->n * sizeof(float));
	int rc;

	for (int s = 0; s < 2; s++)
		if (br_tensor_download(CX[s], s ? g : a->h, &a->t[s]) < 0)
			die_ctx(s, "br_tensor_download");
	rc = compare(what, a->h, g, a->n, terms);
	free(g);
	return rc;
}

static int check_f(const char *what, F2 *a, double terms)
{
	float *g = xmalloc(a->n * sizeof(float));
	int rc;

	if (br_memcpy_d2h(CX[0], a->h, a->p[0], a->n * sizeof(float)) < 0)
		die_ctx(0, "br_memcpy_d2h");
	if (br_memcpy_d2h(CX[1], g, a->p[1], a->n * sizeof(float)) < 0)
		die_ctx(1, "br_memcpy_d2h");
	rc = compare(what, a->h, g, a->n, terms);
	free(g);
	return rc;
}

static void set_shape(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shape, sizeof shape, fmt, ap);
	va_end(ap);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

static void test_roundtrip(int n, int c, int h, int w)
{
	T2 a = t2_new(n, c, h, w);
	float *g = xmalloc(a.n * sizeof(float));
	size_t bad = 0;

	set_shape("(%d,%d,%d,%d)", n, c, h, w);
	for (size_t i = 0; i < a.n; i++)
		a.h[i] = rnd(-3, 3);
	if (br_tensor_upload(CX[1], &a.t[1], a.h) < 0 || br_tensor_download(CX[1], g, &a.t[1]) < 0)
		die_ctx(1, "upload/download");
	for (size_t i = 0; i < a.n; i++)
		if (g[i] != a.h[i])
			bad++;
	tap(bad == 0, "upload/download round trip %s %s (%zu differ)", pname, shape, bad);
	free(g);
	t2_free(&a);
}

/* conv2d forward + backward (both accum), with or without pre-activation */
static void test_conv(int N, int C, int H, int W, int K, int k, int pre_mode, int bias)
{
	/* pre_mode: 0 none, 1 relu only, 2 scale/shift/relu */
	T2 x = t2_new(N, C, H, W), y = t2_new(N, K, H, W), dy = t2_new(N, K, H, W), da = t2_new(N, C, H, W);
	F2 w = f2_new((size_t)K * C * k * k), b = f2_new(K), sc = f2_new(C), sh = f2_new(C);
	F2 dw = f2_new(w.n), db = f2_new(K);
	br_preact pre[2];
	float ws = 1.0f / sqrtf((float)(C * k * k));

	set_shape("N%d C%d H%d W%d K%d k%d pre%d%s", N, C, H, W, K, k, pre_mode, bias ? " bias" : "");
	t2_rand(&x, -1, 1);
	f2_rand(&w, -ws * 1.7f, ws * 1.7f);
	f2_rand(&b, -0.5f, 0.5f);
	f2_rand(&sc, 0.5f, 1.5f);
	f2_rand(&sh, -0.3f, 0.3f);
	for (int s = 0; s < 2; s++) {
		pre[s].scale = pre_mode == 2 ? sc.p[s] : NULL;
		pre[s].shift = pre_mode == 2 ? sh.p[s] : NULL;
		pre[s].relu = pre_mode != 0;
	}
	t2_poison(&y);
	RUN2(br_conv2d_forward(CS, TS(y), TS(x), FS(w), bias ? FS(b) : NULL, k, pre_mode ? &pre[side] : NULL));
	if (run_ok)
		check_t("conv2d_forward y", &y, (double)C * k * k);

	for (int accum = 0; accum < 2; accum++) {
		t2_rand(&dy, -1, 1);
		if (accum)
			t2_rand(&da, -1, 1);
		else
			t2_poison(&da);
		f2_rand(&dw, -1, 1);
		f2_rand(&db, -1, 1);
		RUN2(br_conv2d_backward(CS, TS(da), FS(dw), bias ? FS(db) : NULL, TS(dy), TS(x), FS(w), k,
					pre_mode ? &pre[side] : NULL, accum));
		if (!run_ok)
			continue;
		check_t(accum ? "conv2d_backward da accum" : "conv2d_backward da", &da, (double)K * k * k);
		check_f(accum ? "conv2d_backward dw accum" : "conv2d_backward dw", &dw, (double)N * H * W);
		if (bias)
			check_f("conv2d_backward db", &db, (double)N * H * W);
	}
	/* filter gradient only (the network's first layer needs no da) */
	f2_rand(&dw, -1, 1);
	RUN2(br_conv2d_backward(CS, NULL, FS(dw), NULL, TS(dy), TS(x), FS(w), k, pre_mode ? &pre[side] : NULL, 0));
	if (run_ok)
		check_f("conv2d_backward dw only", &dw, (double)N * H * W);

	t2_free(&x), t2_free(&y), t2_free(&dy), t2_free(&da);
	f2_free(&w), f2_free(&b), f2_free(&sc), f2_free(&sh), f2_free(&dw), f2_free(&db);
}

static void test_convt(int N, int C, int H, int W, int K)
{
	T2 x = t2_new(N, C, H, W), y = t2_new(N, K, 2 * H, 2 * W), dy = t2_new(N, K, 2 * H, 2 * W),
	   dx = t2_new(N, C, H, W);
	F2 w = f2_new((size_t)C * K * 4), b = f2_new(K), dw = f2_new(w.n), db = f2_new(K);
	float ws = 1.0f / sqrtf((float)C);

	set_shape("N%d C%d H%d W%d K%d", N, C, H, W, K);
	t2_rand(&x, -1, 1);
	f2_rand(&w, -ws, ws);
	f2_rand(&b, -0.5f, 0.5f);
	t2_poison(&y);
	RUN2(br_convt2x2_forward(CS, TS(y), TS(x), FS(w), FS(b)));
	if (run_ok)
		check_t("convt2x2_forward y", &y, C);
	for (int accum = 0; accum < 2; accum++) {
		t2_rand(&dy, -1, 1);
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		f2_rand(&dw, -1, 1);
		f2_rand(&db, -1, 1);
		RUN2(br_convt2x2_backward(CS, TS(dx), FS(dw), FS(db), TS(dy), TS(x), FS(w), accum));
		if (!run_ok)
			continue;
		check_t(accum ? "convt2x2_backward dx accum" : "convt2x2_backward dx", &dx, 4.0 * K);
		check_f("convt2x2_backward dw", &dw, (double)N * H * W);
		check_f("convt2x2_backward db", &db, 4.0 * N * H * W);
	}
	t2_free(&x), t2_free(&y), t2_free(&dy), t2_free(&dx);
	f2_free(&w), f2_free(&b), f2_free(&dw), f2_free(&db);
}

static void test_bn(int N, int C, int H, int W)
{
	T2 x = t2_new(N, C, H, W), da = t2_new(N, C, H, W), dx = t2_new(N, C, H, W);
	F2 mean = f2_new(C), var = f2_new(C), scale = f2_new(C), shift = f2_new(C), rmean = f2_new(C),
	   rvar = f2_new(C), gamma = f2_new(C), beta = f2_new(C), dg = f2_new(C), dbt = f2_new(C);
	const double M = (double)N * H * W;

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	/* an offset mean, as conv outputs have */
	for (size_t i = 0; i < x.n; i++) {
		x.h[i] = rnd(-1, 1) * 1.5f + 0.7f;
		if (prec == BR_PREC_BF16) /* the same input on both sides */
			x.h[i] = q_bf16(x.h[i]);
	}
	t2_upload(&x);
	f2_rand(&gamma, 0.5f, 1.5f);
	f2_rand(&beta, -0.5f, 0.5f);
	f2_rand(&rmean, -0.2f, 0.2f);
	f2_rand(&rvar, 0.5f, 1.5f);
	f2_poison(&mean), f2_poison(&var), f2_poison(&scale), f2_poison(&shift);
	RUN2(br_bn_train_stats(CS, FS(mean), FS(var), FS(scale), FS(shift), FS(rmean), FS(rvar), TS(x), FS(gamma),
			       FS(beta), 1e-5f, 0.1f));
	if (run_ok) {
		check_f("bn_train_stats mean", &mean, M);
		check_f("bn_train_stats var", &var, M);
		check_f("bn_train_stats scale", &scale, M);
		check_f("bn_train_stats shift", &shift, M);
		check_f("bn_train_stats rmean", &rmean, M);
		check_f("bn_train_stats rvar", &rvar, M);
	}
	/* the backward reads the same statistics on both sides: the cpu's */
	if (br_memcpy_d2h(CX[0], mean.h, mean.p[0], C * sizeof(float)) < 0 ||
	    br_memcpy_d2h(CX[0], var.h, var.p[0], C * sizeof(float)) < 0)
		die_ctx(0, "br_memcpy_d2h");
	f2_upload(&mean);
	f2_upload(&var);
	for (int accum = 0; accum < 2; accum++) {
		t2_rand(&da, -1, 1);
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		f2_rand(&dg, -1, 1);
		f2_rand(&dbt, -1, 1);
		RUN2(br_bn_relu_backward(CS, TS(dx), FS(dg), FS(dbt), TS(da), TS(x), FS(mean), FS(var), FS(gamma),
					 FS(beta), 1e-5f, accum));
		if (!run_ok)
			continue;
		check_t(accum ? "bn_relu_backward dx accum" : "bn_relu_backward dx", &dx, M);
		check_f("bn_relu_backward dgamma", &dg, M);
		check_f("bn_relu_backward dbeta", &dbt, M);
	}
	/* inference fold */
	f2_poison(&scale), f2_poison(&shift);
	RUN2(br_bn_infer_fold(CS, FS(scale), FS(shift), FS(rmean), FS(rvar), FS(gamma), FS(beta), C, 1e-5f));
	if (run_ok) {
		check_f("bn_infer_fold scale", &scale, 1);
		check_f("bn_infer_fold shift", &shift, 1);
	}
	t2_free(&x), t2_free(&da), t2_free(&dx);
	f2_free(&mean), f2_free(&var), f2_free(&scale), f2_free(&shift), f2_free(&rmean), f2_free(&rvar);
	f2_free(&gamma), f2_free(&beta), f2_free(&dg), f2_free(&dbt);
}

/* ---- the split-batch ops (data parallelism): sums in double, and what is finished from them ---- */

/* d[s]: n doubles on side s; compared as float, CPU the reference */
static void check_sums(const char *what, double *const d[2], size_t n, double terms)
{
	double *h = xmalloc(2 * n * sizeof *h);
	float *f = xmalloc(2 * n * sizeof *f);

	for (int s = 0; s < 2; s++)
		if (br_memcpy_d2h(CX[s], h + s * n, d[s], n * sizeof *h) < 0)
			die_ctx(s, "br_memcpy_d2h");
	for (size_t i = 0; i < 2 * n; i++)
		f[i] = (float)h[i];
	compare(what, f, f + n, n, terms);
	free(h);
	free(f);
}

/* both sides get side 0's sums, so that the finishing ops see the same input */
static void share_sums(double *const d[2], size_t n)
{
	double *h = xmalloc(n * sizeof *h);

	if (br_memcpy_d2h(CX[0], h, d[0], n * sizeof *h) < 0 || br_memcpy_h2d(CX[1], d[1], h, n * sizeof *h) < 0)
		die_ctx(1, "sums");
	free(h);
}

static void test_split(int N, int C, int H, int W)
{
	static const uint8_t labs[4] = {0, 1, 2, 4};
	T2 x = t2_new(N, C, H, W), da = t2_new(N, C, H, W), dx = t2_new(N, C, H, W);
	T2 z = t2_new(N, 1, H, W), dz = t2_new(N, 1, H, W);
	F2 mean = f2_new(C), var = f2_new(C), scale = f2_new(C), shift = f2_new(C), rmean = f2_new(C),
	   rvar = f2_new(C), gamma = f2_new(C), beta = f2_new(C), dg = f2_new(C), dbt = f2_new(C), loss = f2_new(1);
	const double M = (double)N * H * W;
	size_t m = (size_t)N * H * W;
	uint8_t *lh = xmalloc(m), *lab[2];
	double *ds[2];

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	for (int s = 0; s < 2; s++) {
		ds[s] = br_malloc(CX[s], (2 * (size_t)C + 16) * sizeof(double));
		lab[s] = br_malloc(CX[s], m);
		if (ds[s] == NULL || lab[s] == NULL)
			die_ctx(s, "br_malloc");
	}
	for (size_t i = 0; i < x.n; i++) {
		x.h[i] = rnd(-1, 1) * 1.5f + 0.7f;
		if (prec == BR_PREC_BF16)
			x.h[i] = q_bf16(x.h[i]);
	}
	t2_upload(&x);
	f2_rand(&gamma, 0.5f, 1.5f);
	f2_rand(&beta, -0.5f, 0.5f);
	f2_rand(&rmean, -0.2f, 0.2f);
	f2_rand(&rvar, 0.5f, 1.5f);
	RUN2(br_bn_sums(CS, ds[side], TS(x)));
	if (run_ok)
		check_sums("bn_sums", ds, 2 * (size_t)C, M);
	share_sums(ds, 2 * (size_t)C);
	f2_poison(&mean), f2_poison(&var), f2_poison(&scale), f2_poison(&shift);
	RUN2(br_bn_stats_from_sums(CS, FS(mean), FS(var), FS(scale), FS(shift), FS(rmean), FS(rvar), ds[side], M,
				   FS(gamma), FS(beta), C, 1e-5f, 0.1f));
	if (run_ok) {
		check_f("bn_stats_from_sums mean", &mean, 1);
		check_f("bn_stats_from_sums var", &var, 1);
		check_f("bn_stats_from_sums scale", &scale, 1);
		check_f("bn_stats_from_sums shift", &shift, 1);
		check_f("bn_stats_from_sums rmean", &rmean, 1);
		check_f("bn_stats_from_sums rvar", &rvar, 1);
	}
	if (br_memcpy_d2h(CX[0], mean.h, mean.p[0], C * sizeof(float)) < 0 ||
	    br_memcpy_d2h(CX[0], var.h, var.p[0], C * sizeof(float)) < 0)
		die_ctx(0, "br_memcpy_d2h");
	f2_upload(&mean);
	f2_upload(&var);
	t2_rand(&da, -1, 1);
	f2_rand(&dg, -1, 1);
	f2_rand(&dbt, -1, 1);
	RUN2(br_bn_relu_backward_sums(CS, ds[side], FS(dg), FS(dbt), TS(da), TS(x), FS(mean), FS(var), FS(gamma),
				      FS(beta), 1e-5f));
	if (run_ok) {
		check_sums("bn_relu_backward_sums", ds, 2 * (size_t)C, M);
		check_f("bn_relu_backward_sums dgamma", &dg, M);
		check_f("bn_relu_backward_sums dbeta", &dbt, M);
	}
	share_sums(ds, 2 * (size_t)C);
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		RUN2(br_bn_relu_backward_from_sums(CS, TS(dx), TS(da), TS(x), ds[side], M, FS(mean), FS(var), FS(gamma),
						   FS(beta), 1e-5f, accum));
		if (run_ok)
			check_t(accum ? "bn_relu_backward_from_sums dx accum" : "bn_relu_backward_from_sums dx", &dx, 1);
	}
	/* the loss in two steps */
	for (size_t i = 0; i < m; i++)
		lh[i] = labs[(int)(unif() * 4) & 3];
	for (int s = 0; s < 2; s++)
		if (br_memcpy_h2d(CX[s], lab[s], lh, m) < 0)
			die_ctx(s, "labels");
	t2_rand(&z, -4, 4);
	for (int target = BR_TARGET_WT; target <= BR_TARGET_ET; target++) {
		set_shape("(%d,1,%d,%d) target %d", N, H, W, target);
		RUN2(br_loss_sums(CS, ds[side], TS(z), lab[side], target));
		if (run_ok)
			check_sums("loss_sums", ds, 4, M);
		share_sums(ds, 4);
		f2_poison(&loss);
		t2_poison(&dz);
		RUN2(br_loss_from_sums(CS, FS(loss), TS(dz), TS(z), lab[side], ds[side], 2 * M, target, 0.75f));
		if (run_ok) {
			check_f("loss_from_sums loss", &loss, 1);
			check_t("loss_from_sums dlogit", &dz, 1);
		}
	}
	for (int s = 0; s < 2; s++) {
		br_free(CX[s], ds[s]);
		br_free(CX[s], lab[s]);
	}
	free(lh);
	t2_free(&x), t2_free(&da), t2_free(&dx), t2_free(&z), t2_free(&dz);
	f2_free(&mean), f2_free(&var), f2_free(&scale), f2_free(&shift), f2_free(&rmean), f2_free(&rvar);
	f2_free(&gamma), f2_free(&beta), f2_free(&dg), f2_free(&dbt), f2_free(&loss);
}

/* the same op twice on the GPU gives bit-identical results */
static void test_determinism(int N, int C, int H, int W)
{
	T2 x = t2_new(N, C, H, W), dy = t2_new(N, 1, H, W);
	F2 m1 = f2_new(C), v1 = f2_new(C), dw1 = f2_new(C), dw2 = f2_new(C), w = f2_new(C);
	float *a = xmalloc(4 * C * sizeof(float));
	int same = 1;

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	t2_rand(&x, -1, 1);
	t2_rand(&dy, -1, 1);
	f2_rand(&w, -1, 1);
	for (int rep = 0; rep < 2; rep++) {
		br_ctx *g = CX[1];
		if (br_bn_train_stats(g, m1.p[1], v1.p[1], NULL, NULL, NULL, NULL, &x.t[1], NULL, NULL, 1e-5f, 0.1f) < 0 ||
		    br_memset0(g, rep ? dw2.p[1] : dw1.p[1], C * sizeof(float)) < 0 ||
		    br_conv2d_backward(g, NULL, rep ? dw2.p[1] : dw1.p[1], NULL, &dy.t[1], &x.t[1], w.p[1], 1, NULL, 0) < 0) {
			tap(0, "determinism %s %s: %s", pname, shape, br_ctx_error(g));
			goto out;
		}
		if (br_memcpy_d2h(g, a + (rep ? 2 : 0) * C, m1.p[1], C * sizeof(float)) < 0 ||
		    br_memcpy_d2h(g, a + (rep ? 3 : 1) * C, v1.p[1], C * sizeof(float)) < 0)
			die_ctx(1, "br_memcpy_d2h");
	}
	same = memcmp(a, a + 2 * C, 2 * C * sizeof(float)) == 0;
	if (br_memcpy_d2h(CX[1], a, dw1.p[1], C * sizeof(float)) < 0 ||
	    br_memcpy_d2h(CX[1], a + C, dw2.p[1], C * sizeof(float)) < 0)
		die_ctx(1, "br_memcpy_d2h");
	same = same && memcmp(a, a + C, C * sizeof(float)) == 0;
	tap(same, "determinism (bn stats, 1x1 K=1 filter gradient) %s %s", pname, shape);
out:
	free(a);
	t2_free(&x), t2_free(&dy);
	f2_free(&m1), f2_free(&v1), f2_free(&dw1), f2_free(&dw2), f2_free(&w);
}

static void test_eltwise(int N, int C, int H, int W)
{
	T2 a = t2_new(N, C, H, W), b = t2_new(N, C, H, W), y = t2_new(N, C, H, W);

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	t2_rand(&a, -1, 1);
	t2_rand(&b, -1, 1);
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&y, -1, 1);
		else
			t2_poison(&y);
		RUN2(br_relu_backward(CS, TS(y), TS(a), TS(b), accum));
		if (run_ok)
			check_t(accum ? "relu_backward accum" : "relu_backward", &y, 1);
	}
	t2_poison(&y);
	RUN2(br_add(CS, TS(y), TS(a), TS(b)));
	if (run_ok)
		check_t("add", &y, 1);
	RUN2(br_add(CS, TS(y), TS(y), TS(b))); /* y aliases a */
	if (run_ok)
		check_t("add (y aliases a)", &y, 1);
	RUN2(br_acc(CS, TS(y), TS(a)));
	if (run_ok)
		check_t("acc", &y, 1);
	t2_free(&a), t2_free(&b), t2_free(&y);
}

static void test_maxpool(int N, int C, int H, int W)
{
	T2 x = t2_new(N, C, H, W), y = t2_new(N, C, H / 2, W / 2), dy = t2_new(N, C, H / 2, W / 2),
	   dx = t2_new(N, C, H, W);

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	t2_rand(&x, -1, 1);
	/* some ties: the first maximum in row-major order must win */
	for (size_t i = 0; i < x.n; i += 7)
		x.h[i] = x.h[i ^ 1];
	t2_upload(&x);
	t2_poison(&y);
	RUN2(br_maxpool2_forward(CS, TS(y), TS(x)));
	if (run_ok)
		check_t("maxpool2_forward", &y, 1);
	t2_rand(&dy, -1, 1);
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		RUN2(br_maxpool2_backward(CS, TS(dx), TS(dy), TS(x), accum));
		if (run_ok)
			check_t(accum ? "maxpool2_backward accum" : "maxpool2_backward", &dx, 1);
	}
	t2_free(&x), t2_free(&y), t2_free(&dy), t2_free(&dx);
}

static void test_concat(int N, int Ca, int Cb, int H, int W)
{
	T2 a = t2_new(N, Ca, H, W), b = t2_new(N, Cb, H, W), y = t2_new(N, Ca + Cb, H, W);

	set_shape("N%d Ca%d Cb%d H%d W%d", N, Ca, Cb, H, W);
	t2_rand(&a, -1, 1);
	t2_rand(&b, -1, 1);
	t2_poison(&y);
	RUN2(br_concat_forward(CS, TS(y), TS(a), TS(b)));
	if (run_ok)
		check_t("concat_forward", &y, 1);
	t2_rand(&y, -1, 1);
	for (int m = 0; m < 4; m++) {
		int acc_a = m & 1, acc_b = (m >> 1) & 1;
		if (acc_a)
			t2_rand(&a, -1, 1);
		else
			t2_poison(&a);
		if (acc_b)
			t2_rand(&b, -1, 1);
		else
			t2_poison(&b);
		RUN2(br_concat_backward(CS, TS(a), TS(b), TS(y), acc_a, acc_b));
		if (run_ok) {
			check_t(acc_a ? "concat_backward da accum" : "concat_backward da", &a, 1);
			check_t(acc_b ? "concat_backward db accum" : "concat_backward db", &b, 1);
		}
	}
	t2_poison(&b);
	RUN2(br_concat_backward(CS, NULL, TS(b), TS(y), 0, 0));
	if (run_ok)
		check_t("concat_backward db (da NULL)", &b, 1);
	t2_free(&a), t2_free(&b), t2_free(&y);
}

static void test_upsample(int N, int C, int H, int W, int s)
{
	T2 x = t2_new(N, C, H, W), y = t2_new(N, C, H * s, W * s);

	set_shape("(%d,%d,%d,%d) x%d", N, C, H, W, s);
	t2_rand(&x, -1, 1);
	t2_poison(&y);
	RUN2(br_upsample_forward(CS, TS(y), TS(x), s));
	if (run_ok)
		check_t("upsample_forward", &y, 4);
	t2_rand(&y, -1, 1);
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&x, -1, 1);
		else
			t2_poison(&x);
		RUN2(br_upsample_backward(CS, TS(x), TS(y), s, accum));
		if (run_ok)
			check_t(accum ? "upsample_backward accum" : "upsample_backward", &x, 4.0 * s * s);
	}
	t2_free(&x), t2_free(&y);
}

static void test_gate(int N, int C, int H, int W)
{
	T2 y = t2_new(N, C, H, W), g = t2_new(N, 1, H, W), out = t2_new(N, C, H, W), dy = t2_new(N, C, H, W),
	   dg = t2_new(N, 1, H, W);

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	t2_rand(&y, -1, 1);
	t2_rand(&g, -3, 3);
	t2_poison(&out);
	RUN2(br_gate_forward(CS, TS(out), TS(y), TS(g)));
	if (run_ok)
		check_t("gate_forward", &out, 1);
	t2_rand(&out, -1, 1); /* dout */
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&dy, -1, 1);
		else
			t2_poison(&dy);
		t2_poison(&dg);
		RUN2(br_gate_backward(CS, TS(dy), TS(dg), TS(out), TS(y), TS(g), accum));
		if (run_ok) {
			check_t(accum ? "gate_backward dy accum" : "gate_backward dy", &dy, 1);
			check_t("gate_backward dg", &dg, C);
		}
	}
	t2_free(&y), t2_free(&g), t2_free(&out), t2_free(&dy), t2_free(&dg);
}

static void test_se(int N, int C, int H, int W)
{
	T2 x = t2_new(N, C, H, W), out = t2_new(N, C, H, W), dx = t2_new(N, C, H, W);
	F2 z = f2_new((size_t)N * C), s = f2_new((size_t)N * C), ds = f2_new((size_t)N * C);

	set_shape("(%d,%d,%d,%d)", N, C, H, W);
	t2_rand(&x, -1, 1);
	f2_poison(&z);
	RUN2(br_avgpool_forward(CS, FS(z), TS(x)));
	if (run_ok)
		check_f("avgpool_forward", &z, (double)H * W);
	f2_rand(&z, -1, 1); /* dz */
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		RUN2(br_avgpool_backward(CS, TS(dx), FS(z), accum));
		if (run_ok)
			check_t(accum ? "avgpool_backward accum" : "avgpool_backward", &dx, 1);
	}
	f2_rand(&s, 0, 1.25f);
	t2_poison(&out);
	RUN2(br_scale_forward(CS, TS(out), TS(x), FS(s)));
	if (run_ok)
		check_t("scale_forward", &out, 1);
	t2_rand(&out, -1, 1); /* dout */
	for (int accum = 0; accum < 2; accum++) {
		if (accum)
			t2_rand(&dx, -1, 1);
		else
			t2_poison(&dx);
		f2_poison(&ds);
		RUN2(br_scale_backward(CS, TS(dx), FS(ds), TS(out), TS(x), FS(s), accum));
		if (run_ok) {
			check_t(accum ? "scale_backward dx accum" : "scale_backward dx", &dx, 1);
			check_f("scale_backward ds", &ds, (double)H * W);
		}
	}
	t2_poison(&dx);
	RUN2(br_scale_backward(CS, TS(dx), NULL, TS(out), TS(x), FS(s), 0));
	if (run_ok)
		check_t("scale_backward dx (ds NULL)", &dx, 1);
	t2_free(&x), t2_free(&out), t2_free(&dx);
	f2_free(&z), f2_free(&s), f2_free(&ds);
}

static void test_linear(int n, int in, int out)
{
	F2 x = f2_new((size_t)n * in), w = f2_new((size_t)out * in), b = f2_new(out), y = f2_new((size_t)n * out);
	F2 dx = f2_new(x.n), dw = f2_new(w.n), db = f2_new(out);

	set_shape("n%d in%d out%d", n, in, out);
	f2_rand(&x, -1, 1);
	f2_rand(&w, -0.3f, 0.3f);
	f2_rand(&b, -0.3f, 0.3f);
	f2_poison(&y);
	RUN2(br_linear_forward(CS, FS(y), FS(x), FS(w), FS(b), n, in, out));
	if (run_ok)
		check_f("linear_forward", &y, in);
	f2_rand(&y, -1, 1); /* dy */
	f2_poison(&dx);
	f2_rand(&dw, -1, 1);
	f2_rand(&db, -1, 1);
	RUN2(br_linear_backward(CS, FS(dx), FS(dw), FS(db), FS(y), FS(x), FS(w), n, in, out));
	if (run_ok) {
		check_f("linear_backward dx", &dx, out);
		check_f("linear_backward dw", &dw, n);
		check_f("linear_backward db", &db, n);
	}
	f2_free(&x), f2_free(&w), f2_free(&b), f2_free(&y), f2_free(&dx), f2_free(&dw), f2_free(&db);
}

static void test_vec(size_t n)
{
	F2 x = f2_new(n), y = f2_new(n), d = f2_new(n), dx = f2_new(n);

	set_shape("n%zu", n);
	f2_rand(&x, -4, 4);
	f2_rand(&d, -1, 1);
	f2_poison(&y);
	RUN2(br_vec_relu_forward(CS, FS(y), FS(x), n));
	if (run_ok)
		check_f("vec_relu_forward", &y, 1);
	f2_poison(&dx);
	RUN2(br_vec_relu_backward(CS, FS(dx), FS(d), FS(x), n));
	if (run_ok)
		check_f("vec_relu_backward", &dx, 1);
	f2_poison(&y);
	RUN2(br_vec_sigmoid_forward(CS, FS(y), FS(x), n));
	if (run_ok)
		check_f("vec_sigmoid_forward", &y, 1);
	f2_poison(&dx);
	RUN2(br_vec_sigmoid_backward(CS, FS(dx), FS(d), FS(y), n));
	if (run_ok)
		check_f("vec_sigmoid_backward", &dx, 1);
	for (int k = 0; k < 2; k++) {
		float p = k ? 0.2f : 0.0f;
		f2_poison(&y);
		RUN2(br_dropout_forward(CS, FS(y), FS(x), n, p, 0x1234567ULL + (uint64_t)k));
		if (run_ok)
			check_f(k ? "dropout_forward p0.2" : "dropout_forward p0", &y, 1);
		f2_poison(&dx);
		RUN2(br_dropout_backward(CS, FS(dx), FS(d), n, p, 0x1234567ULL + (uint64_t)k));
		if (run_ok)
			check_f(k ? "dropout_backward p0.2" : "dropout_backward p0", &dx, 1);
	}
	f2_free(&x), f2_free(&y), f2_free(&d), f2_free(&dx);
}

static void test_loss(int N, int H, int W)
{
	static const uint8_t labs[4] = {0, 1, 2, 4};
	T2 z = t2_new(N, 1, H, W), dz = t2_new(N, 1, H, W);
	F2 loss = f2_new(1);
	size_t m = (size_t)N * H * W;
	uint8_t *lh = xmalloc(m), *lab[2];

	for (size_t i = 0; i < m; i++)
		lh[i] = labs[(int)(unif() * 4) & 3];
	for (int s = 0; s < 2; s++) {
		lab[s] = br_malloc(CX[s], m);
		if (lab[s] == NULL || br_memcpy_h2d(CX[s], lab[s], lh, m) < 0)
			die_ctx(s, "labels");
	}
	t2_rand(&z, -4, 4);
	for (int target = BR_TARGET_WT; target <= BR_TARGET_ET; target++) {
		set_shape("(%d,1,%d,%d) target %d", N, H, W, target);
		f2_poison(&loss);
		t2_poison(&dz);
		RUN2(br_loss_bce_dice(CS, FS(loss), TS(dz), TS(z), lab[side], target, 0.75f));
		if (run_ok) {
			check_f("loss_bce_dice loss", &loss, (double)m);
			check_t("loss_bce_dice dlogit", &dz, 1);
		}
	}
	for (int s = 0; s < 2; s++)
		br_free(CX[s], lab[s]);
	free(lh);
	t2_free(&z), t2_free(&dz);
	f2_free(&loss);
}

static void test_adam(size_t n)
{
	F2 p = f2_new(n), g = f2_new(n), m = f2_new(n), v = f2_new(n);

	set_shape("n%zu", n);
	f2_rand(&p, -1, 1);
	f2_rand(&m, -0.01f, 0.01f);
	for (size_t i = 0; i < n; i++)
		v.h[i] = (float)(unif() * 1e-4);
	f2_upload(&v);
	for (int t = 1; t <= 3; t++) {
		f2_rand(&g, -1, 1);
		RUN2(br_adam_step(CS, FS(p), FS(g), FS(m), FS(v), n, 1e-3f, 0.9f, 0.999f, 1e-8f, t));
	}
	if (run_ok) {
		check_f("adam_step p", &p, 1);
		check_f("adam_step m", &m, 1);
		check_f("adam_step v", &v, 1);
	}
	f2_free(&p), f2_free(&g), f2_free(&m), f2_free(&v);
}

static void test_nonfinite(size_t n)
{
	F2 x = f2_new(n);
	size_t cnt[2] = {0, 0};

	set_shape("n%zu", n);
	for (size_t i = 0; i < n; i++)
		x.h[i] = (float)unif();
	x.h[0] = NAN;
	x.h[n / 2] = INFINITY;
	x.h[n - 1] = -INFINITY;
	f2_upload(&x);
	RUN2(br_count_nonfinite(CS, &cnt[side], FS(x), n));
	if (run_ok)
		tap(cnt[0] == 3 && cnt[1] == 3, "count_nonfinite %s %s (cpu %zu cuda %zu, expected 3)", pname, shape,
		    cnt[0], cnt[1]);
	f2_free(&x);
}

/* br_labels_assemble: the same labels on both backends, and those of the
 * rule of doc/MODEL.md written out here, at and around 0.5 and on NaN */
static void test_labels(size_t n, int wt_only)
{
	F2 pr = f2_new(4 * n);
	uint8_t *want = xmalloc(n), *got = xmalloc(n), *d[2];

	set_shape("n%zu wt_only %d", n, wt_only);
	for (size_t i = 0; i < 4 * n; i++) {
		double u = unif();
		pr.h[i] = u < 0.1 ? 0.5f : u < 0.15 ? nextafterf(0.5f, 0.0f) : u < 0.18 ? NAN : (float)unif();
	}
	f2_upload(&pr);
	for (size_t i = 0; i < n; i++) {
		float wt = pr.h[i], ncr = pr.h[n + i], et = pr.h[3 * n + i];
		want[i] = !(wt >= 0.5f) ? 0 : wt_only ? 1 : et >= 0.5f ? 4 : ncr >= 0.5f ? 1 : 2;
	}
	for (int s = 0; s < 2; s++) {
		d[s] = br_malloc(CX[s], n);
		if (d[s] == NULL)
			die_ctx(s, "br_malloc");
	}
	RUN2(br_labels_assemble(CS, d[side], FS(pr), n, wt_only));
	for (int s = 0; s < 2 && run_ok; s++) {
		size_t differ = 0;
		memset(got, 0xee, n);
		if (br_memcpy_d2h(CX[s], got, d[s], n) < 0)
			die_ctx(s, "br_memcpy_d2h");
		for (size_t i = 0; i < n; i++)
			differ += got[i] != want[i];
		tap(differ == 0, "labels_assemble %s %s on %s: %zu of %zu differ from the rule", pname, shape,
		    s ? "cuda" : "cpu", differ, n);
	}
	for (int s = 0; s < 2; s++)
		br_free(CX[s], d[s]);
	free(want);
	free(got);
	f2_free(&pr);
}

/* br_slices_gather and br_slices_scatter_sigmoid: a case record (c, nz, h,
 * w) in backend memory to a batch tensor and a head's logits back, with and
 * without the flip; the gather is a copy (exact in fp32, bf16 rounding
 * otherwise), the scatter a sum of scaled sigmoids */
static void test_slices(int nz, int z0, int nb, int h, int w)
{
	F2 rec = f2_new((size_t)4 * nz * h * w), sum = f2_new((size_t)4 * nz * h * w);
	T2 x = t2_new(nb, 4, h, w), y = t2_new(nb, 1, h, w);

	set_shape("nz %d z0 %d n %d %dx%d", nz, z0, nb, h, w);
	f2_rand(&rec, 0, 1);
	for (int flip = 0; flip < 2; flip++) {
		t2_poison(&x);
		RUN2(br_slices_gather(CS, TS(x), FS(rec), nz, z0, flip));
		if (run_ok)
			check_t(flip ? "slices_gather flip" : "slices_gather", &x, 1);
		t2_rand(&y, -6, 6);
		f2_rand(&sum, 0, 1);
		for (int accum = 0; accum < 2; accum++) {
			RUN2(br_slices_scatter_sigmoid(CS, FS(sum), 2, 4, nz, TS(y), z0, flip, 0.25, accum));
			if (run_ok)
				check_f(accum ? "slices_scatter_sigmoid accum" : "slices_scatter_sigmoid", &sum, 2);
		}
	}
	f2_free(&rec), f2_free(&sum);
	t2_free(&x), t2_free(&y);
}

static void test_errors(void)
{
	br_tensor a = {NULL, 1, 1, 2, 2};
	int rc = br_add(CX[1], &a, &a, &a);

	tap(rc < 0 && strstr(br_ctx_error(CX[1]), "NULL") != NULL, "NULL tensor refused %s (%s)", pname,
	    br_ctx_error(CX[1]));

	/* dispatch checks the arguments: both backends refuse a bad call with the
	 * same message, before any memory is touched (dummy is never read) */
	static float dummy[16];
	br_tensor t = {dummy, 2, 5, 4, 4}, odd = {dummy, 2, 5, 3, 4}, narrow = {dummy, 2, 5, 4, 3};
	br_tensor two = {dummy, 2, 2, 4, 4}, half = {dummy, 2, 5, 2, 2};
	br_preact half_pre = {dummy, NULL, 0};
#define SAME_REFUSAL(expr)                                                                                       \
	do {                                                                                                     \
		int r_[2];                                                                                       \
		char m_[512];                                                                                    \
		for (side = 0; side < 2; side++)                                                                 \
			r_[side] = (expr);                                                                       \
		snprintf(m_, sizeof m_, "%s", br_ctx_error(CX[0]));                                              \
		tap(r_[0] < 0 && r_[1] < 0 && strcmp(m_, br_ctx_error(CX[1])) == 0, "%s refused alike %s: %s | %s", \
		    #expr, pname, m_, br_ctx_error(CX[1]));                                                      \
	} while (0)
	SAME_REFUSAL(br_add(CS, &t, &t, &narrow));
	SAME_REFUSAL(br_maxpool2_forward(CS, &half, &odd));
	SAME_REFUSAL(br_conv2d_forward(CS, &t, &t, dummy, NULL, 3, &half_pre));
	SAME_REFUSAL(br_concat_backward(CS, &two, &two, &t, 0, 0));
	SAME_REFUSAL(br_linear_forward(CS, dummy, dummy, dummy, NULL, 0, 4, 4));
	SAME_REFUSAL(br_dropout_forward(CS, NULL, dummy, 4, 0.5f, 1));
	SAME_REFUSAL(br_loss_bce_dice(CS, dummy, NULL, &t, NULL, 0, 1.0f));
	SAME_REFUSAL(br_tensor_download(CS, NULL, &t));
#undef SAME_REFUSAL

	/* a failure inside the CUDA backend names the op: a staging buffer of 2 TiB cannot be had */
	br_tensor huge = {dummy, 1, 2, 1 << 19, 1 << 19};
	rc = br_tensor_upload(CX[1], &huge, dummy);
	tap(rc < 0 && strncmp(br_ctx_error(CX[1]), "tensor_upload: ", 15) == 0, "CUDA failure names the op %s (%s)",
	    pname, br_ctx_error(CX[1]));
}

static void run_all(int big)
{
	seed(42);
	test_errors();
	test_roundtrip(3, 5, 6, 10);
	test_roundtrip(2, 1, 7, 9);
	test_roundtrip(2, 4, 176, 144);

	/* convolutions: odd shapes (direct kernels), then the network's */
	test_conv(3, 5, 6, 10, 7, 3, 2, 1);
	test_conv(3, 5, 6, 10, 7, 1, 0, 0);
	test_conv(3, 5, 6, 10, 1, 1, 1, 1);
	test_conv(2, 8, 5, 7, 16, 3, 2, 1); /* smallest cuDNN shape */
	test_conv(2, 16, 9, 11, 8, 1, 0, 1);
	if (big) {
		test_conv(2, 4, 176, 144, 32, 3, 2, 1);   /* enc1 conv1 */
		test_conv(2, 4, 176, 144, 32, 1, 0, 1);   /* enc1 proj */
		test_conv(2, 32, 176, 144, 32, 3, 2, 1);  /* enc1 conv2 */
		test_conv(2, 32, 176, 144, 1, 1, 1, 1);   /* enc1 gate, head_wt */
		test_conv(2, 32, 88, 72, 64, 3, 2, 1);    /* enc2 conv1 */
		test_conv(2, 32, 88, 72, 64, 1, 0, 1);    /* enc2 proj */
		test_conv(2, 128, 44, 36, 1, 1, 0, 1);    /* head_ed */
		test_conv(2, 256, 22, 18, 256, 3, 2, 1);  /* enc4 conv2 */
		test_conv(2, 256, 44, 36, 128, 3, 2, 1);  /* dec3 conv1 */
	}
	test_convt(3, 5, 3, 5, 7);
	test_convt(2, 16, 4, 6, 8);
	if (big) {
		test_convt(2, 256, 22, 18, 128); /* dec3 up */
		test_convt(2, 64, 88, 72, 32);   /* dec1 up */
	}

	test_bn(3, 5, 6, 10);
	test_bn(2, 32, 88, 72);
	if (big)
		test_bn(4, 4, 176, 144);
	test_determinism(2, 32, 88, 72);
	test_split(3, 5, 6, 10);
	test_split(2, 32, 44, 36);

	test_eltwise(3, 5, 6, 10);
	test_eltwise(2, 32, 44, 36);
	test_maxpool(3, 5, 6, 10);
	test_maxpool(2, 32, 176, 144);
	test_concat(3, 5, 3, 6, 10);
	test_concat(2, 32, 32, 44, 36);
	test_upsample(3, 5, 6, 10, 2);
	test_upsample(3, 2, 5, 7, 4);
	test_upsample(2, 1, 88, 72, 2);
	test_upsample(2, 1, 44, 36, 4);
	test_gate(3, 5, 6, 10);
	test_gate(2, 64, 88, 72);
	test_se(3, 5, 6, 10);
	test_se(2, 64, 88, 72);
	test_linear(3, 37, 5);
	test_linear(32, 256, 32);
	test_linear(32, 4, 32);
	test_vec(1001);
	test_vec(32 * 256);
	test_loss(3, 6, 10);
	test_loss(2, 176, 144);
	test_adam(1000 + 3);
	test_nonfinite(100003);
	test_labels(100003, 0);
	test_slices(155, 0, 16, 144, 176);
	test_slices(37, 30, 7, 24, 40);
	test_labels(4097, 1);
}

int main(int argc, char **argv)
{
	static const int precs[3] = {BR_PREC_FP32, BR_PREC_TF32, BR_PREC_BF16};
	static const char *names[3] = {"fp32", "tf32", "bf16"};
	char err[512];
	int only = -1, big = 1, i;
	struct timespec t0, t1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0)
			tap_quiet = 1;
		else if (strcmp(argv[i], "-s") == 0)
			big = 0;
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			i++;
			for (only = 2; only >= 0 && strcmp(argv[i], names[only]) != 0; only--)
				;
			if (only < 0) {
				fprintf(stderr, "usage: test_cuda_ops [-q] [-s] [-p fp32|tf32|bf16]\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: test_cuda_ops [-q] [-s] [-p fp32|tf32|bf16]\n");
			return 2;
		}
	}
	if (!br_cuda_built()) {
		printf("ok 1 # SKIP built without the CUDA backend\n1..1\n");
		return 0;
	}
	if (br_device_count(BR_DEV_CUDA) < 1) {
		printf("ok 1 # SKIP no CUDA device\n1..1\n");
		return 0;
	}
	CX[0] = br_ctx_new("cpu", 0, BR_PREC_FP32, err, sizeof err);
	if (CX[0] == NULL) {
		printf("not ok 1 - cpu ctx: %s\n1..1\n", err);
		return 1;
	}
	for (int k = 0; k < 3; k++) {
		if (only >= 0 && k != only)
			continue;
		prec = precs[k];
		pname = names[k];
		CX[1] = br_ctx_new("cuda", 0, prec, err, sizeof err);
		if (CX[1] == NULL) {
			tap(0, "cuda ctx %s: %s", pname, err);
			continue;
		}
		tap(br_ctx_precision(CX[1]) == prec, "cuda ctx %s: %s", pname, br_ctx_describe(CX[1]));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		run_all(big);
		if (br_sync(CX[1]) < 0)
			tap(0, "br_sync %s: %s", pname, br_ctx_error(CX[1]));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "test_cuda_ops: %s done in %.1f s\n", pname,
			(double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
		br_ctx_free(CX[1]);
		CX[1] = NULL;
	}
	br_ctx_free(CX[0]);
	return tap_done("test_cuda_ops");
}
