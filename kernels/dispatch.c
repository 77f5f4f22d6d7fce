/*
 * dispatch.c - the one place where a backend is chosen.
 *
 * Owns struct br_ctx, parses the device name, and forwards every public
 * call of kernels.h to the chosen backend's table, timing it when profiling
 * is on.  This file and kernels/cuda/ are the only places that know whether
 * the library was built with CUDA.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

/* the name of each op (br_<name> without br_) and the row of the profile
 * that times it, from the op list */
#define BR_OP_NAME_(name, timer, types) #name,
static const char *const br_op_names[BR_OP_COUNT] = { BR_OPS(BR_OP_NAME_) };
#undef BR_OP_NAME_
#define BR_OP_TIMER_(name, timer, types) timer,
static const char *const br_op_timers[BR_OP_COUNT] = { BR_OPS(BR_OP_TIMER_) };
#undef BR_OP_TIMER_

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

int br_device_count(int device)
{
	if (device == BR_DEV_CPU)
		return 1;
#ifdef BR_WITH_CUDA
	if (device == BR_DEV_CUDA)
		return br_cuda_device_count();
#endif
	return 0;
}

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

/* One row per timer of the op list, in the order of first appearance. */
int br_prof_report(br_ctx *ctx, void *file)
{
	FILE *f = file;
	double total = 0, ms;
	long calls;
	int i, j, seen;

	if (ctx->be->prof_collect != NULL && ctx->be->prof_collect(ctx, ctx->prof_ms) < 0)
		return -1;
	for (i = 0; i < BR_OP_COUNT; i++)
		total += ctx->prof_ms[i];
	fprintf(f, "op\tcalls\tms\tshare\n");
	for (i = 0; i < BR_OP_COUNT; i++) {
		for (seen = 0, j = 0; j < i && !seen; j++)
			seen = strcmp(br_op_timers[j], br_op_timers[i]) == 0;
		if (seen)
			continue;
		for (ms = 0, calls = 0, j = i; j < BR_OP_COUNT; j++)
			if (strcmp(br_op_timers[j], br_op_timers[i]) == 0) {
				ms += ctx->prof_ms[j];
				calls += ctx->prof_calls[j];
			}
		if (calls == 0)
			continue;
		fprintf(f, "%s\t%ld\t%.3f\t%.1f%%\n", br_op_timers[i], calls, ms, total > 0 ? 100.0 * ms / total : 0.0);
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

/* A backend's failure names the op: "op: " in front of its message unless
 * it starts so already.  Returns -1. */
static int op_failed(br_ctx *ctx, int op)
{
	const char *name = br_op_names[op];
	size_t n = strlen(name);
	char msg[sizeof ctx->err];

	if (strncmp(ctx->err, name, n) == 0 && ctx->err[n] == ':')
		return -1;
	memcpy(msg, ctx->err, sizeof msg);
	msg[sizeof msg - 1] = '\0';
	snprintf(ctx->err, sizeof ctx->err, "%s: %.*s", name, (int)(sizeof ctx->err - n - 3), msg);
	return -1;
}

/* Forward a call of br_<name> to the backend's <name>, timed when profiling
 * is on; the arguments have been checked. */
#define DISPATCH(ctx, name, ...)                                                \
	do {                                                                    \
		int r_;                                                         \
		if (!(ctx)->prof_on) {                                          \
			r_ = (ctx)->be->name((ctx), __VA_ARGS__);               \
		} else {                                                        \
			prof_begin((ctx), BR_OP_##name);                        \
			r_ = (ctx)->be->name((ctx), __VA_ARGS__);               \
			prof_end((ctx), BR_OP_##name);                          \
		}                                                               \
		return r_ < 0 ? op_failed((ctx), BR_OP_##name) : r_;            \
	} while (0)

/* ---- argument checks --------------------------------------------------------
 * Every op's arguments are checked here, once, before its backend is called,
 * so both backends refuse the same calls with the same message:
 * "op: name reason", name the parameter's name in kernels.h.  All helpers
 * take (ctx, op, name, value, what is expected) and return 0 or -1. */

/* a tensor: not NULL, data not NULL, every dimension >= 1 */
static int chk_t(br_ctx *ctx, const char *op, const char *name, const br_tensor *t)
{
	if (t == NULL || t->data == NULL)
		return br_ctx_fail(ctx, "%s: %s is NULL", op, name);
	if (t->n <= 0 || t->c <= 0 || t->h <= 0 || t->w <= 0)
		return br_ctx_fail(ctx, "%s: %s has shape (%d,%d,%d,%d)", op, name, t->n, t->c, t->h, t->w);
	if ((long long)t->n * t->c * t->h * t->w > (1LL << 40))
		return br_ctx_fail(ctx, "%s: %s is too large", op, name);
	return 0;
}

/* a pointer that must not be NULL */
static int chk_p(br_ctx *ctx, const char *op, const char *name, const void *p)
{
	if (p == NULL)
		return br_ctx_fail(ctx, "%s: %s is NULL", op, name);
	return 0;
}

/* tensor t has shape (n, c, h, w) */
static int chk_shape(br_ctx *ctx, const char *op, const char *name, const br_tensor *t, int n, int c, int h, int w)
{
	if (t->n != n || t->c != c || t->h != h || t->w != w)
		return br_ctx_fail(ctx, "%s: %s has shape (%d,%d,%d,%d), expected (%d,%d,%d,%d)", op, name, t->n, t->c,
				   t->h, t->w, n, c, h, w);
	return 0;
}

/* tensor t has the shape of tensor ref */
static int chk_same(br_ctx *ctx, const char *op, const char *name, const br_tensor *t, const br_tensor *ref)
{
	return chk_shape(ctx, op, name, t, ref->n, ref->c, ref->h, ref->w);
}

/* a pre-activation: NULL, or scale and shift both set or both NULL */
static int chk_pre(br_ctx *ctx, const char *op, const br_preact *pre)
{
	if (pre != NULL && (pre->scale == NULL) != (pre->shift == NULL))
		return br_ctx_fail(ctx, "%s: pre-activation needs both scale and shift, or neither", op);
	return 0;
}

/* the sizes of a flat operation, all >= 1 */
static int chk_sizes(br_ctx *ctx, const char *op, int n, int in, int out)
{
	if (n <= 0 || in <= 0 || out <= 0)
		return br_ctx_fail(ctx, "%s: sizes n=%d in=%d out=%d", op, n, in, out);
	return 0;
}

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
int br_memset0(br_ctx *ctx, void *p, size_t bytes)
{
	if (bytes > 0 && chk_p(ctx, "memset0", "p", p) < 0)
		return -1;
	DISPATCH(ctx, memset0, p, bytes);
}
/* a copy of bytes > 0 needs both pointers */
static int chk_copy(br_ctx *ctx, const char *op, const void *dst, const void *src, size_t bytes)
{
	if (bytes > 0 && (chk_p(ctx, op, "dst", dst) < 0 || chk_p(ctx, op, "src", src) < 0))
		return -1;
	return 0;
}
int br_memcpy_h2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (chk_copy(ctx, "memcpy_h2d", dst, src, bytes) < 0)
		return -1;
	DISPATCH(ctx, memcpy_h2d, dst, src, bytes);
}
int br_memcpy_d2h(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (chk_copy(ctx, "memcpy_d2h", dst, src, bytes) < 0)
		return -1;
	DISPATCH(ctx, memcpy_d2h, dst, src, bytes);
}
int br_memcpy_d2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (chk_copy(ctx, "memcpy_d2d", dst, src, bytes) < 0)
		return -1;
	DISPATCH(ctx, memcpy_d2d, dst, src, bytes);
}
size_t br_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w)
{
	return ctx->be->tensor_bytes(ctx, n, c, h, w);
}
int br_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host)
{
	if (chk_t(ctx, "tensor_upload", "t", t) < 0 || chk_p(ctx, "tensor_upload", "host", host) < 0)
		return -1;
	DISPATCH(ctx, tensor_upload, t, host);
}
int br_tensor_download(br_ctx *ctx, float *host, const br_tensor *t)
{
	if (chk_t(ctx, "tensor_download", "t", t) < 0 || chk_p(ctx, "tensor_download", "host", host) < 0)
		return -1;
	DISPATCH(ctx, tensor_download, host, t);
}

/* ---- ops ---- */

static int chk_kernel(br_ctx *ctx, const char *op, int k)
{
	if (k != 1 && k != 3)
		return br_ctx_fail(ctx, "%s: kernel size %d (1 or 3)", op, k);
	return 0;
}

int br_conv2d_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b, int k,
		      const br_preact *pre)
{
	const char *op = "conv2d_forward";

	if (chk_kernel(ctx, op, k) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_p(ctx, op, "w", w) < 0 ||
	    chk_t(ctx, op, "y", y) < 0 || chk_shape(ctx, op, "y", y, x->n, y->c, x->h, x->w) < 0 ||
	    chk_pre(ctx, op, pre) < 0)
		return -1;
	DISPATCH(ctx, conv2d_forward, y, x, w, b, k, pre);
}
int br_conv2d_backward(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
		       const float *w, int k, const br_preact *pre, int accum)
{
	const char *op = "conv2d_backward";

	if (chk_kernel(ctx, op, k) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_t(ctx, op, "dy", dy) < 0 ||
	    chk_shape(ctx, op, "dy", dy, x->n, dy->c, x->h, x->w) < 0 || chk_pre(ctx, op, pre) < 0)
		return -1;
	/* w only for da */
	if (da != NULL && (chk_t(ctx, op, "da", da) < 0 || chk_same(ctx, op, "da", da, x) < 0 ||
			   chk_p(ctx, op, "w", w) < 0))
		return -1;
	DISPATCH(ctx, conv2d_backward, da, dw, db, dy, x, w, k, pre, accum);
}
int br_convt2x2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b)
{
	const char *op = "convt2x2_forward";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_p(ctx, op, "w", w) < 0 ||
	    chk_shape(ctx, op, "y", y, x->n, y->c, 2 * x->h, 2 * x->w) < 0)
		return -1;
	DISPATCH(ctx, convt2x2_forward, y, x, w, b);
}
int br_convt2x2_backward(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
			 const float *w, int accum)
{
	const char *op = "convt2x2_backward";

	if (chk_t(ctx, op, "dy", dy) < 0 || chk_t(ctx, op, "x", x) < 0 ||
	    chk_shape(ctx, op, "dy", dy, x->n, dy->c, 2 * x->h, 2 * x->w) < 0)
		return -1;
	if (dx != NULL && (chk_t(ctx, op, "dx", dx) < 0 || chk_same(ctx, op, "dx", dx, x) < 0 ||
			   chk_p(ctx, op, "w", w) < 0))
		return -1;
	DISPATCH(ctx, convt2x2_backward, dx, dw, db, dy, x, w, accum);
}
int br_bn_train_stats(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean, float *rvar,
		      const br_tensor *x, const float *gamma, const float *beta, float eps, float momentum)
{
	const char *op = "bn_train_stats";

	if (chk_t(ctx, op, "x", x) < 0)
		return -1;
	if ((scale == NULL) != (shift == NULL))
		return br_ctx_fail(ctx, "%s: scale and shift go together", op);
	if (scale != NULL && (chk_p(ctx, op, "gamma", gamma) < 0 || chk_p(ctx, op, "beta", beta) < 0))
		return -1;
	if (rvar != NULL && (long long)x->n * x->h * x->w < 2)
		return br_ctx_fail(ctx, "%s: one value per channel: no unbiased variance", op);
	DISPATCH(ctx, bn_train_stats, mean, var, scale, shift, rmean, rvar, x, gamma, beta, eps, momentum);
}
int br_bn_infer_fold(br_ctx *ctx, float *scale, float *shift, const float *rmean, const float *rvar,
		     const float *gamma, const float *beta, int c, float eps)
{
	const char *op = "bn_infer_fold";

	if (chk_p(ctx, op, "scale", scale) < 0 || chk_p(ctx, op, "shift", shift) < 0 ||
	    chk_p(ctx, op, "rmean", rmean) < 0 || chk_p(ctx, op, "rvar", rvar) < 0 ||
	    chk_p(ctx, op, "gamma", gamma) < 0 || chk_p(ctx, op, "beta", beta) < 0)
		return -1;
	if (c <= 0)
		return br_ctx_fail(ctx, "%s: %d channels", op, c);
	DISPATCH(ctx, bn_infer_fold, scale, shift, rmean, rvar, gamma, beta, c, eps);
}
int br_bn_relu_backward(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da,
			const br_tensor *x, const float *mean, const float *var, const float *gamma,
			const float *beta, float eps, int accum)
{
	const char *op = "bn_relu_backward";

	if (chk_t(ctx, op, "da", da) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_same(ctx, op, "da", da, x) < 0 ||
	    chk_p(ctx, op, "mean", mean) < 0 || chk_p(ctx, op, "var", var) < 0 || chk_p(ctx, op, "gamma", gamma) < 0 ||
	    chk_p(ctx, op, "beta", beta) < 0)
		return -1;
	if (dx != NULL && (chk_t(ctx, op, "dx", dx) < 0 || chk_same(ctx, op, "dx", dx, x) < 0))
		return -1;
	DISPATCH(ctx, bn_relu_backward, dx, dgamma, dbeta, da, x, mean, var, gamma, beta, eps, accum);
}
int br_bn_sums(br_ctx *ctx, double *sums, const br_tensor *x)
{
	const char *op = "bn_sums";

	if (chk_p(ctx, op, "sums", sums) < 0 || chk_t(ctx, op, "x", x) < 0)
		return -1;
	DISPATCH(ctx, bn_sums, sums, x);
}
int br_bn_stats_from_sums(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean,
			  float *rvar, const double *sums, double count, const float *gamma, const float *beta,
			  int c, float eps, float momentum)
{
	const char *op = "bn_stats_from_sums";

	if (chk_p(ctx, op, "sums", sums) < 0)
		return -1;
	if ((scale == NULL) != (shift == NULL))
		return br_ctx_fail(ctx, "%s: scale and shift go together", op);
	if ((rmean == NULL) != (rvar == NULL))
		return br_ctx_fail(ctx, "%s: rmean and rvar go together", op);
	if (scale != NULL && (chk_p(ctx, op, "gamma", gamma) < 0 || chk_p(ctx, op, "beta", beta) < 0))
		return -1;
	if (c <= 0)
		return br_ctx_fail(ctx, "%s: %d channels", op, c);
	if (!(count >= 1) || (rvar != NULL && !(count >= 2)))
		return br_ctx_fail(ctx, "%s: count %g is too small", op, count);
	DISPATCH(ctx, bn_stats_from_sums, mean, var, scale, shift, rmean, rvar, sums, count, gamma, beta, c, eps,
		 momentum);
}
int br_bn_relu_backward_sums(br_ctx *ctx, double *sums, float *dgamma, float *dbeta, const br_tensor *da,
			     const br_tensor *x, const float *mean, const float *var, const float *gamma,
			     const float *beta, float eps)
{
	const char *op = "bn_relu_backward_sums";

	if (chk_p(ctx, op, "sums", sums) < 0 || chk_t(ctx, op, "da", da) < 0 || chk_t(ctx, op, "x", x) < 0 ||
	    chk_same(ctx, op, "da", da, x) < 0 || chk_p(ctx, op, "mean", mean) < 0 || chk_p(ctx, op, "var", var) < 0 ||
	    chk_p(ctx, op, "gamma", gamma) < 0 || chk_p(ctx, op, "beta", beta) < 0)
		return -1;
	DISPATCH(ctx, bn_relu_backward_sums, sums, dgamma, dbeta, da, x, mean, var, gamma, beta, eps);
}
int br_bn_relu_backward_from_sums(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x,
				  const double *sums, double count, const float *mean, const float *var,
				  const float *gamma, const float *beta, float eps, int accum)
{
	const char *op = "bn_relu_backward_from_sums";

	if (chk_t(ctx, op, "dx", dx) < 0 || chk_t(ctx, op, "da", da) < 0 || chk_t(ctx, op, "x", x) < 0 ||
	    chk_same(ctx, op, "da", da, x) < 0 || chk_same(ctx, op, "dx", dx, x) < 0 ||
	    chk_p(ctx, op, "sums", sums) < 0 || chk_p(ctx, op, "mean", mean) < 0 || chk_p(ctx, op, "var", var) < 0 ||
	    chk_p(ctx, op, "gamma", gamma) < 0 || chk_p(ctx, op, "beta", beta) < 0)
		return -1;
	if (!(count >= 1))
		return br_ctx_fail(ctx, "%s: count %g is too small", op, count);
	DISPATCH(ctx, bn_relu_backward_from_sums, dx, da, x, sums, count, mean, var, gamma, beta, eps, accum);
}
int br_relu_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	const char *op = "relu_backward";

	if (chk_t(ctx, op, "dx", dx) < 0 || chk_t(ctx, op, "da", da) < 0 || chk_t(ctx, op, "x", x) < 0 ||
	    chk_same(ctx, op, "da", da, dx) < 0 || chk_same(ctx, op, "x", x, dx) < 0)
		return -1;
	DISPATCH(ctx, relu_backward, dx, da, x, accum);
}
int br_add(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	const char *op = "add";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "a", a) < 0 || chk_t(ctx, op, "b", b) < 0 ||
	    chk_same(ctx, op, "a", a, y) < 0 || chk_same(ctx, op, "b", b, y) < 0)
		return -1;
	DISPATCH(ctx, add, y, a, b);
}
int br_acc(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	const char *op = "acc";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_same(ctx, op, "x", x, y) < 0)
		return -1;
	DISPATCH(ctx, acc, y, x);
}
static int chk_even(br_ctx *ctx, const char *op, const br_tensor *x)
{
	if (x->h % 2 != 0 || x->w % 2 != 0)
		return br_ctx_fail(ctx, "%s: H and W must be even (%dx%d)", op, x->h, x->w);
	return 0;
}
int br_maxpool2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x)
{
	const char *op = "maxpool2_forward";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_even(ctx, op, x) < 0 ||
	    chk_shape(ctx, op, "y", y, x->n, x->c, x->h / 2, x->w / 2) < 0)
		return -1;
	DISPATCH(ctx, maxpool2_forward, y, x);
}
int br_maxpool2_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum)
{
	const char *op = "maxpool2_backward";

	if (chk_t(ctx, op, "dx", dx) < 0 || chk_t(ctx, op, "dy", dy) < 0 || chk_t(ctx, op, "x", x) < 0 ||
	    chk_same(ctx, op, "dx", dx, x) < 0 || chk_even(ctx, op, x) < 0 ||
	    chk_shape(ctx, op, "dy", dy, x->n, x->c, x->h / 2, x->w / 2) < 0)
		return -1;
	DISPATCH(ctx, maxpool2_backward, dx, dy, x, accum);
}
int br_concat_forward(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b)
{
	const char *op = "concat_forward";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "a", a) < 0 || chk_t(ctx, op, "b", b) < 0 ||
	    chk_shape(ctx, op, "b", b, a->n, b->c, a->h, a->w) < 0 ||
	    chk_shape(ctx, op, "y", y, a->n, a->c + b->c, a->h, a->w) < 0)
		return -1;
	DISPATCH(ctx, concat_forward, y, a, b);
}
int br_concat_backward(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int accum_a, int accum_b)
{
	const char *op = "concat_backward";
	int ca, cb;

	if (chk_t(ctx, op, "dy", dy) < 0 || (da != NULL && chk_t(ctx, op, "da", da) < 0) ||
	    (db != NULL && chk_t(ctx, op, "db", db) < 0))
		return -1;
	if (da != NULL || db != NULL) {
		/* with one side NULL its channel count is what remains of dy */
		ca = da != NULL ? da->c : dy->c - db->c;
		cb = db != NULL ? db->c : dy->c - da->c;
		if (ca < 1 || cb < 1 || ca + cb != dy->c)
			return br_ctx_fail(ctx, "%s: %d + %d channels do not make dy's %d", op, ca, cb, dy->c);
		if ((da != NULL && chk_shape(ctx, op, "da", da, dy->n, ca, dy->h, dy->w) < 0) ||
		    (db != NULL && chk_shape(ctx, op, "db", db, dy->n, cb, dy->h, dy->w) < 0))
			return -1;
	}
	DISPATCH(ctx, concat_backward, da, db, dy, accum_a, accum_b);
}
static int chk_factor(br_ctx *ctx, const char *op, int s)
{
	if (s < 1 || s > 64)
		return br_ctx_fail(ctx, "%s: factor %d", op, s);
	return 0;
}
int br_upsample_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, int s)
{
	const char *op = "upsample_forward";

	if (chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_factor(ctx, op, s) < 0 ||
	    chk_shape(ctx, op, "y", y, x->n, x->c, x->h * s, x->w * s) < 0)
		return -1;
	DISPATCH(ctx, upsample_forward, y, x, s);
}
int br_upsample_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, int s, int accum)
{
	const char *op = "upsample_backward";

	if (chk_t(ctx, op, "dx", dx) < 0 || chk_t(ctx, op, "dy", dy) < 0 || chk_factor(ctx, op, s) < 0 ||
	    chk_shape(ctx, op, "dy", dy, dx->n, dx->c, dx->h * s, dx->w * s) < 0)
		return -1;
	DISPATCH(ctx, upsample_backward, dx, dy, s, accum);
}
int br_gate_forward(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g)
{
	const char *op = "gate_forward";

	if (chk_t(ctx, op, "out", out) < 0 || chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "g", g) < 0 ||
	    chk_same(ctx, op, "out", out, y) < 0 || chk_shape(ctx, op, "g", g, y->n, 1, y->h, y->w) < 0)
		return -1;
	DISPATCH(ctx, gate_forward, out, y, g);
}
int br_gate_backward(br_ctx *ctx, br_tensor *dy, br_tensor *dg, const br_tensor *dout, const br_tensor *y,
		     const br_tensor *g, int accum)
{
	const char *op = "gate_backward";

	if (chk_t(ctx, op, "dout", dout) < 0 || chk_t(ctx, op, "y", y) < 0 || chk_t(ctx, op, "g", g) < 0 ||
	    chk_same(ctx, op, "dout", dout, y) < 0 || chk_shape(ctx, op, "g", g, y->n, 1, y->h, y->w) < 0)
		return -1;
	if (dy != NULL && (chk_t(ctx, op, "dy", dy) < 0 || chk_same(ctx, op, "dy", dy, y) < 0))
		return -1;
	if (dg != NULL && (chk_t(ctx, op, "dg", dg) < 0 || chk_same(ctx, op, "dg", dg, g) < 0))
		return -1;
	DISPATCH(ctx, gate_backward, dy, dg, dout, y, g, accum);
}
int br_avgpool_forward(br_ctx *ctx, float *z, const br_tensor *x)
{
	const char *op = "avgpool_forward";

	if (chk_p(ctx, op, "z", z) < 0 || chk_t(ctx, op, "x", x) < 0)
		return -1;
	DISPATCH(ctx, avgpool_forward, z, x);
}
int br_avgpool_backward(br_ctx *ctx, br_tensor *dx, const float *dz, int accum)
{
	const char *op = "avgpool_backward";

	if (chk_t(ctx, op, "dx", dx) < 0 || chk_p(ctx, op, "dz", dz) < 0)
		return -1;
	DISPATCH(ctx, avgpool_backward, dx, dz, accum);
}
int br_scale_forward(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s)
{
	const char *op = "scale_forward";

	if (chk_t(ctx, op, "out", out) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_p(ctx, op, "s", s) < 0 ||
	    chk_same(ctx, op, "out", out, x) < 0)
		return -1;
	DISPATCH(ctx, scale_forward, out, x, s);
}
int br_scale_backward(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x,
		      const float *s, int accum)
{
	const char *op = "scale_backward";

	if (chk_t(ctx, op, "dout", dout) < 0 || chk_t(ctx, op, "x", x) < 0 || chk_same(ctx, op, "dout", dout, x) < 0)
		return -1;
	if (dx != NULL && (chk_t(ctx, op, "dx", dx) < 0 || chk_same(ctx, op, "dx", dx, x) < 0 ||
			   chk_p(ctx, op, "s", s) < 0))
		return -1;
	DISPATCH(ctx, scale_backward, dx, ds, dout, x, s, accum);
}
int br_linear_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
	const char *op = "linear_forward";

	if (chk_p(ctx, op, "y", y) < 0 || chk_p(ctx, op, "x", x) < 0 || chk_p(ctx, op, "w", w) < 0 ||
	    chk_sizes(ctx, op, n, in, out) < 0)
		return -1;
	DISPATCH(ctx, linear_forward, y, x, w, b, n, in, out);
}
int br_linear_backward(br_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
		       int n, int in, int out)
{
	const char *op = "linear_backward";

	if (chk_p(ctx, op, "dy", dy) < 0 || chk_sizes(ctx, op, n, in, out) < 0 ||
	    (dx != NULL && chk_p(ctx, op, "w", w) < 0) || (dw != NULL && chk_p(ctx, op, "x", x) < 0))
		return -1;
	DISPATCH(ctx, linear_backward, dx, dw, db, dy, x, w, n, in, out);
}
/* flat ops: n == 0 does nothing and needs no pointers */
int br_vec_relu_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	const char *op = "vec_relu_forward";

	if (n > 0 && (chk_p(ctx, op, "y", y) < 0 || chk_p(ctx, op, "x", x) < 0))
		return -1;
	DISPATCH(ctx, vec_relu_forward, y, x, n);
}
int br_vec_relu_backward(br_ctx *ctx, float *dx, const float *dy, const float *x, size_t n)
{
	const char *op = "vec_relu_backward";

	if (n > 0 && (chk_p(ctx, op, "dx", dx) < 0 || chk_p(ctx, op, "dy", dy) < 0 || chk_p(ctx, op, "x", x) < 0))
		return -1;
	DISPATCH(ctx, vec_relu_backward, dx, dy, x, n);
}
int br_vec_sigmoid_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	const char *op = "vec_sigmoid_forward";

	if (n > 0 && (chk_p(ctx, op, "y", y) < 0 || chk_p(ctx, op, "x", x) < 0))
		return -1;
	DISPATCH(ctx, vec_sigmoid_forward, y, x, n);
}
int br_vec_sigmoid_backward(br_ctx *ctx, float *dx, const float *dy, const float *y, size_t n)
{
	const char *op = "vec_sigmoid_backward";

	if (n > 0 && (chk_p(ctx, op, "dx", dx) < 0 || chk_p(ctx, op, "dy", dy) < 0 || chk_p(ctx, op, "y", y) < 0))
		return -1;
	DISPATCH(ctx, vec_sigmoid_backward, dx, dy, y, n);
}
static int chk_dropout(br_ctx *ctx, const char *op, const float *out, const char *oname, const float *in,
		       const char *iname, size_t n, float p)
{
	if (!(p >= 0.0f && p < 1.0f))
		return br_ctx_fail(ctx, "dropout: probability %g outside [0, 1)", (double)p);
	if (n > 0 && (chk_p(ctx, op, oname, out) < 0 || chk_p(ctx, op, iname, in) < 0))
		return -1;
	return 0;
}
int br_dropout_forward(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed)
{
	if (chk_dropout(ctx, "dropout_forward", y, "y", x, "x", n, p) < 0)
		return -1;
	DISPATCH(ctx, dropout_forward, y, x, n, p, seed);
}
int br_dropout_backward(br_ctx *ctx, float *dx, const float *dy, size_t n, float p, uint64_t seed)
{
	if (chk_dropout(ctx, "dropout_backward", dx, "dx", dy, "dy", n, p) < 0)
		return -1;
	DISPATCH(ctx, dropout_backward, dx, dy, n, p, seed);
}
int br_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		     int target, float weight)
{
	const char *op = "loss_bce_dice";

	if (target < BR_TARGET_WT || target > BR_TARGET_ET)
		return br_ctx_fail(ctx, "loss: bad target %d", target);
	if (chk_t(ctx, op, "logit", logit) < 0 || chk_p(ctx, op, "labels", labels) < 0)
		return -1;
	if (logit->c != 1)
		return br_ctx_fail(ctx, "%s: logit has %d channels (1)", op, logit->c);
	if (dlogit != NULL && (chk_t(ctx, op, "dlogit", dlogit) < 0 || chk_same(ctx, op, "dlogit", dlogit, logit) < 0))
		return -1;
	DISPATCH(ctx, loss_bce_dice, loss, dlogit, logit, labels, target, weight);
}
int br_loss_sums(br_ctx *ctx, double *sums, const br_tensor *logit, const uint8_t *labels, int target)
{
	const char *op = "loss_sums";

	if (target < BR_TARGET_WT || target > BR_TARGET_ET)
		return br_ctx_fail(ctx, "%s: bad target %d", op, target);
	if (chk_p(ctx, op, "sums", sums) < 0 || chk_t(ctx, op, "logit", logit) < 0 ||
	    chk_p(ctx, op, "labels", labels) < 0)
		return -1;
	if (logit->c != 1)
		return br_ctx_fail(ctx, "%s: logit has %d channels (1)", op, logit->c);
	DISPATCH(ctx, loss_sums, sums, logit, labels, target);
}
int br_loss_from_sums(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		      const double *sums, double count, int target, float weight)
{
	const char *op = "loss_from_sums";

	if (target < BR_TARGET_WT || target > BR_TARGET_ET)
		return br_ctx_fail(ctx, "%s: bad target %d", op, target);
	if (chk_t(ctx, op, "logit", logit) < 0 || chk_p(ctx, op, "labels", labels) < 0 ||
	    chk_p(ctx, op, "sums", sums) < 0 || chk_t(ctx, op, "dlogit", dlogit) < 0 ||
	    chk_same(ctx, op, "dlogit", dlogit, logit) < 0)
		return -1;
	if (logit->c != 1)
		return br_ctx_fail(ctx, "%s: logit has %d channels (1)", op, logit->c);
	if (!(count >= 1))
		return br_ctx_fail(ctx, "%s: count %g is too small", op, count);
	DISPATCH(ctx, loss_from_sums, loss, dlogit, logit, labels, sums, count, target, weight);
}
int br_adam_step(br_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
		 float eps, int t)
{
	const char *op = "adam_step";

	if (t < 1)
		return br_ctx_fail(ctx, "adam: step %d (>= 1)", t);
	if (n > 0 && (chk_p(ctx, op, "p", p) < 0 || chk_p(ctx, op, "g", g) < 0 || chk_p(ctx, op, "m", m) < 0 ||
		      chk_p(ctx, op, "v", v) < 0))
		return -1;
	DISPATCH(ctx, adam_step, p, g, m, v, n, lr, b1, b2, eps, t);
}
int br_count_nonfinite(br_ctx *ctx, size_t *count, const float *x, size_t n)
{
	const char *op = "count_nonfinite";

	if (chk_p(ctx, op, "count", count) < 0 || (n > 0 && chk_p(ctx, op, "x", x) < 0))
		return -1;
	DISPATCH(ctx, count_nonfinite, count, x, n);
}
int br_labels_assemble(br_ctx *ctx, uint8_t *labels, const float *probs, size_t n, int wt_only)
{
	const char *op = "labels_assemble";

	if (n > 0 && (chk_p(ctx, op, "labels", labels) < 0 || chk_p(ctx, op, "probs", probs) < 0))
		return -1;
	DISPATCH(ctx, labels_assemble, labels, probs, n, wt_only);
}

