/*
 * test_torch_dump.c - run every CPU kernel, forward and backward, on seeded
 * random inputs and write inputs, outputs and gradients to one binary file
 * for t_torch.py, which recomputes them with PyTorch (in float64).
 *
 * usage: test_torch_dump OUT.bin [nthreads]
 * Record: u32 name length, name, u32 ndim, ndim x i32 dims, float32 data.
 * Names are "<case>/<tensor>"; "<case>/params" holds the case's integers.
 */
#include "tk.h"

static br_ctx *ctx;
static FILE *out;

static void put(const char *cas, const char *name, const float *d, int nd, int d0, int d1, int d2, int d3)
{
	char full[200];
	int dims[4] = { d0, d1, d2, d3 };
	uint32_t len, ndim = (uint32_t)nd;
	size_t n = 1;

	snprintf(full, sizeof full, "%s/%s", cas, name);
	len = (uint32_t)strlen(full);
	fwrite(&len, 4, 1, out);
	fwrite(full, 1, len, out);
	fwrite(&ndim, 4, 1, out);
	fwrite(dims, 4, nd, out);
	for (int i = 0; i < nd; i++)
		n *= (size_t)dims[i];
	fwrite(d, sizeof(float), n, out);
}

static void params(const char *cas, int n, const int *v)
{
	float f[16];
	for (int i = 0; i < n; i++)
		f[i] = (float)v[i];
	put(cas, "params", f, 1, n, 0, 0, 0);
}

/* conv2d: pk 0 none, 1 relu, 2 scale+shift+relu */
static void conv(const char *cas, int n, int c, int k, int h, int w, int ks, int pk)
{
	size_t nx = (size_t)n * c * h * w, ny = (size_t)n * k * h * w, nw = (size_t)k * c * ks * ks;
	float *x = tk_randn(nx, 1), *wt = tk_randn(nw, 1.0f / sqrtf((float)c * ks * ks)), *b = tk_randn(k, 0.1f);
	float *sc = tk_rand(c, 0.5f, 1.5f), *sh = tk_randn(c, 0.3f), *y = tk_alloc(ny), *dy = tk_randn(ny, 1);
	float *da = tk_alloc(nx), *dw = tk_alloc(nw), *db = tk_alloc(k);
	br_tensor tx = tk_t(x, n, c, h, w), ty = tk_t(y, n, k, h, w), tdy = tk_t(dy, n, k, h, w), tda = tk_t(da, n, c, h, w);
	br_preact p = { pk == 2 ? sc : NULL, pk == 2 ? sh : NULL, pk >= 1 };
	int pr[3] = { ks, pk, 0 };

	TK_CALL(ctx, br_conv2d_forward(ctx, &ty, &tx, wt, b, ks, pk ? &p : NULL));
	TK_CALL(ctx, br_conv2d_backward(ctx, &tda, dw, db, &tdy, &tx, wt, ks, pk ? &p : NULL, 0));
	params(cas, 3, pr);
	put(cas, "x", x, 4, n, c, h, w);
	put(cas, "w", wt, 4, k, c, ks, ks);
	put(cas, "b", b, 1, k, 0, 0, 0);
	put(cas, "scale", sc, 1, c, 0, 0, 0);
	put(cas, "shift", sh, 1, c, 0, 0, 0);
	put(cas, "y", y, 4, n, k, h, w);
	put(cas, "dy", dy, 4, n, k, h, w);
	put(cas, "da", da, 4, n, c, h, w);
	put(cas, "dw", dw, 4, k, c, ks, ks);
	put(cas, "db", db, 1, k, 0, 0, 0);
	free(x), free(wt), free(b), free(sc), free(sh), free(y), free(dy), free(da), free(dw), free(db);
}

