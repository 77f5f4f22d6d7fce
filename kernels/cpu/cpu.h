/*
 * cpu.h - internals shared by the files of the CPU backend (kernels/cpu/).
 *
 * Layout: NCHW float32, contiguous.  Threads: OpenMP, ctx->nthreads.
 * Every reduction is done in a fixed order that does not depend on the
 * number of threads (or, where a per-thread partial is unavoidable, in the
 * order of thread ids), so results are bit-identical run to run.
 */
#ifndef BR_CPU_H
#define BR_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef _OPENMP
#include <omp.h>
static inline int omp_get_thread_num_(void) { return omp_get_thread_num(); }
#else
static inline int omp_get_thread_num_(void) { return 0; }
#endif

/* SIMD level chosen at run time (cpu.c). */
enum { CPU_SIMD_GENERIC = 0, CPU_SIMD_AVX2 = 1, CPU_SIMD_AVX512 = 2 };

/* A form derived from constant weights (br_hint_const): the Winograd
 * filters U of one 3x3 convolution's weights w. */
struct cpu_derived {
	const float *w;
	int c, kk, flip, mr;
	float *u;
	size_t n; /* floats in u */
};

struct cpu_priv {
	int simd;      /* CPU_SIMD_* in use */
	int reference; /* 1: direct reference convolutions always; 0: fast always; -1: auto */
	void *ws;      /* grow-only workspace, 64-byte aligned */
	size_t ws_bytes;
	/* br_hint_const: the constant ranges, and what was derived from them */
	struct {
		const char *p;
		size_t bytes;
	} *konst;
	int nkonst, cap_konst;
	struct cpu_derived *der;
	int nder, cap_der;
};

/* 1 when [p, p + bytes) lies inside a range hinted constant */
int cpu_is_const(const br_ctx *ctx, const void *p, size_t bytes);
/* the derived entry for (w, c, kk, flip, mr), or NULL; cpu_derived_add
 * keeps a copy of u (n floats) for it (a failure only means no cache) */
const float *cpu_derived_get(const br_ctx *ctx, const float *w, int c, int kk, int flip, int mr);
void cpu_derived_add(br_ctx *ctx, const float *w, int c, int kk, int flip, int mr, const float *u, size_t n);

static inline struct cpu_priv *cpu_priv(const br_ctx *ctx) { return (struct cpu_priv *)ctx->priv; }

/* Workspace of at least bytes (contents unspecified, zero when new); NULL
 * and a message in ctx on failure.  One op at a time uses it. */
void *cpu_ws(br_ctx *ctx, size_t bytes);

static inline size_t cpu_numel(const br_tensor *t) { return (size_t)t->n * t->c * t->h * t->w; }
static inline float *cpu_f(const br_tensor *t) { return (float *)t->data; }

/* The affine of a BatchNorm folded for a pre-activation: shared by
 * bn_train_stats, bn_infer_fold and bn_relu_backward so that the ReLU mask
 * recomputed in the backward is bit-identical to the forward's. */
static inline void cpu_bn_fold(float *scale, float *shift, float gamma, float beta, float mean, float var,
			       float eps)
{
	double s = (double)gamma / __builtin_sqrt((double)var + (double)eps);
	float sf = (float)s;

	*scale = sf;
	*shift = (float)((double)beta - (double)mean * (double)sf);
}

/* Channel k's batch statistics (mean mu, biased variance vb, clamped at 0,
 * over count values) into the outputs of a training BatchNorm, any of them
 * NULL: mean, var, the folded scale and shift, and the running statistics
 * (momentum; unbiased variance).  Shared by bn_train_stats and
 * bn_stats_from_sums, so that one batch and its split halves agree. */
static inline void cpu_bn_stats_store(int k, double mu, double vb, double count, float *mean, float *var,
				      float *scale, float *shift, float *rmean, float *rvar, const float *gamma,
				      const float *beta, float eps, float momentum)
{
	float mf, vf;

	if (vb < 0.0)
		vb = 0.0;
	mf = (float)mu;
	vf = (float)vb;
	if (mean != NULL)
		mean[k] = mf;
	if (var != NULL)
		var[k] = vf;
	if (scale != NULL)
		cpu_bn_fold(&scale[k], &shift[k], gamma[k], beta[k], mf, vf, eps);
	if (rmean != NULL)
		rmean[k] = (float)((1.0 - momentum) * rmean[k] + (double)momentum * mu);
	if (rvar != NULL)
		rvar[k] = (float)((1.0 - momentum) * rvar[k] + (double)momentum * vb * count / (count - 1.0));
}

