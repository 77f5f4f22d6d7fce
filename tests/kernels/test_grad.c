/*
 * test_grad.c - every backward of the CPU kernels against central finite
 * differences of L = sum(r * y) (accumulated in double), the accumulate
 * flags of every backward, BatchNorm statistics against a direct double
 * computation, Adam against its formula in double.
 *
 * usage: test_grad [nthreads]     (TAP on stdout; exit 1 on any failure)
 * The environment's BR_CPU_REFERENCE / BR_CPU_SIMD select the CPU paths.
 */
#include "tk.h"

static br_ctx *ctx;

/* ---- finite differences ---- */

typedef double (*lossfn)(void);

/* Compare analytic g (n values) with central differences of f over x at up
 * to nsample indices.  Kinks are avoided by the callers' inputs. */
static void fd_check(const char *what, float *x, size_t n, const float *g, lossfn f, double h, double tol,
		     int nsample)
{
	double worst = 0.0, scale = 1e-3;
	size_t wi = 0, cnt = n < (size_t)nsample ? n : (size_t)nsample;
	double wfd = 0, wg = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(g[i]) > scale)
			scale = fabs(g[i]);
	for (size_t s = 0; s < cnt; s++) {
		size_t i = cnt == n ? s : (size_t)(tk_u64() % n);
		float v = x[i], xp = (float)(v + h), xm = (float)(v - h);
		x[i] = xp;
		double lp = f();
		x[i] = xm;
		double lm = f();
		x[i] = v;
		double fd = (lp - lm) / ((double)xp - (double)xm);
		if (!isfinite(g[i]) || !isfinite(fd)) {
			bad = 1;
			wi = i;
			wfd = fd;
			wg = g[i];
			break;
		}
		/* |a - b| <= atol + rtol |ref| with atol relative to the gradient's scale */
		double e = fabs(g[i] - fd) / (tol * scale + tol * fabs(fd));
		if (e > worst) {
			worst = e;
			wi = i;
			wfd = fd;
			wg = g[i];
		}
	}
	tk_result(!bad && worst <= 1.0, "%s: %zu of %zu checked, worst at %zu: analytic %.6g fd %.6g (%.2g of tol)",
		  what, cnt, n, wi, wg, wfd, worst);
}

/* Directional finite differences along random directions v: for a loss
 * known only in float, (L(x + h v) - L(x - h v)) / 2h against g . v. */
static void fd_dir(const char *what, float *x, size_t n, const float *g, lossfn f, double h, double tol, int ndir)
{
	float *x0 = tk_copy(x, n), *v = tk_alloc(n);
	double worst = 0, wa = 0, wf = 0;
	int bad = 0;

	for (int d = 0; d < ndir; d++) {
		double gv = 0, gabs = 0;
		for (size_t i = 0; i < n; i++) {
			v[i] = tk_normal();
			gv += (double)g[i] * v[i];
			gabs += fabs((double)g[i] * v[i]);
		}
		for (size_t i = 0; i < n; i++)
			x[i] = (float)(x0[i] + h * v[i]);
		double lp = f();
		for (size_t i = 0; i < n; i++)
			x[i] = (float)(x0[i] - h * v[i]);
		double lm = f();
		memcpy(x, x0, n * sizeof(float));
		double fd = (lp - lm) / (2 * h);
		if (!isfinite(fd) || !isfinite(gv)) {
			bad = 1;
			break;
		}
		double e = fabs(fd - gv) / (tol * gabs + 1e-6 / h);
		if (e > worst)
			worst = e, wa = gv, wf = fd;
	}
	tk_result(!bad && worst <= 1.0, "%s: %d directions, worst: analytic %.6g fd %.6g (%.2g of tol)", what, ndir, wa,
		  wf, worst);
	free(x0), free(v);
}

/* Random r weights, L = sum r y in double. */
static double dotd(const float *r, const float *y, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)r[i] * y[i];
	return s;
}

/* Check that backward with accum = 1 adds exactly what accum = 0 writes. */
static void accum_check(const char *what, const float *written, const float *added, const float *prefill, size_t n)
{
	float *d = tk_alloc(n);
	char msg[200];
	for (size_t i = 0; i < n; i++)
		d[i] = added[i] - prefill[i];
	int ok = tk_close(d, written, n, 1e-5 * (1 + tk_maxabs(written, n)), 1e-5, msg, sizeof msg);
	tk_result(ok, "%s accum=1 adds: %s", what, msg);
	free(d);
}

/* ---- conv2d ---- */

static struct {
	int n, c, k, h, w, ks, pk; /* pk: 0 none, 1 relu, 2 scale+shift+relu */
	float *x, *wt, *b, *y, *r, *sc, *sh;
} cv;

static br_preact cv_pre(void)
{
	br_preact p = { NULL, NULL, 0 };
	if (cv.pk >= 1)
		p.relu = 1;
	if (cv.pk == 2) {
		p.scale = cv.sc;
		p.shift = cv.sh;
	}
	return p;
}

static double cv_loss(void)
{
	br_tensor x = tk_t(cv.x, cv.n, cv.c, cv.h, cv.w), y = tk_t(cv.y, cv.n, cv.k, cv.h, cv.w);
	br_preact p = cv_pre();
	TK_CALL(ctx, br_conv2d_forward(ctx, &y, &x, cv.wt, cv.b, cv.ks, cv.pk ? &p : NULL));
	return dotd(cv.r, cv.y, (size_t)cv.n * cv.k * cv.h * cv.w);
}

