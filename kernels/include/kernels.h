/*
 * kernels.h - the one public header of the brats-r2u kernel library.
 *
 * Every operation the R2U-MTDS network needs, forward and backward, behind
 * one dispatch point (kernels/dispatch.c) that sends each call to the CPU
 * backend (kernels/cpu/, always built, the readable reference) or the CUDA
 * backend (kernels/cuda/, built where nvcc and cuDNN are found).
 *
 * Conventions
 * - Every function returns 0 on success and -1 on failure; the reason is
 *   then in br_ctx_error(ctx).  Library code never exits or prints.
 * - Activations are br_tensor views with a logical shape (N, C, H, W).  Their
 *   memory layout and element type belong to the backend: the CPU backend
 *   stores NCHW float32; the CUDA backend may store NHWC and bfloat16.  The
 *   model never touches tensor memory: it only allocates it (br_malloc with
 *   br_tensor_bytes), moves it (br_tensor_upload / br_tensor_download) and
 *   hands it to the ops below.
 * - Parameters, parameter gradients, BatchNorm statistics, Adam moments and
 *   the small per-sample vectors of the SE block are plain float32 arrays in
 *   backend memory ("flat" arrays), laid out as PyTorch lays them out:
 *   conv (K,C,k,k), transposed conv (C,K,2,2), linear (O,I).
 * - Arguments: outputs first, then const inputs, then sizes and flags.
 * - Backward functions: the gradient of an activation input (dx) is written
 *   when accum == 0 and added to when accum == 1; gradients of parameters
 *   (dw, db, dgamma, dbeta) are always ADDED to (the model zeroes its gradient
 *   arena once per step).  NULL for a gradient output means "not needed".
 * - Unless a comment says otherwise, outputs never alias inputs.
 * - Calls are asynchronous on the CUDA backend (one stream, in order);
 *   br_sync() waits and reports deferred errors.
 */
#ifndef BR_KERNELS_H
#define BR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct br_ctx br_ctx;

enum br_device { BR_DEV_CPU = 0, BR_DEV_CUDA = 1 };

/* Arithmetic of the convolutions (CUDA backend; the CPU always uses fp32). */
enum br_precision {
	BR_PREC_DEFAULT = 0, /* tf32 on GPUs that have it, else fp32 */
	BR_PREC_FP32 = 1,    /* plain float32 everywhere */
	BR_PREC_TF32 = 2,    /* float32 storage, TF32 tensor-core products */
	BR_PREC_BF16 = 3     /* bfloat16 activations, fp32 master weights */
};

/* A 4-D activation tensor of logical shape (n, c, h, w). */
typedef struct {
	void *data;
	int n, c, h, w;
} br_tensor;

/* a = relu(x * scale[c] + shift[c]), applied to a convolution's input on the
 * fly.  scale == NULL and shift == NULL: a = relu(x) when relu, else x.
 * Zero padding of a 3x3 convolution pads the ACTIVATED input a with zeros. */
typedef struct {
	const float *scale, *shift; /* flat, C values each, or both NULL */
	int relu;
} br_preact;

/* Which binary target a loss head is trained on, from BraTS labels. */
enum br_target {
	BR_TARGET_WT = 0,  /* label > 0  (1, 2, 4) */
	BR_TARGET_NCR = 1, /* label == 1 */
	BR_TARGET_ED = 2,  /* label == 2 */
	BR_TARGET_ET = 3   /* label == 4 */
};

/* ---- context ------------------------------------------------------------ */

/* device: "cpu", "cuda", "cuda:N", or NULL/"auto" (cuda when a GPU is
 * present and the library was built with CUDA, else cpu).  nthreads: CPU
 * threads (0 = all cores).  On failure returns NULL and writes a one-line
 * reason into err. */
br_ctx *br_ctx_new(const char *device, int nthreads, int precision, char *err, size_t errlen);
/* The same, but where device is NULL/"auto" and no GPU can be used - a
 * build without CUDA, no driver, no GPU - the context is a CPU one and
 * notice holds a one-line explanation (else "").  A GPU named explicitly
 * ("cuda", "cuda:N") that cannot be used is an error (NULL, err set). */
