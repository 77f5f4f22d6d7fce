/*
 * test_golden - the network against golden data from PyTorch (golden.py):
 * forward outputs, loss, every parameter gradient, the weights and running
 * statistics after several Adam steps, and the inference outputs after them,
 * for the network variant recorded in DIR/weights.safetensors.
 *
 * usage: test_golden DIR N H W STEPS LR [DEVICE [PRECISION]]
 * Prints TAP lines; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "r2u.h"
#include "safetensors.h"
#include "volume.h"
#include "tap.h"


static void *slurp(const char *path, size_t want)
{
	FILE *f = fopen(path, "rb");
	void *p = malloc(want);

	if (f == NULL || p == NULL || fread(p, 1, want, f) != want) {
		fprintf(stderr, "test_golden: %s: cannot read %zu bytes\n", path, want);
		exit(1);
	}
	fclose(f);
	return p;
}

/* relative L2 error with a floor on the reference norm; NaN checked first */
static double rel_err(const float *a, const float *ref, size_t n, double floor_rms, double *maxabs)
{
	double num = 0, den = 0;
	size_t i;

	*maxabs = 0;
	for (i = 0; i < n; i++) {
		double d;
		if (!isfinite(a[i]))
			return INFINITY;
		d = (double)a[i] - ref[i];
		num += d * d;
		den += (double)ref[i] * ref[i];
		if (fabs(d) > *maxabs)
			*maxabs = fabs(d);
	}
	den = sqrt(den);
	if (den < floor_rms * sqrt((double)n))
		den = floor_rms * sqrt((double)n);
	return sqrt(num) / (den > 0 ? den : 1);
}

/* Whose error the tolerances follow: PyTorch's float32 error against
 * float64 ("err32."), or, for a tf32 run where the golden data has it,
 * PyTorch's own TF32 error on a GPU ("errtf32."). */
static const char *err_key = "err32.";

/* PyTorch's own error against float64, the largest over the tensors whose
 * name starts with prefix. */
static double err32_max(const br_st *e, const char *prefix)
{
	char key[200];
	double m = 0;
	int i;

	snprintf(key, sizeof key, "%s%s", err_key, prefix);
	for (i = 0; i < e->n; i++)
		if (strncmp(e->t[i].name, key, strlen(key)) == 0 && ((const float *)e->t[i].data)[0] > m)
			m = ((const float *)e->t[i].data)[0];
	return m;
}

/* The tolerance of a tensor: base, or what float32 arithmetic allows when
 * that is larger - three times PyTorch's own float32 error against float64
 * on the tensor, or 1.5 times its largest error on any tensor of the kind
 * (rounding in a deep backward pass reaches every gradient, and which ones
 * it hits hardest depends on the order of the sums). */
static double allowed(const br_st *e, const char *name, double base)
{
	char key[200], kind[32];
	const br_st_tensor *t;
	double e32 = 0, g;

	snprintf(key, sizeof key, "%s%s", err_key, name);
	t = br_st_find(e, key);
	if (t != NULL)
		e32 = 3.0 * ((const float *)t->data)[0];
	snprintf(kind, sizeof kind, "%.*s", (int)strcspn(name, "."), name);
	g = 1.5 * err32_max(e, kind);
	if (g > e32)
		e32 = g;
	return e32 > base ? e32 : base;
}

static const br_st_tensor *need(const br_st *e, const char *name)
{
	const br_st_tensor *t = br_st_find(e, name);

	if (t == NULL) {
		fprintf(stderr, "test_golden: expected data lacks %s\n", name);
		exit(1);
	}
	return t;
}

/* The four heads of out ((n, 4, h, w), as r2u_download writes them) against
 * the expected "<prefix>.<head>" tensors, each within allowed + slack. */
static void check_heads(const br_st *e, const float *out, int n, int h, int w, const char *prefix, const char *what,
			double tol, double slack)
{
	static const char *const heads[4] = {"wt", "ncr", "ed", "et"};
	size_t hw = (size_t)h * w;
	float *got = malloc((size_t)n * hw * sizeof *got);
	char nm[64];
	double mx, er;
	int i, k;

	for (k = 0; k < 4; k++) {
		snprintf(nm, sizeof nm, "%s.%s", prefix, heads[k]);
		for (i = 0; i < n; i++)
			memcpy(got + (size_t)i * hw, out + ((size_t)i * 4 + k) * hw, hw * sizeof *got);
		er = rel_err(got, need(e, nm)->data, (size_t)n * hw, 1e-3, &mx);
		tap(er <= slack + allowed(e, nm, tol), "%s %s logits: relative error %.2e (max abs %.2e)", what, heads[k], er,
		    mx);
	}
	free(got);
}