static void test_conv(int n, int c, int k, int h, int w, int ks, int pk, int nsample)
{
	size_t nx = (size_t)n * c * h * w, ny = (size_t)n * k * h * w, nw = (size_t)k * c * ks * ks;
	char what[160];

	cv.n = n, cv.c = c, cv.k = k, cv.h = h, cv.w = w, cv.ks = ks, cv.pk = pk;
	cv.x = tk_randn(nx, 1.0f);
	cv.wt = tk_randn(nw, 0.5f);
	cv.b = tk_randn(k, 0.5f);
	cv.sc = tk_rand(c, 0.5f, 1.5f);
	cv.sh = tk_randn(c, 0.3f);
	cv.y = tk_alloc(ny);
	cv.r = tk_randn(ny, 1.0f);
	/* keep pre-activations away from the ReLU kink */
	for (size_t i = 0; i < nx && pk; i++) {
		int ci = (int)(i / ((size_t)h * w) % c);
		float s = pk == 2 ? cv.sc[ci] : 1.0f, b = pk == 2 ? cv.sh[ci] : 0.0f;
		float a = cv.x[i] * s + b;
		if (fabsf(a) < 0.05f)
			cv.x[i] = (a >= 0 ? 0.05f - b : -0.05f - b) / s;
	}
	float *da = tk_alloc(nx), *dx = tk_alloc(nx), *dw = tk_randn(nw, 1.0f), *db = tk_randn(k, 1.0f);
	float *dw0 = tk_copy(dw, nw), *db0 = tk_copy(db, k);
	br_tensor tx = tk_t(cv.x, n, c, h, w), tdy = tk_t(cv.r, n, k, h, w), tda = tk_t(da, n, c, h, w);
	br_preact p = cv_pre();
	TK_CALL(ctx, br_conv2d_backward(ctx, &tda, dw, db, &tdy, &tx, cv.wt, ks, pk ? &p : NULL, 0));
	for (size_t i = 0; i < nw; i++)
		dw[i] -= dw0[i];
	for (int i = 0; i < k; i++)
		db[i] -= db0[i];
	/* dL/dx = da * d pre / dx */
	for (size_t i = 0; i < nx; i++) {
		int ci = (int)(i / ((size_t)h * w) % c);
		float s = pk == 2 ? cv.sc[ci] : 1.0f, b = pk == 2 ? cv.sh[ci] : 0.0f;
		dx[i] = pk == 0 ? da[i] : (cv.x[i] * s + b > 0 ? da[i] * s : 0.0f);
	}
	const char *pn[3] = { "pre=NULL", "pre=relu", "pre=bn+relu" };
	snprintf(what, sizeof what, "conv2d k=%d %s N=%d C=%d K=%d %dx%d dx", ks, pn[pk], n, c, k, h, w);
	fd_check(what, cv.x, nx, dx, cv_loss, 1e-2, 2e-3, nsample);
	snprintf(what, sizeof what, "conv2d k=%d %s N=%d C=%d K=%d %dx%d dw", ks, pn[pk], n, c, k, h, w);
	fd_check(what, cv.wt, nw, dw, cv_loss, 1e-2, 2e-3, nsample);
	snprintf(what, sizeof what, "conv2d k=%d %s N=%d C=%d K=%d %dx%d db", ks, pn[pk], n, c, k, h, w);
	fd_check(what, cv.b, k, db, cv_loss, 1e-2, 2e-3, nsample);
	/* accum = 1: da added; dw, db always added; NULL outputs allowed */
	float *pre = tk_randn(nx, 1.0f), *da2 = tk_copy(pre, nx);
	br_tensor tda2 = tk_t(da2, n, c, h, w);
	TK_CALL(ctx, br_conv2d_backward(ctx, &tda2, NULL, NULL, &tdy, &tx, cv.wt, ks, pk ? &p : NULL, 1));
	snprintf(what, sizeof what, "conv2d k=%d %s da", ks, pn[pk]);
	accum_check(what, da, da2, pre, nx);
	float *dw2 = tk_copy(dw0, nw);
	TK_CALL(ctx, br_conv2d_backward(ctx, NULL, dw2, NULL, &tdy, &tx, cv.wt, ks, pk ? &p : NULL, 0));
	snprintf(what, sizeof what, "conv2d k=%d %s dw", ks, pn[pk]);
	accum_check(what, dw, dw2, dw0, nw);
	free(cv.x), free(cv.wt), free(cv.b), free(cv.sc), free(cv.sh), free(cv.y), free(cv.r);
	free(da), free(dx), free(dw), free(db), free(dw0), free(db0), free(pre), free(da2), free(dw2);
}

/* ---- transposed conv ---- */

static struct {
	int n, c, k, h, w;
	float *x, *wt, *b, *y, *r;
} ct;

static double ct_loss(void)
{
	br_tensor x = tk_t(ct.x, ct.n, ct.c, ct.h, ct.w), y = tk_t(ct.y, ct.n, ct.k, 2 * ct.h, 2 * ct.w);
	TK_CALL(ctx, br_convt2x2_forward(ctx, &y, &x, ct.wt, ct.b));
	return dotd(ct.r, ct.y, (size_t)ct.n * ct.k * 4 * ct.h * ct.w);
}

static void test_convt(int n, int c, int k, int h, int w, int nsample)
{
	size_t nx = (size_t)n * c * h * w, ny = (size_t)n * k * 4 * h * w, nw = (size_t)c * k * 4;
	char what[160];

	ct.n = n, ct.c = c, ct.k = k, ct.h = h, ct.w = w;
	ct.x = tk_randn(nx, 1), ct.wt = tk_randn(nw, 0.5f), ct.b = tk_randn(k, 0.5f), ct.y = tk_alloc(ny);
	ct.r = tk_randn(ny, 1);
	float *dx = tk_alloc(nx), *dw = tk_randn(nw, 1), *db = tk_randn(k, 1), *dw0 = tk_copy(dw, nw),
	      *db0 = tk_copy(db, k);
	br_tensor tx = tk_t(ct.x, n, c, h, w), tdy = tk_t(ct.r, n, k, 2 * h, 2 * w), tdx = tk_t(dx, n, c, h, w);
	TK_CALL(ctx, br_convt2x2_backward(ctx, &tdx, dw, db, &tdy, &tx, ct.wt, 0));
	for (size_t i = 0; i < nw; i++)
		dw[i] -= dw0[i];
	for (int i = 0; i < k; i++)
		db[i] -= db0[i];
	snprintf(what, sizeof what, "convt2x2 N=%d C=%d K=%d %dx%d dx", n, c, k, h, w);
	fd_check(what, ct.x, nx, dx, ct_loss, 1e-2, 2e-3, nsample);
	snprintf(what, sizeof what, "convt2x2 N=%d C=%d K=%d %dx%d dw", n, c, k, h, w);
	fd_check(what, ct.wt, nw, dw, ct_loss, 1e-2, 2e-3, nsample);
	snprintf(what, sizeof what, "convt2x2 N=%d C=%d K=%d %dx%d db", n, c, k, h, w);
	fd_check(what, ct.b, k, db, ct_loss, 1e-2, 2e-3, nsample);
	float *pre = tk_randn(nx, 1), *dx2 = tk_copy(pre, nx);
	br_tensor tdx2 = tk_t(dx2, n, c, h, w);
	TK_CALL(ctx, br_convt2x2_backward(ctx, &tdx2, NULL, NULL, &tdy, &tx, ct.wt, 1));
	accum_check("convt2x2 dx", dx, dx2, pre, nx);
	free(ct.x), free(ct.wt), free(ct.b), free(ct.y), free(ct.r), free(dx), free(dw), free(db), free(dw0);
	free(db0), free(pre), free(dx2);
}

/* ---- batchnorm + relu ---- */

static struct {
	int n, c, h, w;
	float *x, *g, *b, *y, *r, *mean, *var, *sc, *sh;
} bn;