br_ctx *br_ctx_open(const char *device, int nthreads, int precision, char *notice, size_t noticelen, char *err,
		    size_t errlen);
/* "fp32", "tf32", "bf16" -> enum br_precision; -1 for anything else. */
int br_precision_from_name(const char *name);
const char *br_precision_name(int precision);
void br_ctx_free(br_ctx *ctx);
const char *br_ctx_error(const br_ctx *ctx);
int br_ctx_device(const br_ctx *ctx);             /* enum br_device */
const char *br_ctx_describe(const br_ctx *ctx);  /* "cpu (2 threads)", "cuda:0 NVIDIA H100 (bf16)" */
int br_ctx_threads(const br_ctx *ctx);
int br_ctx_precision(const br_ctx *ctx);          /* the precision in effect */
int br_cuda_built(void);                          /* 1 when built with the CUDA backend */
/* Devices of this kind (enum br_device) usable by this build: 1 for the CPU,
 * the number of GPUs the CUDA backend can use (0 without CUDA, driver or GPU). */
int br_device_count(int device);
int br_sync(br_ctx *ctx);

/* Per-op timing: when on, every op below is timed (wall clock on the CPU,
 * events on CUDA) and summed per op name; br_prof_report writes a table. */
void br_prof_enable(br_ctx *ctx, int on);
void br_prof_reset(br_ctx *ctx);
int br_prof_report(br_ctx *ctx, void *file /* FILE * */);

/* ---- memory --------------------------------------------------------------- */

void *br_malloc(br_ctx *ctx, size_t bytes); /* backend memory, 256-byte aligned; NULL on failure */
void br_free(br_ctx *ctx, void *p);          /* NULL safe */
void *br_host_alloc(br_ctx *ctx, size_t bytes); /* host staging memory (pinned on CUDA) */
void br_host_free(br_ctx *ctx, void *p);
int br_memset0(br_ctx *ctx, void *p, size_t bytes);
int br_memcpy_h2d(br_ctx *ctx, void *dst, const void *src, size_t bytes); /* async when src is from br_host_alloc */
int br_memcpy_d2h(br_ctx *ctx, void *dst, const void *src, size_t bytes); /* synchronous */
int br_memcpy_d2d(br_ctx *ctx, void *dst, const void *src, size_t bytes);

/* Bytes a tensor of this shape takes in this backend (rounded up to 256). */
size_t br_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w);
/* Host float32 NCHW <-> backend tensor.  Upload is asynchronous when host
 * came from br_host_alloc: do not modify host before the next br_sync. */
int br_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host);
int br_tensor_download(br_ctx *ctx, float *host, const br_tensor *t);

/* ---- convolutions ---------------------------------------------------------- */

/* y: (N,K,H,W)  x: (N,C,H,W)  w: (K,C,k,k)  b: (K) or NULL;  k = 1 or 3,
 * stride 1, zero padding k/2.  y = conv(pre(x), w) + b; pre NULL = identity. */
int br_conv2d_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b,
		      int k, const br_preact *pre);
/* da: (N,C,H,W) gradient w.r.t. the activated input pre(x), or NULL.
 * dw: (K,C,k,k) added; db: (K) added, or NULL.  dy: (N,K,H,W). */
int br_conv2d_backward(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy,
		       const br_tensor *x, const float *w, int k, const br_preact *pre, int accum);

/* 2x2 transposed convolution, stride 2.
 * y: (N,K,2H,2W)  x: (N,C,H,W)  w: (C,K,2,2)  b: (K)
 * y[n,k,2i+a,2j+b] = b[k] + sum_c x[n,c,i,j] * w[c,k,a,b] */
int br_convt2x2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b);
int br_convt2x2_backward(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy,
			 const br_tensor *x, const float *w, int accum);

/* ---- batch normalisation (always followed by ReLU in this network) ---------- */

/* Training mode.  x: (N,C,H,W).  Writes the batch mean and biased variance
 * (mean, var: C), the folded affine of the normalisation (scale = gamma /
 * sqrt(var + eps), shift = beta - mean * scale: C each, for a br_preact) and,
 * when rmean/rvar are not NULL, updates the running statistics:
 * running = (1 - momentum) * running + momentum * batch, the variance with
 * the unbiased batch variance (times count / (count - 1), count = N*H*W). */
