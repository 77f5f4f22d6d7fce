/*
 * backend.h - what a backend provides to kernels/dispatch.c (internal).
 *
 * A backend is one table (struct br_backend): a few services (set-up,
 * memory, profiling hooks) and one entry per op of kernels.h.  The ops are
 * written down once, in BR_OPS below; the op ids, their names, the table's
 * fields, the backends' entry prototypes (cpu_<op> in cpu/cpu.h, cu_<op> in
 * cuda/common.cuh) and both tables are generated from it.  dispatch.c owns
 * struct br_ctx, checks every op's arguments, picks the table and times
 * each call when profiling is on; a backend's entry only computes.  Backends
 * keep their own state behind ctx->priv.
 */
#ifndef BR_BACKEND_H
#define BR_BACKEND_H

#include <stdarg.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The op list.  X(name, timer, (parameter types)), one line per public op:
 *   name   br_<name> in kernels.h, the field <name> of struct br_backend,
 *          the entries cpu_<name> and cu_<name>, the id BR_OP_<name>;
 *   timer  the row of br_prof_report that adds up its time (ops may share);
 *   types  the parameter types of br_<name> as kernels.h declares it (the
 *          redeclaration below makes the compiler refuse a disagreement).
 * The order is the order of the profiling table.  Adding an op: doc/HACKING.md.
 */
#define BR_OPS(X)                                                                                                      \
	X(conv2d_forward, "conv2d_forward",                                                                            \
	  (br_ctx *, br_tensor *, const br_tensor *, const float *, const float *, int, const br_preact *))            \
	X(conv2d_backward, "conv2d_backward",                                                                          \
	  (br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *, const float *, int,         \
	   const br_preact *, int))                                                                                    \
	X(convt2x2_forward, "convt2x2_forward",                                                                        \
	  (br_ctx *, br_tensor *, const br_tensor *, const float *, const float *))                                    \
	X(convt2x2_backward, "convt2x2_backward",                                                                      \
	  (br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *, const float *, int))         \
	X(bn_train_stats, "bn_train_stats",                                                                            \
	  (br_ctx *, float *, float *, float *, float *, float *, float *, const br_tensor *, const float *,           \
	   const float *, float, float))                                                                               \
	X(bn_infer_fold, "bn_infer_fold",                                                                              \
	  (br_ctx *, float *, float *, const float *, const float *, const float *, const float *, int, float))        \
	X(bn_relu_backward, "bn_relu_backward",                                                                        \
	  (br_ctx *, br_tensor *, float *, float *, const br_tensor *, const br_tensor *, const float *,               \
	   const float *, const float *, const float *, float, int))                                                   \
	X(bn_sums, "bn_train_stats", (br_ctx *, double *, const br_tensor *))                                         \
	X(bn_stats_from_sums, "bn_train_stats",                                                                        \
	  (br_ctx *, float *, float *, float *, float *, float *, float *, const double *, double, const float *,      \
	   const float *, int, float, float))                                                                          \
	X(bn_relu_backward_sums, "bn_relu_backward",                                                                   \
	  (br_ctx *, double *, float *, float *, const br_tensor *, const br_tensor *, const float *, const float *,   \
	   const float *, const float *, float))                                                                       \
	X(bn_relu_backward_from_sums, "bn_relu_backward",                                                              \
	  (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *, const double *, double, const float *,         \
	   const float *, const float *, const float *, float, int))                                                   \
	X(relu_backward, "relu_backward", (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *, int))          \
	X(add, "add", (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *))                                   \
	X(acc, "acc", (br_ctx *, br_tensor *, const br_tensor *))                                                      \
	X(maxpool2_forward, "maxpool2_forward", (br_ctx *, br_tensor *, const br_tensor *))                            \
	X(maxpool2_backward, "maxpool2_backward", (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *, int))  \
	X(concat_forward, "concat_forward", (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *))             \
	X(concat_backward, "concat_backward", (br_ctx *, br_tensor *, br_tensor *, const br_tensor *, int, int))       \
	X(upsample_forward, "upsample_forward", (br_ctx *, br_tensor *, const br_tensor *, int))                       \
	X(upsample_backward, "upsample_backward", (br_ctx *, br_tensor *, const br_tensor *, int, int))                \
	X(gate_forward, "gate_forward", (br_ctx *, br_tensor *, const br_tensor *, const br_tensor *))                 \
	X(gate_backward, "gate_backward",                                                                              \
	  (br_ctx *, br_tensor *, br_tensor *, const br_tensor *, const br_tensor *, const br_tensor *, int))          \
	X(avgpool_forward, "avgpool_forward", (br_ctx *, float *, const br_tensor *))                                  \
	X(avgpool_backward, "avgpool_backward", (br_ctx *, br_tensor *, const float *, int))                           \
	X(scale_forward, "scale_forward", (br_ctx *, br_tensor *, const br_tensor *, const float *))                   \
	X(scale_backward, "scale_backward",                                                                            \
	  (br_ctx *, br_tensor *, float *, const br_tensor *, const br_tensor *, const float *, int))                  \
	X(linear_forward, "linear_forward",                                                                            \
	  (br_ctx *, float *, const float *, const float *, const float *, int, int, int))                            \
	X(linear_backward, "linear_backward",                                                                          \
	  (br_ctx *, float *, float *, float *, const float *, const float *, const float *, int, int, int))          \
	X(vec_relu_forward, "vec_activation", (br_ctx *, float *, const float *, size_t))                              \
	X(vec_relu_backward, "vec_activation", (br_ctx *, float *, const float *, const float *, size_t))              \
	X(vec_sigmoid_forward, "vec_activation", (br_ctx *, float *, const float *, size_t))                           \
	X(vec_sigmoid_backward, "vec_activation", (br_ctx *, float *, const float *, const float *, size_t))           \
	X(dropout_forward, "dropout", (br_ctx *, float *, const float *, size_t, float, uint64_t))                     \
	X(dropout_backward, "dropout", (br_ctx *, float *, const float *, size_t, float, uint64_t))                    \
	X(loss_bce_dice, "loss_bce_dice",                                                                              \
	  (br_ctx *, float *, br_tensor *, const br_tensor *, const uint8_t *, int, float))                            \
	X(loss_sums, "loss_bce_dice", (br_ctx *, double *, const br_tensor *, const uint8_t *, int))                  \
	X(loss_from_sums, "loss_bce_dice",                                                                             \
	  (br_ctx *, float *, br_tensor *, const br_tensor *, const uint8_t *, const double *, double, int, float))    \
	X(adam_step, "adam_step",                                                                                      \
	  (br_ctx *, float *, const float *, float *, float *, size_t, float, float, float, float, int))              \
	X(count_nonfinite, "vec_activation", (br_ctx *, size_t *, const float *, size_t))                              \
	X(labels_assemble, "labels_assemble", (br_ctx *, uint8_t *, const float *, size_t, int))                       \
	X(hint_const, "hint", (br_ctx *, const void *, size_t, int))                                                   \
	X(graph_begin, "graph", (br_ctx *))                                                                            \
	X(graph_end, "graph", (br_ctx *, br_graph **))                                                                 \
	X(graph_launch, "graph", (br_ctx *, br_graph *))                                                               \
	X(graph_free, "graph", (br_ctx *, br_graph *))                                                                 \
	X(slices_gather, "slices", (br_ctx *, br_tensor *, const float *, int, int, int))                              \
	X(slices_scatter_sigmoid, "slices", (br_ctx *, float *, int, int, int, const br_tensor *, int, int, double, int)) \
	X(memset0, "memcpy", (br_ctx *, void *, size_t))                                                               \
	X(memcpy_h2d, "memcpy", (br_ctx *, void *, const void *, size_t))                                              \
	X(memcpy_d2h, "memcpy", (br_ctx *, void *, const void *, size_t))                                              \
	X(memcpy_d2d, "memcpy", (br_ctx *, void *, const void *, size_t))                                              \
	X(tensor_upload, "memcpy", (br_ctx *, br_tensor *, const float *))                                             \
	X(tensor_download, "memcpy", (br_ctx *, float *, const br_tensor *))