static double bn_loss(void)
{
	br_tensor x = tk_t(bn.x, bn.n, bn.c, bn.h, bn.w);
	size_t hw = (size_t)bn.h * bn.w, nx = (size_t)bn.n * bn.c * hw;
	TK_CALL(ctx, br_bn_train_stats(ctx, bn.mean, bn.var, bn.sc, bn.sh, NULL, NULL, &x, bn.g, bn.b, 1e-5f, 0.1f));
	double s = 0;
	for (size_t i = 0; i < nx; i++) {
		int c = (int)(i / hw % bn.c);
		/* relu(bn(x)) written out in double from the returned statistics */
		double a = (bn.x[i] - (double)bn.mean[c]) / sqrt((double)bn.var[c] + 1e-5) * bn.g[c] + bn.b[c];
		s += a > 0 ? bn.r[i] * a : 0.0;
	}
	return s;
}

static void test_bn(int n, int c, int h, int w, int nsample)
{
	size_t hw = (size_t)h * w, nx = (size_t)n * c * hw;
	char what[160], msg[200];

	bn.n = n, bn.c = c, bn.h = h, bn.w = w;
	bn.x = tk_alloc(nx);
	for (size_t i = 0; i < nx; i++)
		bn.x[i] = 3.0f + 2.0f * tk_normal(); /* a mean away from 0 */
	bn.g = tk_rand(c, 0.5f, 1.5f), bn.b = tk_randn(c, 0.5f), bn.r = tk_randn(nx, 1);
	bn.mean = tk_alloc(c), bn.var = tk_alloc(c), bn.sc = tk_alloc(c), bn.sh = tk_alloc(c);
	float *rm = tk_randn(c, 1), *rv = tk_rand(c, 0.5f, 2), *rm0 = tk_copy(rm, c), *rv0 = tk_copy(rv, c);
	br_tensor tx = tk_t(bn.x, n, c, h, w);
	TK_CALL(ctx, br_bn_train_stats(ctx, bn.mean, bn.var, bn.sc, bn.sh, rm, rv, &tx, bn.g, bn.b, 1e-5f, 0.1f));
	/* direct double computation */
	float *em = tk_alloc(c), *ev = tk_alloc(c), *erm = tk_alloc(c), *erv = tk_alloc(c), *esc = tk_alloc(c),
	      *esh = tk_alloc(c);
	for (int k = 0; k < c; k++) {
		double s = 0, s2 = 0, m = (double)n * hw;
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < hw; j++)
				s += bn.x[((size_t)i * c + k) * hw + j];
		double mu = s / m;
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < hw; j++) {
				double d = bn.x[((size_t)i * c + k) * hw + j] - mu;
				s2 += d * d;
			}
		em[k] = (float)mu;
		ev[k] = (float)(s2 / m);
		erm[k] = (float)(0.9 * rm0[k] + 0.1 * mu);
		erv[k] = (float)(0.9 * rv0[k] + 0.1 * s2 / (m - 1));
		esc[k] = (float)(bn.g[k] / sqrt(s2 / m + 1e-5));
		esh[k] = (float)(bn.b[k] - mu * bn.g[k] / sqrt(s2 / m + 1e-5));
	}
	snprintf(what, sizeof what, "bn_train_stats N=%d C=%d %dx%d", n, c, h, w);
	tk_result(tk_close(bn.mean, em, c, 1e-6, 1e-6, msg, sizeof msg), "%s mean: %s", what, msg);
	tk_result(tk_close(bn.var, ev, c, 1e-6, 1e-6, msg, sizeof msg), "%s var: %s", what, msg);
	tk_result(tk_close(bn.sc, esc, c, 1e-6, 1e-6, msg, sizeof msg), "%s scale: %s", what, msg);
	tk_result(tk_close(bn.sh, esh, c, 1e-6, 1e-6, msg, sizeof msg), "%s shift: %s", what, msg);
	tk_result(tk_close(rm, erm, c, 1e-6, 1e-6, msg, sizeof msg), "%s running mean: %s", what, msg);
	tk_result(tk_close(rv, erv, c, 1e-6, 1e-6, msg, sizeof msg), "%s running var (unbiased): %s", what, msg);
	/* inference fold */
	float *fs = tk_alloc(c), *fh = tk_alloc(c), *efs = tk_alloc(c), *efh = tk_alloc(c);
	TK_CALL(ctx, br_bn_infer_fold(ctx, fs, fh, rm, rv, bn.g, bn.b, c, 1e-5f));
	for (int k = 0; k < c; k++) {
		efs[k] = (float)(bn.g[k] / sqrt((double)rv[k] + 1e-5));
		efh[k] = (float)(bn.b[k] - (double)rm[k] * bn.g[k] / sqrt((double)rv[k] + 1e-5));
	}
	tk_result(tk_close(fs, efs, c, 1e-6, 1e-6, msg, sizeof msg) && tk_close(fh, efh, c, 1e-6, 1e-6, msg, sizeof msg),
		  "bn_infer_fold: %s", msg);
	/* keep x away from the ReLU kink of the batch statistics */
	for (size_t i = 0; i < nx; i++) {
		int k = (int)(i / hw % c);
		float a = bn.x[i] * bn.sc[k] + bn.sh[k];
		if (fabsf(a) < 0.05f)
			bn.x[i] += (a >= 0 ? 0.1f : -0.1f) / bn.sc[k];
	}
	float *dx = tk_alloc(nx), *dg = tk_randn(c, 1), *db = tk_randn(c, 1), *dg0 = tk_copy(dg, c),
	      *db0 = tk_copy(db, c);
	TK_CALL(ctx, br_bn_train_stats(ctx, bn.mean, bn.var, bn.sc, bn.sh, NULL, NULL, &tx, bn.g, bn.b, 1e-5f, 0.1f));
	br_tensor tda = tk_t(bn.r, n, c, h, w), tdx = tk_t(dx, n, c, h, w);
	TK_CALL(ctx, br_bn_relu_backward(ctx, &tdx, dg, db, &tda, &tx, bn.mean, bn.var, bn.g, bn.b, 1e-5f, 0));
	for (int k = 0; k < c; k++)
		dg[k] -= dg0[k], db[k] -= db0[k];
	snprintf(what, sizeof what, "bn_relu_backward N=%d C=%d %dx%d dx", n, c, h, w);
	fd_check(what, bn.x, nx, dx, bn_loss, 1e-3, 3e-3, nsample);
	snprintf(what, sizeof what, "bn_relu_backward N=%d C=%d %dx%d dgamma", n, c, h, w);
	fd_check(what, bn.g, c, dg, bn_loss, 1e-3, 3e-3, nsample);
	snprintf(what, sizeof what, "bn_relu_backward N=%d C=%d %dx%d dbeta", n, c, h, w);
	fd_check(what, bn.b, c, db, bn_loss, 1e-3, 3e-3, nsample);
	float *pre = tk_randn(nx, 1), *dx2 = tk_copy(pre, nx);
	br_tensor tdx2 = tk_t(dx2, n, c, h, w);
	TK_CALL(ctx, br_bn_train_stats(ctx, bn.mean, bn.var, bn.sc, bn.sh, NULL, NULL, &tx, bn.g, bn.b, 1e-5f, 0.1f));
	TK_CALL(ctx, br_bn_relu_backward(ctx, &tdx2, NULL, NULL, &tda, &tx, bn.mean, bn.var, bn.g, bn.b, 1e-5f, 1));
	accum_check("bn_relu_backward dx", dx, dx2, pre, nx);
	free(bn.x), free(bn.g), free(bn.b), free(bn.r), free(bn.mean), free(bn.var), free(bn.sc), free(bn.sh);
	free(rm), free(rv), free(rm0), free(rv0), free(em), free(ev), free(erm), free(erv), free(esc), free(esh);
	free(fs), free(fh), free(efs), free(efh), free(dx), free(dg), free(db), free(dg0), free(db0), free(pre);
	free(dx2);
}

