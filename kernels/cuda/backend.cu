/*
 * backend.cu - the CUDA backend's table, context, memory and profiling.
 *
 * One stream per ctx; the cuDNN handle is created once and bound to it.
 * Every op is queued on that stream; only br_memcpy_d2h, br_tensor_download,
 * br_count_nonfinite and br_sync wait for the device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.cuh"

/* ---- errors ----------------------------------------------------------------------- */

int cu_fail_status(br_ctx *ctx, const char *call, const char *file, int line, cudaError_t e)
{
	(void)cudaGetLastError(); /* clear a non-sticky error so the next call is not blamed */
	return br_ctx_fail(ctx, "%s:%d: %s: %s (%s)", file, line, call, cudaGetErrorString(e), cudaGetErrorName(e));
}

int cu_fail_status(br_ctx *ctx, const char *call, const char *file, int line, cudnnStatus_t e)
{
	char msg[256];

	msg[0] = '\0';
	cudnnGetLastErrorString(msg, sizeof msg);
	return br_ctx_fail(ctx, "%s:%d: %s: %s%s%s", file, line, call, cudnnGetErrorString(e), msg[0] ? ": " : "",
			   msg);
}

/* ---- scratch slots ------------------------------------------------------------------ */

void *cu_slot_get(br_ctx *ctx, int slot, size_t bytes)
{
	struct cu_priv *P = cu_p(ctx);
	void *p = NULL;

	if (bytes == 0)
		bytes = 256;
	if (P->slot[slot] != NULL && P->slot_bytes[slot] >= bytes)
		return P->slot[slot];
	/* grow: finish queued work that may still use the old buffer */
	CU_CALL(ctx, cudaStreamSynchronize(P->stream), return NULL);
	if (P->slot[slot] != NULL) {
		CU_CALL(ctx, cudaFree(P->slot[slot]), return NULL);
		P->slot[slot] = NULL;
		P->slot_bytes[slot] = 0;
	}
	bytes = (bytes + 4095) & ~(size_t)4095;
	CU_CALL(ctx, cudaMalloc(&p, bytes), return NULL);
	P->slot_gen++;
	P->slot[slot] = p;
	P->slot_bytes[slot] = bytes;
	return p;
}

/* ---- device discovery ------------------------------------------------------------------ */

extern "C" int br_cuda_device_count(void)
{
	static int count = -1;
	int n = 0;

	if (count >= 0)
		return count;
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		(void)cudaGetLastError();
		n = 0;
	}
	count = n;
	return count;
}

__global__ void k_probe(int *d_x)
/* d_x: (1) */
{
	if (d_x != NULL)
		d_x[0] = 1;
}

static const char *prec_name(int p)
{
	switch (p) {
	case BR_PREC_FP32:
		return "fp32";
	case BR_PREC_TF32:
		return "tf32";
	case BR_PREC_BF16:
		return "bf16";
	default:
		return "default";
	}
}

static int env_flag(const char *name, int def)
{
	const char *s = getenv(name);

	if (s == NULL || s[0] == '\0')
		return def;
	return atoi(s) != 0;
}

static void cu_fini(br_ctx *ctx);