/* One id per op: BR_OP_conv2d_forward, ... */
#define BR_OP_ID_(name, timer, types) BR_OP_##name,
enum br_op { BR_OPS(BR_OP_ID_) BR_OP_COUNT };
#undef BR_OP_ID_

/* The type of each op, br_<name>_fn, and the public function redeclared
 * with it: a list entry that disagrees with kernels.h does not compile. */
#define BR_OP_TYPE_(name, timer, types)                                                                                \
	typedef int br_##name##_fn types;                                                                              \
	br_##name##_fn br_##name;
BR_OPS(BR_OP_TYPE_)
#undef BR_OP_TYPE_

/* A backend's entry prototypes: BR_OPS(BR_OP_ENTRY_CPU_) declares cpu_conv2d_forward, ... */
#define BR_OP_ENTRY_(prefix, name) br_##name##_fn prefix##_##name;
#define BR_OP_ENTRY_CPU_(name, timer, types) BR_OP_ENTRY_(cpu, name)
#define BR_OP_ENTRY_CU_(name, timer, types) BR_OP_ENTRY_(cu, name)
/* A backend's table entries, designated: .conv2d_forward = cpu_conv2d_forward, ... */
#define BR_OP_INIT_CPU_(name, timer, types) .name = cpu_##name,
#define BR_OP_INIT_CU_(name, timer, types) .name = cu_##name,

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
	size_t (*tensor_bytes)(const br_ctx *ctx, int n, int c, int h, int w);

	/* Profiling hooks; NULL means dispatch uses the host wall clock (after a
	 * br_sync on both ends).  begin/end bracket one op (enum br_op); collect
	 * adds the milliseconds of every finished bracket into ms[BR_OP_COUNT]. */
	void (*prof_begin)(br_ctx *ctx, int op);
	void (*prof_end)(br_ctx *ctx, int op);
	int (*prof_collect)(br_ctx *ctx, double *ms);

	/* the ops: br_<name>_fn *<name>, called with arguments already checked */
#define BR_OP_FIELD_(name, timer, types) br_##name##_fn *name;
	BR_OPS(BR_OP_FIELD_)
#undef BR_OP_FIELD_
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
