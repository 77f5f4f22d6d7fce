/*
 * backend.h - what a backend provides to kernels/dispatch.c (internal).
 *
 * A backend is one table of function pointers with the same signatures as
 * the public functions of kernels.h.  dispatch.c owns struct br_ctx, picks
 * the table, and times each call when profiling is on.  Backends keep their
 * own state behind ctx->priv.
 */
#ifndef BR_BACKEND_H
#define BR_BACKEND_H

#include <stdarg.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One id per timed op (the order of br_op_names in dispatch.c). */
enum br_op {
	BR_OP_CONV2D_FWD,
	BR_OP_CONV2D_BWD,
	BR_OP_CONVT_FWD,
	BR_OP_CONVT_BWD,
	BR_OP_BN_STATS,
	BR_OP_BN_FOLD,
	BR_OP_BN_RELU_BWD,
	BR_OP_RELU_BWD,
	BR_OP_ADD,
	BR_OP_ACC,
	BR_OP_MAXPOOL_FWD,
	BR_OP_MAXPOOL_BWD,
	BR_OP_CONCAT_FWD,
	BR_OP_CONCAT_BWD,
	BR_OP_UPSAMPLE_FWD,
	BR_OP_UPSAMPLE_BWD,
	BR_OP_GATE_FWD,
	BR_OP_GATE_BWD,
	BR_OP_AVGPOOL_FWD,
	BR_OP_AVGPOOL_BWD,
	BR_OP_SCALE_FWD,
	BR_OP_SCALE_BWD,
	BR_OP_LINEAR_FWD,
	BR_OP_LINEAR_BWD,
	BR_OP_VEC,
	BR_OP_DROPOUT,
	BR_OP_LOSS,
	BR_OP_ADAM,
	BR_OP_COPY,
	BR_OP_COUNT
};

struct br_backend {
	const char *name;
	/* set up ctx->priv and ctx->desc for device ctx->device_index */
	int (*init)(br_ctx *ctx);
	void (*fini)(br_ctx *ctx);
	int (*sync)(br_ctx *ctx);

	void *(*malloc)(br_ctx *ctx, size_t bytes);
	void (*free)(br_ctx *ctx, void *p);
	void *(*host_alloc)(br_ctx *ctx, size_t bytes);
	void (*host_free)(br_ctx *ctx, void *p);
	int (*memset0)(br_ctx *ctx, void *p, size_t bytes);
	int (*memcpy_h2d)(br_ctx *ctx, void *dst, const void *src, size_t bytes);
	int (*memcpy_d2h)(br_ctx *ctx, void *dst, const void *src, size_t bytes);
	int (*memcpy_d2d)(br_ctx *ctx, void *dst, const void *src, size_t bytes);
	size_t (*tensor_bytes)(const br_ctx *ctx, int n, int c, int h, int w);
	int (*tensor_upload)(br_ctx *ctx, br_tensor *t, const float *host);
	int (*tensor_download)(br_ctx *ctx, float *host, const br_tensor *t);

	/* Profiling hooks; NULL means dispatch uses the host wall clock (after a
	 * br_sync on both ends).  begin/end bracket one op; collect adds the
	 * milliseconds of every finished bracket into ms[BR_OP_COUNT]. */
	void (*prof_begin)(br_ctx *ctx, int op);
	void (*prof_end)(br_ctx *ctx, int op);
	int (*prof_collect)(br_ctx *ctx, double *ms);