int br_hint_const(br_ctx *ctx, const void *p, size_t bytes, int on)
{
	const char *op = "hint_const";

	if (bytes > 0 && chk_p(ctx, op, "p", p) < 0)
		return -1;
	if (bytes == 0)
		return 0;
	DISPATCH(ctx, hint_const, p, bytes, on);
}

int br_graph_begin(br_ctx *ctx)
{
	if (ctx->prof_on)
		return br_ctx_fail(ctx, "graph_begin: not while profiling");
	return ctx->be->graph_begin(ctx) < 0 ? op_failed(ctx, BR_OP_graph_begin) : 0;
}

int br_graph_end(br_ctx *ctx, br_graph **g)
{
	if (chk_p(ctx, "graph_end", "g", g) < 0)
		return -1;
	*g = NULL;
	DISPATCH(ctx, graph_end, g);
}

int br_graph_launch(br_ctx *ctx, br_graph *g)
{
	if (chk_p(ctx, "graph_launch", "g", g) < 0)
		return -1;
	if (ctx->prof_on)
		return br_ctx_fail(ctx, "graph_launch: not while profiling");
	DISPATCH(ctx, graph_launch, g);
}

int br_graph_free(br_ctx *ctx, br_graph *g)
{
	return g != NULL ? ctx->be->graph_free(ctx, g) : 0;
}