/* The pre-activation value of one element: the same two roundings (no
 * fused multiply-add) in every CPU path, scalar or vector. */
static inline float cpu_preact1(float x, float s, float b, int relu)
{
	float a = x * s + b;

	return relu && !(a > 0.0f) ? 0.0f : a;
}

/* Per-channel pre-activation as (scale, shift, relu); identity = (1, 0, 0). */
struct cpu_pre {
	const float *scale, *shift; /* NULL: 1 and 0 */
	int relu;
};
/* pre (checked by dispatch: scale and shift both set or both NULL) as a cpu_pre */
static inline struct cpu_pre cpu_pre_of(const br_preact *pre)
{
	struct cpu_pre p = { NULL, NULL, 0 };

	if (pre != NULL) {
		p.scale = pre->scale;
		p.shift = pre->shift;
		p.relu = pre->relu != 0;
	}
	return p;
}
static inline float cpu_pre_s(const struct cpu_pre *p, int c) { return p->scale ? p->scale[c] : 1.0f; }
static inline float cpu_pre_b(const struct cpu_pre *p, int c) { return p->shift ? p->shift[c] : 0.0f; }

enum { CPU_GEMM_PLANE = 0, CPU_GEMM_CONVT_FWD = 1, CPU_GEMM_CONVT_BWD = 2 };

/* ---- convolutions (conv_ref.c: direct, obviously correct) ---- */
int cpu_conv_ref_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c,
			 int kk, int h, int wd, int k, const struct cpu_pre *pre);
int cpu_conv_ref_backward(br_ctx *ctx, float *da, float *dw, float *db, const float *dy, const float *x,
			  const float *w, int n, int c, int kk, int h, int wd, int k, const struct cpu_pre *pre,
			  int accum);

/* ---- fast convolutions ---- */
/* winograd.c: 3x3 forward (y = conv(pre(x)) + b, or y += when accum) */
int cpu_wino_conv3(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c, int kk,
		   int h, int wd, const struct cpu_pre *pre, int flip, int accum);
/* conv_dw.c: weight/bias gradients of a 3x3 or 1x1 conv, added */
int cpu_conv_dw(br_ctx *ctx, float *dw, float *db, const float *dy, const float *x, int n, int c, int kk, int h,
		int wd, int k, const struct cpu_pre *pre, int mode);
/* conv1x1.c: y (+)= W pre(x) (+ b); wtrans: W is (C,K) read as (K,C)^T;
 * mode: the plain 1x1 convolution, or the 2x2 transposed one's forward
 * (output rows scattered) or backward-data (input rows gathered) */
int cpu_conv1x1(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c, int kk,
		int h, int wd, const struct cpu_pre *pre, int wtrans, int accum, int mode);

/* rows of pixels p0 .. p0+len-1 of the plane (h, w) at offset (a, b) of
 * its 2x up-sampled plane src (2h, 2w) */
static inline void cpu_gather2(float *dst, const float *src, int w, size_t p0, size_t len, int a, int b)
{
	size_t p = p0, e = p0 + len;

	while (p < e) {
		size_t i = p / w, j = p % w, stop = (i + 1) * (size_t)w < e ? (i + 1) * (size_t)w : e;
		size_t cnt = stop - p;
		const float *r = src + (2 * i + a) * 2 * (size_t)w + b + 2 * j;
#pragma omp simd
		for (size_t q = 0; q < cnt; q++)
			dst[q] = r[2 * q];
		dst += cnt;
		p = stop;
	}
}

/* ---- SIMD primitives (simd_generic.c, simd_avx2.c, simd_avx512.c) ---- */

#define WINO_MR 4  /* the portable and AVX2 GEMM micro-kernel: rows (output channels) */
#define WINO_NR 24 /* and columns (tiles, pixels) */
#define DW_MR 6       /* the weight gradient's micro-kernel (gemm_rows): rows of A^T */
#define DW_NR 16      /* and output channels */