int main(int argc, char **argv)
{
	const char *dir, *device;
	int n, h, w, steps, base, i, k, s, prec = BR_PREC_FP32;
	float lr, losses[5];
	char path[4096], err[512], nm[160];
	br_ctx *ctx;
	r2u *m;
	r2u_variant var;
	br_st *e;
	float *x, *out, *buf;
	uint8_t *lab;
	double tol_out, tol_grad, tol_par, gscale = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: test_golden DIR N H W STEPS LR [DEVICE [fp32|tf32|bf16]]\n");
		return 2;
	}
	dir = argv[1];
	n = atoi(argv[2]);
	h = atoi(argv[3]);
	w = atoi(argv[4]);
	steps = atoi(argv[5]);
	lr = (float)atof(argv[6]);
	device = argc > 7 ? argv[7] : "cpu";
	if (argc > 8)
		prec = !strcmp(argv[8], "tf32") ? BR_PREC_TF32 : !strcmp(argv[8], "bf16") ? BR_PREC_BF16 : BR_PREC_FP32;
	/* fp32 arithmetic against a float64 reference: about 1e-4 relative */
	tol_out = prec == BR_PREC_FP32 ? 1e-4 : prec == BR_PREC_TF32 ? 5e-3 : 3e-2;
	tol_grad = prec == BR_PREC_FP32 ? 2e-4 : prec == BR_PREC_TF32 ? 5e-2 : 1e-1;
	tol_par = prec == BR_PREC_FP32 ? 1e-4 : prec == BR_PREC_TF32 ? 1e-2 : 3e-2;

	ctx = br_ctx_new(device, 0, prec, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "test_golden: %s\n", err);
		return 1;
	}
	printf("# device %s\n", br_ctx_describe(ctx));
	snprintf(path, sizeof path, "%s/weights.safetensors", dir);
	/* the network of the variant the golden data was made for */
	if (r2u_peek(path, &base, &var, err, sizeof err) < 0) {
		fprintf(stderr, "test_golden: %s: %s\n", path, err);
		return 1;
	}
	r2u_variant_describe(&var, nm, sizeof nm);
	printf("# width %d, %s\n", base, nm);
	m = r2u_new_variant(ctx, base, &var, 1, err, sizeof err);
	if (m == NULL || r2u_load(m, path, NULL) < 0) {
		fprintf(stderr, "test_golden: %s: %s\n", path, m ? r2u_error(m) : err);
		return 1;
	}
	snprintf(path, sizeof path, "%s/expected.safetensors", dir);
	e = br_st_read(path);
	if (e == NULL) {
		fprintf(stderr, "test_golden: %s: %s\n", path, br_error());
		return 1;
	}
	/* tf32 against PyTorch's own tf32 error where the data has it (made on
	 * a GPU): the same rule as fp32 (3x per tensor, 1.5x the worst of its
	 * kind) over the fp32 floors, instead of fixed tolerances */
	if (prec == BR_PREC_TF32)
		for (i = 0; i < e->n; i++)
			if (strncmp(e->t[i].name, "errtf32.", 8) == 0) {
				err_key = "errtf32.";
				tol_out = 1e-4, tol_grad = 2e-4, tol_par = 1e-4;
				printf("# tf32 tolerances: 3x PyTorch's TF32 error against float64 per tensor, "
				       "1.5x its worst of the kind (worst gradient %.2e)\n",
				       err32_max(e, "grad."));
				break;
			}
	snprintf(path, sizeof path, "%s/input.f32", dir);
	x = slurp(path, (size_t)n * 4 * h * w * sizeof(float));
	snprintf(path, sizeof path, "%s/labels.u8", dir);
	lab = slurp(path, (size_t)n * h * w);
	out = malloc((size_t)n * 4 * h * w * sizeof *out);
	buf = malloc(r2u_ntrainable(m) * sizeof *buf + 1024 * 1024);

	/* inference with the initial weights and running statistics */
	if (r2u_forward(m, x, n, h, w, 0, 0.0f, 0) < 0 || r2u_download(m, out, 0) < 0) {
		fprintf(stderr, "test_golden: %s\n", r2u_error(m));
		return 1;
	}
	check_heads(e, out, n, h, w, "eval0", "inference (running statistics):", tol_out, 0);

	/* step 1: forward, loss, gradients */
	if (r2u_zero_grad(m) < 0 || r2u_forward(m, x, n, h, w, 1, 0.0f, 7) < 0 || r2u_download(m, out, 0) < 0 ||
	    r2u_backward(m, lab, 1.0f) < 0 || r2u_losses(m, losses) < 0) {
		fprintf(stderr, "test_golden: %s\n", r2u_error(m));
		return 1;
	}
	check_heads(e, out, n, h, w, "out", "forward", tol_out, 0);
	{
		const float *lref = need(e, "loss")->data;
		static const char *const ln[5] = {"total", "wt", "ed", "ncr", "et"};
		for (k = 0; k < 5; k++) {
			double d = fabs(losses[k] - lref[k]) / fabs(lref[k]);
			tap(isfinite(losses[k]) && d <= allowed(e, "loss", tol_out), "loss %s %.7f vs %.7f: relative error %.2e",
			    ln[k], losses[k], lref[k], d);
		}
	}
	/* gradients: a floor at 1e-2 of the overall gradient rms (the biases of
	 * convolutions followed by a BatchNorm have an exactly zero gradient, so
	 * only rounding remains of them) */
	for (i = 0; i < r2u_nparams(m); i++) {
		const r2u_param *p = r2u_param_info(m, i);
		const br_st_tensor *t;
		size_t j;
		if (p->running)
			continue;
		snprintf(nm, sizeof nm, "grad.%s", p->name);
		t = need(e, nm);
		for (j = 0; j < p->numel; j++)
			gscale += (double)((const float *)t->data)[j] * ((const float *)t->data)[j];
	}
	gscale = sqrt(gscale / (double)r2u_ntrainable(m));
	{
		int bad = 0, count = 0;
		double worst = 0;
		char worst_name[96] = "";
		for (i = 0; i < r2u_nparams(m); i++) {
			const r2u_param *p = r2u_param_info(m, i);
			double mx, er;
			if (p->running)
				continue;
			snprintf(nm, sizeof nm, "grad.%s", p->name);
			if (r2u_grad_get(m, i, buf) < 0) {
				fprintf(stderr, "test_golden: %s\n", r2u_error(m));
				return 1;
			}
			er = rel_err(buf, need(e, nm)->data, p->numel, 1e-2 * gscale, &mx);
			count++;
			if (er / allowed(e, nm, tol_grad) > worst) {
				worst = er / allowed(e, nm, tol_grad);
				snprintf(worst_name, sizeof worst_name, "%s", p->name);
			}
			if (!(er <= allowed(e, nm, tol_grad))) {
				bad++;
				printf("# gradient %s: relative error %.2e (max abs %.2e)\n", p->name, er, mx);
			}
		}
		tap(bad == 0, "gradients of all %d parameter tensors within tolerance: worst at %.2f of it (%s)", count,
		    worst, worst_name);
	}
	/* Adam steps on the same batch */
	if (r2u_adam(m, lr, 1) < 0) {
		fprintf(stderr, "test_golden: %s\n", r2u_error(m));
		return 1;
	}
	for (s = 2; s <= steps; s++) {
		if (r2u_zero_grad(m) < 0 || r2u_forward(m, x, n, h, w, 1, 0.0f, 7) < 0 || r2u_backward(m, lab, 1.0f) < 0 ||
		    r2u_adam(m, lr, s) < 0) {
			fprintf(stderr, "test_golden: %s\n", r2u_error(m));
			return 1;
		}
	}
	{
		int bad = 0, count = 0;
		double worst = 0;
		char worst_name[96] = "";
		for (i = 0; i < r2u_nparams(m); i++) {
			const r2u_param *p = r2u_param_info(m, i);
			double mx, er;
			snprintf(nm, sizeof nm, "after.%s", p->name);
			if (r2u_param_get(m, i, buf) < 0) {
				fprintf(stderr, "test_golden: %s\n", r2u_error(m));
				return 1;
			}
			/* A zero gradient is pure rounding noise, which Adam turns into
			 * full-size steps of random sign in both implementations: such
			 * biases (conv1, followed by bn2) and the running mean of the
			 * BatchNorm that follows them may drift by up to lr per step. */
			if (strstr(p->name, ".conv1.bias") != NULL || strstr(p->name, ".bn2.running_mean") != NULL) {
				const float *ref = need(e, nm)->data;
				size_t j;
				mx = 0;
				for (j = 0; j < p->numel; j++)
					if (!(fabs(buf[j] - ref[j]) <= mx))
						mx = isfinite(buf[j]) ? fabs(buf[j] - ref[j]) : INFINITY;
				er = mx <= 2.0 * lr * steps ? 0 : INFINITY;
			} else {
				er = rel_err(buf, need(e, nm)->data, p->numel, 1e-3, &mx) / allowed(e, nm, tol_par);
			}
			count++;
			if (er > worst) {
				worst = er;
				snprintf(worst_name, sizeof worst_name, "%s", p->name);
			}
			if (!(er <= 1.0)) {
				bad++;
				printf("# %s after %d steps: relative error %.2e (max abs %.2e)\n", p->name, steps, er, mx);
			}
		}
		tap(bad == 0, "weights and running statistics after %d Adam steps (%d tensors) within tolerance: worst at %.2f of it (%s)",
		    steps, count, worst, worst_name);
	}
	/* inference with the running statistics */
	if (r2u_forward(m, x, n, h, w, 0, 0.0f, 0) < 0 || r2u_download(m, out, 0) < 0) {
		fprintf(stderr, "test_golden: %s\n", r2u_error(m));
		return 1;
	}
	/* looser: the biases that drift under Adam shift the running statistics */
	check_heads(e, out, n, h, w, "eval", "inference after training:", tol_out, 1e-2);
	free(x);
	free(lab);
	free(out);
	free(buf);
	br_st_free(e);
	r2u_free(m);
	br_ctx_free(ctx);
	return tap_done("test_golden");
}