/* ---- small ops: one generic harness over an op with up to two inputs ---- */

enum { OP_RELU, OP_MAXPOOL, OP_CONCAT, OP_UP2, OP_UP4, OP_GATE, OP_AVGPOOL, OP_SCALE, OP_VRELU, OP_VSIG,
       OP_DROPOUT, OP_LINEAR };
static struct {
	int op, n, c, h, w, c2;
	float *a, *b, *wt, *bias, *y, *r;
	size_t na, nb, ny;
} so;

static double so_forward(void)
{
	br_tensor a = tk_t(so.a, so.n, so.c, so.h, so.w);
	br_tensor y;
	switch (so.op) {
	case OP_RELU:
		for (size_t i = 0; i < so.na; i++)
			so.y[i] = so.a[i] > 0 ? so.a[i] : 0;
		break;
	case OP_MAXPOOL:
		y = tk_t(so.y, so.n, so.c, so.h / 2, so.w / 2);
		TK_CALL(ctx, br_maxpool2_forward(ctx, &y, &a));
		break;
	case OP_CONCAT: {
		br_tensor b = tk_t(so.b, so.n, so.c2, so.h, so.w);
		y = tk_t(so.y, so.n, so.c + so.c2, so.h, so.w);
		TK_CALL(ctx, br_concat_forward(ctx, &y, &a, &b));
		break;
	}
	case OP_UP2:
	case OP_UP4: {
		int s = so.op == OP_UP2 ? 2 : 4;
		y = tk_t(so.y, so.n, so.c, so.h * s, so.w * s);
		TK_CALL(ctx, br_upsample_forward(ctx, &y, &a, s));
		break;
	}
	case OP_GATE: {
		br_tensor g = tk_t(so.b, so.n, 1, so.h, so.w);
		y = tk_t(so.y, so.n, so.c, so.h, so.w);
		TK_CALL(ctx, br_gate_forward(ctx, &y, &a, &g));
		break;
	}
	case OP_AVGPOOL:
		TK_CALL(ctx, br_avgpool_forward(ctx, so.y, &a));
		break;
	case OP_SCALE:
		y = tk_t(so.y, so.n, so.c, so.h, so.w);
		TK_CALL(ctx, br_scale_forward(ctx, &y, &a, so.b));
		break;
	case OP_VRELU:
		TK_CALL(ctx, br_vec_relu_forward(ctx, so.y, so.a, so.na));
		break;
	case OP_VSIG:
		TK_CALL(ctx, br_vec_sigmoid_forward(ctx, so.y, so.a, so.na));
		break;
	case OP_DROPOUT:
		TK_CALL(ctx, br_dropout_forward(ctx, so.y, so.a, so.na, 0.3f, 1234));
		break;
	case OP_LINEAR:
		TK_CALL(ctx, br_linear_forward(ctx, so.y, so.a, so.wt, so.bias, so.n, so.c, so.c2));
		break;
	}
	return dotd(so.r, so.y, so.ny);
}

/* backward into da (for a) and db (for b), accum flag for the activation gradient */
static void so_backward(float *da, float *db, float *dwt, float *dbias, int accum)
{
	br_tensor a = tk_t(so.a, so.n, so.c, so.h, so.w), tda = tk_t(da, so.n, so.c, so.h, so.w);
	br_tensor dy;
	switch (so.op) {
	case OP_RELU:
		dy = tk_t(so.r, so.n, so.c, so.h, so.w);
		TK_CALL(ctx, br_relu_backward(ctx, &tda, &dy, &a, accum));
		break;
	case OP_MAXPOOL:
		dy = tk_t(so.r, so.n, so.c, so.h / 2, so.w / 2);
		TK_CALL(ctx, br_maxpool2_backward(ctx, &tda, &dy, &a, accum));
		break;
	case OP_CONCAT: {
		br_tensor tdb = tk_t(db, so.n, so.c2, so.h, so.w);
		dy = tk_t(so.r, so.n, so.c + so.c2, so.h, so.w);
		TK_CALL(ctx, br_concat_backward(ctx, &tda, db ? &tdb : NULL, &dy, accum, accum));
		break;
	}
	case OP_UP2:
	case OP_UP4: {
		int s = so.op == OP_UP2 ? 2 : 4;
		dy = tk_t(so.r, so.n, so.c, so.h * s, so.w * s);
		TK_CALL(ctx, br_upsample_backward(ctx, &tda, &dy, s, accum));
		break;
	}
	case OP_GATE: {
		br_tensor g = tk_t(so.b, so.n, 1, so.h, so.w), tdg = tk_t(db, so.n, 1, so.h, so.w);
		dy = tk_t(so.r, so.n, so.c, so.h, so.w);
		TK_CALL(ctx, br_gate_backward(ctx, &tda, db ? &tdg : NULL, &dy, &a, &g, accum));
		break;
	}
	case OP_AVGPOOL:
		TK_CALL(ctx, br_avgpool_backward(ctx, &tda, so.r, accum));
		break;
	case OP_SCALE:
		dy = tk_t(so.r, so.n, so.c, so.h, so.w);
		TK_CALL(ctx, br_scale_backward(ctx, &tda, db, &dy, &a, so.b, accum));
		break;
	case OP_VRELU:
		TK_CALL(ctx, br_vec_relu_backward(ctx, da, so.r, so.a, so.na));
		break;
	case OP_VSIG:
		so_forward();
		TK_CALL(ctx, br_vec_sigmoid_backward(ctx, da, so.r, so.y, so.na));
		break;
	case OP_DROPOUT:
		TK_CALL(ctx, br_dropout_backward(ctx, da, so.r, so.na, 0.3f, 1234));
		break;
	case OP_LINEAR:
		TK_CALL(ctx, br_linear_backward(ctx, da, dwt, dbias, so.r, so.a, so.wt, so.n, so.c, so.c2));
		break;
	}
}

