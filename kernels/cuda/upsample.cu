/*
 * upsample.cu - bilinear up-sampling by an integer factor s, half-pixel
 * centres (PyTorch align_corners=False): source coordinate (d+0.5)/s - 0.5,
 * clamped below at 0, neighbours clamped to the edge.
 *
 * The backward is a gather (each input element sums the output gradients
 * whose interpolation touched it), so it needs no atomics and is
 * deterministic.
 */
#include "common.cuh"

/* neighbours i0, i1 and the weight l1 of i1 for output index d */
__device__ __forceinline__ void up_src(int d, int s, int in, int *i0, int *i1, float *l1)
{
	float src = ((float)d + 0.5f) / (float)s - 0.5f;
	if (src < 0.0f)
		src = 0.0f;
	int a = (int)src;
	if (a > in - 1)
		a = in - 1;
	*i0 = a;
	*i1 = a + 1 < in ? a + 1 : in - 1;
	*l1 = src - (float)a;
}

/* weight of input index i in output index d */
__device__ __forceinline__ float up_weight(int d, int i, int s, int in)
{
	int i0, i1;
	float l1, w = 0.0f;
	up_src(d, s, in, &i0, &i1, &l1);
	if (i0 == i)
		w += 1.0f - l1;
	if (i1 == i)
		w += l1;
	return w;
}

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_upsample_fwd(T *d_y, const T *d_x, int H, int W, int C, int s, long long total)
/* d_y: (N,H*s,W*s,C)  d_x: (N,H,W,C); total = N*H*s*W*s*C */
{
	const int Ho = H * s, Wo = W * s;
	CU_GRID_LOOP(o, total)
	{
		const int c = (int)(o % C);
		const long long q = o / C;
		const int ow = (int)(q % Wo), oh = (int)((q / Wo) % Ho);
		const long long n = q / ((long long)Ho * Wo);
		int h0, h1, w0, w1;
		float lh, lw;
		up_src(oh, s, H, &h0, &h1, &lh);
		up_src(ow, s, W, &w0, &w1, &lw);
		const T *xn = d_x + n * H * W * C + c;
		const float v00 = cu_ld(xn, ((long long)h0 * W + w0) * C), v01 = cu_ld(xn, ((long long)h0 * W + w1) * C);
		const float v10 = cu_ld(xn, ((long long)h1 * W + w0) * C), v11 = cu_ld(xn, ((long long)h1 * W + w1) * C);
		const float top = (1.0f - lw) * v00 + lw * v01, bot = (1.0f - lw) * v10 + lw * v11;
		cu_st(d_y, o, (1.0f - lh) * top + lh * bot);
	}
}

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_upsample_bwd(T *d_dx, const T *d_dy, int H, int W, int C, int s, int accum, long long total)
/* d_dx: (N,H,W,C)  d_dy: (N,H*s,W*s,C); total = N*H*W*C */
{
	const int Ho = H * s, Wo = W * s;
	CU_GRID_LOOP(o, total)
	{
		const int c = (int)(o % C);
		const long long p = o / C;
		const int j = (int)(p % W), i = (int)((p / W) % H);
		const long long n = p / ((long long)H * W);
		/* outputs that can touch row i: [(i-1)s, (i+2)s] clamped */
		const int r0 = (i - 1) * s > 0 ? (i - 1) * s : 0, r1 = (i + 2) * s < Ho - 1 ? (i + 2) * s : Ho - 1;
		const int q0 = (j - 1) * s > 0 ? (j - 1) * s : 0, q1 = (j + 2) * s < Wo - 1 ? (j + 2) * s : Wo - 1;
		const T *dyn = d_dy + n * Ho * Wo * C + c;
		float acc = 0.0f;
		for (int oh = r0; oh <= r1; oh++) {
			const float wh = up_weight(oh, i, s, H);
			if (wh == 0.0f)
				continue;
			float row = 0.0f;
			for (int ow = q0; ow <= q1; ow++) {
				const float ww = up_weight(ow, j, s, W);
				if (ww != 0.0f)
					row += ww * cu_ld(dyn, ((long long)oh * Wo + ow) * C);
			}
			acc += wh * row;
		}
		if (accum)
			acc += cu_ld(d_dx, o);
		cu_st(d_dx, o, acc);
	}
}

template <class T> static cudaError_t launch_upsample_fwd(T *d_y, const T *d_x, int N, int H, int W, int C, int s, cudaStream_t st)
{
	long long total = (long long)N * H * s * W * s * C;
	k_upsample_fwd<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, st>>>(d_y, d_x, H, W, C, s, total);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_upsample_bwd(T *d_dx, const T *d_dy, int N, int H, int W, int C, int s, int accum, cudaStream_t st)
{
	long long total = (long long)N * H * W * C;
	k_upsample_bwd<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, st>>>(d_dx, d_dy, H, W, C, s, accum, total);
	return cudaGetLastError();
}

int cu_upsample_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, int s)
{
	if (cu_p(ctx)->bf16)
		CU_CHECK(ctx, launch_upsample_fwd(static_cast<bf16 *>(y->data), static_cast<const bf16 *>(x->data), x->n,
						  x->h, x->w, x->c, s, cu_stream(ctx)));
	else
		CU_CHECK(ctx, launch_upsample_fwd(static_cast<float *>(y->data), static_cast<const float *>(x->data),
						  x->n, x->h, x->w, x->c, s, cu_stream(ctx)));
	return 0;
}

int cu_upsample_backward(br_ctx *ctx, br_tensor *dx, const br_tensor *dy, int s, int accum)
{
	if (cu_p(ctx)->bf16)
		CU_CHECK(ctx, launch_upsample_bwd(static_cast<bf16 *>(dx->data), static_cast<const bf16 *>(dy->data),
						  dx->n, dx->h, dx->w, dx->c, s, accum, cu_stream(ctx)));
	else
		CU_CHECK(ctx, launch_upsample_bwd(static_cast<float *>(dx->data), static_cast<const float *>(dy->data),
						  dx->n, dx->h, dx->w, dx->c, s, accum, cu_stream(ctx)));
	return 0;
}