int br_bn_train_stats(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean,
		      float *rvar, const br_tensor *x, const float *gamma, const float *beta, float eps,
		      float momentum);
/* Inference mode: scale/shift from the running statistics (C values). */
int br_bn_infer_fold(br_ctx *ctx, float *scale, float *shift, const float *rmean, const float *rvar,
		     const float *gamma, const float *beta, int c, float eps);
/* Backward of a = relu(gamma * (x - mean) / sqrt(var + eps) + beta) with batch
 * statistics.  da: gradient w.r.t. a; dx written/added (accum); dgamma,
 * dbeta added.  mean, var as written by br_bn_train_stats. */
int br_bn_relu_backward(br_ctx *ctx, br_tensor *dx, float *dgamma, float *dbeta, const br_tensor *da,
			const br_tensor *x, const float *mean, const float *var, const float *gamma,
			const float *beta, float eps, int accum);

/* The same statistics for a batch split across processes (sync-BN): each
 * part computes its sums, the caller adds them up over the parts (in a
 * fixed order), and every part finishes from the totals.
 * sums: (C,2) double in backend memory, written: sum x, sum x^2 per channel. */
int br_bn_sums(br_ctx *ctx, double *sums, const br_tensor *x);
/* mean, var, scale, shift, rmean, rvar as br_bn_train_stats writes them, from
 * sums of count values per channel over the whole batch (count >= 2 when
 * rvar is not NULL).  sums: (C,2) double in backend memory; the others (C). */
int br_bn_stats_from_sums(br_ctx *ctx, float *mean, float *var, float *scale, float *shift, float *rmean,
			  float *rvar, const double *sums, double count, const float *gamma, const float *beta,
			  int c, float eps, float momentum);
/* Backward of relu(bn(x)) with statistics of a split batch, in two steps.
 * sums: (C,2) double, written: sum g, sum g (x - mean) over this part, g =
 * da * relu mask; dgamma, dbeta: (C) added from this part's sums (or NULL). */
int br_bn_relu_backward_sums(br_ctx *ctx, double *sums, float *dgamma, float *dbeta, const br_tensor *da,
			     const br_tensor *x, const float *mean, const float *var, const float *gamma,
			     const float *beta, float eps);
/* dx written/added (accum) from sums over the whole batch of count values
 * per channel (as br_bn_relu_backward_sums writes them, added up). */
int br_bn_relu_backward_from_sums(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x,
				  const double *sums, double count, const float *mean, const float *var,
				  const float *gamma, const float *beta, float eps, int accum);

/* ---- elementwise and shape ops ------------------------------------------------ */

/* dx (+)= da * (x > 0)   (backward of relu(x) when a relu output was consumed) */
int br_relu_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum);
/* y = a + b (same shape).  y may alias a or b. */
int br_add(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b);
/* y += x.  (gradient accumulation where a tensor feeds several consumers) */
int br_acc(br_ctx *ctx, br_tensor *y, const br_tensor *x);

/* y: (N,C,H/2,W/2)  x: (N,C,H,W), H and W even; 2x2 window, stride 2. */
int br_maxpool2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x);
/* The gradient of each window goes to its first maximum in row-major order. */
int br_maxpool2_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, const br_tensor *x, int accum);

/* y: (N,Ca+Cb,H,W) = [a, b] on the channel axis (a first). */
int br_concat_forward(br_ctx *ctx, br_tensor *y, const br_tensor *a, const br_tensor *b);
int br_concat_backward(br_ctx *ctx, br_tensor *da, br_tensor *db, const br_tensor *dy, int accum_a,
		       int accum_b);

/* Bilinear up-sampling by an integer factor s, half-pixel centres (PyTorch
 * interpolate(mode="bilinear", align_corners=False)): source coordinate
 * (d + 0.5) / s - 0.5, clamped below at 0; neighbours clamped to the edge.
 * y: (N,C,H*s,W*s)  x: (N,C,H,W) */