static void test_small(int op, const char *name, int n, int c, int h, int w, int c2, int has_accum, int nsample)
{
	char what[160];
	size_t hw = (size_t)h * w;

	memset(&so, 0, sizeof so);
	so.op = op, so.n = n, so.c = c, so.h = h, so.w = w, so.c2 = c2;
	so.na = (size_t)n * c * hw;
	so.a = tk_randn(so.na, 1);
	switch (op) {
	case OP_MAXPOOL: /* distinct values in every window, gaps > 2h */
		for (size_t i = 0; i < so.na; i++)
			so.a[i] = (float)(tk_u64() % 100000) * 1e-3f;
		for (size_t p = 0; p < (size_t)n * c; p++)
			for (int i = 0; i < h; i += 2)
				for (int j = 0; j < w; j += 2) {
					float *q = so.a + p * hw + (size_t)i * w + j;
					int perm = (int)(tk_u64() % 4);
					float base = q[0];
					q[0] = base + 0.1f * ((perm + 0) % 4);
					q[1] = base + 0.1f * ((perm + 1) % 4);
					q[w] = base + 0.1f * ((perm + 2) % 4);
					q[w + 1] = base + 0.1f * ((perm + 3) % 4);
				}
		so.ny = so.na / 4;
		break;
	case OP_CONCAT:
		so.nb = (size_t)n * c2 * hw;
		so.b = tk_randn(so.nb, 1);
		so.ny = so.na + so.nb;
		break;
	case OP_UP2:
		so.ny = so.na * 4;
		break;
	case OP_UP4:
		so.ny = so.na * 16;
		break;
	case OP_GATE:
		so.nb = (size_t)n * hw;
		so.b = tk_randn(so.nb, 2);
		so.ny = so.na;
		break;
	case OP_AVGPOOL:
		so.ny = (size_t)n * c;
		break;
	case OP_SCALE:
		so.nb = (size_t)n * c;
		so.b = tk_randn(so.nb, 1);
		so.ny = so.na;
		break;
	case OP_LINEAR:
		so.na = (size_t)n * c;
		so.wt = tk_randn((size_t)c * c2, 0.5f);
		so.bias = tk_randn(c2, 0.5f);
		so.ny = (size_t)n * c2;
		break;
	default:
		so.ny = so.na;
	}
	if (op == OP_RELU || op == OP_VRELU)
		for (size_t i = 0; i < so.na; i++)
			if (fabsf(so.a[i]) < 0.05f)
				so.a[i] = so.a[i] < 0 ? -0.05f : 0.05f;
	so.y = tk_alloc(so.ny);
	so.r = tk_randn(so.ny, 1);
	float *da = tk_alloc(so.na), *db = so.nb ? tk_alloc(so.nb) : NULL;
	float *dwt = NULL, *dbias = NULL, *dwt0 = NULL, *dbias0 = NULL;
	if (op == OP_LINEAR) {
		dwt = tk_randn((size_t)c * c2, 1), dbias = tk_randn(c2, 1);
		dwt0 = tk_copy(dwt, (size_t)c * c2), dbias0 = tk_copy(dbias, c2);
	}
	so_backward(da, db, dwt, dbias, 0);
	double h_ = op == OP_VSIG || op == OP_GATE ? 1e-3 : 1e-2;
	snprintf(what, sizeof what, "%s (%d,%d,%d,%d) d input", name, n, c, h, w);
	fd_check(what, so.a, so.na, da, so_forward, h_, 2e-3, nsample);
	if (db != NULL) {
		snprintf(what, sizeof what, "%s (%d,%d,%d,%d) d second input", name, n, c, h, w);
		fd_check(what, so.b, so.nb, db, so_forward, h_, 2e-3, nsample);
	}
	if (op == OP_LINEAR) {
		for (size_t i = 0; i < (size_t)c * c2; i++)
			dwt[i] -= dwt0[i];
		for (int i = 0; i < c2; i++)
			dbias[i] -= dbias0[i];
		fd_check("linear dw", so.wt, (size_t)c * c2, dwt, so_forward, 1e-2, 2e-3, nsample);
		fd_check("linear db", so.bias, c2, dbias, so_forward, 1e-2, 2e-3, nsample);
	}
	if (has_accum) {
		float *pre = tk_randn(so.na, 1), *da2 = tk_copy(pre, so.na);
		float *preb = db ? tk_randn(so.nb, 1) : NULL, *db2 = db ? tk_copy(preb, so.nb) : NULL;
		/* the second input's gradient is written by gate and scale, added by concat */
		so_backward(da2, db2, NULL, NULL, 1);
		snprintf(what, sizeof what, "%s", name);
		accum_check(what, da, da2, pre, so.na);
		if (op == OP_CONCAT) {
			snprintf(what, sizeof what, "%s second input", name);
			accum_check(what, db, db2, preb, so.nb);
		}
		free(pre), free(da2), free(preb), free(db2);
	}
	free(so.a), free(so.b), free(so.wt), free(so.bias), free(so.y), free(so.r), free(da), free(db);
	free(dwt), free(dbias), free(dwt0), free(dbias0);
}

/* ---- loss ---- */

static struct {
	int n, h, w, target;
	float *z;
	uint8_t *lab;
} ls;

static double ls_loss(void)
{
	float l;
	br_tensor z = tk_t(ls.z, ls.n, 1, ls.h, ls.w);
	TK_CALL(ctx, br_loss_bce_dice(ctx, &l, NULL, &z, ls.lab, ls.target, 1.0f));
	return l;
}

