/*
 * convt.cu - 2x2 transposed convolution, stride 2, with bias.
 *
 * y[n,2i+a,2j+b,k] = b[k] + sum_c x[n,i,j,c] * w[c,k,a,b]
 *
 * With C and K multiples of 8 this is cuDNN on NHWC: the transposed conv is
 * the data gradient of the conv y -> x (input (N,K,2H,2W), C filters of
 * (K,2,2), stride 2, no padding), whose filter (C,K,2,2) is PyTorch's layout
 * of w.  Its backward is that conv's forward (dx) and filter gradient (dw).
 * Other channel counts use direct kernels.
 */
#include "common.cuh"

/* ---- direct kernels ------------------------------------------------------------------------- */

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_convt_fwd_direct(T *d_y, const T *d_x, const float *d_w, const float *d_b, int H, int W, int C, int K,
			   long long total)
/* d_y: (N,2H,2W,K)  d_x: (N,H,W,C)  d_w: (C,K,2,2)  d_b: (K) or NULL; total = N*2H*2W*K */
{
	CU_GRID_LOOP(o, total)
	{
		const int k = (int)(o % K);
		const long long q = o / K; /* output pixel */
		const int ow = (int)(q % (2 * W)), oh = (int)((q / (2 * W)) % (2 * H));
		const long long n = q / (4LL * H * W);
		const int a = oh & 1, b = ow & 1;
		const T *xp = d_x + ((n * H + (oh >> 1)) * W + (ow >> 1)) * C;
		const float *wp = d_w + (long long)k * 4 + a * 2 + b;
		float acc = d_b != NULL ? d_b[k] : 0.0f;
		for (int c = 0; c < C; c++)
			acc += cu_ld(xp, c) * wp[(long long)c * K * 4];
		cu_st(d_y, o, acc);
	}
}

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_convt_bwd_data_direct(T *d_dx, const T *d_dy, const float *d_w, int accum, int H, int W, int C, int K,
				long long total)
/* d_dx: (N,H,W,C)  d_dy: (N,2H,2W,K)  d_w: (C,K,2,2); total = N*H*W*C */
{
	CU_GRID_LOOP(o, total)
	{
		const int c = (int)(o % C);
		const long long p = o / C;
		const int j = (int)(p % W), i = (int)((p / W) % H);
		const long long n = p / ((long long)H * W);
		const float *wc = d_w + (long long)c * K * 4;
		float acc = 0.0f;
		for (int a = 0; a < 2; a++)
			for (int b = 0; b < 2; b++) {
				const T *dyp = d_dy + ((n * 2 * H + 2 * i + a) * 2 * W + 2 * j + b) * K;
				for (int k = 0; k < K; k++)
					acc += cu_ld(dyp, k) * wc[k * 4 + a * 2 + b];
			}
		if (accum)
			acc += cu_ld(d_dx, o);
		cu_st(d_dx, o, acc);
	}
}

/* dw[c,k,a,b] = sum over input pixels p of x[p,c] * dy[2i+a, 2j+b, k]; lane j = c*K + k, 4 sums */
template <class T> struct convt_dw_f {
	const T *x;  /* (N,H,W,C) */
	const T *dy; /* (N,2H,2W,K) */
	int H, W, C, K;
	__device__ void operator()(int, long long p, int lane, double *acc) const
	{
		const int c = lane / K, k = lane % K;
		const int j = (int)(p % W), i = (int)((p / W) % H);
		const long long n = p / ((long long)H * W);
		const float xv = cu_ld(x, p * C + c);
#pragma unroll
		for (int a = 0; a < 2; a++)
#pragma unroll
			for (int b = 0; b < 2; b++)
				acc[a * 2 + b] += (double)(xv * cu_ld(dy, ((n * 2 * H + 2 * i + a) * 2 * W + 2 * j + b) * K + k));
	}
};

template <class T>
static cudaError_t launch_convt_fwd_direct(T *d_y, const T *d_x, const float *d_w, const float *d_b, int N, int H,
					   int W, int C, int K, cudaStream_t st)
{
	long long total = 4LL * N * H * W * K;
	k_convt_fwd_direct<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, H, W, C, K,
										   total);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_convt_bwd_data_direct(T *d_dx, const T *d_dy, const float *d_w, int accum, int N, int H,
						int W, int C, int K, cudaStream_t st)
{
	long long total = (long long)N * H * W * C;
	k_convt_bwd_data_direct<T><<<cu_blocks(total, CU_THREADS), CU_THREADS, 0, st>>>(d_dx, d_dy, d_w, accum, H, W,
											C, K, total);
	return cudaGetLastError();
}