struct cpu_simd {
	const char *name;
	int mr, nr; /* GEMM micro-kernel shape: mr divides 8 */
	/* Input transform of the tiles q0 .. q0+nq-1 of tile row ty of one
	 * channel plane x (h, w): V[xi * vstride + col + j] for xi < 36, j < nq
	 * (may write up to 8 past col + nq - 1). */
	void (*wino_in)(float *V, size_t vstride, const float *x, int h, int w, int ty, int q0, int nq, float s,
			float b, int relu);
	/* Output transform: M[xi * mstride + col + j] -> y (h, w) plane rows
	 * 4ty..4ty+3, tiles q0 .. q0+nq-1; adds bias; accumulates into y when acc. */
	void (*wino_out)(float *y, const float *M, size_t mstride, int h, int w, int ty, int q0, int nq, float bias,
			 int acc);
	/* u[xi * 8 + l] = (G g_l G^T)[xi] for 8 kernels g[r * 8 + l], r < 9 */
	void (*wino_filter8)(float *u, const float *g);
	/* C[i*ldc + j] (+)= sum_p A[p*mr + i] * B[p*ldb + j], i < mr, j < nr; added when acc */
	void (*gemm)(int kc, const float *A, const float *B, size_t ldb, float *C, size_t ldc, int acc);
	/* C[i*ldc + j] (+)= sum_p A[i][p] * B[p*ldb + j], i < 6, j < 16: rows of
	 * A read in place (the weight gradient's shifted planes) */
	void (*gemm_rows)(int kc, const float *const *A, const float *B, size_t ldb, float *C, size_t ldc, int acc);
	/* dst[q * 16 + j] = src[j][q], j < 16, q < len */
	void (*pack_cols16)(float *dst, const float *const *src, size_t len);
	/* dst[i] = pre(src[i]) for i < n */
	void (*pre_copy)(float *dst, const float *src, size_t n, float s, float b, int relu);
};
extern const struct cpu_simd cpu_simd_generic;
extern const struct cpu_simd cpu_simd_avx2;
extern const struct cpu_simd cpu_simd_avx512;
/* the AVX2 functions that the AVX-512 table shares */
void cpu_avx2_wino_in(float *V, size_t vstride, const float *x, int h, int w, int ty, int q0, int nq, float s, float b,
		      int relu);
void cpu_avx2_wino_out(float *y, const float *M, size_t mstride, int h, int w, int ty, int q0, int nq, float bias,
		       int acc);
void cpu_avx2_wino_filter8(float *u, const float *g);
void cpu_avx2_pre_copy(float *dst, const float *src, size_t n, float s, float b, int relu);
void cpu_avx2_gemm_rows(int kc, const float *const *A, const float *B, size_t ldb, float *C, size_t ldc, int acc);
void cpu_avx2_pack_cols16(float *dst, const float *const *src, size_t len);
const struct cpu_simd *cpu_simd(const br_ctx *ctx);


/* ---- the backend's entries: cpu_<op> for every op of the list in
 * backend.h (one file each), called with checked arguments ---- */
BR_OPS(BR_OP_ENTRY_CPU_)

/* 4 float lanes as a GCC vector (one SSE register in the baseline build);
 * sums below run 8 lanes as two of them.  Unaligned loads and stores. */
typedef float cpu_v4 __attribute__((vector_size(16)));
typedef int32_t cpu_v4i __attribute__((vector_size(16)));
static inline cpu_v4 cpu_ld4(const float *p)
{
	cpu_v4 v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}
