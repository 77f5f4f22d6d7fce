/*
 * slices.cu - batches of axial slices out of a case record in device memory
 * and the heads' probabilities back into one, so that a whole case is
 * uploaded once and only its label map comes down.  One thread per
 * element of the batch; the record is planar float32, the batch an NHWC
 * tensor of the context's element type.
 */
#include "common.cuh"

/* x (n, c, h, w) stored NHWC <- rec (c, nz, h, w): thread i walks the batch
 * in NHWC order (writes coalesced, reads strided by channel) */
template <class T>
__global__ void k_slices_gather(T *x, const float *rec, int c, int h, int w, long long nvox, long long total, int z0,
				int flip)
{
	const long long hw = (long long)h * w;

	CU_GRID_LOOP(i, total)
	{
		const int ch = (int)(i % c);
		const long long pix = i / c, xx = pix % w, yy = pix / w % h, s = pix / hw;
		const long long src = (long long)ch * nvox + (z0 + s) * hw + yy * w + (flip ? w - 1 - xx : xx);
		cu_st(x, i, rec[src]);
	}
}

template <class T> static int gather_t(br_ctx *ctx, br_tensor *x, const float *rec, int nz, int z0, int flip)
{
	const long long total = cu_numel(x), nvox = (long long)x->h * x->w * nz;

	k_slices_gather<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(
		static_cast<T *>(x->data), rec, x->c, x->h, x->w, nvox, total, z0, flip);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_slices_gather(br_ctx *ctx, br_tensor *x, const float *rec, int nz, int z0, int flip)
{
	return cu_p(ctx)->bf16 ? gather_t<bf16>(ctx, x, rec, nz, z0, flip) : gather_t<float>(ctx, x, rec, nz, z0, flip);
}

/* channel k of rec, slices z0.. += (or =) (float)(sigmoid(y) * scale); y (n, 1, h, w)
 * is the same in NCHW and NHWC.  Thread i owns one output voxel. */
template <class T>
__global__ void k_slices_scatter_sigmoid(float *rec, const T *y, int h, int w, long long total, int z0, int flip,
					 double scale, int accum)
{
	CU_GRID_LOOP(i, total)
	{
		const long long xx = i % w, row = i / w; /* row: slice * h + y */
		const float z = cu_ld(y, row * w + (flip ? w - 1 - xx : xx));
		const float p = 1.0f / (1.0f + expf(-z));
		const long long o = (long long)z0 * h * w + i;
		rec[o] = accum ? rec[o] + (float)(p * scale) : (float)(p * scale);
	}
}

template <class T>
static int scatter_t(br_ctx *ctx, float *rec, int k, int nz, const br_tensor *y, int z0, int flip, double scale,
		     int accum)
{
	const long long total = cu_numel(y), nvox = (long long)y->h * y->w * nz;

	k_slices_scatter_sigmoid<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(
		rec + (long long)k * nvox, static_cast<const T *>(y->data), y->h, y->w, total, z0, flip, scale, accum);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_slices_scatter_sigmoid(br_ctx *ctx, float *rec, int k, int nk, int nz, const br_tensor *y, int z0, int flip,
			      double scale, int accum)
{
	(void)nk;
	return cu_p(ctx)->bf16 ? scatter_t<bf16>(ctx, rec, k, nz, y, z0, flip, scale, accum)
			       : scatter_t<float>(ctx, rec, k, nz, y, z0, flip, scale, accum);
}