/* ---- entries ------------------------------------------------------------------------------------ */

/* The cuDNN conv behind the transposed conv: input (N,K,2H,2W), C filters 2x2, stride 2. */
static struct cu_plan *convt_plan(br_ctx *ctx, int dir, const br_tensor *big, int C, const void *in, const void *filt,
				  const void *out)
{
	return cu_plan_get(ctx, dir, big->n, big->c, big->h, big->w, C, 2, 0, 2, in, filt, out);
}

template <class T>
static int convt_fwd_t(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b)
{
	cudaStream_t st = cu_stream(ctx);
	const int N = x->n, C = x->c, H = x->h, W = x->w, K = y->c;

	if (cu_use_cudnn(C, K)) {
		T *wk = (T *)cu_slot_get(ctx, SLOT_W, (size_t)C * K * 4 * sizeof(T));
		struct cu_plan *pl;

		/* filter (C,K,2,2) -> (C,2,2,K) */
		if (wk == NULL || cu_weights_krsc(ctx, wk, w, C, K, 4) < 0)
			return -1;
		pl = convt_plan(ctx, CU_BWD_DATA, y, C, y->data, wk, x->data);
		if (pl == NULL || cu_plan_run(ctx, pl, y->data, wk, x->data, 0.0f) < 0)
			return -1;
		if (b != NULL && cu_bias_add(ctx, y->data, b, 4LL * N * H * W, K) < 0)
			return -1;
		return 0;
	}
	CU_CHECK(ctx, launch_convt_fwd_direct(static_cast<T *>(y->data), static_cast<const T *>(x->data), w, b, N, H,
					      W, C, K, st));
	return 0;
}

int cu_convt2x2_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b)
{
	if (cu_p(ctx)->bf16)
		return convt_fwd_t<bf16>(ctx, y, x, w, b);
	return convt_fwd_t<float>(ctx, y, x, w, b);
}

template <class T>
static int convt_bwd_t(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
		       const float *w, int accum)
{
	cudaStream_t st = cu_stream(ctx);
	const int N = x->n, C = x->c, H = x->h, W = x->w, K = dy->c;

	if (cu_use_cudnn(C, K)) {
		if (dw != NULL) {
			T *dwk = (T *)cu_slot_get(ctx, SLOT_DW, (size_t)C * K * 4 * sizeof(T));
			struct cu_plan *pl;

			if (dwk == NULL)
				return -1;
			pl = convt_plan(ctx, CU_BWD_FILTER, dy, C, dy->data, dwk, x->data);
			if (pl == NULL || cu_plan_run(ctx, pl, dy->data, dwk, x->data, 0.0f) < 0)
				return -1;
			if (cu_weights_add_kcrs(ctx, dw, dwk, C, K, 4) < 0)
				return -1;
		}
		if (dx != NULL) {
			T *wk = (T *)cu_slot_get(ctx, SLOT_W, (size_t)C * K * 4 * sizeof(T));
			struct cu_plan *pl;

			if (wk == NULL || cu_weights_krsc(ctx, wk, w, C, K, 4) < 0)
				return -1;
			pl = convt_plan(ctx, CU_FWD, dy, C, dy->data, wk, dx->data);
			if (pl == NULL || cu_plan_run(ctx, pl, dy->data, wk, dx->data, accum ? 1.0f : 0.0f) < 0)
				return -1;
		}
	} else {
		if (dw != NULL) {
			cu_red_geom g = cu_red_plan((long long)N * H * W, C * K, 1);
			double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 4));
			convt_dw_f<T> f = {static_cast<const T *>(x->data), static_cast<const T *>(dy->data), H, W, C, K};

			if (d_part == NULL)
				return -1;
			CU_CHECK(ctx, cu_launch_reduce<4>(d_part, g, f, st));
			if (cu_red_add_flat(ctx, dw, d_part, g.splits, C * K, 4) < 0)
				return -1;
		}
		if (dx != NULL)
			CU_CHECK(ctx, launch_convt_bwd_data_direct(static_cast<T *>(dx->data),
								   static_cast<const T *>(dy->data), w, accum, N, H, W,
								   C, K, st));
	}
	if (db != NULL && cu_bias_grad(ctx, db, dy->data, 4LL * N * H * W, K) < 0)
		return -1;
	return 0;
}

int cu_convt2x2_backward(br_ctx *ctx, br_tensor *dx, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
			 const float *w, int accum)
{
	if (cu_p(ctx)->bf16)
		return convt_bwd_t<bf16>(ctx, dx, dw, db, dy, x, w, accum);
	return convt_bwd_t<float>(ctx, dx, dw, db, dy, x, w, accum);
}