static int cu_init(br_ctx *ctx)
{
	struct cu_priv *P;
	cudaDeviceProp prop;
	cudaFuncAttributes fa;
	cudaError_t e;
	size_t ver;
	int ndev = br_cuda_device_count();

	if (ctx->device_index < 0 || ctx->device_index >= ndev)
		return br_ctx_fail(ctx, "cuda:%d: no such GPU (%d found)", ctx->device_index, ndev);
	P = (struct cu_priv *)calloc(1, sizeof *P);
	if (P == NULL)
		return br_ctx_fail(ctx, "cuda: out of host memory");
	P->prof_open = -1;
	ctx->priv = P;

	CU_CALL(ctx, cudaSetDevice(ctx->device_index), goto fail);
	CU_CALL(ctx, cudaGetDeviceProperties(&prop, ctx->device_index), goto fail);
	P->sm_count = prop.multiProcessorCount;
	P->cc_major = prop.major;
	P->cc_minor = prop.minor;
	/* this build carries machine code for sm_80 and sm_90 only: say so plainly */
	e = cudaFuncGetAttributes(&fa, k_probe);
	if (e != cudaSuccess) {
		(void)cudaGetLastError();
		br_ctx_fail(ctx,
			    "cuda:%d %s (compute capability %d.%d): no usable kernel image in this build (%s); "
			    "rebuild with CUDA_ARCHS including %d%d",
			    ctx->device_index, prop.name, prop.major, prop.minor, cudaGetErrorString(e), prop.major,
			    prop.minor);
		goto fail;
	}
	if (prop.major < 8) {
		br_ctx_fail(ctx, "cuda:%d %s: compute capability %d.%d, the CUDA backend needs 8.0 or newer",
			    ctx->device_index, prop.name, prop.major, prop.minor);
		goto fail;
	}
	ver = cudnnGetVersion();
	if (ver < 90000) {
		br_ctx_fail(ctx, "cuda: cuDNN %zu found at run time, 9.0 or newer needed", ver);
		goto fail;
	}

	if (ctx->precision == BR_PREC_DEFAULT)
		ctx->precision = prop.major >= 8 ? BR_PREC_TF32 : BR_PREC_FP32;
	P->bf16 = ctx->precision == BR_PREC_BF16;
	P->find = env_flag("BR_CUDNN_FIND", 1);
	P->deterministic = env_flag("BR_CUDNN_DETERMINISTIC", 0);
	P->log = env_flag("BR_CUDA_LOG", 0);
	cu_plan_cache_open(ctx, prop.name);

	CU_CALL(ctx, cudaStreamCreateWithFlags(&P->stream, cudaStreamNonBlocking), goto fail);
	CU_CALL(ctx, cudnnCreate(&P->cudnn), goto fail);
	CU_CALL(ctx, cudnnSetStream(P->cudnn, P->stream), goto fail);
	CU_CALL(ctx, cudaMallocHost((void **)&P->h_count, 64), goto fail);
	k_probe<<<1, 1, 0, P->stream>>>(NULL);
	CU_CALL(ctx, cudaGetLastError(), goto fail);
	CU_CALL(ctx, cudaStreamSynchronize(P->stream), goto fail);

	snprintf(ctx->desc, sizeof ctx->desc, "cuda:%d %.100s (%s)", ctx->device_index, prop.name,
		 prec_name(ctx->precision));
	return 0;
fail:
	cu_fini(ctx);
	return -1;
}

static void cu_fini(br_ctx *ctx)
{
	struct cu_priv *P = cu_p(ctx);
	int i;

	if (P == NULL)
		return;
	if (P->stream != NULL)
		(void)cudaStreamSynchronize(P->stream);
	cu_plans_free(ctx);
	cu_plan_cache_close(ctx);
	for (i = 0; i < SLOT_COUNT; i++)
		if (P->slot[i] != NULL)
			(void)cudaFree(P->slot[i]);
	for (i = 0; i < P->cap_ev; i++) {
		if (P->ev[i].beg != NULL)
			(void)cudaEventDestroy(P->ev[i].beg);
		if (P->ev[i].end != NULL)
			(void)cudaEventDestroy(P->ev[i].end);
	}
	free(P->ev);
	if (P->h_count != NULL)
		(void)cudaFreeHost(P->h_count);
	if (P->cudnn != NULL)
		(void)cudnnDestroy(P->cudnn);
	if (P->stream != NULL)
		(void)cudaStreamDestroy(P->stream);
	(void)cudaGetLastError();
	free(P);
	ctx->priv = NULL;
}

static int cu_sync(br_ctx *ctx)
{
	CU_CHECK(ctx, cudaStreamSynchronize(cu_stream(ctx)));
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

/* ---- memory ---------------------------------------------------------------------------- */

static void *cu_malloc(br_ctx *ctx, size_t bytes)
{
	void *p = NULL;

	if (bytes == 0)
		bytes = 256;
	CU_CALL(ctx, cudaMalloc(&p, bytes), return NULL); /* cudaMalloc aligns to at least 256 bytes */
	return p;
}

static void cu_free(br_ctx *ctx, void *p)
{
	/* cudaFree waits for the device, so queued work using p is finished */
	CU_CALL(ctx, cudaFree(p), return);
}

static void *cu_host_alloc(br_ctx *ctx, size_t bytes)
{
	void *p = NULL;

	if (bytes == 0)
		bytes = 256;
	/* callers may be other threads (r2u-infer's reader stages records):
	 * this context's device, and pinned for every context */
	CU_CALL(ctx, cudaSetDevice(ctx->device_index), return NULL);
	CU_CALL(ctx, cudaHostAlloc(&p, bytes, cudaHostAllocPortable), return NULL);
	return p;
}

static void cu_host_free(br_ctx *ctx, void *p)
{
	/* the host buffer may still be the source of an async copy */
	CU_CALL(ctx, cudaSetDevice(ctx->device_index), (void)0);
	CU_CALL(ctx, cudaStreamSynchronize(cu_stream(ctx)), (void)0);
	CU_CALL(ctx, cudaFreeHost(p), return);
}

int cu_memset0(br_ctx *ctx, void *p, size_t bytes)
{
	if (bytes == 0)
		return 0;
	CU_CHECK(ctx, cudaMemsetAsync(p, 0, bytes, cu_stream(ctx)));
	return 0;
}

int cu_memcpy_h2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (bytes == 0)
		return 0;
	CU_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cu_stream(ctx)));
	return 0;
}

