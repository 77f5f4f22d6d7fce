/*
 * cudnn_plan.cu - cuDNN convolution plans: descriptors and the algorithm of
 * one convolution shape and direction, chosen once and cached per ctx.
 *
 * Tensors are NHWC, filters KRSC (cuDNN's CUDNN_TENSOR_NHWC filter format),
 * compute type float.  Math: FP32 -> CUDNN_FMA_MATH (no TF32), TF32 ->
 * CUDNN_DEFAULT_MATH (TF32 tensor cores allowed), BF16 -> CUDNN_TENSOR_OP_MATH.
 * The algorithm comes from cudnnFind*AlgorithmEx (timed, on scratch outputs,
 * so nothing the caller owns is overwritten) or, with BR_CUDNN_FIND=0 or when
 * the search fails, from the cudnnGet*Algorithm_v7 heuristics.
 *
 * What the search finds is kept between runs in a file (libcommon/kvfile.h,
 * default ~/.cache/brats-r2u/cudnn-plans, BR_CACHE_DIR=off to disable), one
 * line per GPU model, cuDNN version, precision, determinism and shape, so
 * that a later run starts at once; a cached choice is used only when its
 * workspace is still within the limit, else the search runs again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.cuh"

extern "C" {
#include "kvfile.h"
const char *br_error(void); /* volume.h: the reason of libcommon's last failure */
}

#define PLAN_KEYS 11
#define FIND_WS_LIMIT ((size_t)1 << 30) /* largest workspace an algorithm may ask for */

struct cu_plan {
	int key[PLAN_KEYS];
	cudnnTensorDescriptor_t xd, yd;
	cudnnFilterDescriptor_t wd;
	cudnnConvolutionDescriptor_t cd;
	int algo;
	size_t ws;
	size_t in_bytes, filt_bytes, out_bytes;
};

static const char *dir_name(int dir)
{
	return dir == CU_FWD ? "fwd" : dir == CU_BWD_DATA ? "bwd_data" : "bwd_filter";
}

static void plan_destroy(struct cu_plan *pl)
{
	if (pl->xd != NULL)
		cudnnDestroyTensorDescriptor(pl->xd);
	if (pl->yd != NULL)
		cudnnDestroyTensorDescriptor(pl->yd);
	if (pl->wd != NULL)
		cudnnDestroyFilterDescriptor(pl->wd);
	if (pl->cd != NULL)
		cudnnDestroyConvolutionDescriptor(pl->cd);
	memset(pl, 0, sizeof *pl);
}

void cu_plans_free(br_ctx *ctx)
{
	struct cu_priv *P = cu_p(ctx);
	int i;

	for (i = 0; i < P->nplans; i++) {
		plan_destroy(P->plans[i]);
		free(P->plans[i]);
	}
	free(P->plans);
	P->plans = NULL;
	P->nplans = P->cap_plans = 0;
}

/* Results are sorted fastest first; take the first that ran, fits and is
 * deterministic when asked.  In FP32 prefer results that report FMA math
 * (the caller forces CUDNN_FMA_MATH on the descriptor in any case). */
template <class Perf> static int pick(br_ctx *ctx, const Perf *perf, int n, size_t limit)
{
	struct cu_priv *P = cu_p(ctx);
	int i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > limit)
				continue;
			if (P->deterministic && perf[i].determinism != CUDNN_DETERMINISTIC)
				continue;
			if (pass == 0 && ctx->precision == BR_PREC_FP32 && perf[i].mathType != CUDNN_FMA_MATH)
				continue;
			return i;
		}
		if (ctx->precision != BR_PREC_FP32)
			break;
	}
	return -1;
}

/* Scratch memory for the search, freed after it. */
struct find_mem {
	void *ws, *out;
};

static void find_mem_free(struct find_mem *m)
{
	if (m->ws != NULL)
		cudaFree(m->ws);
	if (m->out != NULL)
		cudaFree(m->out);
	m->ws = m->out = NULL;
}

