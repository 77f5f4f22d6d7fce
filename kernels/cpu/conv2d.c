/* conv2d.c - 3x3 and 1x1 convolutions, stride 1, with the pre-activation
 * relu(x * scale + shift) fused into the reading of x.
 *
 * Paths: 3x3 forward and backward-data by Winograd F(4x4,3x3) (winograd.c),
 * 1x1 by GEMM (conv1x1.c), weight gradients by a GEMM over the pixels that
 * reads the zero-padded activated planes in place (conv_dw.c); conv_ref.c,
 * the direct reference, serves tiny shapes (under 20000 multiply-adds) and
 * everything when BR_CPU_REFERENCE=1 (=0: the fast paths even for tiny
 * shapes).  The weight gradient of F(4x4,3x3) was not used: its transforms
 * (coefficients up to 1/24 and 8) cost the ~1e-6 accuracy asked of
 * parameter gradients. */
#include "cpu.h"

static int use_reference(const br_ctx *ctx, size_t macs)
{
	int r = cpu_priv(ctx)->reference;

	if (r >= 0)
		return r;
	return macs < 20000;
}

/* y: (N,K,H,W)  x: (N,C,H,W)  w: (K,C,k,k)  b: (K) or NULL */
int cpu_conv2d_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b, int k,
		       const br_preact *pre)
{
	struct cpu_pre p = cpu_pre_of(pre);
	int n, c, kk, h, wd;

	n = x->n;
	c = x->c;
	kk = y->c;
	h = x->h;
	wd = x->w;
	if (use_reference(ctx, (size_t)n * h * wd * c * kk * k * k))
		return cpu_conv_ref_forward(ctx, cpu_f(y), cpu_f(x), w, b, n, c, kk, h, wd, k, &p);
	if (k == 3)
		return cpu_wino_conv3(ctx, cpu_f(y), cpu_f(x), w, b, n, c, kk, h, wd, &p, 0, 0);
	return cpu_conv1x1(ctx, cpu_f(y), cpu_f(x), w, b, n, c, kk, h, wd, &p, 0, 0, CPU_GEMM_PLANE);
}

/* da: (N,C,H,W) or NULL, gradient w.r.t. pre(x), written or added (accum)
 * dw: (K,C,k,k) added or NULL  db: (K) added or NULL
 * dy: (N,K,H,W)  x: (N,C,H,W)  w: (K,C,k,k) */
int cpu_conv2d_backward(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
			const float *w, int k, const br_preact *pre, int accum)
{
	static const struct cpu_pre none = { NULL, NULL, 0 };
	struct cpu_pre p = cpu_pre_of(pre);
	int n, c, kk, h, wd;

	n = x->n;
	c = x->c;
	kk = dy->c;
	h = x->h;
	wd = x->w;
	if (use_reference(ctx, (size_t)n * h * wd * c * kk * k * k))
		return cpu_conv_ref_backward(ctx, da ? cpu_f(da) : NULL, dw, db, cpu_f(dy), cpu_f(x), w, n, c, kk, h,
					     wd, k, &p, accum);
	if ((dw != NULL || db != NULL) &&
	    cpu_conv_dw(ctx, dw, db, cpu_f(dy), cpu_f(x), n, c, kk, h, wd, k, &p, CPU_GEMM_PLANE) < 0)
		return -1;
	if (da == NULL)
		return 0;
	/* da = conv(dy, w^T flipped): C outputs from K inputs, no pre-activation */
	if (k == 3)
		return cpu_wino_conv3(ctx, cpu_f(da), cpu_f(dy), w, NULL, n, kk, c, h, wd, &none, 1, accum);
	return cpu_conv1x1(ctx, cpu_f(da), cpu_f(dy), w, NULL, n, kk, c, h, wd, &none, 1, accum, CPU_GEMM_PLANE);
}
