/*
 * cpu.c - the CPU backend: its table, context, memory and tensor moves.
 *
 * Tensors are NCHW float32 in host memory, so uploads and downloads are
 * copies and br_sync has nothing to wait for.  Profiling uses the
 * dispatcher's wall clock (NULL hooks).
 *
 * Environment: BR_CPU_REFERENCE=1 runs every convolution through the direct
 * reference (conv_ref.c), =0 never (fast paths even for tiny shapes); unset,
 * the reference serves only tiny shapes.  The vector code: AVX2+FMA where
 * the CPU has both, else the portable code; BR_CPU_SIMD=generic forces the
 * portable code, BR_CPU_SIMD=avx512 the AVX-512 GEMM micro-kernel where the
 * CPU has AVX-512 F/VL/DQ/BW (opt-in: no faster on Zen 4).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static int cpu_init(br_ctx *ctx)
{
	struct cpu_priv *p = calloc(1, sizeof *p);
	const char *e;
	int simd = CPU_SIMD_GENERIC;

	if (p == NULL)
		return br_ctx_fail(ctx, "cpu: out of memory");
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		simd = CPU_SIMD_AVX2;
	if (simd == CPU_SIMD_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
		simd = CPU_SIMD_AVX512;
	/* AVX-512 only on request: on Zen 4 it measured no faster than AVX2 */
	e = getenv("BR_CPU_SIMD");
	if (e != NULL && strcmp(e, "generic") == 0)
		simd = CPU_SIMD_GENERIC;
	else if ((e == NULL || strcmp(e, "avx512") != 0) && simd > CPU_SIMD_AVX2)
		simd = CPU_SIMD_AVX2;
	p->simd = simd;
	p->reference = -1;
	e = getenv("BR_CPU_REFERENCE");
	if (e != NULL && e[0] != '\0')
		p->reference = atoi(e) != 0;
	ctx->priv = p;
	snprintf(ctx->desc, sizeof ctx->desc, "cpu (%d thread%s, %s%s)", ctx->nthreads, ctx->nthreads == 1 ? "" : "s",
		 cpu_simd(ctx)->name, p->reference == 1 ? ", reference convolutions" : "");
	ctx->precision = BR_PREC_FP32;
	return 0;
}

/* ---- constant weights (br_hint_const) and what is derived from them ---- */

int cpu_is_const(const br_ctx *ctx, const void *p, size_t bytes)
{
	const struct cpu_priv *P = cpu_priv(ctx);
	const char *a = p;

	for (int i = 0; i < P->nkonst; i++)
		if (a >= P->konst[i].p && bytes <= P->konst[i].bytes && (size_t)(a - P->konst[i].p) <= P->konst[i].bytes - bytes)
			return 1;
	return 0;
}

const float *cpu_derived_get(const br_ctx *ctx, const float *w, int c, int kk, int flip, int mr)
{
	const struct cpu_priv *P = cpu_priv(ctx);

	for (int i = 0; i < P->nder; i++) {
		const struct cpu_derived *d = &P->der[i];
		if (d->w == w && d->c == c && d->kk == kk && d->flip == flip && d->mr == mr)
			return d->u;
	}
	return NULL;
}

void cpu_derived_add(br_ctx *ctx, const float *w, int c, int kk, int flip, int mr, const float *u, size_t n)
{
	struct cpu_priv *P = cpu_priv(ctx);
	struct cpu_derived *d;
	float *copy;

	if (P->nder == P->cap_der) {
		int cap = P->cap_der ? 2 * P->cap_der : 16;
		d = realloc(P->der, (size_t)cap * sizeof *d);
		if (d == NULL)
			return;
		P->der = d;
		P->cap_der = cap;
	}
	copy = malloc(n * sizeof *copy);
	if (copy == NULL)
		return;
	memcpy(copy, u, n * sizeof *copy);
	d = &P->der[P->nder++];
	d->w = w, d->c = c, d->kk = kk, d->flip = flip, d->mr = mr, d->u = copy, d->n = n;
}

int cpu_hint_const(br_ctx *ctx, const void *p, size_t bytes, int on)
{
	struct cpu_priv *P = cpu_priv(ctx);
	const char *a = p;
	int i, j;

	if (on) {
		if (P->nkonst == P->cap_konst) {
			int cap = P->cap_konst ? 2 * P->cap_konst : 8;
			void *k = realloc(P->konst, (size_t)cap * sizeof *P->konst);
			if (k == NULL)
				return br_ctx_fail(ctx, "out of memory");
			P->konst = k;
			P->cap_konst = cap;
		}
		P->konst[P->nkonst].p = a;
		P->konst[P->nkonst].bytes = bytes;
		P->nkonst++;
		return 0;
	}
	/* withdrawn: the ranges that overlap it, and everything derived from weights inside it */
	for (i = j = 0; i < P->nkonst; i++)
		if (P->konst[i].p + P->konst[i].bytes <= a || P->konst[i].p >= a + bytes)
			P->konst[j++] = P->konst[i];
	P->nkonst = j;
	for (i = j = 0; i < P->nder; i++) {
		const char *w = (const char *)P->der[i].w;
		if (w >= a && w < a + bytes)
			free(P->der[i].u);
		else
			P->der[j++] = P->der[i];
	}
	P->nder = j;
	return 0;
}