static void test_loss(int n, int h, int w, int target, int background, int nsample)
{
	static const char *tn[4] = { "WT", "NCR", "ED", "ET" };
	static const uint8_t labs[4] = { 0, 1, 2, 4 };
	size_t m = (size_t)n * h * w;
	char what[160], msg[200];

	ls.n = n, ls.h = h, ls.w = w, ls.target = target;
	ls.z = tk_randn(m, 2);
	ls.lab = malloc(m);
	for (size_t i = 0; i < m; i++)
		ls.lab[i] = background ? 0 : labs[tk_u64() % 4];
	float *dz = tk_alloc(m), l;
	br_tensor z = tk_t(ls.z, n, 1, h, w), tdz = tk_t(dz, n, 1, h, w);
	TK_CALL(ctx, br_loss_bce_dice(ctx, &l, &tdz, &z, ls.lab, target, 0.5f));
	/* the value against a double computation */
	double bce = 0, spt = 0, spp = 0, stt = 0;
	for (size_t i = 0; i < m; i++) {
		int lab = ls.lab[i];
		double t = target == 0 ? lab > 0 : target == 1 ? lab == 1 : target == 2 ? lab == 2 : lab == 4;
		double zz = ls.z[i], p = 1 / (1 + exp(-zz));
		bce += fmax(zz, 0) - zz * t + log1p(exp(-fabs(zz)));
		spt += p * t, spp += p * p, stt += t * t;
	}
	float ref = (float)(bce / m + 1 - (2 * spt + 1) / (spp + stt + 1));
	snprintf(what, sizeof what, "loss %s%s (%d,1,%d,%d)", tn[target], background ? " all background" : "", n, h, w);
	tk_result(tk_close(&l, &ref, 1, 1e-6, 1e-6, msg, sizeof msg), "%s value: %s", what, msg);
	for (size_t i = 0; i < m; i++)
		dz[i] *= 2.0f; /* weight 0.5 */
	strcat(what, " dlogit");
	if (m <= 200)
		fd_check(what, ls.z, m, dz, ls_loss, 1e-2, 3e-3, nsample);
	strcat(what, " (directional)");
	fd_dir(what, ls.z, m, dz, ls_loss, 1e-2, 1e-3, 8);
	free(ls.z), free(ls.lab), free(dz);
}

/* ---- constant weights (br_hint_const) ---- */

/* A 3x3 convolution of 128 channels: under the hint the same output, bit for
 * bit; the hint withdrawn, new weights are used; and, with the hint kept
 * while the weights change (what the caller must not do), the output is
 * that of the old weights: the transformed filters were kept, not made
 * again (the check that the hint does something). */
static void test_hint_const(void)
{
	const int n = 2, c = 128, k = 128, h = 12, w = 8;
	size_t nx = (size_t)n * c * h * w, ny = (size_t)n * k * h * w, nw = (size_t)k * c * 9;
	float *x = tk_randn(nx, 1.0f), *wt = tk_randn(nw, 0.05f), *b = tk_randn(k, 0.5f);
	float *y0 = tk_alloc(ny), *y1 = tk_alloc(ny), *y2 = tk_alloc(ny), *y3 = tk_alloc(ny), *y4 = tk_alloc(ny);
	br_tensor tx = tk_t(x, n, c, h, w), t0 = tk_t(y0, n, k, h, w), t1 = tk_t(y1, n, k, h, w),
		  t2 = tk_t(y2, n, k, h, w), t3 = tk_t(y3, n, k, h, w), t4 = tk_t(y4, n, k, h, w);

	TK_CALL(ctx, br_conv2d_forward(ctx, &t0, &tx, wt, b, 3, NULL));
	TK_CALL(ctx, br_hint_const(ctx, wt, nw * sizeof *wt, 1));
	TK_CALL(ctx, br_conv2d_forward(ctx, &t1, &tx, wt, b, 3, NULL)); /* derives */
	TK_CALL(ctx, br_conv2d_forward(ctx, &t2, &tx, wt, b, 3, NULL)); /* reuses */
	tk_result(memcmp(y0, y1, ny * sizeof *y0) == 0 && memcmp(y0, y2, ny * sizeof *y0) == 0,
		  "hint_const: a 128-channel 3x3 convolution gives the same bits under the hint (twice)");
	for (size_t i = 0; i < nw; i++)
		wt[i] = -wt[i];
	TK_CALL(ctx, br_conv2d_forward(ctx, &t3, &tx, wt, b, 3, NULL));
	if (getenv("BR_CPU_REFERENCE") != NULL && strcmp(getenv("BR_CPU_REFERENCE"), "1") == 0)
		tk_result(1, "hint_const: kept filters # SKIP the direct reference convolutions derive nothing");
	else
		tk_result(memcmp(y0, y3, ny * sizeof *y0) == 0,
			  "hint_const: weights changed under the hint give the kept (old) filters' output");
	TK_CALL(ctx, br_hint_const(ctx, wt, nw * sizeof *wt, 0));
	TK_CALL(ctx, br_conv2d_forward(ctx, &t4, &tx, wt, b, 3, NULL));
	size_t flipped = 0;
	for (size_t i = 0; i < ny; i++) /* -w: y - b = -(y0 - b) */
		flipped += fabsf((y4[i] - b[i / ((size_t)h * w) % k]) + (y0[i] - b[i / ((size_t)h * w) % k])) > 1e-4f;
	tk_result(flipped == 0, "hint_const withdrawn: the new weights are used (%zu outputs wrong)", flipped);
	free(x), free(wt), free(b), free(y0), free(y1), free(y2), free(y3), free(y4);
}

/* ---- a case in backend memory: slices out, probabilities back ---- */

/* br_slices_gather and br_slices_scatter_sigmoid against the indexing
 * written out here: x[i][c][y][x] = rec[c][z0 + i][y][x'] (x' mirrored with
 * the flip); rec[k][z0 + i][y][x] += (float)(sigmoid(y[i][y][x']) * scale),
 * the sigmoid 1 / (1 + exp(-z)) in float */
static void test_slices(int nz, int z0, int nb, int h, int w)
{
	size_t hw = (size_t)h * w, nvox = hw * nz;
	float *rec = tk_alloc(4 * nvox), *x = tk_alloc((size_t)nb * 4 * hw), *y = tk_alloc((size_t)nb * hw);
	float *sum = tk_alloc(4 * nvox), *want = tk_alloc(4 * nvox);
	br_tensor tx = tk_t(x, nb, 4, h, w), ty = tk_t(y, nb, 1, h, w);

	for (size_t i = 0; i < 4 * nvox; i++)
		rec[i] = (float)tk_unif();
	for (int flip = 0; flip < 2; flip++) {
		size_t bad = 0;
		for (size_t i = 0; i < (size_t)nb * 4 * hw; i++)
			x[i] = NAN;
		TK_CALL(ctx, br_slices_gather(ctx, &tx, rec, nz, z0, flip));
		for (int i = 0; i < nb; i++)
			for (int c = 0; c < 4; c++)
				for (int r = 0; r < h; r++)
					for (int q = 0; q < w; q++)
						bad += x[(((size_t)i * 4 + c) * h + r) * w + q] !=
						       rec[c * nvox + (size_t)(z0 + i) * hw + (size_t)r * w + (flip ? w - 1 - q : q)];
		tk_result(bad == 0, "slices_gather nz=%d z0=%d n=%d %dx%d flip=%d: %zu wrong", nz, z0, nb, h, w, flip,
			  bad);
		for (int accum = 0; accum < 2; accum++) {
			for (size_t i = 0; i < (size_t)nb * hw; i++)
				y[i] = tk_randf(-8, 8);
			for (size_t i = 0; i < 4 * nvox; i++)
				sum[i] = want[i] = (float)tk_unif();
			TK_CALL(ctx, br_slices_scatter_sigmoid(ctx, sum, 3, 4, nz, &ty, z0, flip, 1.0 / 3, accum));
			for (int i = 0; i < nb; i++)
				for (int r = 0; r < h; r++)
					for (int q = 0; q < w; q++) {
						float z = y[((size_t)i * h + r) * w + (flip ? w - 1 - q : q)];
						float p = 1.0f / (1.0f + expf(-z));
						float *d = &want[3 * nvox + (size_t)(z0 + i) * hw + (size_t)r * w + q];
						*d = accum ? *d + (float)(p * (1.0 / 3)) : (float)(p * (1.0 / 3));
					}
			bad = 0;
			for (size_t i = 0; i < 4 * nvox; i++)
				bad += memcmp(&sum[i], &want[i], sizeof(float)) != 0;
			tk_result(bad == 0, "slices_scatter_sigmoid nz=%d z0=%d n=%d %dx%d flip=%d accum=%d: %zu differ (bits)",
				  nz, z0, nb, h, w, flip, accum, bad);
		}
	}
	free(rec), free(x), free(y), free(sum), free(want);
}

