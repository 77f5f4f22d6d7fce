/*
 * dispatch.c - the one place where a backend is chosen.
 *
 * Owns struct br_ctx, parses the device name, and forwards every public
 * call of kernels.h to the chosen backend's table, timing it when profiling
 * is on.  This file and kernels/cuda/ are the only places that know whether
 * the library was built with CUDA.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

static const char *const br_op_names[BR_OP_COUNT] = {
	"conv2d_forward",   "conv2d_backward",   "convt2x2_forward",  "convt2x2_backward",
	"bn_train_stats",   "bn_infer_fold",     "bn_relu_backward",  "relu_backward",
	"add",              "acc",               "maxpool2_forward",  "maxpool2_backward",
	"concat_forward",   "concat_backward",   "upsample_forward",  "upsample_backward",
	"gate_forward",     "gate_backward",     "avgpool_forward",   "avgpool_backward",
	"scale_forward",    "scale_backward",    "linear_forward",    "linear_backward",
	"vec_activation",   "dropout",           "loss_bce_dice",     "adam_step",
	"memcpy",
};

int br_ctx_fail(br_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
	va_end(ap);
	return -1;
}

int br_check_same(br_ctx *ctx, const char *op, const br_tensor *a, const br_tensor *b)
{
	if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w)
		return br_ctx_fail(ctx, "%s: shape (%d,%d,%d,%d) does not match (%d,%d,%d,%d)", op, a->n, a->c,
				   a->h, a->w, b->n, b->c, b->h, b->w);
	return 0;
}

int br_check_shape(br_ctx *ctx, const char *op, const br_tensor *t, int n, int c, int h, int w)
{
	if (t->n != n || t->c != c || t->h != h || t->w != w)
		return br_ctx_fail(ctx, "%s: shape (%d,%d,%d,%d), expected (%d,%d,%d,%d)", op, t->n, t->c, t->h,
				   t->w, n, c, h, w);
	return 0;
}

int br_cuda_built(void)
{
#ifdef BR_WITH_CUDA
	return 1;
#else
	return 0;
#endif
}

static int parse_device(const char *s, int *dev, int *index, char *err, size_t errlen)
{
	char *end;
	long v;

	*index = 0;
	if (s == NULL || strcmp(s, "auto") == 0 || strcmp(s, "") == 0) {
		*dev = -1;
		return 0;
	}
	if (strcmp(s, "cpu") == 0) {
		*dev = BR_DEV_CPU;
		return 0;
	}
	if (strncmp(s, "cuda", 4) == 0 && (s[4] == '\0' || s[4] == ':')) {
		*dev = BR_DEV_CUDA;
		if (s[4] == ':') {
			v = strtol(s + 5, &end, 10);
			if (end == s + 5 || *end != '\0' || v < 0 || v > 64) {
				snprintf(err, errlen, "bad device '%s' (cpu, cuda or cuda:N)", s);
				return -1;
			}
			*index = (int)v;
		}
		return 0;
	}
	snprintf(err, errlen, "bad device '%s' (cpu, cuda or cuda:N)", s);
	return -1;
}

br_ctx *br_ctx_new(const char *device, int nthreads, int precision, char *err, size_t errlen)
{
	br_ctx *ctx;
	int dev, index;
	long ncpu;

	if (errlen > 0)
		err[0] = '\0';
	if (parse_device(device, &dev, &index, err, errlen) < 0)
		return NULL;
	if (precision < BR_PREC_DEFAULT || precision > BR_PREC_BF16) {
		snprintf(err, errlen, "bad precision %d", precision);
		return NULL;
	}
#ifdef BR_WITH_CUDA
	if (dev == -1)
		dev = br_cuda_device_count() > 0 ? BR_DEV_CUDA : BR_DEV_CPU;
	if (dev == BR_DEV_CUDA && br_cuda_device_count() <= index) {
		snprintf(err, errlen, "device cuda:%d: no such GPU (%d found)", index, br_cuda_device_count());
		return NULL;
	}
#else
	if (dev == -1)
		dev = BR_DEV_CPU;
	if (dev == BR_DEV_CUDA) {
		snprintf(err, errlen, "device cuda: this build has no CUDA backend (rebuild where nvcc and cuDNN are found)");
		return NULL;
	}
#endif
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	ctx->nthreads = nthreads > 0 ? nthreads : (int)ncpu;
	ctx->device = dev;
	ctx->device_index = index;
	ctx->precision = precision;
#ifdef BR_WITH_CUDA
	ctx->be = dev == BR_DEV_CUDA ? &br_backend_cuda : &br_backend_cpu;
#else
	ctx->be = &br_backend_cpu;
#endif
	if (ctx->be->init(ctx) < 0) {
		snprintf(err, errlen, "%s", ctx->err[0] ? ctx->err : "backend initialisation failed");
		free(ctx);
		return NULL;
	}
	return ctx;
}

br_ctx *br_ctx_open(const char *device, int nthreads, int precision, char *notice, size_t noticelen, char *err,
		    size_t errlen)
{
	br_ctx *ctx;
	int dev, index;
	char why[512];

	if (noticelen > 0)
		notice[0] = '\0';
	if (parse_device(device, &dev, &index, err, errlen) < 0)
		return NULL;
	if (dev == BR_DEV_CPU)
		return br_ctx_new("cpu", nthreads, precision, err, errlen);
	ctx = br_ctx_new(device, nthreads, precision, why, sizeof why);
	if (ctx != NULL) {
		if (dev == -1 && br_ctx_device(ctx) == BR_DEV_CPU)
			snprintf(notice, noticelen, "running on the CPU (%s)",
				 br_cuda_built() ? "no usable GPU found" : "this build has no CUDA backend");
		return ctx;
	}
	/* a GPU named with -d cuda[:N] that cannot be used is an error: the run
	 * would otherwise go on, far slower, on another device than asked for */
	if (dev == BR_DEV_CUDA) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	/* the default device (a GPU where one is present) failed: the CPU, with a notice */
	ctx = br_ctx_new("cpu", nthreads, precision, err, errlen);
	if (ctx != NULL)
		snprintf(notice, noticelen, "running on the CPU: %s", why);
	return ctx;
}