static void convt(const char *cas, int n, int c, int k, int h, int w)
{
	size_t nx = (size_t)n * c * h * w, ny = (size_t)n * k * 4 * h * w, nw = (size_t)c * k * 4;
	float *x = tk_randn(nx, 1), *wt = tk_randn(nw, 1.0f / sqrtf((float)c)), *b = tk_randn(k, 0.1f);
	float *y = tk_alloc(ny), *dy = tk_randn(ny, 1), *dx = tk_alloc(nx), *dw = tk_alloc(nw), *db = tk_alloc(k);
	br_tensor tx = tk_t(x, n, c, h, w), ty = tk_t(y, n, k, 2 * h, 2 * w), tdy = tk_t(dy, n, k, 2 * h, 2 * w);
	br_tensor tdx = tk_t(dx, n, c, h, w);

	TK_CALL(ctx, br_convt2x2_forward(ctx, &ty, &tx, wt, b));
	TK_CALL(ctx, br_convt2x2_backward(ctx, &tdx, dw, db, &tdy, &tx, wt, 0));
	put(cas, "x", x, 4, n, c, h, w);
	put(cas, "w", wt, 4, c, k, 2, 2);
	put(cas, "b", b, 1, k, 0, 0, 0);
	put(cas, "y", y, 4, n, k, 2 * h, 2 * w);
	put(cas, "dy", dy, 4, n, k, 2 * h, 2 * w);
	put(cas, "dx", dx, 4, n, c, h, w);
	put(cas, "dw", dw, 4, c, k, 2, 2);
	put(cas, "db", db, 1, k, 0, 0, 0);
	free(x), free(wt), free(b), free(y), free(dy), free(dx), free(dw), free(db);
}

static void bn(const char *cas, int n, int c, int h, int w)
{
	size_t nx = (size_t)n * c * h * w;
	float *x = tk_randn(nx, 2), *g = tk_rand(c, 0.5f, 1.5f), *be = tk_randn(c, 0.5f), *rm = tk_randn(c, 1);
	float *rv = tk_rand(c, 0.5f, 2), *rm0 = tk_copy(rm, c), *rv0 = tk_copy(rv, c), *mean = tk_alloc(c);
	float *var = tk_alloc(c), *sc = tk_alloc(c), *sh = tk_alloc(c), *da = tk_randn(nx, 1), *dx = tk_alloc(nx);
	float *dg = tk_alloc(c), *db = tk_alloc(c);
	br_tensor tx = tk_t(x, n, c, h, w), tda = tk_t(da, n, c, h, w), tdx = tk_t(dx, n, c, h, w);

	for (size_t i = 0; i < nx; i++)
		x[i] += 1.0f;
	TK_CALL(ctx, br_bn_train_stats(ctx, mean, var, sc, sh, rm, rv, &tx, g, be, 1e-5f, 0.1f));
	TK_CALL(ctx, br_bn_relu_backward(ctx, &tdx, dg, db, &tda, &tx, mean, var, g, be, 1e-5f, 0));
	put(cas, "x", x, 4, n, c, h, w);
	put(cas, "gamma", g, 1, c, 0, 0, 0);
	put(cas, "beta", be, 1, c, 0, 0, 0);
	put(cas, "rmean0", rm0, 1, c, 0, 0, 0);
	put(cas, "rvar0", rv0, 1, c, 0, 0, 0);
	put(cas, "rmean", rm, 1, c, 0, 0, 0);
	put(cas, "rvar", rv, 1, c, 0, 0, 0);
	put(cas, "mean", mean, 1, c, 0, 0, 0);
	put(cas, "var", var, 1, c, 0, 0, 0);
	put(cas, "scale", sc, 1, c, 0, 0, 0);
	put(cas, "shift", sh, 1, c, 0, 0, 0);
	put(cas, "da", da, 4, n, c, h, w);
	put(cas, "dx", dx, 4, n, c, h, w);
	put(cas, "dgamma", dg, 1, c, 0, 0, 0);
	put(cas, "dbeta", db, 1, c, 0, 0, 0);
	free(x), free(g), free(be), free(rm), free(rv), free(rm0), free(rv0), free(mean), free(var), free(sc);
	free(sh), free(da), free(dx), free(dg), free(db);
}

