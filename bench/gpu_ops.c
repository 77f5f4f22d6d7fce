/*
 * gpu_ops.c - op-level GPU benchmark: the R2U-MTDS network's sequence of
 * kernel calls, with its exact shapes, on the CUDA backend.
 *
 *   infer: forward of B slices (BatchNorm folded), the r2u-infer path
 *   train: forward (batch statistics, dropout), backward of every op with
 *          the same shapes, four head losses, Adam over 2M parameters
 *
 * The calls are shape-faithful, not a chained model (values are random;
 * kernel time does not depend on them).  Prints ms per step / per case and,
 * with -v, the per-op profile table on stderr.
 *
 * Usage: gpu_ops [-m infer|train|layers|layers-train] [-b batch] [-p fp32|tf32|bf16] [-n iters] [-w base] [-v]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "bench.h"
#include "cli.h" /* br_now */

static br_ctx *ctx;
static int train;

static void die(const char *what)
{
	fprintf(stderr, "gpu_ops: %s: %s\n", what, br_ctx_error(ctx));
	exit(1);
}
#define CK(call)                   \
	do {                       \
		if ((call) < 0)    \
			die(#call); \
	} while (0)

/* Buffers by call order: the sequence is the same every iteration, so the
 * first iteration allocates and the others reuse. */
#define MAXBUF 4096
static void *bufs[MAXBUF];
static size_t buf_bytes[MAXBUF];
static int nbuf, cur;

static void *buf(size_t bytes)
{
	if (cur == MAXBUF) {
		fprintf(stderr, "gpu_ops: too many buffers\n");
		exit(1);
	}
	if (cur == nbuf) {
		float *h;
		size_t n = bytes / sizeof(float);
		bufs[cur] = br_malloc(ctx, bytes);
		if (bufs[cur] == NULL)
			die("br_malloc");
		buf_bytes[cur] = bytes;
		/* small positive values: no NaN, no denormals */
		h = malloc(bytes);
		if (h == NULL)
			exit(1);
		for (size_t i = 0; i < n; i++)
			h[i] = 0.01f + 0.02f * (float)((i * 2654435761u) % 1000) / 1000.0f;
		CK(br_memcpy_h2d(ctx, bufs[cur], h, n * sizeof(float)));
		CK(br_sync(ctx));
		free(h);
		nbuf++;
	}
	return bufs[cur++];
}

static br_tensor T(int n, int c, int h, int w)
{
	br_tensor t = {NULL, n, c, h, w};
	t.data = buf(br_tensor_bytes(ctx, n, c, h, w));
	return t;
}

static float *F(size_t n) { return buf(n * sizeof(float)); }

/* ---- one stage: SE(block(x)); returns the output, backward runs later ---- */

struct stage {
	int cin, cout, att, H, W;
	br_tensor x, r1, r2, s, y, g, out, o;
	float *w1, *b1, *w2, *b2, *wp, *bp, *wg, *bg, *f1w, *f1b, *f2w, *f2b;
	float *bn1[8], *bn2[8]; /* gamma beta mean var scale shift rmean rvar */
	float *z, *h, *hr, *sv, *svs, *svd;
};

static void bn_arrays(float **a, int c)
{
	for (int i = 0; i < 8; i++)
		a[i] = F((size_t)c);
}

static void bn(float **a, const br_tensor *x)
{
	if (train)
		CK(br_bn_train_stats(ctx, a[2], a[3], a[4], a[5], a[6], a[7], x, a[0], a[1], 1e-5f, 0.1f));
	else
		CK(br_bn_infer_fold(ctx, a[4], a[5], a[6], a[7], a[0], a[1], x->c, 1e-5f));
}

static void stage_fwd(struct stage *S, const br_tensor *x, int N, int cin, int cout, int att, int H, int W)
{
	br_preact p1, p2, pg = {NULL, NULL, 1};
	int c8 = cout / 8 > 0 ? cout / 8 : 1;

	S->cin = cin, S->cout = cout, S->att = att, S->H = H, S->W = W;
	S->x = *x;
	S->w1 = F((size_t)cout * cin * 9), S->b1 = F(cout);
	S->w2 = F((size_t)cout * cout * 9), S->b2 = F(cout);
	S->wp = F((size_t)cout * cin), S->bp = F(cout);
	S->wg = F(cout), S->bg = F(1);
	S->f1w = F((size_t)c8 * cout), S->f1b = F(c8), S->f2w = F((size_t)cout * c8), S->f2b = F(cout);
	bn_arrays(S->bn1, cin);
	bn_arrays(S->bn2, cout);
	S->r1 = T(N, cout, H, W), S->r2 = T(N, cout, H, W), S->y = T(N, cout, H, W);
	S->s = cin != cout ? T(N, cout, H, W) : *x;

	bn(S->bn1, x);
	p1 = (br_preact){S->bn1[4], S->bn1[5], 1};
	CK(br_conv2d_forward(ctx, &S->r1, x, S->w1, S->b1, 3, &p1));
	bn(S->bn2, &S->r1);
	p2 = (br_preact){S->bn2[4], S->bn2[5], 1};
	CK(br_conv2d_forward(ctx, &S->r2, &S->r1, S->w2, S->b2, 3, &p2));
	if (cin != cout)
		CK(br_conv2d_forward(ctx, &S->s, x, S->wp, S->bp, 1, NULL));
	CK(br_add(ctx, &S->y, &S->s, &S->r2));
	if (att) {
		S->g = T(N, 1, H, W), S->out = T(N, cout, H, W);
		CK(br_conv2d_forward(ctx, &S->g, &S->y, S->wg, S->bg, 1, &pg));
		CK(br_gate_forward(ctx, &S->out, &S->y, &S->g));
	} else {
		S->out = S->y;
	}
	S->z = F((size_t)N * cout), S->h = F((size_t)N * c8), S->hr = F((size_t)N * c8);
	S->sv = F((size_t)N * cout), S->svs = F((size_t)N * cout), S->svd = F((size_t)N * cout);
	CK(br_avgpool_forward(ctx, S->z, &S->out));
	CK(br_linear_forward(ctx, S->h, S->z, S->f1w, S->f1b, N, cout, c8));
	CK(br_vec_relu_forward(ctx, S->hr, S->h, (size_t)N * c8));
	CK(br_linear_forward(ctx, S->sv, S->hr, S->f2w, S->f2b, N, c8, cout));
	CK(br_vec_sigmoid_forward(ctx, S->svs, S->sv, (size_t)N * cout));
	if (train)
		CK(br_dropout_forward(ctx, S->svd, S->svs, (size_t)N * cout, 0.2f, 1234));
	S->o = T(N, cout, H, W);
	CK(br_scale_forward(ctx, &S->o, &S->out, train ? S->svd : S->svs));
}

/* dout: gradient of S->o; writes/adds dx (gradient of S->x), accum */
static void stage_bwd(struct stage *S, const br_tensor *dout, br_tensor *dx, int accum)
{
	const int N = S->x.n, cout = S->cout, cin = S->cin, H = S->H, W = S->W;
	int c8 = cout / 8 > 0 ? cout / 8 : 1;
	br_tensor dout2 = T(N, cout, H, W), dy = T(N, cout, H, W), dr1 = T(N, cout, H, W), da = T(N, cout, H, W),
		  dxa = T(N, cin, H, W);
	float *g = F(2000000); /* gradient arena stand-in (one big array, as the model keeps) */
	float *ds = F((size_t)N * cout), *dsv = F((size_t)N * cout), *dh = F((size_t)N * c8), *dz = F((size_t)N * cout);
	br_preact p1 = {S->bn1[4], S->bn1[5], 1}, p2 = {S->bn2[4], S->bn2[5], 1}, pg = {NULL, NULL, 1};

	CK(br_scale_backward(ctx, &dout2, ds, dout, &S->out, S->svd, 0));
	CK(br_dropout_backward(ctx, dsv, ds, (size_t)N * cout, 0.2f, 1234));
	CK(br_vec_sigmoid_backward(ctx, ds, dsv, S->svs, (size_t)N * cout));
	CK(br_linear_backward(ctx, dh, g, g + 100000, ds, S->hr, S->f2w, N, c8, cout));
	CK(br_vec_relu_backward(ctx, dh, dh, S->h, (size_t)N * c8));
	CK(br_linear_backward(ctx, dz, g + 200000, g + 300000, dh, S->z, S->f1w, N, cout, c8));
	CK(br_avgpool_backward(ctx, &dout2, dz, 1));
	if (S->att) {
		br_tensor dg = T(N, 1, H, W);
		CK(br_gate_backward(ctx, &dy, &dg, &dout2, &S->y, &S->g, 0));
		CK(br_conv2d_backward(ctx, &dy, g + 400000, g + 400300, &dg, &S->y, S->wg, 1, &pg, 1));
	} else {
		dy = dout2;
	}
	/* y = s + r2 */
	CK(br_conv2d_backward(ctx, &da, g, g + 1000, &dy, &S->r1, S->w2, 3, &p2, 0));
	CK(br_bn_relu_backward(ctx, &dr1, g + 2000, g + 3000, &da, &S->r1, S->bn2[2], S->bn2[3], S->bn2[0],
			       S->bn2[1], 1e-5f, 0));
	CK(br_conv2d_backward(ctx, cin == 4 ? NULL : &dxa, g + 500000, g + 4000, &dr1, &S->x, S->w1, 3, &p1, 0));
	if (cin == 4)
		return; /* network input: no gradient needed */
	CK(br_bn_relu_backward(ctx, dx, g + 5000, g + 6000, &dxa, &S->x, S->bn1[2], S->bn1[3], S->bn1[0], S->bn1[1],
			       1e-5f, accum));
	if (cin != cout)
		CK(br_conv2d_backward(ctx, dx, g + 1000000, g + 7000, &dy, &S->x, S->wp, 1, NULL, 1));
	else
		CK(br_acc(ctx, dx, &dy));
}

static void step(int N, int b, int H, int W)
{
	struct stage e1, e2, e3, e4, d3, d2, d1;
	br_tensor x = T(N, 4, H, W);
	br_tensor p1 = T(N, b, H / 2, W / 2), p2 = T(N, 2 * b, H / 4, W / 4), p3 = T(N, 4 * b, H / 8, W / 8);
	br_tensor u3 = T(N, 4 * b, H / 4, W / 4), c3 = T(N, 8 * b, H / 4, W / 4);
	br_tensor u2 = T(N, 2 * b, H / 2, W / 2), c2 = T(N, 4 * b, H / 2, W / 2);
	br_tensor u1 = T(N, b, H, W), c1 = T(N, 2 * b, H, W);
	br_tensor wt = T(N, 1, H, W), et = T(N, 1, H, W), ncr0 = T(N, 1, H / 2, W / 2), ncr = T(N, 1, H, W),
		  ed0 = T(N, 1, H / 4, W / 4), ed = T(N, 1, H, W);
	float *up3w = F((size_t)8 * b * 4 * b * 4), *up3b = F(4 * b), *up2w = F((size_t)4 * b * 2 * b * 4),
	      *up2b = F(2 * b), *up1w = F((size_t)2 * b * b * 4), *up1b = F(b);
	float *hw = F(4 * b), *hb = F(4);

	stage_fwd(&e1, &x, N, 4, b, 1, H, W);
	CK(br_maxpool2_forward(ctx, &p1, &e1.o));
	stage_fwd(&e2, &p1, N, b, 2 * b, 1, H / 2, W / 2);
	CK(br_maxpool2_forward(ctx, &p2, &e2.o));
	stage_fwd(&e3, &p2, N, 2 * b, 4 * b, 1, H / 4, W / 4);
	CK(br_maxpool2_forward(ctx, &p3, &e3.o));
	stage_fwd(&e4, &p3, N, 4 * b, 8 * b, 1, H / 8, W / 8);
	CK(br_convt2x2_forward(ctx, &u3, &e4.o, up3w, up3b));
	CK(br_concat_forward(ctx, &c3, &u3, &e3.o));
	stage_fwd(&d3, &c3, N, 8 * b, 4 * b, 0, H / 4, W / 4);
	CK(br_convt2x2_forward(ctx, &u2, &d3.o, up2w, up2b));
	CK(br_concat_forward(ctx, &c2, &u2, &e2.o));
	stage_fwd(&d2, &c2, N, 4 * b, 2 * b, 0, H / 2, W / 2);
	CK(br_convt2x2_forward(ctx, &u1, &d2.o, up1w, up1b));
	CK(br_concat_forward(ctx, &c1, &u1, &e1.o));
	stage_fwd(&d1, &c1, N, 2 * b, b, 0, H, W);
	CK(br_conv2d_forward(ctx, &wt, &d1.o, hw, hb, 1, NULL));
	CK(br_conv2d_forward(ctx, &et, &d1.o, hw, hb + 1, 1, NULL));
	CK(br_conv2d_forward(ctx, &ncr0, &d2.o, hw, hb + 2, 1, NULL));
	CK(br_upsample_forward(ctx, &ncr, &ncr0, 2));
	CK(br_conv2d_forward(ctx, &ed0, &d3.o, hw, hb + 3, 1, NULL));
	CK(br_upsample_forward(ctx, &ed, &ed0, 4));
	if (!train)
		return;

	/* losses */
	uint8_t *lab = buf((size_t)N * H * W);
	float *loss = F(4), *g = F(2000000), *m = F(2044136), *v = F(2044136), *p = F(2044136);
	br_tensor dwt = T(N, 1, H, W), det = T(N, 1, H, W), dncr = T(N, 1, H, W), ded = T(N, 1, H, W),
		  dncr0 = T(N, 1, H / 2, W / 2), ded0 = T(N, 1, H / 4, W / 4);
	CK(br_loss_bce_dice(ctx, loss, &dwt, &wt, lab, BR_TARGET_WT, 1.0f));
	CK(br_loss_bce_dice(ctx, loss + 1, &det, &et, lab, BR_TARGET_ET, 1.0f));
	CK(br_loss_bce_dice(ctx, loss + 2, &dncr, &ncr, lab, BR_TARGET_NCR, 1.0f));
	CK(br_loss_bce_dice(ctx, loss + 3, &ded, &ed, lab, BR_TARGET_ED, 1.0f));
	CK(br_upsample_backward(ctx, &dncr0, &dncr, 2, 0));
	CK(br_upsample_backward(ctx, &ded0, &ded, 4, 0));

	/* backward, decoder first */
	br_tensor dd1 = T(N, b, H, W), dd2 = T(N, 2 * b, H / 2, W / 2), dd3 = T(N, 4 * b, H / 4, W / 4);
	br_tensor dc1 = T(N, 2 * b, H, W), dc2 = T(N, 4 * b, H / 2, W / 2), dc3 = T(N, 8 * b, H / 4, W / 4);
	br_tensor du1 = T(N, b, H, W), du2 = T(N, 2 * b, H / 2, W / 2), du3 = T(N, 4 * b, H / 4, W / 4);
	br_tensor de1 = T(N, b, H, W), de2 = T(N, 2 * b, H / 2, W / 2), de3 = T(N, 4 * b, H / 4, W / 4),
		  de4 = T(N, 8 * b, H / 8, W / 8);
	br_tensor dp1 = T(N, b, H / 2, W / 2), dp2 = T(N, 2 * b, H / 4, W / 4), dp3 = T(N, 4 * b, H / 8, W / 8);
	CK(br_conv2d_backward(ctx, &dd1, g, g + 100, &dwt, &d1.o, hw, 1, NULL, 0));
	CK(br_conv2d_backward(ctx, &dd1, g, g + 100, &det, &d1.o, hw, 1, NULL, 1));
	CK(br_conv2d_backward(ctx, &dd2, g, g + 100, &dncr0, &d2.o, hw, 1, NULL, 0));
	CK(br_conv2d_backward(ctx, &dd3, g, g + 100, &ded0, &d3.o, hw, 1, NULL, 0));
	stage_bwd(&d1, &dd1, &dc1, 0);
	CK(br_concat_backward(ctx, &du1, &de1, &dc1, 0, 0));
	CK(br_convt2x2_backward(ctx, &dd2, g + 200, g + 300, &du1, &d2.o, up1w, 1));
	stage_bwd(&d2, &dd2, &dc2, 0);
	CK(br_concat_backward(ctx, &du2, &de2, &dc2, 0, 0));
	CK(br_convt2x2_backward(ctx, &dd3, g + 200, g + 300, &du2, &d3.o, up2w, 1));
	stage_bwd(&d3, &dd3, &dc3, 0);
	CK(br_concat_backward(ctx, &du3, &de3, &dc3, 0, 0));
	CK(br_convt2x2_backward(ctx, &de4, g + 200, g + 300, &du3, &e4.o, up3w, 0));
	stage_bwd(&e4, &de4, &dp3, 0);
	CK(br_maxpool2_backward(ctx, &de3, &dp3, &e3.o, 1));
	stage_bwd(&e3, &de3, &dp2, 0);
	CK(br_maxpool2_backward(ctx, &de2, &dp2, &e2.o, 1));
	stage_bwd(&e2, &de2, &dp1, 0);
	CK(br_maxpool2_backward(ctx, &de1, &dp1, &e1.o, 1));
	stage_bwd(&e1, &de1, NULL, 0);
	CK(br_adam_step(ctx, p, g, m, v, 2044136, 1e-4f, 0.9f, 0.999f, 1e-8f, 1));
}

/* -m layers: each convolution of the network alone (forward, and with -t the
 * backward), reps calls, ms per call and TFLOP/s */
static void layers(int N, int b, int reps, int with_bwd)
{
	static const struct {
		const char *name;
		int c, k, div, ks, pre;
	} L[] = {
		{"enc1.conv1", 4, 1, 1, 3, 2},   {"enc1.proj", 4, 1, 1, 1, 0},	  {"enc1.conv2", 1, 1, 1, 3, 2},
		{"enc1.gate", 1, 0, 1, 1, 1},    {"enc2.conv1", 1, 2, 2, 3, 2},   {"enc2.conv2", 2, 2, 2, 3, 2},
		{"enc2.proj", 1, 2, 2, 1, 0},    {"enc3.conv1", 2, 4, 4, 3, 2},   {"enc3.conv2", 4, 4, 4, 3, 2},
		{"enc4.conv1", 4, 8, 8, 3, 2},   {"enc4.conv2", 8, 8, 8, 3, 2},   {"dec3.conv1", 8, 4, 4, 3, 2},
		{"dec2.conv1", 4, 2, 2, 3, 2},   {"dec1.conv1", 2, 1, 1, 3, 2},   {"dec1.proj", 2, 1, 1, 1, 0},
		{"head_wt", 1, 0, 1, 1, 0},
	};
	for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
		int C = i < 2 ? 4 : L[i].c * b, K = L[i].k ? L[i].k * b : 1; /* the first two: the 4-channel input */
		int H = 176 / L[i].div, W = 144 / L[i].div, k = L[i].ks;
		double t0, t1, t2, fwd_ms, fl = 2.0 * N * H * W * (double)C * K * k * k;
		br_tensor x, y, dy, da;
		float *w, *bb, *sc, *dw, *db;
		br_preact pre = {NULL, NULL, L[i].pre != 0};

		cur = 0;
		x = T(N, C, H, W), y = T(N, K, H, W), dy = T(N, K, H, W), da = T(N, C, H, W);
		w = F((size_t)K * C * k * k), bb = F(K), sc = F(2 * (size_t)C), dw = F((size_t)K * C * k * k), db = F(K);
		if (L[i].pre == 2)
			pre.scale = sc, pre.shift = sc + C;
		CK(br_conv2d_forward(ctx, &y, &x, w, bb, k, L[i].pre ? &pre : NULL));
		CK(br_sync(ctx));
		t0 = br_now();
		for (int r = 0; r < reps; r++)
			CK(br_conv2d_forward(ctx, &y, &x, w, bb, k, L[i].pre ? &pre : NULL));
		CK(br_sync(ctx));
		t1 = br_now();
		fwd_ms = 1e3 * (t1 - t0) / reps;
		if (with_bwd) {
			CK(br_conv2d_backward(ctx, C == 4 ? NULL : &da, dw, db, &dy, &x, w, k, L[i].pre ? &pre : NULL, 0));
			CK(br_sync(ctx));
			t1 = br_now();
			for (int r = 0; r < reps; r++)
				CK(br_conv2d_backward(ctx, C == 4 ? NULL : &da, dw, db, &dy, &x, w, k, L[i].pre ? &pre : NULL, 0));
			CK(br_sync(ctx));
		}
		t2 = br_now();
		printf("%-11s C%4d K%4d %3dx%3d k%d pre%d  fwd %7.3f ms %6.1f TF/s", L[i].name, C, K, H, W, k, L[i].pre,
		       fwd_ms, fl / fwd_ms * 1e-9);
		if (with_bwd)
			printf("  bwd %7.3f ms %6.1f TF/s", 1e3 * (t2 - t1) / reps,
			       (C == 4 ? 1 : 2) * fl / ((t2 - t1) / reps) * 1e-12);
		printf("\n");
		for (int j = 0; j < nbuf; j++)
			br_free(ctx, bufs[j]);
		nbuf = cur = 0;
	}
}

