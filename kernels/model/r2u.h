/*
 * r2u.h - the R2U-MTDS network of doc/MODEL.md, written only against
 * the public kernel API (kernels.h), so that it runs unchanged on either
 * backend.  Shared by r2u-train and r2u-infer.
 *
 * Memory: one backend allocation for the trainable parameters, one for
 * their gradients, one for the BatchNorm running statistics, one for the
 * Adam moments, and one arena for the activations of a batch (planned for
 * the batch size and slice size in use).  Parameters are kept in the order
 * and with the names and PyTorch layouts of the checkpoint table.
 */
#ifndef BR_R2U_H
#define BR_R2U_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

typedef struct r2u r2u;

/* The four heads, in the order r2u returns them (logits / probabilities). */
enum r2u_head { R2U_WT = 0, R2U_NCR = 1, R2U_ED = 2, R2U_ET = 3, R2U_NHEAD = 4 };

/* One parameter tensor of the checkpoint. */
typedef struct {
	char name[80];
	int ndim;
	int64_t shape[4];
	size_t numel;
	size_t off;    /* offset (floats) in its buffer */
	int running;   /* 1: BatchNorm running statistic (not trained) */
} r2u_param;

/* Training state saved beside the weights for --resume. */
typedef struct {
	int64_t epoch;      /* epochs completed */
	int64_t step;       /* optimiser steps taken (Adam's t) */
	uint64_t rng[4];    /* the trainer's generator state */
	int64_t pos;        /* position inside the epoch (slices consumed) */
	double best;        /* best validation Dice so far (-1: none) */
} r2u_state;

/* The paper's ablations (doc/MODEL.md, "Ablations"): the block of the
 * encoder stages (Table 1), the deep supervision (Table 3) and the SE
 * blocks (Table 4).  { R2U_BLOCK_APR, R2U_SUP_MULTI, 1 } is the paper's
 * network, R2U-MTDS itself. */
enum r2u_block { R2U_BLOCK_APR = 0, R2U_BLOCK_PRERES = 1, R2U_BLOCK_GATED_SKIP = 2 };
enum r2u_supervision { R2U_SUP_MULTI = 0, R2U_SUP_SINGLE = 1, R2U_SUP_NONE = 2 };
typedef struct {
	int block;       /* enum r2u_block */
	int supervision; /* enum r2u_supervision */
	int se;          /* 1: squeeze-and-excitation after every stage; 0: none */
} r2u_variant;

/* The names used on the command line and in checkpoint metadata, in enum
 * order, NULL-terminated: "apr", "pre-res", "pre-res-gated-skip" and
 * "multi", "single", "none". */
extern const char *const r2u_block_names[];
extern const char *const r2u_supervision_names[];
void r2u_variant_paper(r2u_variant *v);
/* "block pre-res, supervision multi, SE" (for messages) */
void r2u_variant_describe(const r2u_variant *v, char *buf, size_t n);

/* A network of base width b (>= 8, a multiple of 8) with default
 * (PyTorch-style) initialisation from seed.  NULL with a reason in err.
 * r2u_new is the paper's network; r2u_new_variant one of the ablations
 * (v == NULL: the paper's). */
r2u *r2u_new(br_ctx *ctx, int base, uint64_t seed, char *err, size_t errlen);
r2u *r2u_new_variant(br_ctx *ctx, int base, const r2u_variant *v, uint64_t seed, char *err, size_t errlen);
void r2u_free(r2u *m);
int r2u_base(const r2u *m);
const r2u_variant *r2u_variant_of(const r2u *m);
const char *r2u_error(const r2u *m);
br_ctx *r2u_ctx(const r2u *m);

/* Parameter table. */
int r2u_nparams(const r2u *m);
const r2u_param *r2u_param_info(const r2u *m, int i);
size_t r2u_ntrainable(const r2u *m); /* floats in the trainable buffer */
/* Copy a parameter (or its gradient) to/from the host. */
int r2u_param_get(r2u *m, int i, float *host);
int r2u_param_set(r2u *m, int i, const float *host);
int r2u_grad_get(r2u *m, int i, float *host);

/* Checkpoints (safetensors, MODEL.md).  r2u_load reads a file written by
 * r2u_save or by PyTorch; the width and the variant must match m's (see
 * r2u_peek: a reader makes its network from what the file says).
 * r2u_save records the variant in the metadata ("block", "supervision",
 * "se"), each key only where it differs from the paper's network, so that
 * the paper's checkpoints are those of version 1 unchanged; a missing key
 * means the paper's value, an unknown value is refused.
 * With st != NULL, Adam's moments and the training state are saved or
 * restored too (tensors "optim.m.<name>", "optim.v.<name>"); a file
 * without them is refused by a load that asks for them. */