int br_precision_from_name(const char *name)
{
	if (strcmp(name, "fp32") == 0)
		return BR_PREC_FP32;
	if (strcmp(name, "tf32") == 0)
		return BR_PREC_TF32;
	if (strcmp(name, "bf16") == 0)
		return BR_PREC_BF16;
	return -1;
}

const char *br_precision_name(int precision)
{
	switch (precision) {
	case BR_PREC_FP32: return "fp32";
	case BR_PREC_TF32: return "tf32";
	case BR_PREC_BF16: return "bf16";
	}
	return "default";
}

void br_ctx_free(br_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx->be->fini(ctx);
	free(ctx);
}

const char *br_ctx_error(const br_ctx *ctx) { return ctx->err; }
int br_ctx_device(const br_ctx *ctx) { return ctx->device; }
const char *br_ctx_describe(const br_ctx *ctx) { return ctx->desc; }
int br_ctx_threads(const br_ctx *ctx) { return ctx->nthreads; }
int br_ctx_precision(const br_ctx *ctx) { return ctx->precision; }
int br_sync(br_ctx *ctx) { return ctx->be->sync(ctx); }

/* ---- profiling ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

void br_prof_enable(br_ctx *ctx, int on) { ctx->prof_on = on; }

void br_prof_reset(br_ctx *ctx)
{
	double scratch[BR_OP_COUNT];

	if (ctx->be->prof_collect != NULL)
		ctx->be->prof_collect(ctx, scratch); /* drop pending brackets */
	memset(ctx->prof_ms, 0, sizeof ctx->prof_ms);
	memset(ctx->prof_calls, 0, sizeof ctx->prof_calls);
}

int br_prof_report(br_ctx *ctx, void *file)
{
	FILE *f = file;
	double total = 0;
	int i;

	if (ctx->be->prof_collect != NULL && ctx->be->prof_collect(ctx, ctx->prof_ms) < 0)
		return -1;
	for (i = 0; i < BR_OP_COUNT; i++)
		total += ctx->prof_ms[i];
	fprintf(f, "op\tcalls\tms\tshare\n");
	for (i = 0; i < BR_OP_COUNT; i++) {
		if (ctx->prof_calls[i] == 0)
			continue;
		fprintf(f, "%s\t%ld\t%.3f\t%.1f%%\n", br_op_names[i], ctx->prof_calls[i], ctx->prof_ms[i],
			total > 0 ? 100.0 * ctx->prof_ms[i] / total : 0.0);
	}
	fprintf(f, "total\t\t%.3f\n", total);
	return 0;
}

static void prof_begin(br_ctx *ctx, int op)
{
	if (ctx->be->prof_begin != NULL) {
		ctx->be->prof_begin(ctx, op);
	} else {
		ctx->be->sync(ctx);
		ctx->prof_t0 = now_ms();
	}
}

static void prof_end(br_ctx *ctx, int op)
{
	ctx->prof_calls[op]++;
	if (ctx->be->prof_end != NULL) {
		ctx->be->prof_end(ctx, op);
	} else {
		ctx->be->sync(ctx);
		ctx->prof_ms[op] += now_ms() - ctx->prof_t0;
	}
}

