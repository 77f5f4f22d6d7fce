/*
 * common.cuh - what every file of the CUDA backend shares (internal).
 *
 * Layout and types behind the API (kernels.h leaves them to the backend):
 * - activations (br_tensor) are stored NHWC: element (n,c,h,w) lives at
 *   ((n*H + h)*W + w)*C + c.  Their element type is float for BR_PREC_FP32
 *   and BR_PREC_TF32 and __nv_bfloat16 for BR_PREC_BF16 (one type per ctx).
 * - flat arrays (parameters, gradients, statistics, SE vectors, Adam state)
 *   are float32 in every precision.
 * - all arithmetic accumulates in float32; reductions combine partial sums in
 *   double in a fixed order, so results do not change from run to run.
 *
 * Three levels per op: a __global__ kernel (k_...), a launcher that takes a
 * cudaStream_t and returns cudaGetLastError() (launch_...), and the entry
 * called through the backend table (cu_...).  Every CUDA and cuDNN call goes
 * through CU_CHECK / CU_CALL, which name the call, file and line and record
 * the error in the ctx with br_ctx_fail.
 */
#ifndef BR_CUDA_COMMON_CUH
#define BR_CUDA_COMMON_CUH

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "backend.h"

typedef __nv_bfloat16 bf16;

/* ---- error checking -------------------------------------------------------- */

static inline bool cu_ok(cudaError_t e) { return e == cudaSuccess; }
static inline bool cu_ok(cudnnStatus_t e) { return e == CUDNN_STATUS_SUCCESS; }

/* Record "file:line: call: reason" in ctx; returns -1. */
int cu_fail_status(br_ctx *ctx, const char *call, const char *file, int line, cudaError_t e);
int cu_fail_status(br_ctx *ctx, const char *call, const char *file, int line, cudnnStatus_t e);