int br_upsample_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, int s);
int br_upsample_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, int s, int accum);

/* Attention gate, multiply by the sigmoid of a one-channel map broadcast
 * over channels: out = y * sigmoid(g).  out, y: (N,C,H,W)  g: (N,1,H,W).
 * out may alias y. */
int br_gate_forward(br_ctx *ctx, br_tensor *out, const br_tensor *y, const br_tensor *g);
/* dy (+)= dout * sigmoid(g)   (accum applies to dy)
 * dg  = sum_c dout * y * s * (1 - s)   (written) */
int br_gate_backward(br_ctx *ctx, br_tensor *dy, br_tensor *dg, const br_tensor *dout, const br_tensor *y,
		     const br_tensor *g, int accum);

/* Squeeze-and-excitation pieces.  z, s: flat (N,C) float32. */
/* z[n,c] = mean over H,W of x[n,c] */
int br_avgpool_forward(br_ctx *ctx, float *z, const br_tensor *x);
/* dx[n,c,h,w] (+)= dz[n,c] / (H*W) */
int br_avgpool_backward(br_ctx *ctx, br_tensor *dx, const float *dz, int accum);
/* out = x * s[n,c] broadcast over H,W.  out, x: (N,C,H,W)  s: (N,C) */
int br_scale_forward(br_ctx *ctx, br_tensor *out, const br_tensor *x, const float *s);
/* dx (+)= dout * s;  ds[n,c] = sum_hw dout * x  (written) */
int br_scale_backward(br_ctx *ctx, br_tensor *dx, float *ds, const br_tensor *dout, const br_tensor *x,
		      const float *s, int accum);

/* Fully connected on flat arrays.  y: (N,O)  x: (N,I)  w: (O,I)  b: (O) or NULL. */
int br_linear_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int in,
		      int out);
/* dx: (N,I) written (or NULL); dw, db added. */
int br_linear_backward(br_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
		       const float *w, int n, int in, int out);

/* Activations on flat float32 arrays of n values. */
int br_vec_relu_forward(br_ctx *ctx, float *y, const float *x, size_t n);
int br_vec_relu_backward(br_ctx *ctx, float *dx, const float *dy, const float *x, size_t n); /* written */
int br_vec_sigmoid_forward(br_ctx *ctx, float *y, const float *x, size_t n);
int br_vec_sigmoid_backward(br_ctx *ctx, float *dx, const float *dy, const float *y, size_t n); /* y: the output */

/* Inverted dropout on a flat array: element i is kept when
 * br_dropout_uniform(seed, i) >= p, and kept values are scaled by 1/(1-p).
 * p == 0 copies.  The mask is a pure function of (seed, i), identical in
 * every backend, so backward regenerates it. */
int br_dropout_forward(br_ctx *ctx, float *y, const float *x, size_t n, float p, uint64_t seed);
int br_dropout_backward(br_ctx *ctx, float *dx, const float *dy, size_t n, float p, uint64_t seed);

/* The counter-based generator behind dropout (rng.h's br_counter_uniform:
 * splitmix64 of seed and index, top 24 bits as a float in [0, 1)), the same
 * function on the host and on the device. */
BR_RNG_FN float br_dropout_uniform(uint64_t seed, uint64_t i)
{
	return br_counter_uniform(seed, i);
}

/* ---- loss and optimiser -------------------------------------------------------- */

/* Deep-supervision head loss, BCE-with-logits (mean over all N*H*W pixels)
 * plus soft Dice 1 - (2 sum(p t) + 1) / (sum(p p) + sum(t t) + 1), p = sigmoid.
 * logit: (N,1,H,W)  labels: N*H*W uint8 BraTS labels (0,1,2,4) in backend
 * memory; target: enum br_target.  Writes loss[0] = L (unweighted, one
 * float in backend memory) and dlogit = weight * dL/dlogit (written). */
int br_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit,
		     const uint8_t *labels, int target, float weight);

/* The same loss over a batch split across processes, in two steps.
 * sums: 4 double in backend memory, written for this part: sum of the BCE
 * terms, sum(p t), sum(p p), sum(t t). */