int cu_memcpy_d2h(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (bytes == 0)
		return 0;
	CU_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cu_stream(ctx)));
	CU_CHECK(ctx, cudaStreamSynchronize(cu_stream(ctx)));
	return 0;
}

int cu_memcpy_d2d(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (bytes == 0 || dst == src)
		return 0;
	CU_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cu_stream(ctx)));
	return 0;
}

static size_t cu_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w)
{
	size_t e = cu_p(ctx)->bf16 ? sizeof(bf16) : sizeof(float);
	size_t b;

	if (n < 0 || c < 0 || h < 0 || w < 0)
		return 0;
	b = (size_t)n * c * h * w * e;
	return (b + 255) & ~(size_t)255;
}

/* ---- upload / download: host NCHW float32 <-> device NHWC ---------------------------------- */

template <class TI, class TO>
__global__ void k_transpose(TO *d_out, const TI *d_in, int R, int Cc)
/* d_in: (B, R, Cc)  d_out: (B, Cc, R), B = gridDim.z; 32x32 tiles, block (32, 8) */
{
	__shared__ float tile[32][33];
	const long long base = (long long)blockIdx.z * R * Cc;
	int x = blockIdx.x * 32 + threadIdx.x; /* column of in */
	int y;

	for (int k = 0; k < 32; k += 8) {
		y = blockIdx.y * 32 + threadIdx.y + k;
		if (x < Cc && y < R)
			tile[threadIdx.y + k][threadIdx.x] = cu_ld(d_in, base + (long long)y * Cc + x);
	}
	__syncthreads();
	x = blockIdx.y * 32 + threadIdx.x; /* column of out = row of in */
	for (int k = 0; k < 32; k += 8) {
		y = blockIdx.x * 32 + threadIdx.y + k; /* row of out = column of in */
		if (x < R && y < Cc)
			cu_st(d_out, base + (long long)y * R + x, tile[threadIdx.x][threadIdx.y + k]);
	}
}

template <class TI, class TO>
static cudaError_t launch_transpose(TO *d_out, const TI *d_in, int B, int R, int Cc, cudaStream_t st)
{
	dim3 grid((unsigned)((Cc + 31) / 32), (unsigned)((R + 31) / 32), (unsigned)B);
	k_transpose<TI, TO><<<grid, dim3(32, 8), 0, st>>>(d_out, d_in, R, Cc);
	return cudaGetLastError();
}

template <class TI, class TO> __global__ void k_convert(TO *d_out, const TI *d_in, long long n)
/* d_out, d_in: (n) */
{
	CU_GRID_LOOP(i, n)
	cu_st(d_out, i, cu_ld(d_in, i));
}

template <class TI, class TO> static cudaError_t launch_convert(TO *d_out, const TI *d_in, long long n, cudaStream_t st)
{
	k_convert<TI, TO><<<cu_blocks(n, CU_THREADS), CU_THREADS, 0, st>>>(d_out, d_in, n);
	return cudaGetLastError();
}

template <class T> static int upload_t(br_ctx *ctx, br_tensor *t, const float *host)
{
	cudaStream_t st = cu_stream(ctx);
	long long n = cu_numel(t);
	size_t bytes = (size_t)n * sizeof(float);
	bool same_layout = t->c == 1 || (t->h == 1 && t->w == 1);
	float *d_stage;

	if (same_layout && sizeof(T) == sizeof(float)) {
		CU_CHECK(ctx, cudaMemcpyAsync(t->data, host, bytes, cudaMemcpyHostToDevice, st));
		return 0;
	}
	d_stage = (float *)cu_slot_get(ctx, SLOT_STAGE, bytes);
	if (d_stage == NULL)
		return -1;
	CU_CHECK(ctx, cudaMemcpyAsync(d_stage, host, bytes, cudaMemcpyHostToDevice, st));
	if (same_layout)
		CU_CHECK(ctx, launch_convert(static_cast<T *>(t->data), d_stage, n, st));
	else /* per sample: (C, HW) -> (HW, C) */
		CU_CHECK(ctx, launch_transpose(static_cast<T *>(t->data), d_stage, t->n, t->c, t->h * t->w, st));
	return 0;
}