static void cpu_fini(br_ctx *ctx)
{
	struct cpu_priv *p = cpu_priv(ctx);

	if (p != NULL) {
		for (int i = 0; i < p->nder; i++)
			free(p->der[i].u);
		free(p->der);
		free(p->konst);
		free(p->ws);
	}
	free(p);
	ctx->priv = NULL;
}

static int cpu_sync(br_ctx *ctx) { return 0; }

/* The vector code in use: AVX-512 (its GEMM micro-kernel and packing, AVX2's
 * transforms), AVX2, or the portable code. */
const struct cpu_simd *cpu_simd(const br_ctx *ctx)
{
	int s = cpu_priv(ctx)->simd;

	if (s == CPU_SIMD_AVX512)
		return &cpu_simd_avx512;
	return s == CPU_SIMD_AVX2 ? &cpu_simd_avx2 : &cpu_simd_generic;
}

void *cpu_ws(br_ctx *ctx, size_t bytes)
{
	struct cpu_priv *p = cpu_priv(ctx);
	void *q;

	bytes = (bytes + 4095) & ~(size_t)4095;
	if (bytes <= p->ws_bytes)
		return p->ws;
	free(p->ws);
	p->ws = NULL;
	p->ws_bytes = 0;
	q = aligned_alloc(64, bytes);
	if (q == NULL) {
		br_ctx_fail(ctx, "cpu: out of memory (%zu bytes of workspace)", bytes);
		return NULL;
	}
	memset(q, 0, bytes);
	p->ws = q;
	p->ws_bytes = bytes;
	return q;
}

/* ---- memory ---- */

static void *cpu_malloc(br_ctx *ctx, size_t bytes)
{
	void *p;

	bytes = (bytes + 255) & ~(size_t)255;
	if (bytes == 0)
		bytes = 256;
	p = aligned_alloc(256, bytes);
	if (p == NULL)
		br_ctx_fail(ctx, "cpu: out of memory (%zu bytes)", bytes);
	return p;
}

static void cpu_free(br_ctx *ctx, void *p) { free(p); }

int cpu_memset0(br_ctx *ctx, void *p, size_t bytes)
{
	if (bytes > 0)
		memset(p, 0, bytes);
	return 0;
}

/* host and "device" are the same memory: every copy is a memmove */
static int cpu_memcpy(void *dst, const void *src, size_t bytes)
{
	if (bytes > 0)
		memmove(dst, src, bytes);
	return 0;
}
int cpu_memcpy_h2d(br_ctx *ctx, void *dst, const void *src, size_t bytes) { return cpu_memcpy(dst, src, bytes); }
int cpu_memcpy_d2h(br_ctx *ctx, void *dst, const void *src, size_t bytes) { return cpu_memcpy(dst, src, bytes); }
int cpu_memcpy_d2d(br_ctx *ctx, void *dst, const void *src, size_t bytes) { return cpu_memcpy(dst, src, bytes); }

static size_t cpu_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w)
{
	size_t b;

	if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
		return 0;
	b = (size_t)n * c * h * w * sizeof(float);
	return (b + 255) & ~(size_t)255;
}

int cpu_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host)
{
	memcpy(t->data, host, cpu_numel(t) * sizeof(float));
	return 0;
}

int cpu_tensor_download(br_ctx *ctx, float *host, const br_tensor *t)
{
	memcpy(host, t->data, cpu_numel(t) * sizeof(float));
	return 0;
}

/* the table: the services above, and cpu_<op> for every op of the list */
const struct br_backend br_backend_cpu = {
	.name = "cpu",
	.init = cpu_init,
	.fini = cpu_fini,
	.sync = cpu_sync,
	.malloc = cpu_malloc,
	.free = cpu_free,
	.host_alloc = cpu_malloc,
	.host_free = cpu_free,
	.tensor_bytes = cpu_tensor_bytes,
	.prof_begin = NULL,
	.prof_end = NULL,
	.prof_collect = NULL,
	BR_OPS(BR_OP_INIT_CPU_)
};

/* ---- recorded work: the CPU runs every call as it comes ---- */

int cpu_graph_begin(br_ctx *ctx) { return br_ctx_fail(ctx, "the CPU backend does not record calls"); }
int cpu_graph_end(br_ctx *ctx, br_graph **g)
{
	*g = NULL;
	return br_ctx_fail(ctx, "the CPU backend does not record calls");
}
int cpu_graph_launch(br_ctx *ctx, br_graph *g) { return br_ctx_fail(ctx, "the CPU backend has no graphs"); }
int cpu_graph_free(br_ctx *ctx, br_graph *g) { return 0; }
