/*
 * test_split.c - the ops of a batch split across processes (br_bn_sums,
 * br_bn_stats_from_sums, br_bn_relu_backward_sums/_from_sums, br_loss_sums,
 * br_loss_from_sums) on the CPU backend: a batch cut into two parts, the
 * parts' sums added up, must give what the one-piece ops give on the whole
 * batch, to a tolerance of float rounding (the sums run in another order).
 */
#include "tk.h"

static br_ctx *ctx;

#define TOL(a, n) (2e-5 * (1 + tk_maxabs((a), (n))))

static void test_bn_split(int n, int n0, int c, int h, int w)
{
	size_t hw = (size_t)h * w, nx = (size_t)n * c * hw, n0x = (size_t)n0 * c * hw;
	float *x = tk_alloc(nx), *da = tk_randn(nx, 1), *g = tk_rand(c, 0.5f, 1.5f), *b = tk_randn(c, 0.5f);
	float *m1 = tk_alloc(c), *v1 = tk_alloc(c), *s1 = tk_alloc(c), *h1 = tk_alloc(c), *rm1 = tk_randn(c, 1),
	      *rv1 = tk_rand(c, 0.5f, 2);
	float *m2 = tk_alloc(c), *v2 = tk_alloc(c), *s2 = tk_alloc(c), *h2 = tk_alloc(c), *rm2 = tk_copy(rm1, c),
	      *rv2 = tk_copy(rv1, c);
	float *dx1 = tk_alloc(nx), *dx2 = tk_randn(nx, 1), *dg1 = tk_randn(c, 1), *db1 = tk_randn(c, 1);
	float *dg2 = tk_copy(dg1, c), *db2 = tk_copy(db1, c), *pre = tk_copy(dx2, nx);
	double *sa = calloc(2 * (size_t)c, sizeof *sa), *sb = calloc(2 * (size_t)c, sizeof *sb),
	       *st = calloc(2 * (size_t)c, sizeof *st);
	br_tensor tx = tk_t(x, n, c, h, w), tda = tk_t(da, n, c, h, w), tdx1 = tk_t(dx1, n, c, h, w);
	br_tensor px[2] = {tk_t(x, n0, c, h, w), tk_t(x + n0x, n - n0, c, h, w)};
	br_tensor pda[2] = {tk_t(da, n0, c, h, w), tk_t(da + n0x, n - n0, c, h, w)};
	br_tensor pdx[2] = {tk_t(dx2, n0, c, h, w), tk_t(dx2 + n0x, n - n0, c, h, w)};
	double cnt = (double)n * hw;
	char msg[256];
	int ok;

	for (size_t i = 0; i < nx; i++)
		x[i] = 3.0f + 2.0f * tk_normal(); /* a mean away from 0 */
	TK_CALL(ctx, br_bn_train_stats(ctx, m1, v1, s1, h1, rm1, rv1, &tx, g, b, 1e-5f, 0.1f));
	TK_CALL(ctx, br_bn_sums(ctx, sa, &px[0]));
	TK_CALL(ctx, br_bn_sums(ctx, sb, &px[1]));
	for (int k = 0; k < 2 * c; k++)
		st[k] = sa[k] + sb[k];
	TK_CALL(ctx, br_bn_stats_from_sums(ctx, m2, v2, s2, h2, rm2, rv2, st, cnt, g, b, c, 1e-5f, 0.1f));
	ok = tk_close(m2, m1, c, TOL(m1, c), 1e-5, msg, sizeof msg) && tk_close(v2, v1, c, TOL(v1, c), 1e-5, msg, sizeof msg) &&
	     tk_close(s2, s1, c, TOL(s1, c), 1e-5, msg, sizeof msg) && tk_close(h2, h1, c, TOL(h1, c), 1e-5, msg, sizeof msg) &&
	     tk_close(rm2, rm1, c, TOL(rm1, c), 1e-5, msg, sizeof msg) &&
	     tk_close(rv2, rv1, c, TOL(rv1, c), 1e-5, msg, sizeof msg);
	tk_result(ok, "bn statistics of %d+%d slices from summed parts = of %d slices (%dx%dx%d): %s", n0, n - n0, n, c,
		  h, w, msg);

	/* backward with the whole batch's statistics */
	TK_CALL(ctx, br_bn_relu_backward(ctx, &tdx1, dg1, db1, &tda, &tx, m1, v1, g, b, 1e-5f, 0));
	TK_CALL(ctx, br_bn_relu_backward_sums(ctx, sa, dg2, db2, &pda[0], &px[0], m1, v1, g, b, 1e-5f));
	TK_CALL(ctx, br_bn_relu_backward_sums(ctx, sb, dg2, db2, &pda[1], &px[1], m1, v1, g, b, 1e-5f));
	for (int k = 0; k < 2 * c; k++)
		st[k] = sa[k] + sb[k];
	TK_CALL(ctx, br_bn_relu_backward_from_sums(ctx, &pdx[0], &pda[0], &px[0], st, cnt, m1, v1, g, b, 1e-5f, 1));
	TK_CALL(ctx, br_bn_relu_backward_from_sums(ctx, &pdx[1], &pda[1], &px[1], st, cnt, m1, v1, g, b, 1e-5f, 0));
	for (size_t i = 0; i < n0x; i++)
		dx2[i] -= pre[i]; /* part 0 was added to its prefill */
	ok = tk_close(dx2, dx1, nx, TOL(dx1, nx), 1e-4, msg, sizeof msg) &&
	     tk_close(dg2, dg1, c, TOL(dg1, c), 1e-4, msg, sizeof msg) && tk_close(db2, db1, c, TOL(db1, c), 1e-4, msg, sizeof msg);
	tk_result(ok, "bn_relu backward of %d+%d slices from summed parts (accum 1 and 0) = of %d slices: %s", n0, n - n0,
		  n, msg);
	free(x), free(da), free(g), free(b), free(m1), free(v1), free(s1), free(h1), free(rm1), free(rv1);
	free(m2), free(v2), free(s2), free(h2), free(rm2), free(rv2), free(dx1), free(dx2), free(dg1), free(db1);
	free(dg2), free(db2), free(pre), free(sa), free(sb), free(st);
}