/* Forward one call to the backend, timed when profiling is on. */
#define DISPATCH(ctx, op, fn, ...)                                  \
	do {                                                        \
		int r_;                                             \
		if (!(ctx)->prof_on)                                \
			return (ctx)->be->fn((ctx), __VA_ARGS__);   \
		prof_begin((ctx), (op));                            \
		r_ = (ctx)->be->fn((ctx), __VA_ARGS__);             \
		prof_end((ctx), (op));                              \
		return r_;                                          \
	} while (0)

/* ---- memory ---- */

void *br_malloc(br_ctx *ctx, size_t bytes) { return ctx->be->malloc(ctx, bytes); }
void br_free(br_ctx *ctx, void *p)
{
	if (p != NULL)
		ctx->be->free(ctx, p);
}
void *br_host_alloc(br_ctx *ctx, size_t bytes) { return ctx->be->host_alloc(ctx, bytes); }
void br_host_free(br_ctx *ctx, void *p)
{
	if (p != NULL)
		ctx->be->host_free(ctx, p);
}
int br_memset0(br_ctx *ctx, void *p, size_t bytes) { DISPATCH(ctx, BR_OP_COPY, memset0, p, bytes); }
int br_memcpy_h2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	DISPATCH(ctx, BR_OP_COPY, memcpy_h2d, dst, src, bytes);
}
int br_memcpy_d2h(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	DISPATCH(ctx, BR_OP_COPY, memcpy_d2h, dst, src, bytes);
}
int br_memcpy_d2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	DISPATCH(ctx, BR_OP_COPY, memcpy_d2d, dst, src, bytes);
}
size_t br_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w)
{
	return ctx->be->tensor_bytes(ctx, n, c, h, w);
}
int br_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host)
{
	DISPATCH(ctx, BR_OP_COPY, tensor_upload, t, host);
}
int br_tensor_download(br_ctx *ctx, float *host, const br_tensor *t)
{
	DISPATCH(ctx, BR_OP_COPY, tensor_download, host, t);
}

/* ---- ops ---- */