static size_t find_ws_limit(void)
{
	size_t fr = 0, total = 0, lim = FIND_WS_LIMIT;

	if (cudaMemGetInfo(&fr, &total) != cudaSuccess) {
		(void)cudaGetLastError();
		return (size_t)64 << 20;
	}
	if (fr / 4 < lim)
		lim = fr / 4;
	return lim;
}

/* the workspace of algorithm a of pl in direction dir */
static cudnnStatus_t ws_size(cudnnHandle_t h, const struct cu_plan *pl, int dir, int a, size_t *sz)
{
	*sz = 0;
	if (dir == CU_FWD)
		return a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT
			       ? cudnnGetConvolutionForwardWorkspaceSize(h, pl->xd, pl->wd, pl->cd, pl->yd,
									 (cudnnConvolutionFwdAlgo_t)a, sz)
			       : CUDNN_STATUS_NOT_SUPPORTED;
	if (dir == CU_BWD_DATA)
		return a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT
			       ? cudnnGetConvolutionBackwardDataWorkspaceSize(h, pl->wd, pl->yd, pl->cd, pl->xd,
									      (cudnnConvolutionBwdDataAlgo_t)a, sz)
			       : CUDNN_STATUS_NOT_SUPPORTED;
	return a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT
		       ? cudnnGetConvolutionBackwardFilterWorkspaceSize(h, pl->xd, pl->yd, pl->cd, pl->wd,
									(cudnnConvolutionBwdFilterAlgo_t)a, sz)
		       : CUDNN_STATUS_NOT_SUPPORTED;
}

/* The plan cache: opened when the context is made (cu_plan_cache_open),
 * the key of a plan is the device part and the plan's shape. */
void cu_plan_cache_open(br_ctx *ctx, const char *gpu_name)
{
	struct cu_priv *P = cu_p(ctx);
	char *path, *s;

	P->plan_cache = NULL;
	snprintf(P->plan_dev, sizeof P->plan_dev, "%.100s sm%d%d cudnn%zu %s det%d", gpu_name, P->cc_major, P->cc_minor,
		 cudnnGetVersion(), ctx->precision == BR_PREC_BF16 ? "bf16" : ctx->precision == BR_PREC_TF32 ? "tf32" : "fp32",
		 P->deterministic);
	for (s = P->plan_dev; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
	if (!P->find || (path = br_cache_path("cudnn-plans")) == NULL)
		return;
	P->plan_cache = br_kvfile_open(path);
	if (P->log)
		fprintf(stderr, "br cuda: plan cache %s: %s\n", path,
			P->plan_cache != NULL ? "open" : "cannot be read, not used");
	free(path);
}

void cu_plan_cache_close(br_ctx *ctx)
{
	br_kvfile_close(cu_p(ctx)->plan_cache);
	cu_p(ctx)->plan_cache = NULL;
}

static void plan_cache_key(const br_ctx *ctx, const struct cu_plan *pl, int dir, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s n%d c%d h%d w%d k%d r%d pad%d stride%d", cu_p(ctx)->plan_dev, dir_name(dir), pl->key[3],
		 pl->key[4], pl->key[5], pl->key[6], pl->key[7], pl->key[8], pl->key[9], pl->key[10]);
}