template <class T> static int download_t(br_ctx *ctx, float *host, const br_tensor *t)
{
	cudaStream_t st = cu_stream(ctx);
	long long n = cu_numel(t);
	size_t bytes = (size_t)n * sizeof(float);
	bool same_layout = t->c == 1 || (t->h == 1 && t->w == 1);
	float *d_stage;

	if (same_layout && sizeof(T) == sizeof(float)) {
		CU_CHECK(ctx, cudaMemcpyAsync(host, t->data, bytes, cudaMemcpyDeviceToHost, st));
	} else {
		d_stage = (float *)cu_slot_get(ctx, SLOT_STAGE, bytes);
		if (d_stage == NULL)
			return -1;
		if (same_layout)
			CU_CHECK(ctx, launch_convert(d_stage, static_cast<const T *>(t->data), n, st));
		else /* per sample: (HW, C) -> (C, HW) */
			CU_CHECK(ctx, launch_transpose(d_stage, static_cast<const T *>(t->data), t->n, t->h * t->w,
						       t->c, st));
		CU_CHECK(ctx, cudaMemcpyAsync(host, d_stage, bytes, cudaMemcpyDeviceToHost, st));
	}
	CU_CHECK(ctx, cudaStreamSynchronize(st));
	return 0;
}

int cu_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host)
{
	return cu_p(ctx)->bf16 ? upload_t<bf16>(ctx, t, host) : upload_t<float>(ctx, t, host);
}

int cu_tensor_download(br_ctx *ctx, float *host, const br_tensor *t)
{
	return cu_p(ctx)->bf16 ? download_t<bf16>(ctx, host, t) : download_t<float>(ctx, host, t);
}

/* ---- profiling: one pair of events per timed op ------------------------------------------------ */

static void cu_prof_begin(br_ctx *ctx, int op)
{
	struct cu_priv *P = cu_p(ctx);
	struct cu_event_pair *e;

	P->prof_open = -1;
	if (P->nev == P->cap_ev) {
		int cap = P->cap_ev ? 2 * P->cap_ev : 256;
		struct cu_event_pair *ev = (struct cu_event_pair *)realloc(P->ev, (size_t)cap * sizeof *ev);
		if (ev == NULL)
			return;
		memset(ev + P->cap_ev, 0, (size_t)(cap - P->cap_ev) * sizeof *ev);
		P->ev = ev;
		P->cap_ev = cap;
	}
	e = &P->ev[P->nev];
	if (e->beg == NULL)
		CU_CALL(ctx, cudaEventCreate(&e->beg), return);
	if (e->end == NULL)
		CU_CALL(ctx, cudaEventCreate(&e->end), return);
	CU_CALL(ctx, cudaEventRecord(e->beg, P->stream), return);
	e->op = op;
	P->prof_open = P->nev;
}

static void cu_prof_end(br_ctx *ctx, int op)
{
	struct cu_priv *P = cu_p(ctx);

	if (P->prof_open < 0 || P->prof_open != P->nev || P->ev[P->nev].op != op)
		return;
	CU_CALL(ctx, cudaEventRecord(P->ev[P->nev].end, P->stream), return);
	P->nev++;
	P->prof_open = -1;
}

static int cu_prof_collect(br_ctx *ctx, double *ms)
{
	struct cu_priv *P = cu_p(ctx);
	float t;
	int i, rc = 0;

	CU_CALL(ctx, cudaStreamSynchronize(P->stream), rc = -1);
	for (i = 0; i < P->nev && rc == 0; i++) {
		CU_CALL(ctx, cudaEventElapsedTime(&t, P->ev[i].beg, P->ev[i].end), rc = -1);
		if (rc == 0 && P->ev[i].op >= 0 && P->ev[i].op < BR_OP_COUNT)
			ms[P->ev[i].op] += t;
	}
	P->nev = 0;
	P->prof_open = -1;
	return rc;
}

/* ---- the table: the services above, and cu_<op> for every op of the list ------------------------- */

extern "C" const struct br_backend br_backend_cuda = {
	.name = "cuda",
	.init = cu_init,
	.fini = cu_fini,
	.sync = cu_sync,
	.malloc = cu_malloc,
	.free = cu_free,
	.host_alloc = cu_host_alloc,
	.host_free = cu_host_free,
	.tensor_bytes = cu_tensor_bytes,
	.prof_begin = cu_prof_begin,
	.prof_end = cu_prof_end,
	.prof_collect = cu_prof_collect,
	BR_OPS(BR_OP_INIT_CU_)
};
