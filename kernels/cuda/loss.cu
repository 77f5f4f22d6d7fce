/*
 * loss.cu - deep-supervision head loss: BCE with logits (mean over the
 * batch's pixels) plus soft Dice, and its gradient, with no host round trip:
 * pass 1 reduces sum(bce), sum(p t), sum(p p), sum(t t) deterministically, a
 * one-thread finalize writes loss[0] and the gradient's coefficients to
 * device memory, pass 2 writes dlogit.  Logits have one channel, so NHWC
 * and NCHW coincide and pixel i of the logits is labels[i].
 */
#include "common.cuh"

#include "brats_labels.h"

enum { LS_KB, LS_KP, LS_KT, LS_N };

template <class T> struct loss_f {
	const T *z;          /* (M) */
	const uint8_t *lab;  /* (M) */
	int target;
	__device__ void operator()(int, long long i, int, double *acc) const
	{
		const float zi = cu_ld(z, i), t = br_target_of(lab[i], target), p = cu_sigmoid(zi);
		acc[0] += (double)((zi > 0.0f ? zi : 0.0f) - zi * t + log1pf(expf(-fabsf(zi))));
		acc[1] += (double)(p * t);
		acc[2] += (double)(p * p);
		acc[3] += (double)t;
	}
};

__global__ void k_loss_fin(float *d_loss, float *d_coef, const double *d_part, int splits, long long M, float weight)
/* d_loss: (1) or NULL  d_coef: (LS_N)  d_part: (1, splits, 1, 4) */
{
	if (blockIdx.x != 0 || threadIdx.x >= 32)
		return; /* one warp */
	const double bce = cu_red_sum(d_part, 0, splits, 1, 4, 0, 0);
	const double spt = cu_red_sum(d_part, 0, splits, 1, 4, 0, 1);
	const double spp = cu_red_sum(d_part, 0, splits, 1, 4, 0, 2);
	const double stt = cu_red_sum(d_part, 0, splits, 1, 4, 0, 3);
	const double s = spp + stt + 1.0, num = 2.0 * spt + 1.0;
	if (!CU_LANE0)
		return;
	if (d_loss != NULL)
		d_loss[0] = (float)(bce / (double)M + 1.0 - num / s);
	/* dL/dz = (p - t) / M + p (1 - p) (2 num p - 2 t s) / s^2 */
	d_coef[LS_KB] = (float)((double)weight / (double)M);
	d_coef[LS_KP] = (float)((double)weight * 2.0 * num / (s * s));
	d_coef[LS_KT] = (float)((double)weight * 2.0 / s);
}

template <class T>
__global__ void k_loss_grad(T *d_dz, const T *d_z, const uint8_t *d_lab, const float *d_coef, int target, long long M)
/* d_dz, d_z: (M)  d_lab: (M)  d_coef: (LS_N) */
{
	const float kb = d_coef[LS_KB], kp = d_coef[LS_KP], kt = d_coef[LS_KT];
	CU_GRID_LOOP(i, M)
	{
		const float t = br_target_of(d_lab[i], target), p = cu_sigmoid(cu_ld(d_z, i));
		cu_st(d_dz, i, kb * (p - t) + p * (1.0f - p) * (kp * p - kt * t));
	}
}

template <class T>
static int loss_t(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels, int target,
		  float weight)
{
	cudaStream_t st = cu_stream(ctx);
	const long long M = cu_numel(logit);
	cu_red_geom g = cu_red_plan(M, 1, 1);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 4));
	float *d_coef = (float *)cu_slot_get(ctx, SLOT_COEF, LS_N * sizeof(float));
	loss_f<T> f = {static_cast<const T *>(logit->data), labels, target};

	if (d_part == NULL || d_coef == NULL)
		return -1;
	CU_CHECK(ctx, cu_launch_reduce<4>(d_part, g, f, st));
	k_loss_fin<<<1, 32, 0, st>>>(loss, d_coef, d_part, g.splits, M, weight);
	CU_CHECK(ctx, cudaGetLastError());
	if (dlogit != NULL) {
		k_loss_grad<T><<<cu_blocks(M, CU_THREADS), CU_THREADS, 0, st>>>(
			static_cast<T *>(dlogit->data), static_cast<const T *>(logit->data), labels, d_coef, target, M);
		CU_CHECK(ctx, cudaGetLastError());
	}
	return 0;
}