/* Run call; on failure record it and execute the statement fail. */
#define CU_CALL(ctx, call, fail)                                                   \
	do {                                                                       \
		auto st_ = (call);                                                 \
		if (!cu_ok(st_)) {                                                 \
			cu_fail_status((ctx), #call, __FILE__, __LINE__, st_);     \
			fail;                                                      \
		}                                                                  \
	} while (0)
#define CU_CHECK(ctx, call) CU_CALL(ctx, call, return -1)

/* ---- backend state ------------------------------------------------------------ */

/* Grow-only scratch buffers, one per purpose; growing synchronises the stream
 * first, so work already queued on the old buffer is finished. */
enum cu_slot {
	SLOT_WS,    /* cuDNN workspace */
	SLOT_ACT,   /* activated convolution input relu(x*scale+shift) */
	SLOT_W,     /* convolution weights as (K,R,S,C) in the tensor type */
	SLOT_DW,    /* cuDNN filter gradient (K,R,S,C) before it is added to dw */
	SLOT_STAGE, /* float32 NCHW staging for upload / download */
	SLOT_RED,   /* partial sums of the reductions (double) */
	SLOT_COEF,  /* small per-channel coefficients between two passes */
	SLOT_COUNT
};

struct cu_plan;

struct cu_event_pair {
	cudaEvent_t beg, end;
	int op;
};

struct cu_priv {
	cudaStream_t stream;
	cudnnHandle_t cudnn;
	int bf16;          /* tensors are __nv_bfloat16 (else float) */
	int sm_count;
	int cc_major, cc_minor;
	int find;          /* choose cuDNN algorithms with cudnnFind*Ex (else heuristics) */
	int deterministic; /* only deterministic cuDNN algorithms */
	int log;           /* BR_CUDA_LOG=1: print algorithm choices to stderr */
	void *slot[SLOT_COUNT];
	size_t slot_bytes[SLOT_COUNT];
	struct cu_plan **plans; /* owned, one allocation each */
	int nplans, cap_plans;
	struct br_kvfile *plan_cache; /* algorithms found in earlier runs (cudnn_plan.cu), or NULL */
	unsigned long long slot_gen; /* bumped whenever a scratch slot is reallocated (graphs go stale) */
	int capturing;               /* between br_graph_begin and br_graph_end */
	unsigned long long cap_gen;  /* slot_gen when the recording began */
	char plan_dev[192];           /* this GPU, cuDNN and settings, the first part of a cache key */
	/* profiling: begin/end event pairs recorded since the last collect */
	struct cu_event_pair *ev;
	int nev, cap_ev;
	int prof_open; /* index of the open bracket, or -1 */
	unsigned long long *h_count; /* pinned, for count_nonfinite */
};

static inline struct cu_priv *cu_p(const br_ctx *ctx) { return (struct cu_priv *)ctx->priv; }
static inline cudaStream_t cu_stream(const br_ctx *ctx) { return cu_p(ctx)->stream; }

/* A scratch buffer of at least bytes; NULL (error recorded) on failure.
 * Valid until the next cu_slot call for the same slot. */
void *cu_slot_get(br_ctx *ctx, int slot, size_t bytes);

/* ---- arguments ---------------------------------------------------------------------
 * dispatch.c has checked every argument before an entry is called (shapes,
 * NULL pointers, scale and shift of a pre-activation both set or both NULL);
 * an entry checks only what is particular to this backend. */

/* 1 when the pre-activation pre does something */
static inline int cu_preact_active(const br_preact *pre) { return pre != NULL && (pre->scale != NULL || pre->relu); }

static inline long long cu_numel(const br_tensor *t) { return (long long)t->n * t->c * t->h * t->w; }

/* ---- launch geometry -------------------------------------------------------------- */

#define CU_THREADS 256

/* blocks for a grid-stride loop over n items */
static inline unsigned cu_blocks(long long n, int threads)
{
	long long b = (n + threads - 1) / threads;
	if (b < 1)
		b = 1;
	if (b > (1LL << 20))
		b = 1LL << 20;
	return (unsigned)b;
}

#define CU_GRID_LOOP(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

/* ---- element access ----------------------------------------------------------------- */

__device__ __forceinline__ float cu_ld(const float *p, long long i) { return p[i]; }
__device__ __forceinline__ float cu_ld(const bf16 *p, long long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void cu_st(float *p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void cu_st(bf16 *p, long long i, float v) { p[i] = __float2bfloat16(v); }

/* Vector access: V consecutive elements starting at element iv*V, one 16-byte
 * load/store when V == 16/sizeof(T) (callers guarantee alignment), else V
 * scalar accesses. */
template <int V> struct cu_vec_io;
template <> struct cu_vec_io<1> {
	template <class T> __device__ static void ld(const T *p, long long iv, float (&o)[1]) { o[0] = cu_ld(p, iv); }
	template <class T> __device__ static void st(T *p, long long iv, const float (&o)[1]) { cu_st(p, iv, o[0]); }
};
template <> struct cu_vec_io<4> {
	__device__ static void ld(const float *p, long long iv, float (&o)[4])
	{
		float4 q = reinterpret_cast<const float4 *>(p)[iv];
		o[0] = q.x;
		o[1] = q.y;
		o[2] = q.z;
		o[3] = q.w;
	}
	__device__ static void st(float *p, long long iv, const float (&o)[4])
	{
		reinterpret_cast<float4 *>(p)[iv] = make_float4(o[0], o[1], o[2], o[3]);
	}
};
template <> struct cu_vec_io<8> {
	__device__ static void ld(const bf16 *p, long long iv, float (&o)[8])
	{
		uint4 q = reinterpret_cast<const uint4 *>(p)[iv];
		unsigned u[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
		for (int k = 0; k < 4; k++) {
			__nv_bfloat162 h = *reinterpret_cast<__nv_bfloat162 *>(&u[k]);
			float2 f = __bfloat1622float2(h);
			o[2 * k] = f.x;
			o[2 * k + 1] = f.y;
		}
	}
	__device__ static void st(bf16 *p, long long iv, const float (&o)[8])
	{
		unsigned u[4];
#pragma unroll
		for (int k = 0; k < 4; k++) {
			__nv_bfloat162 h = __floats2bfloat162_rn(o[2 * k], o[2 * k + 1]);
			u[k] = *reinterpret_cast<unsigned *>(&h);
		}
		reinterpret_cast<uint4 *>(p)[iv] = make_uint4(u[0], u[1], u[2], u[3]);
	}
};

/* elements per 16-byte vector */
template <class T> struct cu_vmax {
	static const int v = 16 / (int)sizeof(T);
};

static inline bool cu_aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

/* Elementwise kernel over n elements in vectors of V: op(iv) handles
 * elements iv*V .. iv*V+V-1. */
template <int V, class Op> __global__ void __launch_bounds__(CU_THREADS) k_map(Op op, long long nvec)
/* buffers: as described by Op; nvec = n / V */
{
	CU_GRID_LOOP(iv, nvec)
	op.template apply<V>(iv);
}

/* Launch op vectorised when every pointer in ptrs is 16-byte aligned, n is
 * a multiple of the vector width and so is inner (the channel count, so a
 * vector never straddles two pixels); else one element at a time. */
template <class T, class Op>
static cudaError_t cu_launch_map(Op op, long long n, int inner, const void *const *ptrs, int nptrs, cudaStream_t st)
{
	const int V = cu_vmax<T>::v;
	bool vec = n % V == 0 && inner % V == 0;
	for (int i = 0; i < nptrs && vec; i++)
		if (ptrs[i] != NULL && !cu_aligned16(ptrs[i]))
			vec = false;
	if (vec)
		k_map<V, Op><<<cu_blocks(n / V, CU_THREADS), CU_THREADS, 0, st>>>(op, n / V);
	else
		k_map<1, Op><<<cu_blocks(n, CU_THREADS), CU_THREADS, 0, st>>>(op, n);
	return cudaGetLastError();
}

/* ---- deterministic reductions ----------------------------------------------------------
 *
 * A reduction sums f(nb, p, j) over items p in [0, P) for every lane j in
 * [0, L) and batch slice nb in [0, NB), NS sums at a time.  Lanes are the
 * fastest index (channels of an NHWC tensor), so a warp reads contiguous
 * memory; with V > 1 one thread takes V consecutive lanes (one 16-byte
 * load): the functor is called as f(nb, p, j0, acc) for lanes j0..j0+V-1
 * with acc[v*NS + s].  Pass 1 (k_reduce) writes partial sums (NB, splits, L,
 * NS) in double; the op's finalize kernel adds the splits in order
 * (cu_red_sum).  The geometry depends on the shape only, so results are
 * reproducible. */

#define RED_THREADS 256

struct cu_red_geom {
	int tx;     /* vector lanes per block (power of two <= 32) */
	int gx;     /* blocks along lanes */
	int splits; /* blocks along items */
	int nb;
	long long P;
	int L; /* lanes (L % v == 0) */
	int v; /* lanes per thread */
};

static inline cu_red_geom cu_red_plan(long long P, int L, int nb, int v = 1)
{
	cu_red_geom g;
	int ty, lv = L / v;
	long long want, maxs;

	g.tx = 1;
	while (g.tx < lv && g.tx < 32)
		g.tx <<= 1;
	ty = RED_THREADS / g.tx;
	g.gx = (lv + g.tx - 1) / g.tx;
	g.nb = nb;
	g.P = P;
	g.L = L;
	g.v = v;
	want = 2048 / ((long long)g.gx * nb);
	maxs = (P + (long long)ty * 16 - 1) / ((long long)ty * 16); /* >= 16 items per thread */
	if (want > maxs)
		want = maxs;
	if (want > 1024)
		want = 1024;
	if (want < 1)
		want = 1;
	g.splits = (int)want;
	return g;
}

static inline size_t cu_red_bytes(const cu_red_geom &g, int ns)
{
	return (size_t)g.nb * g.splits * g.L * ns * sizeof(double);
}

template <int NS, int V, class F>
__global__ void __launch_bounds__(RED_THREADS) k_reduce(double *d_part, F f, long long P, int L, int tx_n)
/* d_part: (gridDim.z, gridDim.y, L, NS) partial sums of f over items p in [0,P),
 * lanes j in [0,L) (V per thread), batch slice blockIdx.z */
{
	__shared__ double sm[RED_THREADS * NS * V];
	const int tx = threadIdx.x % tx_n, ty = threadIdx.x / tx_n, tyn = blockDim.x / tx_n;
	const int jv = blockIdx.x * tx_n + tx;
	const int NA = NS * V;
	double acc[NS * V];

#pragma unroll
	for (int s = 0; s < NA; s++)
		acc[s] = 0.0;
	if (jv * V < L)
		for (long long p = (long long)blockIdx.y * tyn + ty; p < P; p += (long long)gridDim.y * tyn)
			f(blockIdx.z, p, jv * V, acc);
#pragma unroll
	for (int s = 0; s < NA; s++)
		sm[threadIdx.x * NA + s] = acc[s];
	__syncthreads();
	for (int h = tyn / 2; h > 0; h >>= 1) {
		if (ty < h)
#pragma unroll
			for (int s = 0; s < NA; s++)
				sm[threadIdx.x * NA + s] += sm[(threadIdx.x + h * tx_n) * NA + s];
		__syncthreads();
	}
	if (ty == 0 && jv * V < L)
#pragma unroll
		for (int s = 0; s < NA; s++)
			d_part[(((long long)blockIdx.z * gridDim.y + blockIdx.y) * L + jv * V) * NS + s] = sm[tx * NA + s];
}

template <int NS, int V = 1, class F>
static cudaError_t cu_launch_reduce(double *d_part, const cu_red_geom &g, F f, cudaStream_t st)
{
	dim3 grid((unsigned)g.gx, (unsigned)g.splits, (unsigned)g.nb);
	if (g.v != V || g.L % V != 0)
		return cudaErrorInvalidValue;
	k_reduce<NS, V, F><<<grid, RED_THREADS, 0, st>>>(d_part, f, g.P, g.L, g.tx);
	return cudaGetLastError();
}

/* Lanes per thread for a reduction over an NHWC tensor of C channels: a
 * 16-byte vector when C and the pointers allow it. */
template <class T> static inline int cu_red_vec(int C, const void *const *ptrs, int nptrs)
{
	const int V = cu_vmax<T>::v;
	if (C % V != 0)
		return 1;
	for (int i = 0; i < nptrs; i++)
		if (ptrs[i] != NULL && !cu_aligned16(ptrs[i]))
			return 1;
	return V;
}

/* Sum number s of lane j, slice nb, over the splits.  Warp-collective:
 * every lane of the warp calls it with the same arguments (lane l adds
 * splits l, l+32, ... then a butterfly); the order is fixed, so lane 0's
 * total is the same on every run.  Only lane 0 should store it. */
__device__ __forceinline__ double cu_red_sum(const double *d_part, int nb, int splits, int L, int NS, int j, int s)
{
	double t = 0.0;
	for (int y = (int)(threadIdx.x & 31); y < splits; y += 32)
		t += d_part[(((long long)nb * splits + y) * L + j) * NS + s];
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		t += __shfl_xor_sync(0xffffffffu, t, o);
	return t;
}

/* one warp per item: the loop is uniform across the warp (blockDim.x % 32 == 0) */
#define CU_WARP_LOOP(i, n)                                                                      \
	for (long long i = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; i < (n);      \
	     i += ((long long)gridDim.x * blockDim.x) >> 5)
#define CU_LANE0 ((threadIdx.x & 31) == 0)

/* blocks of CU_THREADS for one warp per item */
static inline unsigned cu_warp_blocks(long long items) { return cu_blocks(items * 32, CU_THREADS); }

/* ---- small device helpers ------------------------------------------------------------------ */

/* pre-activation of one input value of channel c (scale/shift may be NULL) */
__device__ __forceinline__ float cu_pre(float v, int c, const float *scale, const float *shift, int relu)
{
	if (scale != NULL)
		v = __fadd_rn(__fmul_rn(v, scale[c]), shift[c]); /* two roundings, as the CPU backend */
	if (relu)
		v = v > 0.0f ? v : 0.0f;
	return v;
}

/* the logistic function, in the CPU backend's overflow-safe form */
__device__ __forceinline__ float cu_sigmoid(float x)
{
	if (x >= 0.0f)
		return 1.0f / (1.0f + expf(-x));
	const float e = expf(x);
	return e / (1.0f + e);
}

/* ---- shared pieces of the convolutions (conv2d.cu, cudnn_plan.cu, convt.cu) -------------- */

enum cu_conv_dir { CU_FWD = 0, CU_BWD_DATA = 1, CU_BWD_FILTER = 2 };

/* A cuDNN convolution of an NHWC input (n,c,h,w) with kout filters of r x r,
 * padding pad, stride stride, in the ctx's type and precision.  Returns the
 * cached plan (descriptors + algorithm), choosing the algorithm on first
 * use.  in, filt, out: the buffers of this call (the conv's x, w, y), used
 * read-only by the algorithm search. */
struct cu_plan *cu_plan_get(br_ctx *ctx, int dir, int n, int c, int h, int w, int kout, int r, int pad, int stride,
			    const void *in, const void *filt, const void *out);
/* Run one direction of a plan.  FWD: out = conv(in, filt)*1 + out*beta.
 * BWD_DATA: in = dgrad(out, filt) + in*beta.  BWD_FILTER: filt = wgrad(in, out) + filt*beta. */
int cu_plan_run(br_ctx *ctx, struct cu_plan *pl, void *in, void *filt, void *out, float beta);
void cu_plans_free(br_ctx *ctx);
/* the file of algorithms found in earlier runs (cudnn_plan.cu) */
void cu_plan_cache_open(br_ctx *ctx, const char *gpu_name);
void cu_plan_cache_close(br_ctx *ctx);

/* cuDNN for this channel count (C, K multiples of 8, BR_CUDA_NO_CUDNN unset) */
int cu_use_cudnn(int C, int K);
/* out[j*NS + s] += sum over splits of a reduction (1, splits, L, NS) */
int cu_red_add_flat(br_ctx *ctx, float *out, const double *d_part, int splits, int L, int NS);
/* w (K,C,R,S) float32  ->  d_wk (K,R,S,C) in the ctx's type */
int cu_weights_krsc(br_ctx *ctx, void *d_wk, const float *w, int K, int C, int RS);
/* dw (K,C,R,S) float32 += d_dwk (K,R,S,C) in the ctx's type */
int cu_weights_add_kcrs(br_ctx *ctx, float *dw, const void *d_dwk, int K, int C, int RS);
/* y (P,K) NHWC += b[k] */
int cu_bias_add(br_ctx *ctx, void *y, const float *b, long long P, int K);
/* db[k] += sum over P pixels of dy (P,K) */
int cu_bias_grad(br_ctx *ctx, float *db, const void *dy, long long P, int K);
/* d_a = relu(x*scale+shift) over (P,C) into the ctx's type */
int cu_preact_apply(br_ctx *ctx, void *d_a, const void *x, const br_preact *pre, long long P, int C);

/* ---- the entries of the backend table: cu_<op> for every op of the list in backend.h ---- */

extern "C" {
BR_OPS(BR_OP_ENTRY_CU_)
}

#endif /* BR_CUDA_COMMON_CUH */