/* ---- add, acc, adam, nonfinite ---- */

/* br_labels_assemble against the rule of doc/MODEL.md written out here, on
 * probabilities at and around 0.5 and NaN */
static void test_labels(size_t n)
{
	float *pr = tk_alloc(4 * n);
	uint8_t *got = malloc(n + 1), *want = malloc(n + 1);
	int seen[5] = { 0 };

	for (size_t i = 0; i < 4 * n; i++) {
		double u = tk_unif();
		pr[i] = u < 0.1 ? 0.5f : u < 0.15 ? nextafterf(0.5f, 0.0f) : u < 0.18 ? NAN : (float)tk_unif();
	}
	for (int wt_only = 0; wt_only < 2; wt_only++) {
		size_t off_rule = 0;
		memset(got, 0xee, n + 1);
		TK_CALL(ctx, br_labels_assemble(ctx, got, pr, n, wt_only));
		for (size_t i = 0; i < n; i++) {
			float wt = pr[i], ncr = pr[n + i], et = pr[3 * n + i];
			int rule = !(wt >= 0.5f) ? 0 : wt_only ? 1 : et >= 0.5f ? 4 : ncr >= 0.5f ? 1 : 2;
			off_rule += got[i] != rule;
			if (!wt_only && got[i] <= 4)
				seen[got[i]] = 1;
		}
		tk_result(off_rule == 0 && got[n] == 0xee, "labels_assemble n=%zu wt_only=%d: %zu differ from the rule%s",
			  n, wt_only, off_rule, got[n] == 0xee ? "" : ", wrote past the end");
	}
	if (n >= 1000)
		tk_result(seen[0] && seen[1] && seen[2] && seen[4], "labels_assemble n=%zu: labels 0, 1, 2, 4 all made", n);
	free(pr), free(got), free(want);
}

/* call failed with exactly the message want */
static void refused(int rc, const char *want)
{
	int same = strcmp(br_ctx_error(ctx), want) == 0;

	tk_result(rc < 0 && same, "refused: %s%s%s", want, same ? "" : " - got: ", same ? "" : br_ctx_error(ctx));
}