int cu_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		     int target, float weight)
{
	if (cu_p(ctx)->bf16)
		return loss_t<bf16>(ctx, loss, dlogit, logit, labels, target, weight);
	return loss_t<float>(ctx, loss, dlogit, logit, labels, target, weight);
}

/* ---- a batch split across processes: the sums of one part, then the
 * loss and the gradient from the sums of the whole batch ---- */

__global__ void k_loss_sums_fin(double *d_sums, const double *d_part, int splits)
/* d_sums: (4)  d_part: (1, splits, 1, 4) */
{
	if (blockIdx.x != 0 || threadIdx.x >= 32)
		return; /* one warp */
	double s[4];
	for (int k = 0; k < 4; k++)
		s[k] = cu_red_sum(d_part, 0, splits, 1, 4, 0, k);
	if (CU_LANE0)
		for (int k = 0; k < 4; k++)
			d_sums[k] = s[k];
}

template <class T>
static int loss_sums_t(br_ctx *ctx, double *sums, const br_tensor *logit, const uint8_t *labels, int target)
{
	cudaStream_t st = cu_stream(ctx);
	const long long M = cu_numel(logit);
	cu_red_geom g = cu_red_plan(M, 1, 1);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 4));
	loss_f<T> f = {static_cast<const T *>(logit->data), labels, target};

	if (d_part == NULL)
		return -1;
	CU_CHECK(ctx, cu_launch_reduce<4>(d_part, g, f, st));
	k_loss_sums_fin<<<1, 32, 0, st>>>(sums, d_part, g.splits);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_loss_sums(br_ctx *ctx, double *sums, const br_tensor *logit, const uint8_t *labels, int target)
{
	if (cu_p(ctx)->bf16)
		return loss_sums_t<bf16>(ctx, sums, logit, labels, target);
	return loss_sums_t<float>(ctx, sums, logit, labels, target);
}

__global__ void k_loss_from_sums_fin(float *d_loss, float *d_coef, const double *d_sums, double count, float weight)
/* d_loss: (1) or NULL  d_coef: (LS_N)  d_sums: (4), whole batch */
{
	if (blockIdx.x != 0 || threadIdx.x != 0)
		return;
	const double s = d_sums[2] + d_sums[3] + 1.0, num = 2.0 * d_sums[1] + 1.0;
	if (d_loss != NULL)
		d_loss[0] = (float)(d_sums[0] / count + 1.0 - num / s);
	d_coef[LS_KB] = (float)((double)weight / count);
	d_coef[LS_KP] = (float)((double)weight * 2.0 * num / (s * s));
	d_coef[LS_KT] = (float)((double)weight * 2.0 / s);
}

template <class T>
static int loss_from_sums_t(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
			    const double *sums, double count, int target, float weight)
{
	cudaStream_t st = cu_stream(ctx);
	const long long M = cu_numel(logit);
	float *d_coef = (float *)cu_slot_get(ctx, SLOT_COEF, LS_N * sizeof(float));

	if (d_coef == NULL)
		return -1;
	k_loss_from_sums_fin<<<1, 32, 0, st>>>(loss, d_coef, sums, count, weight);
	CU_CHECK(ctx, cudaGetLastError());
	k_loss_grad<T><<<cu_blocks(M, CU_THREADS), CU_THREADS, 0, st>>>(
		static_cast<T *>(dlogit->data), static_cast<const T *>(logit->data), labels, d_coef, target, M);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_loss_from_sums(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		      const double *sums, double count, int target, float weight)
{
	if (cu_p(ctx)->bf16)
		return loss_from_sums_t<bf16>(ctx, loss, dlogit, logit, labels, sums, count, target, weight);
	return loss_from_sums_t<float>(ctx, loss, dlogit, logit, labels, sums, count, target, weight);
}