/* Choose the algorithm of pl; sets pl->algo, pl->ws and the math type. */
static int plan_choose(br_ctx *ctx, struct cu_plan *pl, int dir, const void *in, const void *filt, const void *out)
{
	struct cu_priv *P = cu_p(ctx);
	cudnnHandle_t h = P->cudnn;
	struct find_mem m = {NULL, NULL};
	size_t limit = find_ws_limit(), wsmax = 0, sz;
	int found = 0, n = 0, k, a, rc = -1;
	cudnnStatus_t fs = CUDNN_STATUS_SUCCESS;
	const char *how = "find";
	cudnnMathType_t math;
	char ckey[384];
	const char *cached;
	int ca, cm;
	size_t cw;

	/* a choice of an earlier run: the same GPU model, cuDNN, settings and shape */
	math = CUDNN_DEFAULT_MATH;
	if (P->plan_cache != NULL) {
		plan_cache_key(ctx, pl, dir, ckey, sizeof ckey);
		cached = br_kvfile_get(P->plan_cache, ckey);
		if (cached != NULL && sscanf(cached, "%d %d %zu", &ca, &cm, &cw) == 3 && ca >= 0 && cm >= 0 &&
		    cm <= (int)CUDNN_FMA_MATH &&
		    cudnnSetConvolutionMathType(pl->cd, (cudnnMathType_t)cm) == CUDNN_STATUS_SUCCESS &&
		    ws_size(h, pl, dir, ca, &sz) == CUDNN_STATUS_SUCCESS && sz <= limit) {
			pl->algo = ca;
			pl->ws = sz;
			math = (cudnnMathType_t)cm;
			found = 1;
			how = "cached";
			goto chosen;
		}
	}

	/* the largest workspace any algorithm wants, within the limit */
	for (a = 0; a < 8; a++)
		if (ws_size(h, pl, dir, a, &sz) == CUDNN_STATUS_SUCCESS && sz <= limit && sz > wsmax)
			wsmax = sz;

	if (P->find) {
		/* the search runs the algorithms: make sure in/filt/out hold their data */
		CU_CALL(ctx, cudaStreamSynchronize(P->stream), return -1);
		if (wsmax > 0 && cudaMalloc(&m.ws, wsmax) != cudaSuccess) {
			(void)cudaGetLastError();
			m.ws = NULL;
			wsmax = 0;
		}
		sz = dir == CU_FWD ? pl->out_bytes : dir == CU_BWD_DATA ? pl->in_bytes : pl->filt_bytes;
		CU_CALL(ctx, cudaMalloc(&m.out, sz), goto done);
	}

#define CHOOSE(PERF, MAXCOUNT, FIND, GET, ALGOT)                                                        \
	do {                                                                                            \
		PERF perf[16];                                                                          \
		int maxc = 0;                                                                           \
		CU_CALL(ctx, MAXCOUNT(h, &maxc), goto done);                                            \
		if (maxc > 16)                                                                          \
			maxc = 16;                                                                      \
		memset(perf, 0, sizeof perf);                                                           \
		if (P->find) {                                                                          \
			fs = FIND;                                                                      \
			if (fs == CUDNN_STATUS_SUCCESS) {                                               \
				k = pick(ctx, perf, n, wsmax);                                          \
				if (k >= 0) {                                                           \
					pl->algo = (int)perf[k].algo;                                   \
					pl->ws = perf[k].memory;                                        \
					math = perf[k].mathType;                                        \
					found = 1;                                                      \
				}                                                                       \
			}                                                                               \
		}                                                                                       \
		if (!found) {                                                                           \
			how = P->find ? "heuristic (search found none)" : "heuristic";                 \
			n = 0;                                                                          \
			CU_CALL(ctx, GET, goto done);                                                   \
			k = pick(ctx, perf, n, limit);                                                  \
			if (k >= 0) {                                                                   \
				pl->algo = (int)perf[k].algo;                                           \
				pl->ws = perf[k].memory;                                                \
				math = perf[k].mathType;                                                \
				found = 1;                                                              \
			}                                                                               \
		}                                                                                       \
		(void)sizeof(ALGOT);                                                                    \
	} while (0)

	if (dir == CU_FWD)
		CHOOSE(cudnnConvolutionFwdAlgoPerf_t, cudnnGetConvolutionForwardAlgorithmMaxCount,
		       cudnnFindConvolutionForwardAlgorithmEx(h, pl->xd, in, pl->wd, filt, pl->cd, pl->yd, m.out, maxc,
							      &n, perf, m.ws, wsmax),
		       cudnnGetConvolutionForwardAlgorithm_v7(h, pl->xd, pl->wd, pl->cd, pl->yd, maxc, &n, perf),
		       cudnnConvolutionFwdAlgo_t);
	else if (dir == CU_BWD_DATA)
		CHOOSE(cudnnConvolutionBwdDataAlgoPerf_t, cudnnGetConvolutionBackwardDataAlgorithmMaxCount,
		       cudnnFindConvolutionBackwardDataAlgorithmEx(h, pl->wd, filt, pl->yd, out, pl->cd, pl->xd, m.out,
								   maxc, &n, perf, m.ws, wsmax),
		       cudnnGetConvolutionBackwardDataAlgorithm_v7(h, pl->wd, pl->yd, pl->cd, pl->xd, maxc, &n, perf),
		       cudnnConvolutionBwdDataAlgo_t);
	else
		CHOOSE(cudnnConvolutionBwdFilterAlgoPerf_t, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount,
		       cudnnFindConvolutionBackwardFilterAlgorithmEx(h, pl->xd, in, pl->yd, out, pl->cd, pl->wd, m.out,
								     maxc, &n, perf, m.ws, wsmax),
		       cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, pl->xd, pl->yd, pl->cd, pl->wd, maxc, &n,
								     perf),
		       cudnnConvolutionBwdFilterAlgo_t);