int br_conv2d_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b, int k,
		      const br_preact *pre)
{
	if (k != 1 && k != 3)
		return br_ctx_fail(ctx, "conv2d_forward: kernel size %d (1 or 3)", k);
	DISPATCH(ctx, BR_OP_CONV2D_FWD, conv2d_forward, y, x, w, b, k, pre);
}
int br_conv2d_backward(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
		       const float *w, int k, const br_preact *pre, int accum)
{
	if (k != 1 && k != 3)
		return br_ctx_fail(ctx, "conv2d_backward: kernel size %d (1 or 3)", k);
	DISPATCH(ctx, BR_OP_CONV2D_BWD, conv2d_backward, da, dw, db, dy, x, w, k, pre, accum);
}
int br_convt2x2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b)
{
	DISPATCH(ctx, BR_OP_CONVT_FWD, convt2x2_forward, y, x, w, b);
}
int br_convt2x2_backward(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
			 const float *w, int accum)
{
	DISPATCH(ctx, BR_OP_CONVT_BWD, convt2x2_backward, dx, dw, db, dy, x, w, accum);
}
int br_bn_train_stats(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
		      const br_tensor *x, const float *gamma, const float *beta, float eps, float momentum)
{
	DISPATCH(ctx, BR_OP_BN_STATS, bn_train_stats, mean, var, scale, shift, rmean, rvar, x, gamma, beta, eps,
		 momentum);
}
int br_bn_infer_fold(br_ctx *ctx, float *scale, float *shift, const float *rmean, const float *rvar,
		     const float *gamma, const float *beta, int c, float eps)
{
	DISPATCH(ctx, BR_OP_BN_FOLD, bn_infer_fold, scale, shift, rmean, rvar, gamma, beta, c, eps);
}
int br_bn_relu_backward(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da,
			const br_tensor *x, const float *mean, const float *var, const float *gamma,
			const float *beta, float eps, int accum)
{
	DISPATCH(ctx, BR_OP_BN_RELU_BWD, bn_relu_backward, dx, dgamma, dbeta, da, x, mean, var, gamma, beta, eps,
		 accum);
}
int br_relu_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	DISPATCH(ctx, BR_OP_RELU_BWD, relu_backward, dx, da, x, accum);
}
int br_add(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b) { DISPATCH(ctx, BR_OP_ADD, add, y, a, b); }
int br_acc(br_ctx *ctx, br_tensor *y, const br_tensor *x) { DISPATCH(ctx, BR_OP_ACC, acc, y, x); }
int br_maxpool2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	DISPATCH(ctx, BR_OP_MAXPOOL_FWD, maxpool2_forward, y, x);
}
int br_maxpool2_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum)
{
	DISPATCH(ctx, BR_OP_MAXPOOL_BWD, maxpool2_backward, dx, dy, x, accum);
}
int br_concat_forward(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	DISPATCH(ctx, BR_OP_CONCAT_FWD, concat_forward, y, a, b);
}
int br_concat_backward(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int accum_a, int accum_b)
{
	DISPATCH(ctx, BR_OP_CONCAT_BWD, concat_backward, da, db, dy, accum_a, accum_b);
}
int br_upsample_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, int s)
{
	DISPATCH(ctx, BR_OP_UPSAMPLE_FWD, upsample_forward, y, x, s);
}
int br_upsample_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, int s, int accum)
{
	DISPATCH(ctx, BR_OP_UPSAMPLE_BWD, upsample_backward, dx, dy, s, accum);
}
int br_gate_forward(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g)
{
	DISPATCH(ctx, BR_OP_GATE_FWD, gate_forward, out, y, g);
}
int br_gate_backward(br_ctx *ctx, br_tensor *dy, br_tensor *dg, const br_tensor *dout, const br_tensor *y,
		     const br_tensor *g, int accum)
{
	DISPATCH(ctx, BR_OP_GATE_BWD, gate_backward, dy, dg, dout, y, g, accum);
}
int br_avgpool_forward(br_ctx *ctx, float *z, const br_tensor *x) { DISPATCH(ctx, BR_OP_AVGPOOL_FWD, avgpool_forward, z, x); }
int br_avgpool_backward(br_ctx *ctx, br_tensor *dx, const float *dz, int accum)
{
	DISPATCH(ctx, BR_OP_AVGPOOL_BWD, avgpool_backward, dx, dz, accum);
}
int br_scale_forward(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s)
{
	DISPATCH(ctx, BR_OP_SCALE_FWD, scale_forward, out, x, s);
}
int br_scale_backward(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x,
		      const float *s, int accum)
{
	DISPATCH(ctx, BR_OP_SCALE_BWD, scale_backward, dx, ds, dout, x, s, accum);
}
int br_linear_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
	DISPATCH(ctx, BR_OP_LINEAR_FWD, linear_forward, y, x, w, b, n, in, out);
}
int br_linear_backward(br_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
		       int n, int in, int out)
{
	DISPATCH(ctx, BR_OP_LINEAR_BWD, linear_backward, dx, dw, db, dy, x, w, n, in, out);
}
int br_vec_relu_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	DISPATCH(ctx, BR_OP_VEC, vec_relu_forward, y, x, n);
}
int br_vec_relu_backward(br_ctx *ctx, float *dx, const float *dy, const float *x, size_t n)
{
	DISPATCH(ctx, BR_OP_VEC, vec_relu_backward, dx, dy, x, n);
}
int br_vec_sigmoid_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	DISPATCH(ctx, BR_OP_VEC, vec_sigmoid_forward, y, x, n);
}
int br_vec_sigmoid_backward(br_ctx *ctx, float *dx, const float *dy, const float *y, size_t n)
{
	DISPATCH(ctx, BR_OP_VEC, vec_sigmoid_backward, dx, dy, y, n);
}
int br_dropout_forward(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	if (!(p >= 0.0f && p < 1.0f))
		return br_ctx_fail(ctx, "dropout: probability %g outside [0, 1)", (double)p);
	DISPATCH(ctx, BR_OP_DROPOUT, dropout_forward, y, x, n, p, seed);
}
int br_dropout_backward(br_ctx *ctx, float *dx, const float *dy, size_t n, float p, uint64_t seed)
{
	if (!(p >= 0.0f && p < 1.0f))
		return br_ctx_fail(ctx, "dropout: probability %g outside [0, 1)", (double)p);
	DISPATCH(ctx, BR_OP_DROPOUT, dropout_backward, dx, dy, n, p, seed);
}
int br_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		     int target, float weight)
{
	if (target < BR_TARGET_WT || target > BR_TARGET_ET)
		return br_ctx_fail(ctx, "loss: bad target %d", target);
	DISPATCH(ctx, BR_OP_LOSS, loss_bce_dice, loss, dlogit, logit, labels, target, weight);
}
int br_adam_step(br_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
		 float eps, int t)
{
	if (t < 1)
		return br_ctx_fail(ctx, "adam: step %d (>= 1)", t);
	DISPATCH(ctx, BR_OP_ADAM, adam_step, p, g, m, v, n, lr, b1, b2, eps, t);
}
int br_count_nonfinite(br_ctx *ctx, size_t *count, const float *x, size_t n)
{
	DISPATCH(ctx, BR_OP_VEC, count_nonfinite, count, x, n);
}