/* elementwise and shape ops in one case each */
static void small(int n, int c, int h, int w)
{
	size_t nx = (size_t)n * c * h * w, hw = (size_t)h * w;
	float *x = tk_randn(nx, 1), *y = tk_alloc(16 * nx), *dy = tk_randn(16 * nx, 1), *dx = tk_alloc(nx);
	float *b2 = tk_randn(nx, 1), *g = tk_randn((size_t)n * hw, 2), *dg = tk_alloc((size_t)n * hw);
	float *s = tk_randn((size_t)n * c, 1), *ds = tk_alloc((size_t)n * c), *db2 = tk_alloc(nx);
	br_tensor tx = tk_t(x, n, c, h, w), tdx = tk_t(dx, n, c, h, w);
	br_tensor ty, tdy;

	put("small", "x", x, 4, n, c, h, w);
	/* maxpool */
	ty = tk_t(y, n, c, h / 2, w / 2);
	tdy = tk_t(dy, n, c, h / 2, w / 2);
	TK_CALL(ctx, br_maxpool2_forward(ctx, &ty, &tx));
	TK_CALL(ctx, br_maxpool2_backward(ctx, &tdx, &tdy, &tx, 0));
	put("maxpool", "y", y, 4, n, c, h / 2, w / 2);
	put("maxpool", "dy", dy, 4, n, c, h / 2, w / 2);
	put("maxpool", "dx", dx, 4, n, c, h, w);
	/* upsample x2, x4 */
	for (int f = 2; f <= 4; f += 2) {
		char cas[32];
		snprintf(cas, sizeof cas, "upsample%d", f);
		ty = tk_t(y, n, c, h * f, w * f);
		tdy = tk_t(dy, n, c, h * f, w * f);
		TK_CALL(ctx, br_upsample_forward(ctx, &ty, &tx, f));
		TK_CALL(ctx, br_upsample_backward(ctx, &tdx, &tdy, f, 0));
		put(cas, "y", y, 4, n, c, h * f, w * f);
		put(cas, "dy", dy, 4, n, c, h * f, w * f);
		put(cas, "dx", dx, 4, n, c, h, w);
	}
	/* concat */
	{
		br_tensor tb = tk_t(b2, n, c, h, w), tdb = tk_t(db2, n, c, h, w);
		ty = tk_t(y, n, 2 * c, h, w);
		tdy = tk_t(dy, n, 2 * c, h, w);
		TK_CALL(ctx, br_concat_forward(ctx, &ty, &tx, &tb));
		TK_CALL(ctx, br_concat_backward(ctx, &tdx, &tdb, &tdy, 0, 0));
		put("concat", "b", b2, 4, n, c, h, w);
		put("concat", "y", y, 4, n, 2 * c, h, w);
		put("concat", "dy", dy, 4, n, 2 * c, h, w);
		put("concat", "da", dx, 4, n, c, h, w);
		put("concat", "db", db2, 4, n, c, h, w);
	}
	/* gate */
	{
		br_tensor tg = tk_t(g, n, 1, h, w), tdg = tk_t(dg, n, 1, h, w);
		ty = tk_t(y, n, c, h, w);
		tdy = tk_t(dy, n, c, h, w);
		TK_CALL(ctx, br_gate_forward(ctx, &ty, &tx, &tg));
		TK_CALL(ctx, br_gate_backward(ctx, &tdx, &tdg, &tdy, &tx, &tg, 0));
		put("gate", "g", g, 4, n, 1, h, w);
		put("gate", "y", y, 4, n, c, h, w);
		put("gate", "dout", dy, 4, n, c, h, w);
		put("gate", "dy", dx, 4, n, c, h, w);
		put("gate", "dg", dg, 4, n, 1, h, w);
	}
	/* avgpool, scale */
	TK_CALL(ctx, br_avgpool_forward(ctx, y, &tx));
	TK_CALL(ctx, br_avgpool_backward(ctx, &tdx, dy, 0));
	put("avgpool", "z", y, 2, n, c, 0, 0);
	put("avgpool", "dz", dy, 2, n, c, 0, 0);
	put("avgpool", "dx", dx, 4, n, c, h, w);
	ty = tk_t(y, n, c, h, w);
	tdy = tk_t(dy, n, c, h, w);
	TK_CALL(ctx, br_scale_forward(ctx, &ty, &tx, s));
	TK_CALL(ctx, br_scale_backward(ctx, &tdx, ds, &tdy, &tx, s, 0));
	put("scale", "s", s, 2, n, c, 0, 0);
	put("scale", "y", y, 4, n, c, h, w);
	put("scale", "dout", dy, 4, n, c, h, w);
	put("scale", "dx", dx, 4, n, c, h, w);
	put("scale", "ds", ds, 2, n, c, 0, 0);
	/* relu backward, vec relu, sigmoid, dropout */
	ty = tk_t(y, n, c, h, w);
	tdy = tk_t(dy, n, c, h, w);
	TK_CALL(ctx, br_relu_backward(ctx, &tdx, &tdy, &tx, 0));
	put("relu", "da", dy, 4, n, c, h, w);
	put("relu", "dx", dx, 4, n, c, h, w);
	TK_CALL(ctx, br_vec_sigmoid_forward(ctx, y, x, nx));
	TK_CALL(ctx, br_vec_sigmoid_backward(ctx, dx, dy, y, nx));
	put("sigmoid", "y", y, 1, (int)nx, 0, 0, 0);
	put("sigmoid", "dy", dy, 1, (int)nx, 0, 0, 0);
	put("sigmoid", "dx", dx, 1, (int)nx, 0, 0, 0);
	TK_CALL(ctx, br_vec_relu_forward(ctx, y, x, nx));
	TK_CALL(ctx, br_vec_relu_backward(ctx, dx, dy, x, nx));
	put("vrelu", "y", y, 1, (int)nx, 0, 0, 0);
	put("vrelu", "dy", dy, 1, (int)nx, 0, 0, 0);
	put("vrelu", "dx", dx, 1, (int)nx, 0, 0, 0);
	TK_CALL(ctx, br_dropout_forward(ctx, y, x, nx, 0.2f, 0xfeedULL));
	TK_CALL(ctx, br_dropout_backward(ctx, dx, dy, nx, 0.2f, 0xfeedULL));
	put("dropout", "y", y, 1, (int)nx, 0, 0, 0);
	put("dropout", "dy", dy, 1, (int)nx, 0, 0, 0);
	put("dropout", "dx", dx, 1, (int)nx, 0, 0, 0);
	free(x), free(y), free(dy), free(dx), free(b2), free(g), free(dg), free(s), free(ds), free(db2);
}