static inline void cpu_st4(float *p, cpu_v4 v) { __builtin_memcpy(p, &v, sizeof v); }
static inline cpu_v4 cpu_set4(float a) { return (cpu_v4){ a, a, a, a }; }
/* lanes where m is set keep v, the others are 0 */
static inline cpu_v4 cpu_and4(cpu_v4 v, cpu_v4i m) { return (cpu_v4)((cpu_v4i)v & m); }
/* the sum of 8 lanes lo[0..3], hi[0..3] in a fixed order */
static inline float cpu_hsum8(cpu_v4 lo, cpu_v4 hi)
{
	cpu_v4 s = lo + hi;
	return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Sums in blocks: 8 float lanes over blocks of 256 values, blocks added in
 * double.  Fixed order; relative error ~1e-7 for any n. */
static inline double cpu_sum(const float *x, size_t n)
{
	double tot = 0.0;
	size_t i = 0;

	while (i < n) {
		size_t e = n - i < 256 ? n : i + 256;
		cpu_v4 a0 = cpu_set4(0.0f), a1 = a0;
		float t = 0.0f;
		for (; i + 8 <= e; i += 8) {
			a0 += cpu_ld4(x + i);
			a1 += cpu_ld4(x + i + 4);
		}
		for (; i < e; i++)
			t += x[i];
		tot += (double)(cpu_hsum8(a0, a1) + t);
	}
	return tot;
}

static inline double cpu_dot(const float *x, const float *y, size_t n)
{
	double tot = 0.0;
	size_t i = 0;

	while (i < n) {
		size_t e = n - i < 256 ? n : i + 256;
		cpu_v4 a0 = cpu_set4(0.0f), a1 = a0;
		float t = 0.0f;
		for (; i + 8 <= e; i += 8) {
			a0 += cpu_ld4(x + i) * cpu_ld4(y + i);
			a1 += cpu_ld4(x + i + 4) * cpu_ld4(y + i + 4);
		}
		for (; i < e; i++)
			t += x[i] * y[i];
		tot += (double)(cpu_hsum8(a0, a1) + t);
	}
	return tot;
}

/* exp(x) for x <= 0 (Cephes' expf: range reduction by ln 2, degree-6
 * polynomial; ~1 ulp), scalar and 4 lanes with the same operations in the
 * same order, so that vector bodies and scalar tails agree bit for bit. */
#define CPU_EXP_POLY(x, n, y)                                                                             \
	do {                                                                                              \
		(x) = (x) - (n) * 0.693359375f;                                                           \
		(x) = (x) - (n) * -2.12194440e-4f;                                                         \
		(y) = 1.9875691500e-4f * (x) + 1.3981999507e-3f;                                           \
		(y) = (y) * (x) + 8.3334519073e-3f;                                                        \
		(y) = (y) * (x) + 4.1665795894e-2f;                                                        \
		(y) = (y) * (x) + 1.6666665459e-1f;                                                        \
		(y) = (y) * (x) + 5.0000001201e-1f;                                                        \
		(y) = (y) * ((x) * (x)) + (x) + 1.0f;                                                       \
	} while (0)

static inline float cpu_expneg(float x)
{
	float n, y;
	int32_t e;

	if (x < -87.0f)
		x = -87.0f;
	n = (float)(int32_t)(x * 1.44269504088896341f - 0.5f); /* round half down, x <= 0 */
	e = (int32_t)n;
	CPU_EXP_POLY(x, n, y);
	union {
		int32_t i;
		float f;
	} u = { (e + 127) << 23 };
	return y * u.f;
}

static inline cpu_v4 cpu_expneg4(cpu_v4 x)
{
	cpu_v4 n, y, lo = cpu_set4(-87.0f);
	cpu_v4i e;

	cpu_v4i m = x < lo; /* NaN stays NaN */

	x = (cpu_v4)(((cpu_v4i)lo & m) | ((cpu_v4i)x & ~m));
	e = __builtin_convertvector(x * 1.44269504088896341f - 0.5f, cpu_v4i);
	n = __builtin_convertvector(e, cpu_v4);
	CPU_EXP_POLY(x, n, y);
	return y * (cpu_v4)((e + 127) << 23);
}

/* Stable logistic function: e = exp(-|z|), 1 / (1 + e) or e / (1 + e). */
static inline float cpu_sigmoid(float z)
{
	float e = cpu_expneg(z >= 0.0f ? -z : z), r = 1.0f / (1.0f + e);
	return z >= 0.0f ? r : e * r;
}

static inline cpu_v4 cpu_sigmoid4(cpu_v4 z)
{
	cpu_v4 zero = cpu_set4(0.0f);
	cpu_v4i pos = z >= zero;
	cpu_v4 a = (cpu_v4)(((cpu_v4i)(zero - z) & pos) | ((cpu_v4i)z & ~pos));
	cpu_v4 e = cpu_expneg4(a), r = 1.0f / (1.0f + e);
	return (cpu_v4)(((cpu_v4i)r & pos) | ((cpu_v4i)(e * r) & ~pos));
}

/* s[i] = sigmoid(z[i]), i < n */
static inline void cpu_sigmoid_n(float *s, const float *z, size_t n)
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		cpu_st4(s + i, cpu_sigmoid4(cpu_ld4(z + i)));
	for (; i < n; i++)
		s[i] = cpu_sigmoid(z[i]);
}

/* OpenMP helpers: number of threads for a loop of work items. */
static inline int cpu_nt(const br_ctx *ctx, size_t work, size_t min_per_thread)
{
	size_t t = work / (min_per_thread ? min_per_thread : 1);

	if (t < 1)
		t = 1;
	return t < (size_t)ctx->nthreads ? (int)t : ctx->nthreads;
}

#endif /* BR_CPU_H */
