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

static void cpu_fini(br_ctx *ctx)
{
	struct cpu_priv *p = cpu_priv(ctx);

	if (p != NULL)
		free(p->ws);
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

int cpu_check_t(br_ctx *ctx, const char *op, const br_tensor *t, const char *name)
{
	if (t == NULL || t->data == NULL)
		return br_ctx_fail(ctx, "%s: %s is NULL", op, name);
	if (t->n <= 0 || t->c <= 0 || t->h <= 0 || t->w <= 0)
		return br_ctx_fail(ctx, "%s: %s has shape (%d,%d,%d,%d)", op, name, t->n, t->c, t->h, t->w);
	return 0;
}

int cpu_check_p(br_ctx *ctx, const char *op, const void *p, const char *name)
{
	if (p == NULL)
		return br_ctx_fail(ctx, "%s: %s is NULL", op, name);
	return 0;
}

int cpu_pre_get(br_ctx *ctx, const char *op, struct cpu_pre *p, const br_preact *pre)
{
	p->scale = p->shift = NULL;
	p->relu = 0;
	if (pre == NULL)
		return 0;
	if ((pre->scale == NULL) != (pre->shift == NULL))
		return br_ctx_fail(ctx, "%s: pre-activation needs both scale and shift, or neither", op);
	p->scale = pre->scale;
	p->shift = pre->shift;
	p->relu = pre->relu != 0;
	return 0;
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

static int cpu_memset0(br_ctx *ctx, void *p, size_t bytes)
{
	if (bytes == 0)
		return 0;
	if (p == NULL)
		return br_ctx_fail(ctx, "memset0: NULL pointer");
	memset(p, 0, bytes);
	return 0;
}

static int cpu_memcpy(br_ctx *ctx, void *dst, const void *src, size_t bytes)
{
	if (bytes == 0)
		return 0;
	if (dst == NULL || src == NULL)
		return br_ctx_fail(ctx, "memcpy: NULL pointer");
	memmove(dst, src, bytes);
	return 0;
}

static size_t cpu_tensor_bytes(const br_ctx *ctx, int n, int c, int h, int w)
{
	size_t b;

	if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
		return 0;
	b = (size_t)n * c * h * w * sizeof(float);
	return (b + 255) & ~(size_t)255;
}

static int cpu_tensor_upload(br_ctx *ctx, br_tensor *t, const float *host)
{
	if (cpu_check_t(ctx, "tensor_upload", t, "tensor") < 0 || cpu_check_p(ctx, "tensor_upload", host, "host") < 0)
		return -1;
	memcpy(t->data, host, cpu_numel(t) * sizeof(float));
	return 0;
}

static int cpu_tensor_download(br_ctx *ctx, float *host, const br_tensor *t)
{
	if (cpu_check_t(ctx, "tensor_download", t, "tensor") < 0 ||
	    cpu_check_p(ctx, "tensor_download", host, "host") < 0)
		return -1;
	memcpy(host, t->data, cpu_numel(t) * sizeof(float));
	return 0;
}

const struct br_backend br_backend_cpu = {
	.name = "cpu",
	.init = cpu_init,
	.fini = cpu_fini,
	.sync = cpu_sync,
	.malloc = cpu_malloc,
	.free = cpu_free,
	.host_alloc = cpu_malloc,
	.host_free = cpu_free,
	.memset0 = cpu_memset0,
	.memcpy_h2d = cpu_memcpy,
	.memcpy_d2h = cpu_memcpy,
	.memcpy_d2d = cpu_memcpy,
	.tensor_bytes = cpu_tensor_bytes,
	.tensor_upload = cpu_tensor_upload,
	.tensor_download = cpu_tensor_download,
	.prof_begin = NULL,
	.prof_end = NULL,
	.prof_collect = NULL,
	.conv2d_forward = cpu_conv2d_forward,
	.conv2d_backward = cpu_conv2d_backward,
	.convt2x2_forward = cpu_convt2x2_forward,
	.convt2x2_backward = cpu_convt2x2_backward,
	.bn_train_stats = cpu_bn_train_stats,
	.bn_infer_fold = cpu_bn_infer_fold,
	.bn_relu_backward = cpu_bn_relu_backward,
	.relu_backward = cpu_relu_backward,
	.add = cpu_add,
	.acc = cpu_acc,
	.maxpool2_forward = cpu_maxpool2_forward,
	.maxpool2_backward = cpu_maxpool2_backward,
	.concat_forward = cpu_concat_forward,
	.concat_backward = cpu_concat_backward,
	.upsample_forward = cpu_upsample_forward,
	.upsample_backward = cpu_upsample_backward,
	.gate_forward = cpu_gate_forward,
	.gate_backward = cpu_gate_backward,
	.avgpool_forward = cpu_avgpool_forward,
	.avgpool_backward = cpu_avgpool_backward,
	.scale_forward = cpu_scale_forward,
	.scale_backward = cpu_scale_backward,
	.linear_forward = cpu_linear_forward,
	.linear_backward = cpu_linear_backward,
	.vec_relu_forward = cpu_vec_relu_forward,
	.vec_relu_backward = cpu_vec_relu_backward,
	.vec_sigmoid_forward = cpu_vec_sigmoid_forward,
	.vec_sigmoid_backward = cpu_vec_sigmoid_backward,
	.dropout_forward = cpu_dropout_forward,
	.dropout_backward = cpu_dropout_backward,
	.loss_bce_dice = cpu_loss_bce_dice,
	.adam_step = cpu_adam_step,
	.count_nonfinite = cpu_count_nonfinite,
};