static void linear(const char *cas, int n, int in, int o)
{
	float *x = tk_randn((size_t)n * in, 1), *w = tk_randn((size_t)o * in, 0.3f), *b = tk_randn(o, 0.1f);
	float *y = tk_alloc((size_t)n * o), *dy = tk_randn((size_t)n * o, 1), *dx = tk_alloc((size_t)n * in);
	float *dw = tk_alloc((size_t)o * in), *db = tk_alloc(o);

	TK_CALL(ctx, br_linear_forward(ctx, y, x, w, b, n, in, o));
	TK_CALL(ctx, br_linear_backward(ctx, dx, dw, db, dy, x, w, n, in, o));
	put(cas, "x", x, 2, n, in, 0, 0);
	put(cas, "w", w, 2, o, in, 0, 0);
	put(cas, "b", b, 1, o, 0, 0, 0);
	put(cas, "y", y, 2, n, o, 0, 0);
	put(cas, "dy", dy, 2, n, o, 0, 0);
	put(cas, "dx", dx, 2, n, in, 0, 0);
	put(cas, "dw", dw, 2, o, in, 0, 0);
	put(cas, "db", db, 1, o, 0, 0, 0);
	free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
}

static void loss(const char *cas, int n, int h, int w, int target, int background)
{
	static const uint8_t labs[4] = { 0, 1, 2, 4 };
	size_t m = (size_t)n * h * w;
	float *z = tk_randn(m, 3), *dz = tk_alloc(m), *lf = tk_alloc(m), l;
	uint8_t *lab = malloc(m);
	br_tensor tz = tk_t(z, n, 1, h, w), tdz = tk_t(dz, n, 1, h, w);
	int pr[1] = { target };

	for (size_t i = 0; i < m; i++) {
		lab[i] = background ? 0 : labs[tk_u64() % 4];
		lf[i] = lab[i];
	}
	TK_CALL(ctx, br_loss_bce_dice(ctx, &l, &tdz, &tz, lab, target, 0.7f));
	params(cas, 1, pr);
	put(cas, "z", z, 4, n, 1, h, w);
	put(cas, "labels", lf, 3, n, h, w, 0);
	put(cas, "loss", &l, 1, 1, 0, 0, 0);
	put(cas, "dz", dz, 4, n, 1, h, w);
	free(z), free(dz), free(lf), free(lab);
}