	int (*conv2d_forward)(br_ctx *, br_tensor *, const br_tensor *, const float *, const float *, int,
			      const br_preact *);
	int (*conv2d_backward)(br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *,
			       const float *, int, const br_preact *, int);
	int (*convt2x2_forward)(br_ctx *, br_tensor *, const br_tensor *, const float *, const float *);
	int (*convt2x2_backward)(br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *,
				 const float *, int);
	int (*bn_train_stats)(br_ctx *, float *, float *, float *, float *, float *, float *, const br_tensor *,
			      const float *, const float *, float, float);
	int (*bn_infer_fold)(br_ctx *, float *, float *, const float *, const float *, const float *,
			     const float *, int, float);
	int (*bn_relu_backward)(br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *,
				const float *, const float *, const float *, const float *, float, int);
	int (*relu_backward)(br_ctx *, br_tensor *, const br_tensor *, const br_tensor *, int);
	int (*add)(br_ctx *, br_tensor *, const br_tensor *, const br_tensor *);
	int (*acc)(br_ctx *, br_tensor *, const br_tensor *);
	int (*maxpool2_forward)(br_ctx *, br_tensor *, const br_tensor *);
	int (*maxpool2_backward)(br_ctx *, br_tensor *, const br_tensor *, const br_tensor *, int);
	int (*concat_forward)(br_ctx *, br_tensor *, const br_tensor *, const br_tensor *);
	int (*concat_backward)(br_ctx *, br_tensor *, br_tensor *, const br_tensor *, int, int);
	int (*upsample_forward)(br_ctx *, br_tensor *, const br_tensor *, int);
	int (*upsample_backward)(br_ctx *, br_tensor *, const br_tensor *, int, int);
	int (*gate_forward)(br_ctx *, br_tensor *, const br_tensor *, const br_tensor *);
	int (*gate_backward)(br_ctx *, br_tensor *, br_tensor *, const br_tensor *, const br_tensor *,
			     const br_tensor *, int);
	int (*avgpool_forward)(br_ctx *, float *, const br_tensor *);
	int (*avgpool_backward)(br_ctx *, br_tensor *, const float *, int);
	int (*scale_forward)(br_ctx *, br_tensor *, const br_tensor *, const float *);
	int (*scale_backward)(br_ctx *, br_tensor *, float *, const br_tensor *, const br_tensor *,
			      const float *, int);
	int (*linear_forward)(br_ctx *, float *, const float *, const float *, const float *, int, int, int);
	int (*linear_backward)(br_ctx *, float *, float *, float *, const float *, const float *,
			       const float *, int, int, int);
	int (*vec_relu_forward)(br_ctx *, float *, const float *, size_t);
	int (*vec_relu_backward)(br_ctx *, float *, const float *, const float *, size_t);
	int (*vec_sigmoid_forward)(br_ctx *, float *, const float *, size_t);
	int (*vec_sigmoid_backward)(br_ctx *, float *, const float *, const float *, size_t);
	int (*dropout_forward)(br_ctx *, float *, const float *, size_t, float, uint64_t);
	int (*dropout_backward)(br_ctx *, float *, const float *, size_t, float, uint64_t);
	int (*loss_bce_dice)(br_ctx *, float *, br_tensor *, const br_tensor *, const uint8_t *, int, float);
	int (*adam_step)(br_ctx *, float *, const float *, float *, float *, size_t, float, float, float,
			 float, int);
	int (*count_nonfinite)(br_ctx *, size_t *, const float *, size_t);
};

struct br_ctx {
	const struct br_backend *be;
	void *priv;         /* backend state */
	int device;         /* enum br_device */
	int device_index;   /* N of cuda:N */
	int nthreads;       /* CPU threads (resolved, >= 1) */
	int precision;      /* enum br_precision in effect (backend resolves DEFAULT) */
	char err[512];
	char desc[160];
	/* profiling (dispatch.c) */
	int prof_on;
	double prof_ms[BR_OP_COUNT];
	long prof_calls[BR_OP_COUNT];
	double prof_t0;
};

/* Record an error message in ctx (printf-style); returns -1. */
int br_ctx_fail(br_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Shape checks shared by the backends: return -1 with a message on mismatch. */
int br_check_same(br_ctx *ctx, const char *op, const br_tensor *a, const br_tensor *b);
int br_check_shape(br_ctx *ctx, const char *op, const br_tensor *t, int n, int c, int h, int w);

extern const struct br_backend br_backend_cpu;
#ifdef BR_WITH_CUDA
extern const struct br_backend br_backend_cuda;
/* number of usable CUDA devices (0 when no driver or no GPU) */
int br_cuda_device_count(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* BR_BACKEND_H */
