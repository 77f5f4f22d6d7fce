/*
 * test_conv.c - the fast convolution paths of the CPU backend against the
 * direct reference (BR_CPU_REFERENCE=1): the default vector code (AVX2
 * where the CPU has it), the opt-in AVX-512 micro-kernel where the CPU has
 * AVX-512, and the portable code;
 * and run-to-run determinism: bit-identical results for the same thread
 * count.
 *
 * usage: test_conv [nthreads]      TAP on stdout, exit 1 on any failure
 */
#define _POSIX_C_SOURCE 200809L
#include "tk.h"

static br_ctx *ref, *fast, *avx2, *gen; /* avx2: the opt-in AVX-512 code */

static br_ctx *ctx_with(const char *refv, const char *simd, int nt)
{
	setenv("BR_CPU_REFERENCE", refv, 1);
	if (simd != NULL)
		setenv("BR_CPU_SIMD", simd, 1);
	else
		unsetenv("BR_CPU_SIMD");
	return tk_ctx(nt);
}

struct res {
	float *y, *da, *da_acc, *dw, *db;
};

static void run(br_ctx *ctx, struct res *r, const float *x, const float *w, const float *b, const float *dy,
		const float *pre_da, int n, int c, int k, int h, int wd, int ks, const br_preact *p)
{
	size_t nx = (size_t)n * c * h * wd, ny = (size_t)n * k * h * wd, nw = (size_t)k * c * ks * ks;
	br_tensor tx = { (void *)x, n, c, h, wd }, ty, tdy = { (void *)dy, n, k, h, wd }, tda, tda2;

	r->y = tk_alloc(ny);
	r->da = tk_alloc(nx);
	r->da_acc = tk_copy(pre_da, nx);
	r->dw = tk_alloc(nw);
	r->db = tk_alloc(k);
	ty = tk_t(r->y, n, k, h, wd);
	tda = tk_t(r->da, n, c, h, wd);
	tda2 = tk_t(r->da_acc, n, c, h, wd);
	TK_CALL(ctx, br_conv2d_forward(ctx, &ty, &tx, w, b, ks, p));
	TK_CALL(ctx, br_conv2d_backward(ctx, &tda, r->dw, r->db, &tdy, &tx, w, ks, p, 0));
	TK_CALL(ctx, br_conv2d_backward(ctx, &tda2, NULL, NULL, &tdy, &tx, w, ks, p, 1));
}

static void res_free(struct res *r) { free(r->y), free(r->da), free(r->da_acc), free(r->dw), free(r->db); }

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void cmp(const char *what, const struct res *a, const struct res *r, size_t nx, size_t ny, size_t nw, int k,
		double tol)
{
	char msg[200];
	/* tolerances relative to each output's scale (Winograd's error is absolute in the sums) */
	tk_result(tk_close(a->y, r->y, ny, tol * tk_maxabs(r->y, ny), tol, msg, sizeof msg), "%s y: %s", what, msg);
	tk_result(tk_close(a->da, r->da, nx, tol * tk_maxabs(r->da, nx), tol, msg, sizeof msg), "%s da: %s", what, msg);
	tk_result(tk_close(a->da_acc, r->da_acc, nx, tol * tk_maxabs(r->da_acc, nx), tol, msg, sizeof msg),
		  "%s da accum=1: %s", what, msg);
	tk_result(tk_close(a->dw, r->dw, nw, 1e-5 * tk_maxabs(r->dw, nw), 1e-5, msg, sizeof msg), "%s dw: %s", what,
		  msg);
	tk_result(tk_close(a->db, r->db, k, 1e-6 * tk_maxabs(r->db, k), 1e-6, msg, sizeof msg), "%s db: %s", what, msg);
}