#undef CHOOSE

	/* what the search timed is kept for the next run */
	if (found && P->plan_cache != NULL && strcmp(how, "find") == 0) {
		char val[64];
		snprintf(val, sizeof val, "%d %d %zu", pl->algo, (int)math, pl->ws);
		if (br_kvfile_put(P->plan_cache, ckey, val) < 0 && P->log)
			fprintf(stderr, "br cuda: plan cache: %s\n", br_error());
	}
chosen:
	if (!found) {
		br_ctx_fail(ctx,
			    "conv %s: no cuDNN algorithm for input (%d,%d,%d,%d) NHWC, %d filters %dx%d, pad %d, stride "
			    "%d, %s (search status: %s)",
			    dir_name(dir), pl->key[3], pl->key[4], pl->key[5], pl->key[6], pl->key[7], pl->key[8],
			    pl->key[8], pl->key[9], pl->key[10], ctx->desc, cudnnGetErrorString(fs));
		goto done;
	}
	if (ctx->precision == BR_PREC_FP32)
		math = CUDNN_FMA_MATH;
	CU_CALL(ctx, cudnnSetConvolutionMathType(pl->cd, math), goto done);
	if (P->log)
		fprintf(stderr, "br cuda: conv %s in (%d,%d,%d,%d) k %d r %d pad %d stride %d: %s algo %d ws %zu math %d\n",
			dir_name(dir), pl->key[3], pl->key[4], pl->key[5], pl->key[6], pl->key[7], pl->key[8],
			pl->key[9], pl->key[10], how, pl->algo, pl->ws, (int)math);
	rc = 0;
done:
	find_mem_free(&m);
	return rc;
}