int br_loss_sums(br_ctx *ctx, double *sums, const br_tensor *logit, const uint8_t *labels, int target);
/* loss[0] (or NULL) and dlogit (written) from sums over the whole batch of
 * count pixels (the parts' br_loss_sums added up): dlogit is this part's
 * share of the gradient of the whole batch's loss, times weight. */
int br_loss_from_sums(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		      const double *sums, double count, int target, float weight);

/* Adam (PyTorch's form, no weight decay) on n parameters; t >= 1 is the
 * step number after this update:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
int br_adam_step(br_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
		 float b2, float eps, int t);

/* Number of non-finite values in a flat float32 array (written to host *count). */
int br_count_nonfinite(br_ctx *ctx, size_t *count, const float *x, size_t n);

/* ---- the label map ---------------------------------------------------------------- */

/* The label map of doc/MODEL.md from the four head probabilities: tumour
 * where p_wt >= 0.5; then 4 where p_et >= 0.5, else 1 where p_ncr >= 0.5,
 * else 2; 0 elsewhere (and where p_wt is NaN).  wt_only: 1 for tumour.
 * labels: n uint8 (written)  probs: flat float32 (4, n), planar wt, ncr,
 * ed, et as r2u_predictor sums them; both in backend memory. */
int br_labels_assemble(br_ctx *ctx, uint8_t *labels, const float *probs, size_t n, int wt_only);

/* ---- hints ------------------------------------------------------------------------- */

/* Weights that stay constant until the hint is withdrawn (inference): the
 * backend may keep forms derived from them instead of deriving them at
 * every call (the CPU backend: the Winograd transforms of the 3x3 filters
 * of 128 channels or more, which are otherwise made again by each call).
 * [p, p + bytes) is backend memory; on = 0 withdraws the hint over that
 * range and frees what was derived from it.  Weights under the hint must
 * not change: withdraw it first (the backend cannot see a change). */
int br_hint_const(br_ctx *ctx, const void *p, size_t bytes, int on);

/* ---- recorded work (CUDA graphs) ------------------------------------------------- */

/* br_graph_begin starts recording the calls that follow on ctx instead of
 * running them; br_graph_end turns them into a graph that br_graph_launch
 * runs again, with the same pointers and shapes, for the cost of one
 * launch.  Where the backend cannot record (the CPU) or the recording
 * failed (a call in it allocated or synchronised), begin or end fails,
 * *g is NULL, and the calls recorded did not run: run them again without
 * recording.  A graph goes stale when the backend's scratch memory is
 * reallocated; br_graph_launch then fails and runs nothing.  Not while
 * profiling (br_prof_enable). */
typedef struct br_graph br_graph;
int br_graph_begin(br_ctx *ctx);
int br_graph_end(br_ctx *ctx, br_graph **g);
int br_graph_launch(br_ctx *ctx, br_graph *g);
int br_graph_free(br_ctx *ctx, br_graph *g); /* NULL safe */

/* ---- a whole case in backend memory ----------------------------------------------- */

/* A batch of axial slices out of a case record: x (n, c, h, w) <- slices
 * z0 .. z0 + n - 1 of rec, a planar float32 record (c, nz, h, w) in backend
 * memory (the channels of a brats-crop record); flip mirrors every row
 * (the left-right flip of test-time augmentation). */
int br_slices_gather(br_ctx *ctx, br_tensor *x, const float *rec, int nz, int z0, int flip);

/* The other way, for one output head: channel k of rec, a planar float32
 * record (nk, nz, h, w) in backend memory, slices z0 .. z0 + n - 1, +=
 * (accum) or = (float)(sigmoid(y) * scale), with y (n, 1, h, w) the head's
 * logits and sigmoid(z) = 1 / (1 + exp(-z)) in float32; flip mirrors every
 * row of y first.  The sums of an ensemble and of flipped passes, as
 * r2u_predictor makes them. */
int br_slices_scatter_sigmoid(br_ctx *ctx, float *rec, int k, int nk, int nz, const br_tensor *y, int z0, int flip,
			      double scale, int accum);

#ifdef __cplusplus
}
#endif

#endif /* BR_KERNELS_H */