static int chk_slices(br_ctx *ctx, const char *op, const char *name, const br_tensor *t, const float *rec, int nz,
		      int z0)
{
	if (chk_t(ctx, op, name, t) < 0 || chk_p(ctx, op, "rec", rec) < 0)
		return -1;
	if (nz < 1 || z0 < 0 || z0 > nz - t->n)
		return br_ctx_fail(ctx, "%s: slices %d..%d of a record of %d", op, z0, z0 + t->n - 1, nz);
	return 0;
}

int br_slices_gather(br_ctx *ctx, br_tensor *x, const float *rec, int nz, int z0, int flip)
{
	const char *op = "slices_gather";

	if (chk_slices(ctx, op, "x", x, rec, nz, z0) < 0)
		return -1;
	DISPATCH(ctx, slices_gather, x, rec, nz, z0, flip);
}

int br_slices_scatter_sigmoid(br_ctx *ctx, float *rec, int k, int nk, int nz, const br_tensor *y, int z0, int flip,
			      double scale, int accum)
{
	const char *op = "slices_scatter_sigmoid";

	if (chk_slices(ctx, op, "y", y, rec, nz, z0) < 0)
		return -1;
	if (y->c != 1)
		return br_ctx_fail(ctx, "%s: y has %d channels, expected 1", op, y->c);
	if (nk < 1 || k < 0 || k >= nk)
		return br_ctx_fail(ctx, "%s: channel %d of %d", op, k, nk);
	if (!isfinite(scale))
		return br_ctx_fail(ctx, "%s: scale %g", op, scale);
	DISPATCH(ctx, slices_scatter_sigmoid, rec, k, nk, nz, y, z0, flip, scale, accum);
}