struct cu_plan *cu_plan_get(br_ctx *ctx, int dir, int n, int c, int h, int w, int kout, int r, int pad, int stride,
			    const void *in, const void *filt, const void *out)
{
	struct cu_priv *P = cu_p(ctx);
	int key[PLAN_KEYS] = {dir, P->bf16, ctx->precision, n, c, h, w, kout, r, pad, stride};
	cudnnDataType_t dt = P->bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
	size_t esz = P->bf16 ? sizeof(bf16) : sizeof(float);
	struct cu_plan *pl;
	int on, oc, oh, ow, eh, ew, i;

	for (i = 0; i < P->nplans; i++)
		if (memcmp(P->plans[i]->key, key, sizeof key) == 0)
			return P->plans[i];

	if (P->nplans == P->cap_plans) {
		int cap = P->cap_plans ? 2 * P->cap_plans : 32;
		struct cu_plan **np = (struct cu_plan **)realloc(P->plans, (size_t)cap * sizeof *np);
		if (np == NULL) {
			br_ctx_fail(ctx, "conv: out of host memory");
			return NULL;
		}
		P->plans = np;
		P->cap_plans = cap;
	}
	pl = (struct cu_plan *)calloc(1, sizeof *pl);
	if (pl == NULL) {
		br_ctx_fail(ctx, "conv: out of host memory");
		return NULL;
	}
	memcpy(pl->key, key, sizeof key);
	eh = (h + 2 * pad - r) / stride + 1;
	ew = (w + 2 * pad - r) / stride + 1;
	pl->in_bytes = (size_t)n * c * h * w * esz;
	pl->filt_bytes = (size_t)kout * c * r * r * esz;
	pl->out_bytes = (size_t)n * kout * eh * ew * esz;

	CU_CALL(ctx, cudnnCreateTensorDescriptor(&pl->xd), goto fail);
	CU_CALL(ctx, cudnnCreateTensorDescriptor(&pl->yd), goto fail);
	CU_CALL(ctx, cudnnCreateFilterDescriptor(&pl->wd), goto fail);
	CU_CALL(ctx, cudnnCreateConvolutionDescriptor(&pl->cd), goto fail);
	CU_CALL(ctx, cudnnSetTensor4dDescriptor(pl->xd, CUDNN_TENSOR_NHWC, dt, n, c, h, w), goto fail);
	CU_CALL(ctx, cudnnSetFilter4dDescriptor(pl->wd, dt, CUDNN_TENSOR_NHWC, kout, c, r, r), goto fail);
	CU_CALL(ctx,
		cudnnSetConvolution2dDescriptor(pl->cd, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
						CUDNN_DATA_FLOAT),
		goto fail);
	CU_CALL(ctx,
		cudnnSetConvolutionMathType(pl->cd, ctx->precision == BR_PREC_FP32   ? CUDNN_FMA_MATH
						    : ctx->precision == BR_PREC_BF16 ? CUDNN_TENSOR_OP_MATH
										     : CUDNN_DEFAULT_MATH),
		goto fail);
	CU_CALL(ctx, cudnnGetConvolution2dForwardOutputDim(pl->cd, pl->xd, pl->wd, &on, &oc, &oh, &ow), goto fail);
	if (on != n || oc != kout || oh != eh || ow != ew) {
		br_ctx_fail(ctx, "conv: cuDNN output shape (%d,%d,%d,%d), expected (%d,%d,%d,%d)", on, oc, oh, ow, n,
			    kout, eh, ew);
		goto fail;
	}
	CU_CALL(ctx, cudnnSetTensor4dDescriptor(pl->yd, CUDNN_TENSOR_NHWC, dt, n, kout, eh, ew), goto fail);
	if (plan_choose(ctx, pl, dir, in, filt, out) < 0)
		goto fail;
	P->plans[P->nplans++] = pl;
	return pl;
fail:
	plan_destroy(pl);
	free(pl);
	return NULL;
}

int cu_plan_run(br_ctx *ctx, struct cu_plan *pl, void *in, void *filt, void *out, float beta)
{
	struct cu_priv *P = cu_p(ctx);
	const float one = 1.0f;
	void *ws = NULL;

	if (pl->ws > 0) {
		ws = cu_slot_get(ctx, SLOT_WS, pl->ws);
		if (ws == NULL)
			return -1;
	}
	switch (pl->key[0]) {
	case CU_FWD:
		CU_CHECK(ctx, cudnnConvolutionForward(P->cudnn, &one, pl->xd, in, pl->wd, filt, pl->cd,
						      (cudnnConvolutionFwdAlgo_t)pl->algo, ws, pl->ws, &beta, pl->yd,
						      out));
		break;
	case CU_BWD_DATA:
		CU_CHECK(ctx, cudnnConvolutionBackwardData(P->cudnn, &one, pl->wd, filt, pl->yd, out, pl->cd,
							   (cudnnConvolutionBwdDataAlgo_t)pl->algo, ws, pl->ws, &beta,
							   pl->xd, in));
		break;
	default:
		CU_CHECK(ctx, cudnnConvolutionBackwardFilter(P->cudnn, &one, pl->xd, in, pl->yd, out, pl->cd,
							     (cudnnConvolutionBwdFilterAlgo_t)pl->algo, ws, pl->ws,
							     &beta, pl->wd, filt));
		break;
	}
	return 0;
}