static void adam(void)
{
	size_t n = 777;
	float *p = tk_randn(n, 1), *m = tk_alloc(n), *v = tk_alloc(n), *g = tk_alloc(3 * n);

	put("adam", "p0", p, 1, (int)n, 0, 0, 0);
	for (int t = 1; t <= 3; t++) {
		float *gt = tk_randn(n, 0.1f);
		memcpy(g + (t - 1) * n, gt, n * sizeof(float));
		TK_CALL(ctx, br_adam_step(ctx, p, gt, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, t));
		free(gt);
	}
	put("adam", "g", g, 2, 3, (int)n, 0, 0);
	put("adam", "p", p, 1, (int)n, 0, 0, 0);
	put("adam", "m", m, 1, (int)n, 0, 0, 0);
	put("adam", "v", v, 1, (int)n, 0, 0, 0);
	free(p), free(m), free(v), free(g);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_torch_dump OUT.bin [nthreads]\n");
		return 2;
	}
	out = fopen(argv[1], "wb");
	if (out == NULL) {
		perror(argv[1]);
		return 2;
	}
	ctx = tk_ctx(argc > 2 ? atoi(argv[2]) : 2);
	fprintf(stderr, "test_torch_dump: %s\n", br_ctx_describe(ctx));
	tk_seed(7);
	/* odd shapes, every kind of pre-activation */
	for (int ks = 1; ks <= 3; ks += 2)
		for (int pk = 0; pk < 3; pk++) {
			char cas[40];
			snprintf(cas, sizeof cas, "conv.odd.k%d.p%d", ks, pk);
			conv(cas, 2, 3, 5, 7, 9, ks, pk);
		}
	conv("conv.mid.k3.p2", 3, 12, 20, 21, 19, 3, 2);
	/* the network's conv shapes at small batch */
	conv("conv.enc1.conv1", 1, 4, 32, 176, 144, 3, 2);
	conv("conv.enc1.conv2", 1, 32, 32, 176, 144, 3, 2);
	conv("conv.enc1.proj", 1, 4, 32, 176, 144, 1, 0);
	conv("conv.enc1.gate", 1, 32, 1, 176, 144, 1, 1);
	conv("conv.enc2.conv1", 1, 32, 64, 88, 72, 3, 2);
	conv("conv.enc3.conv2", 1, 128, 128, 44, 36, 3, 2);
	conv("conv.enc4.conv1", 2, 128, 256, 22, 18, 3, 2);
	conv("conv.enc4.conv2", 2, 256, 256, 22, 18, 3, 2);
	conv("conv.enc4.proj", 2, 128, 256, 22, 18, 1, 0);
	conv("conv.dec3.conv1", 1, 256, 128, 44, 36, 3, 2);
	conv("conv.dec3.proj", 1, 256, 128, 44, 36, 1, 0);
	conv("conv.dec1.conv1", 1, 64, 32, 176, 144, 3, 2);
	conv("conv.head_ed", 2, 128, 1, 44, 36, 1, 0);
	convt("convt.odd", 2, 3, 5, 3, 4);
	convt("convt.dec3", 2, 256, 128, 22, 18);
	convt("convt.dec1", 1, 64, 32, 88, 72);
	bn("bn.odd", 2, 3, 5, 7);
	bn("bn.enc2", 4, 32, 22, 18);
	small(2, 3, 10, 8);
	linear("linear.fc1", 8, 256, 32);
	linear("linear.fc2", 8, 32, 256);
	for (int t = 0; t < 4; t++) {
		char cas[40];
		snprintf(cas, sizeof cas, "loss.t%d", t);
		loss(cas, 2, 22, 18, t, 0);
	}
	loss("loss.bg0", 2, 22, 18, 0, 1);
	loss("loss.bg3", 2, 22, 18, 3, 1);
	adam();
	br_ctx_free(ctx);
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 2;
	}
	return 0;
}