int r2u_peek(const char *path, int *base, r2u_variant *v, char *err, size_t errlen);
int r2u_peek_base(const char *path, int *base, char *err, size_t errlen);
int r2u_load(r2u *m, const char *path, r2u_state *st);
/* Inference only from now on (on != 0): the weights are hinted constant
 * (br_hint_const), so that the backend keeps what it derives from them.
 * Loading, setting or training the weights withdraws the hint first. */
int r2u_freeze(r2u *m, int on);
int r2u_save(r2u *m, const char *path, const r2u_state *st, const char *const *meta_kv /* key, value, ..., NULL */);

/* Activation memory for batches of up to n slices of h x w (h, w multiples
 * of 8).  Called automatically by forward when the shape changes. */
int r2u_plan(r2u *m, int n, int h, int w, int training);

/* Forward pass of n slices x (host float32, (n, 4, h, w)).  training: batch
 * statistics (running statistics updated) and SE dropout with probability
 * dropout, drawn from seed; else running statistics, no dropout.  host
 * memory from br_host_alloc makes the upload asynchronous. */
int r2u_forward(r2u *m, const float *x, int n, int h, int w, int training, float dropout, uint64_t seed);
/* The input without a round trip through the host: r2u_input plans an
 * inference pass of n slices and returns its input tensor (backend memory,
 * (n, 4, h, w)) to be filled by an op (br_slices_gather); r2u_forward with
 * x == NULL then runs on it.  After a pass, r2u_logits is a head's output
 * (n, 1, h, w), in backend memory until the next pass. */
br_tensor *r2u_input(r2u *m, int n, int h, int w);
const br_tensor *r2u_logits(const r2u *m, int head);

/* After a forward pass: the four heads' logits, or probabilities, to the
 * host as (n, 4, h, w) in the order wt, ncr, ed, et. */
int r2u_download(r2u *m, float *out, int probabilities);

/* After a training forward pass: the loss of MODEL.md against labels (host
 * uint8, (n, h, w), BraTS values; with single-task deep supervision the
 * whole-tumour side outputs count too) and the backward pass; parameter
 * gradients are accumulated into the gradient buffer (zeroed by
 * r2u_zero_grad).  The losses stay on the device until r2u_losses. */
int r2u_backward(r2u *m, const uint8_t *labels, float lambda);
int r2u_zero_grad(r2u *m);
/* total, wt, ed, ncr, et (synchronises); the total includes the side
 * outputs of single-task deep supervision, which have no column here */
int r2u_losses(r2u *m, float out[5]);
/* One Adam step (lr, MODEL.md's betas and eps) with step number t >= 1. */
int r2u_adam(r2u *m, float lr, int t);
/* Non-finite values in the parameters or the gradients (synchronises). */
int r2u_check_finite(r2u *m, size_t *bad_params, size_t *bad_grads);

/* Data parallelism.  sum adds up n doubles (host memory) over every process
 * of the run and leaves the same total in every process's sums; 0 or -1. */
typedef int (*r2u_sum_fn)(void *arg, double *sums, size_t n);
/* From now on the loss of a training step is the loss of the union of every
 * process's slices: its sums (and, with sync_bn, the BatchNorm statistics and
 * the per-channel sums of their backward) are added up with sum, and each
 * process's gradient is its share of that loss's gradient (so that the sum of
 * the processes' gradients is the whole batch's).  sum NULL: one process,
 * the one-piece ops (the default). */
int r2u_set_split(r2u *m, r2u_sum_fn sum, void *arg, int sync_bn);
/* The flat buffers in backend memory, for all-reduce: the gradients of the
 * trainable parameters (r2u_ntrainable floats) and the BatchNorm running
 * statistics (*n floats). */
float *r2u_grad_buffer(r2u *m);
float *r2u_running_buffer(r2u *m, size_t *n);
/* FNV-1a checksum of the parameters, running statistics and Adam moments
 * (synchronises). */
int r2u_checksum(r2u *m, uint64_t *sum);

/* FLOPs of one slice's forward pass at h x w (multiply-adds x 2, convs only) of
 * the paper's network. */
double r2u_flops(int base, int h, int w);

#endif /* BR_R2U_H */