static void shape(int n, int c, int k, int h, int wd, int ks, int pk)
{
	size_t nx = (size_t)n * c * h * wd, ny = (size_t)n * k * h * wd, nw = (size_t)k * c * ks * ks;
	float *x = tk_randn(nx, 1), *w = tk_randn(nw, 1.0f / sqrtf((float)c * ks * ks)), *b = tk_randn(k, 0.1f);
	float *sc = tk_rand(c, 0.5f, 1.5f), *sh = tk_randn(c, 0.3f), *dy = tk_randn(ny, 1), *pre = tk_randn(nx, 1);
	br_preact p = { pk == 2 ? sc : NULL, pk == 2 ? sh : NULL, pk >= 1 };
	struct res rr, rf, rf2, rg, ra;
	char what[160];
	static const char *pn[3] = { "pre=NULL", "pre=relu", "pre=bn+relu" };

	snprintf(what, sizeof what, "conv k=%d %s (%d,%d->%d,%d,%d)", ks, pn[pk], n, c, k, h, wd);
	run(ref, &rr, x, w, b, dy, pre, n, c, k, h, wd, ks, pk ? &p : NULL);
	run(fast, &rf, x, w, b, dy, pre, n, c, k, h, wd, ks, pk ? &p : NULL);
	run(fast, &rf2, x, w, b, dy, pre, n, c, k, h, wd, ks, pk ? &p : NULL);
	run(gen, &rg, x, w, b, dy, pre, n, c, k, h, wd, ks, pk ? &p : NULL);
	run(avx2, &ra, x, w, b, dy, pre, n, c, k, h, wd, ks, pk ? &p : NULL);
	cmp(what, &rf, &rr, nx, ny, nw, k, 3e-5);
	strcat(what, " generic");
	cmp(what, &rg, &rr, nx, ny, nw, k, 3e-5);
	what[strlen(what) - 8] = '\0';
	if (strcmp(br_ctx_describe(avx2), br_ctx_describe(fast)) != 0) {
		strcat(what, " avx512");
		cmp(what, &ra, &rr, nx, ny, nw, k, 3e-5);
		what[strlen(what) - 7] = '\0';
	}
	tk_result(same(rf.y, rf2.y, ny) && same(rf.da, rf2.da, nx) && same(rf.dw, rf2.dw, nw) && same(rf.db, rf2.db, k) &&
			  same(rf.da_acc, rf2.da_acc, nx),
		  "%s: bit-identical run to run", what);
	res_free(&rr), res_free(&rf), res_free(&rf2), res_free(&rg), res_free(&ra);
	free(x), free(w), free(b), free(sc), free(sh), free(dy), free(pre);
}

/* weight and bias gradients over batch 32 x 176 x 144 pixels, sums that do
 * not cancel (dy with a mean), against the double reference, per element */
static void big_dw(int n, int c, int k, int h, int wd)
{
	size_t nx = (size_t)n * c * h * wd, ny = (size_t)n * k * h * wd, nw = (size_t)k * c * 9;
	float *x = tk_randn(nx, 1), *dy = tk_randn(ny, 1), *w = tk_randn(nw, 0.1f), *sc = tk_rand(c, 0.5f, 1.5f);
	float *sh = tk_randn(c, 0.3f), *d1 = tk_alloc(nw), *d2 = tk_alloc(nw), *b1 = tk_alloc(k), *b2 = tk_alloc(k);
	br_tensor tx = { x, n, c, h, wd }, tdy = { dy, n, k, h, wd };
	br_preact p = { sc, sh, 1 };
	char msg[200];

	for (size_t i = 0; i < ny; i++)
		dy[i] += 0.3f;
	TK_CALL(ref, br_conv2d_backward(ref, NULL, d1, b1, &tdy, &tx, w, 3, &p, 0));
	TK_CALL(fast, br_conv2d_backward(fast, NULL, d2, b2, &tdy, &tx, w, 3, &p, 0));
	tk_result(tk_close(d2, d1, nw, 0, 2e-6, msg, sizeof msg), "dw over (%d,%d->%d,%d,%d) within 2e-6 relative: %s", n,
		  c, k, h, wd, msg);
	tk_result(tk_close(b2, b1, k, 0, 2e-6, msg, sizeof msg), "db over (%d,%d->%d,%d,%d) within 2e-6 relative: %s", n,
		  c, k, h, wd, msg);
	free(x), free(dy), free(w), free(sc), free(sh), free(d1), free(d2), free(b1), free(b2);
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 2;

	ref = ctx_with("1", NULL, nt);
	fast = ctx_with("0", NULL, nt);
	gen = ctx_with("0", "generic", nt);
	avx2 = ctx_with("0", "avx512", nt);
	fprintf(stderr, "test_conv: reference %s, fast %s, opt-in %s, portable %s\n", br_ctx_describe(ref),
		br_ctx_describe(fast), br_ctx_describe(avx2), br_ctx_describe(gen));
	tk_seed(3);
	for (int ks = 1; ks <= 3; ks += 2)
		for (int pk = 0; pk < 3; pk++) {
			shape(2, 3, 5, 7, 9, ks, pk);
			shape(1, 1, 1, 1, 1, ks, pk);
			shape(3, 7, 6, 5, 3, ks, pk);
		}
	shape(1, 5, 9, 33, 29, 3, 2);  /* odd sizes, partial tiles both ways */
	shape(2, 4, 32, 44, 36, 3, 2); /* enc1 conv1-like, small */
	shape(2, 32, 32, 22, 18, 3, 2);
	shape(1, 64, 64, 30, 26, 3, 1);
	shape(2, 256, 128, 22, 18, 3, 2); /* dec3 conv1 */
	shape(1, 128, 256, 11, 9, 3, 2);
	shape(2, 32, 1, 44, 36, 1, 1);   /* gate */
	shape(2, 128, 64, 22, 18, 1, 0); /* proj */
	shape(2, 7, 13, 17, 19, 1, 2);
	big_dw(32, 4, 8, 176, 144);
	br_ctx_free(ref);
	br_ctx_free(fast);
	br_ctx_free(gen);
	br_ctx_free(avx2);
	return tk_done();
}