int main(int argc, char **argv)
{
	static const char *pn[4] = {"default", "fp32", "tf32", "bf16"};
	int N = -1, prec = BR_PREC_BF16, iters = 10, b = 32, verbose = 0, H = 176, W = 144, lay = 0;
	char err[512];
	double t0, t1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			i++;
			train = strcmp(argv[i], "train") == 0 || strcmp(argv[i], "layers-train") == 0;
			lay = strncmp(argv[i], "layers", 6) == 0;
		}
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			N = atoi(argv[++i]);
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			iters = atoi(argv[++i]);
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			b = atoi(argv[++i]);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			i++;
			for (prec = 3; prec > 0 && strcmp(argv[i], pn[prec]) != 0; prec--)
				;
		} else {
			fprintf(stderr, "usage: gpu_ops [-m infer|train|layers|layers-train] [-b batch] [-p fp32|tf32|bf16] [-n iters] [-w base] [-v]\n");
			return 2;
		}
	}
	if (N < 0)
		N = train ? 32 : 155;
	if (!br_cuda_built()) {
		fprintf(stderr, "gpu_ops: built without CUDA\n");
		return 0;
	}
	if (br_device_count(BR_DEV_CUDA) < 1) {
		fprintf(stderr, "gpu_ops: no CUDA device\n");
		return 0;
	}
	ctx = br_ctx_new("cuda", 0, prec, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "gpu_ops: %s\n", err);
		return 1;
	}
	if (lay) {
		layers(N, b, iters, train);
		br_ctx_free(ctx);
		return 0;
	}
	/* warm-up: allocation, algorithm search */
	for (int i = 0; i < 2; i++) {
		cur = 0;
		step(N, b, H, W);
		CK(br_sync(ctx));
	}
	if (verbose) {
		br_prof_enable(ctx, 1);
		br_prof_reset(ctx);
		cur = 0;
		step(N, b, H, W);
		CK(br_sync(ctx));
		br_prof_report(ctx, stderr);
		br_prof_enable(ctx, 0);
	}
	t0 = br_now();
	for (int i = 0; i < iters; i++) {
		cur = 0;
		step(N, b, H, W);
	}
	CK(br_sync(ctx));
	t1 = br_now();
	printf("%s\t%s\tbatch %d\tbase %d\t%.3f ms per %s\n", br_ctx_describe(ctx), train ? "train" : "infer", N, b,
	       1e3 * (t1 - t0) / iters, train ? "step" : "batch");
	for (int i = 0; i < nbuf; i++)
		br_free(ctx, bufs[i]);
	br_ctx_free(ctx);
	return 0;
}