static void test_misc(void)
{
	size_t n = 1000;
	float *a = tk_randn(n, 1), *b = tk_randn(n, 1), *y = tk_alloc(n), *e = tk_alloc(n);
	char msg[200];
	br_tensor ta = tk_t(a, 2, 5, 10, 10), tb = tk_t(b, 2, 5, 10, 10), ty = tk_t(y, 2, 5, 10, 10);

	TK_CALL(ctx, br_add(ctx, &ty, &ta, &tb));
	for (size_t i = 0; i < n; i++)
		e[i] = a[i] + b[i];
	tk_result(tk_close(y, e, n, 0, 0, msg, sizeof msg), "add: %s", msg);
	TK_CALL(ctx, br_add(ctx, &ta, &ta, &tb)); /* aliasing */
	tk_result(tk_close(a, e, n, 0, 0, msg, sizeof msg), "add aliased: %s", msg);
	TK_CALL(ctx, br_acc(ctx, &ty, &tb));
	for (size_t i = 0; i < n; i++)
		e[i] += b[i];
	tk_result(tk_close(y, e, n, 0, 0, msg, sizeof msg), "acc: %s", msg);

	/* adam: 3 steps against the formula in double */
	float *p = tk_randn(n, 1), *m = tk_alloc(n), *v = tk_alloc(n);
	double *pd = malloc(n * sizeof(double)), *md = calloc(n, sizeof(double)), *vd = calloc(n, sizeof(double));
	for (size_t i = 0; i < n; i++)
		pd[i] = p[i];
	for (int t = 1; t <= 3; t++) {
		float *g = tk_randn(n, 0.1f);
		TK_CALL(ctx, br_adam_step(ctx, p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t));
		for (size_t i = 0; i < n; i++) {
			md[i] = 0.9 * md[i] + 0.1 * g[i];
			vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
			pd[i] -= 1e-3 / (1 - pow(0.9, t)) * md[i] / (sqrt(vd[i]) / sqrt(1 - pow(0.999, t)) + 1e-8);
		}
		free(g);
	}
	for (size_t i = 0; i < n; i++)
		e[i] = (float)pd[i];
	tk_result(tk_close(p, e, n, 1e-6, 1e-5, msg, sizeof msg), "adam 3 steps: %s", msg);

	size_t cnt = 7;
	a[3] = NAN, a[10] = INFINITY, a[999] = -INFINITY;
	TK_CALL(ctx, br_count_nonfinite(ctx, &cnt, a, n));
	tk_result(cnt == 3, "count_nonfinite: %zu (3)", cnt);
	/* error paths */
	br_tensor bad = tk_t(b, 2, 5, 10, 9);
	tk_result(br_add(ctx, &ty, &ta, &bad) < 0 && strstr(br_ctx_error(ctx), "add") != NULL,
		  "add shape mismatch fails: %s", br_ctx_error(ctx));
	tk_result(br_conv2d_forward(ctx, &ty, &ta, NULL, NULL, 3, NULL) < 0, "conv2d NULL weights fails: %s",
		  br_ctx_error(ctx));
	/* the argument checks of dispatch.c: one message per mistake, the same on every backend */
	br_tensor odd = tk_t(a, 2, 5, 9, 10), half = tk_t(y, 2, 5, 5, 5), d3 = tk_t(e, 2, 3, 10, 10);
	br_tensor nul = tk_t(NULL, 2, 5, 10, 10), flat = tk_t(a, 2, 0, 10, 10), tsc = tk_t(a, 2, 1, 10, 10);
	br_preact half_pre = { b, NULL, 1 };
	refused(br_add(ctx, &ty, &ta, &bad), "add: b has shape (2,5,10,9), expected (2,5,10,10)");
	refused(br_add(ctx, &ty, &nul, &tb), "add: a is NULL");
	refused(br_acc(ctx, &ty, &flat), "acc: x has shape (2,0,10,10)");
	refused(br_maxpool2_forward(ctx, &half, &odd), "maxpool2_forward: H and W must be even (9x10)");
	refused(br_conv2d_forward(ctx, &ty, &ta, b, NULL, 5, NULL), "conv2d_forward: kernel size 5 (1 or 3)");
	refused(br_conv2d_forward(ctx, &ty, &ta, b, NULL, 3, &half_pre),
		"conv2d_forward: pre-activation needs both scale and shift, or neither");
	refused(br_concat_backward(ctx, &d3, &d3, &ty, 0, 0), "concat_backward: 3 + 3 channels do not make dy's 5");
	refused(br_concat_backward(ctx, &ty, NULL, &ty, 0, 0), "concat_backward: 5 + 0 channels do not make dy's 5");
	refused(br_upsample_forward(ctx, &ty, &half, 0), "upsample_forward: factor 0");
	refused(br_linear_forward(ctx, y, a, b, NULL, 2, 0, 3), "linear_forward: sizes n=2 in=0 out=3");
	refused(br_vec_relu_forward(ctx, NULL, a, 4), "vec_relu_forward: y is NULL");
	refused(br_dropout_forward(ctx, y, a, 4, 1.0f, 1), "dropout: probability 1 outside [0, 1)");
	refused(br_loss_bce_dice(ctx, y, NULL, &ta, NULL, 0, 1.0f), "loss_bce_dice: labels is NULL");
	refused(br_count_nonfinite(ctx, NULL, a, 4), "count_nonfinite: count is NULL");
	refused(br_memcpy_d2d(ctx, y, NULL, 4), "memcpy_d2d: src is NULL");
	refused(br_tensor_upload(ctx, &nul, a), "tensor_upload: t is NULL");
	refused(br_labels_assemble(ctx, NULL, a, 4, 0), "labels_assemble: labels is NULL");
	refused(br_slices_gather(ctx, &ta, a, 3, 2, 0), "slices_gather: slices 2..3 of a record of 3");
	refused(br_slices_gather(ctx, &ta, NULL, 9, 0, 0), "slices_gather: rec is NULL");
	refused(br_slices_scatter_sigmoid(ctx, a, 0, 4, 9, &ta, 0, 0, 1.0, 1), "slices_scatter_sigmoid: y has 5 channels, expected 1");
	refused(br_slices_scatter_sigmoid(ctx, a, 4, 4, 9, &tsc, 0, 0, 1.0, 1), "slices_scatter_sigmoid: channel 4 of 4");
	refused(br_slices_scatter_sigmoid(ctx, a, 0, 4, 9, &tsc, -1, 0, 1.0, 1), "slices_scatter_sigmoid: slices -1..0 of a record of 9");
	tk_result(br_vec_relu_forward(ctx, NULL, NULL, 0) == 0 &&
			  br_dropout_forward(ctx, NULL, NULL, 0, 0.5f, 1) == 0 && br_memset0(ctx, NULL, 0) == 0,
		  "empty flat ops need no pointers");
	free(a), free(b), free(y), free(e), free(p), free(m), free(v), free(pd), free(md), free(vd);
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 2;

	ctx = tk_ctx(nt);
	fprintf(stderr, "test_grad: %s\n", br_ctx_describe(ctx));
	tk_seed(1);
	for (int ks = 1; ks <= 3; ks += 2)
		for (int pk = 0; pk < 3; pk++) {
			test_conv(2, 3, 5, 6, 4, ks, pk, 60);
			test_conv(2, 5, 3, 10, 8, ks, pk, 60);
		}
	test_conv(2, 8, 12, 22, 18, 3, 2, 40); /* Winograd partial tiles */
	test_conv(1, 16, 8, 13, 11, 3, 1, 40);
	test_conv(2, 12, 8, 9, 7, 1, 2, 40);
	test_convt(2, 3, 5, 3, 4, 60);
	test_convt(2, 16, 8, 11, 9, 40);
	test_bn(2, 3, 6, 4, 60);
	test_bn(3, 5, 10, 9, 40);
	test_bn(32, 2, 176, 144, 6); /* statistics over batch 32 x 176 x 144 */
	test_small(OP_RELU, "relu_backward", 2, 3, 6, 4, 0, 1, 100);
	test_small(OP_MAXPOOL, "maxpool2", 2, 3, 6, 4, 0, 1, 100);
	test_small(OP_MAXPOOL, "maxpool2", 2, 5, 10, 8, 0, 1, 100);
	test_small(OP_CONCAT, "concat", 2, 3, 6, 4, 5, 1, 100);
	test_small(OP_UP2, "upsample x2", 2, 3, 6, 4, 0, 1, 100);
	test_small(OP_UP4, "upsample x4", 2, 3, 5, 3, 0, 1, 100);
	test_small(OP_UP2, "upsample x2", 2, 2, 11, 9, 0, 1, 100);
	test_small(OP_GATE, "gate", 2, 5, 6, 4, 0, 1, 100);
	test_small(OP_GATE, "gate", 2, 7, 33, 40, 0, 1, 100);
	test_small(OP_AVGPOOL, "avgpool", 2, 3, 6, 4, 0, 1, 100);
	test_small(OP_SCALE, "scale", 2, 3, 6, 4, 0, 1, 100);
	test_small(OP_VRELU, "vec_relu", 2, 3, 6, 4, 0, 0, 100);
	test_small(OP_VSIG, "vec_sigmoid", 2, 3, 6, 4, 0, 0, 100);
	test_small(OP_DROPOUT, "dropout", 2, 3, 6, 4, 0, 0, 100);
	test_small(OP_LINEAR, "linear", 3, 7, 1, 1, 5, 0, 100);
	for (int t = 0; t < 4; t++)
		test_loss(2, 6, 4, t, 0, 60);
	test_loss(2, 10, 8, 0, 1, 60);
	test_loss(2, 10, 8, 3, 1, 60);
	test_loss(4, 40, 36, 1, 0, 40);
	test_misc();
	test_labels(1);
	test_labels(1001);
	test_slices(9, 0, 9, 8, 16);
	test_hint_const();
	test_slices(23, 17, 6, 16, 8);
	test_labels(0);
	br_ctx_free(ctx);
	return tk_done();
}