static void test_loss_split(int n, int n0, int h, int w, int target)
{
	size_t np = (size_t)n * h * w, n0p = (size_t)n0 * h * w;
	float *z = tk_randn(np, 2), *d1 = tk_alloc(np), *d2 = tk_alloc(np), l1, l2[2];
	uint8_t *lab = malloc(np);
	static const uint8_t vals[4] = {0, 1, 2, 4};
	double sa[4], sb[4], st[4];
	br_tensor tz = tk_t(z, n, 1, h, w), td = tk_t(d1, n, 1, h, w);
	br_tensor pz[2] = {tk_t(z, n0, 1, h, w), tk_t(z + n0p, n - n0, 1, h, w)};
	br_tensor pd[2] = {tk_t(d2, n0, 1, h, w), tk_t(d2 + n0p, n - n0, 1, h, w)};
	char msg[256];
	int ok;

	for (size_t i = 0; i < np; i++)
		lab[i] = vals[tk_u64() % 4];
	TK_CALL(ctx, br_loss_bce_dice(ctx, &l1, &td, &tz, lab, target, 0.7f));
	TK_CALL(ctx, br_loss_sums(ctx, sa, &pz[0], lab, target));
	TK_CALL(ctx, br_loss_sums(ctx, sb, &pz[1], lab + n0p, target));
	for (int k = 0; k < 4; k++)
		st[k] = sa[k] + sb[k];
	TK_CALL(ctx, br_loss_from_sums(ctx, &l2[0], &pd[0], &pz[0], lab, st, (double)np, target, 0.7f));
	TK_CALL(ctx, br_loss_from_sums(ctx, &l2[1], &pd[1], &pz[1], lab + n0p, st, (double)np, target, 0.7f));
	ok = fabsf(l2[0] - l1) <= 1e-6f * (1 + fabsf(l1)) && l2[1] == l2[0] &&
	     tk_close(d2, d1, np, TOL(d1, np), 1e-5, msg, sizeof msg);
	tk_result(ok, "loss (target %d) of %d+%d slices from summed parts = of %d slices: loss %.7g vs %.7g, %s", target,
		  n0, n - n0, n, (double)l2[0], (double)l1, msg);
	free(z), free(d1), free(d2), free(lab);
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 2;

	ctx = tk_ctx(nt);
	tk_seed(7);
	test_bn_split(4, 1, 5, 6, 6);
	test_bn_split(5, 3, 16, 12, 10);
	for (int t = BR_TARGET_WT; t <= BR_TARGET_ET; t++)
		test_loss_split(3, 1, 16, 8, t);
	test_loss_split(6, 4, 40, 36, BR_TARGET_WT);
	br_ctx_free(ctx);
	return tk_done();
}
