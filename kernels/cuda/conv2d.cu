/*
 * conv2d.cu - 1x1 and 3x3 convolutions, stride 1, zero padding k/2, with the
 * pre-activation relu(x*scale+shift) of the input.
 *
 * Routing:
 * - C and K multiples of 8 (every layer of the network but four): cuDNN on
 *   NHWC tensors.  The activated input is written once into a scratch buffer
 *   by a fused elementwise pass (padding then pads the activated input with
 *   zeros, as the API asks); weights are re-laid (K,R,S,C) in the tensor type
 *   each call (2M parameters: cheap); the filter gradient comes back in that
 *   layout and type and is added to the float32 (K,C,R,S) dw.
 * - K == 1, k == 1 (the attention gate and the heads): one thread per pixel
 *   with 16-byte loads; backward: a vectorised reduction (dw) and an
 *   elementwise pass (da).
 * - C == 4, K a multiple of 32 (the input layer and its projection): one
 *   thread per pixel and 32 outputs, weights in shared memory; the filter
 *   gradient sums 32 outputs per warp in registers.
 * - otherwise (odd test shapes): direct kernels, the pre-activation applied
 *   on the fly; the filter gradient is a deterministic reduction.
 * BR_CUDA_NO_CUDNN=1 keeps cuDNN out: every shape takes the kernels of this file.
 */
#include "common.cuh"

/* ---- direct kernels --------------------------------------------------------------------- */

template <class T, int KS>
__global__ void __launch_bounds__(CU_THREADS)
	k_conv_fwd_direct(T *d_y, const T *d_x, const float *d_w, const float *d_b, const float *d_scale,
			  const float *d_shift, int relu, int H, int W, int C, int K, long long total)
/* d_y: (N,H,W,K)  d_x: (N,H,W,C)  d_w: (K,C,KS,KS)  d_b: (K) or NULL  d_scale, d_shift: (C) or NULL;
 * total = N*H*W*K */
{
	const int pad = KS / 2;
	CU_GRID_LOOP(o, total)
	{
		const int k = (int)(o % K);
		const long long p = o / K;
		const int wc = (int)(p % W), h = (int)((p / W) % H);
		const float *wk = d_w + (long long)k * C * KS * KS;
		float acc = d_b != NULL ? d_b[k] : 0.0f;
		for (int ky = 0; ky < KS; ky++) {
			const int hh = h + ky - pad;
			if (hh < 0 || hh >= H)
				continue;
			for (int kx = 0; kx < KS; kx++) {
				const int ww = wc + kx - pad;
				if (ww < 0 || ww >= W)
					continue;
				const T *xp = d_x + (p + (long long)(ky - pad) * W + (kx - pad)) * C;
				const float *wp = wk + ky * KS + kx;
				for (int c = 0; c < C; c++)
					acc += cu_pre(cu_ld(xp, c), c, d_scale, d_shift, relu) * wp[c * KS * KS];
			}
		}
		cu_st(d_y, o, acc);
	}
}

template <class T>
__global__ void __launch_bounds__(CU_THREADS)
	k_conv1x1_k1_fwd(T *d_y, const T *d_x, const float *d_w, const float *d_b, const float *d_scale,
			 const float *d_shift, int relu, long long P, int C)
/* d_y: (P) = (N,H,W,1)  d_x: (P,C)  d_w: (C)  d_b: (1) or NULL  d_scale, d_shift: (C) or NULL;
 * one warp per pixel */
{
	const int lane = threadIdx.x & 31;
	const long long nw = ((long long)gridDim.x * blockDim.x) >> 5;
	for (long long p = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; p < P; p += nw) {
		float acc = 0.0f;
		for (int c = lane; c < C; c += 32)
			acc += cu_pre(cu_ld(d_x, p * C + c), c, d_scale, d_shift, relu) * d_w[c];
#pragma unroll
		for (int o = 16; o > 0; o >>= 1)
			acc += __shfl_xor_sync(0xffffffffu, acc, o);
		if (lane == 0)
			cu_st(d_y, p, acc + (d_b != NULL ? d_b[0] : 0.0f));
	}
}

/* Few input channels (the network's 4-channel input layer): one thread per
 * pixel computes SC_KB outputs from the CC*KS*KS activated inputs held in
 * registers (pre-activation applied once per input, not per output); the
 * weights of the block's SC_KB outputs sit in shared memory as [tap][k], so
 * a warp reads them as broadcasts. */
#define SC_KB 32
#define SC_THREADS 256
template <class T, int KS, int CC>
__global__ void __launch_bounds__(SC_THREADS)
	k_conv_fwd_smallc(T *d_y, const T *d_x, const float *d_w, const float *d_b, const float *d_scale,
			  const float *d_shift, int relu, int H, int W, int K, long long P)
/* d_y: (P,K) NHWC, 16-byte aligned rows  d_x: (P,CC)  d_w: (K,CC,KS,KS)  d_b: (K) or NULL
 * d_scale, d_shift: (CC) or NULL; outputs k0 = blockIdx.y*SC_KB .. k0+SC_KB-1 */
{
	constexpr int TAPS = CC * KS * KS, pad = KS / 2, VM = cu_vmax<T>::v;
	__shared__ float sw[TAPS * SC_KB];
	__shared__ float sb[SC_KB];
	const int k0 = blockIdx.y * SC_KB;

	for (int i = threadIdx.x; i < TAPS * SC_KB; i += blockDim.x) {
		const int kb = i % SC_KB, t = i / SC_KB;
		sw[i] = d_w[(long long)(k0 + kb) * TAPS + t];
	}
	for (int i = threadIdx.x; i < SC_KB; i += blockDim.x)
		sb[i] = d_b != NULL ? d_b[k0 + i] : 0.0f;
	__syncthreads();
	/* one pixel per thread, no loop: a loop would let the compiler hoist all
	 * the shared weights into registers */
	const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (p < P) {
		const int wc = (int)(p % W), h = (int)((p / W) % H);
		float a[TAPS], acc[SC_KB];
#pragma unroll
		for (int ky = 0; ky < KS; ky++)
#pragma unroll
			for (int kx = 0; kx < KS; kx++) {
				const int hh = h + ky - pad, ww = wc + kx - pad;
				const bool in = hh >= 0 && hh < H && ww >= 0 && ww < W;
				const T *xp = d_x + (p + (long long)(ky - pad) * W + (kx - pad)) * CC;
#pragma unroll
				for (int c = 0; c < CC; c++)
					a[(c * KS + ky) * KS + kx] = in ? cu_pre(cu_ld(xp, c), c, d_scale, d_shift, relu) : 0.0f;
			}
#pragma unroll
		for (int kb = 0; kb < SC_KB; kb++)
			acc[kb] = sb[kb];
#pragma unroll
		for (int t = 0; t < TAPS; t++)
#pragma unroll
			for (int kb = 0; kb < SC_KB; kb++)
				acc[kb] += a[t] * sw[t * SC_KB + kb];
		T *yp = d_y + p * K + k0;
#pragma unroll
		for (int q = 0; q < SC_KB / VM; q++) {
			float o[VM];
#pragma unroll
			for (int u = 0; u < VM; u++)
				o[u] = acc[q * VM + u];
			cu_vec_io<VM>::st(yp, q, o);
		}
	}
}

template <class T, int V>
__global__ void __launch_bounds__(CU_THREADS)
	k_conv1x1_k1_vec(T *d_y, const T *d_x, const float *d_w, const float *d_b, const float *d_scale,
			 const float *d_shift, int relu, long long P, int C)
/* d_y: (P) = (N,H,W,1)  d_x: (P,C), C % V == 0, 16-byte aligned  d_w: (C)  d_b: (1) or NULL
 * d_scale, d_shift: (C) or NULL; one thread per pixel, 16-byte loads */
{
	CU_GRID_LOOP(p, P)
	{
		float acc = 0.0f;
		for (int c0 = 0; c0 < C; c0 += V) {
			float v[V];
			cu_vec_io<V>::ld(d_x, (p * C + c0) / V, v);
#pragma unroll
			for (int u = 0; u < V; u++)
				acc += cu_pre(v[u], c0 + u, d_scale, d_shift, relu) * d_w[c0 + u];
		}
		cu_st(d_y, p, acc + (d_b != NULL ? d_b[0] : 0.0f));
	}
}

/* da[p,c] (+)= dy[p] * w[c]  (K = 1, k = 1) */
template <class T> struct conv_k1_da_op {
	T *da;          /* (P,C) */
	const T *dy;    /* (P) */
	const float *w; /* (C) */
	int C, accum;
	template <int V> __device__ void apply(long long iv) const
	{
		const long long o = iv * V;
		const int c0 = (int)(o % C);
		const float g = cu_ld(dy, o / C);
		float d[V];
		if (accum)
			cu_vec_io<V>::ld(da, iv, d);
#pragma unroll
		for (int u = 0; u < V; u++) {
			const float e = g * w[c0 + u];
			d[u] = accum ? d[u] + e : e;
		}
		cu_vec_io<V>::st(da, iv, d);
	}
};

/* dw[c] = sum_p dy[p] * pre(x)[p,c]  (K = 1, k = 1), V lanes per thread */
template <class T, int V> struct conv_k1_dw_f {
	const T *x;  /* (P,C) */
	const T *dy; /* (P) */
	const float *scale, *shift;
	int relu, C;
	__device__ void operator()(int, long long p, int c0, double *acc) const
	{
		const float g = cu_ld(dy, p);
		float v[V];
		cu_vec_io<V>::ld(x, (p * C + c0) / V, v);
#pragma unroll
		for (int u = 0; u < V; u++)
			acc[u] += (double)(g * cu_pre(v[u], c0 + u, scale, shift, relu));
	}
};

/* Filter gradient for few input channels (the 4-channel input layer):
 * block b sums the pixels [b*ppb, (b+1)*ppb), its 8 warps interleaved, lane
 * = output channel k0 + lane, CC*KS*KS float sums per lane; the 8 warps are
 * added in order in shared memory and the block writes one partial
 * (split = blockIdx.x) in double. */
template <class T, int KS, int CC>
__global__ void __launch_bounds__(256)
	k_conv_dw_smallc(double *d_part, const T *d_x, const T *d_dy, const float *d_scale, const float *d_shift,
			 int relu, int H, int W, int K, int P, int ppb)
/* d_part: (gridDim.x, K*CC, KS*KS)  d_x: (P,CC)  d_dy: (P,K); 256 threads, K % 32 == 0,
 * outputs k0 = blockIdx.y*32 .. k0+31 */
{
	constexpr int NS = KS * KS, NA = CC * NS, pad = KS / 2;
	__shared__ float red[8][32 * NA];
	const int lane = threadIdx.x & 31, wp = threadIdx.x >> 5;
	const int k0 = blockIdx.y * 32, k = k0 + lane;
	const int p0 = blockIdx.x * ppb, p1 = min(P, p0 + ppb);
	float acc[NA];

#pragma unroll
	for (int i = 0; i < NA; i++)
		acc[i] = 0.0f;
	for (int p = p0 + wp; p < p1; p += 8) {
		const int wc = p % W, h = (p / W) % H;
		const float g = cu_ld(d_dy, (long long)p * K + k);
#pragma unroll
		for (int ky = 0; ky < KS; ky++)
#pragma unroll
			for (int kx = 0; kx < KS; kx++) {
				const int hh = h + ky - pad, ww = wc + kx - pad;
				const bool in = hh >= 0 && hh < H && ww >= 0 && ww < W;
				const T *xp = d_x + ((long long)p + (ky - pad) * W + (kx - pad)) * CC;
#pragma unroll
				for (int c = 0; c < CC; c++) {
					const float a = in ? cu_pre(cu_ld(xp, c), c, d_scale, d_shift, relu) : 0.0f;
					acc[c * NS + ky * KS + kx] += g * a;
				}
			}
	}
#pragma unroll
	for (int i = 0; i < NA; i++)
		red[wp][lane * NA + i] = acc[i];
	__syncthreads();
	for (int i = threadIdx.x; i < 32 * NA; i += blockDim.x) {
		double t = 0.0;
#pragma unroll
		for (int w = 0; w < 8; w++)
			t += red[w][i];
		d_part[((long long)blockIdx.x * K * CC + (long long)k0 * CC) * NS + i] = t;
	}
}

template <class T, int KS>
__global__ void __launch_bounds__(CU_THREADS)
	k_conv_bwd_data_direct(T *d_da, const T *d_dy, const float *d_w, int accum, int H, int W, int C, int K,
			       long long total)
/* d_da: (N,H,W,C)  d_dy: (N,H,W,K)  d_w: (K,C,KS,KS); total = N*H*W*C */
{
	const int pad = KS / 2;
	CU_GRID_LOOP(o, total)
	{
		const int c = (int)(o % C);
		const long long p = o / C;
		const int wc = (int)(p % W), h = (int)((p / W) % H);
		float acc = 0.0f;
		for (int ky = 0; ky < KS; ky++) {
			const int oh = h - ky + pad;
			if (oh < 0 || oh >= H)
				continue;
			for (int kx = 0; kx < KS; kx++) {
				const int ow = wc - kx + pad;
				if (ow < 0 || ow >= W)
					continue;
				const T *dyp = d_dy + (p + (long long)(pad - ky) * W + (pad - kx)) * K;
				const float *wp = d_w + (long long)c * KS * KS + ky * KS + kx;
				for (int k = 0; k < K; k++)
					acc += cu_ld(dyp, k) * wp[(long long)k * C * KS * KS];
			}
		}
		if (accum)
			acc += cu_ld(d_da, o);
		cu_st(d_da, o, acc);
	}
}

/* dw[k,c,ky,kx] = sum over pixels p of dy[p,k] * pre(x)[p + (ky-pad, kx-pad), c];
 * lane j = k*C + c, KS*KS sums per lane */
template <class T, int KS> struct conv_dw_f {
	const T *x;  /* (N,H,W,C) */
	const T *dy; /* (N,H,W,K) */
	const float *scale, *shift;
	int relu, H, W, C, K;
	__device__ void operator()(int, long long p, int j, double *acc) const
	{
		const int pad = KS / 2;
		const int k = j / C, c = j % C;
		const float g = cu_ld(dy, p * K + k);
		const int wc = (int)(p % W), h = (int)((p / W) % H);
#pragma unroll
		for (int ky = 0; ky < KS; ky++) {
			const int hh = h + ky - pad;
#pragma unroll
			for (int kx = 0; kx < KS; kx++) {
				const int ww = wc + kx - pad;
				float a = 0.0f;
				if (hh >= 0 && hh < H && ww >= 0 && ww < W)
					a = cu_pre(cu_ld(x, (p + (long long)(ky - pad) * W + (kx - pad)) * C + c), c, scale,
						   shift, relu);
				acc[ky * KS + kx] += (double)(g * a);
			}
		}
	}
};

/* ---- launchers ---------------------------------------------------------------------------- */

template <class T>
static cudaError_t launch_conv_fwd_direct(T *d_y, const T *d_x, const float *d_w, const float *d_b,
					  const float *d_scale, const float *d_shift, int relu, int N, int H, int W,
					  int C, int K, int ks, cudaStream_t st)
{
	long long total = (long long)N * H * W * K;
	unsigned g = cu_blocks(total, CU_THREADS);

	if (ks == 3)
		k_conv_fwd_direct<T, 3><<<g, CU_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale, d_shift, relu, H, W, C,
								  K, total);
	else
		k_conv_fwd_direct<T, 1><<<g, CU_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale, d_shift, relu, H, W, C,
								  K, total);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_conv_fwd_smallc(T *d_y, const T *d_x, const float *d_w, const float *d_b,
					  const float *d_scale, const float *d_shift, int relu, int N, int H, int W,
					  int K, int ks, cudaStream_t st)
{
	const long long P = (long long)N * H * W;
	dim3 grid((unsigned)((P + SC_THREADS - 1) / SC_THREADS), (unsigned)(K / SC_KB));

	if (ks == 3)
		k_conv_fwd_smallc<T, 3, 4><<<grid, SC_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale, d_shift, relu, H, W,
									 K, P);
	else
		k_conv_fwd_smallc<T, 1, 4><<<grid, SC_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale, d_shift, relu, H, W,
									 K, P);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_conv1x1_k1_vec(T *d_y, const T *d_x, const float *d_w, const float *d_b,
					 const float *d_scale, const float *d_shift, int relu, long long P, int C,
					 cudaStream_t st)
{
	k_conv1x1_k1_vec<T, cu_vmax<T>::v><<<cu_blocks(P, CU_THREADS), CU_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale,
											     d_shift, relu, P, C);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_conv1x1_k1_fwd(T *d_y, const T *d_x, const float *d_w, const float *d_b,
					 const float *d_scale, const float *d_shift, int relu, long long P, int C,
					 cudaStream_t st)
{
	k_conv1x1_k1_fwd<T><<<cu_blocks(P * 32, CU_THREADS), CU_THREADS, 0, st>>>(d_y, d_x, d_w, d_b, d_scale,
										  d_shift, relu, P, C);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_conv_bwd_data_direct(T *d_da, const T *d_dy, const float *d_w, int accum, int N, int H,
					       int W, int C, int K, int ks, cudaStream_t st)
{
	long long total = (long long)N * H * W * C;
	unsigned g = cu_blocks(total, CU_THREADS);

	if (ks == 3)
		k_conv_bwd_data_direct<T, 3><<<g, CU_THREADS, 0, st>>>(d_da, d_dy, d_w, accum, H, W, C, K, total);
	else
		k_conv_bwd_data_direct<T, 1><<<g, CU_THREADS, 0, st>>>(d_da, d_dy, d_w, accum, H, W, C, K, total);
	return cudaGetLastError();
}

template <class T>
static cudaError_t launch_conv_dw_smallc(double *d_part, const T *d_x, const T *d_dy, const br_preact *pa, int H, int W,
					 int K, int P, int ppb, int splits, int ks, cudaStream_t st)
{
	dim3 grid((unsigned)splits, (unsigned)(K / 32));
	const float *sc = pa != NULL ? pa->scale : NULL, *sh = pa != NULL ? pa->shift : NULL;
	const int relu = pa != NULL ? pa->relu : 0;

	if (ks == 3)
		k_conv_dw_smallc<T, 3, 4><<<grid, 256, 0, st>>>(d_part, d_x, d_dy, sc, sh, relu, H, W, K, P, ppb);
	else
		k_conv_dw_smallc<T, 1, 4><<<grid, 256, 0, st>>>(d_part, d_x, d_dy, sc, sh, relu, H, W, K, P, ppb);
	return cudaGetLastError();
}

template <class T, int KS>
static int conv_dw_direct(br_ctx *ctx, float *dw, const T *x, const T *dy, const br_preact *pre, int N, int H, int W,
			  int C, int K)
{
	cudaStream_t st = cu_stream(ctx);
	const long long P = (long long)N * H * W;
	cu_red_geom g = cu_red_plan(P, K * C, 1);
	double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, KS * KS));
	conv_dw_f<T, KS> f = {x,
			      dy,
			      pre != NULL ? pre->scale : NULL,
			      pre != NULL ? pre->shift : NULL,
			      pre != NULL ? pre->relu : 0,
			      H,
			      W,
			      C,
			      K};

	if (d_part == NULL)
		return -1;
	CU_CHECK(ctx, cu_launch_reduce<KS * KS>(d_part, g, f, st));
	return cu_red_add_flat(ctx, dw, d_part, g.splits, K * C, KS * KS); /* dw[(k*C+c)*KS*KS + t] */
}

/* ---- entries ------------------------------------------------------------------------------------ */

template <class T>
static int conv_fwd_t(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b, int k,
		      const br_preact *pre, int active)
{
	cudaStream_t st = cu_stream(ctx);
	const int N = x->n, C = x->c, H = x->h, W = x->w, K = y->c;
	const long long P = (long long)N * H * W;
	const float *scale = active ? pre->scale : NULL, *shift = active ? pre->shift : NULL;
	const int relu = active ? pre->relu : 0;

	if (cu_use_cudnn(C, K)) {
		T *src = static_cast<T *>(x->data);
		T *wk;
		struct cu_plan *pl;

		if (active) {
			src = (T *)cu_slot_get(ctx, SLOT_ACT, (size_t)P * C * sizeof(T));
			if (src == NULL || cu_preact_apply(ctx, src, x->data, pre, P, C) < 0)
				return -1;
		}
		wk = (T *)cu_slot_get(ctx, SLOT_W, (size_t)K * C * k * k * sizeof(T));
		if (wk == NULL || cu_weights_krsc(ctx, wk, w, K, C, k * k) < 0)
			return -1;
		pl = cu_plan_get(ctx, CU_FWD, N, C, H, W, K, k, k / 2, 1, src, wk, y->data);
		if (pl == NULL || cu_plan_run(ctx, pl, src, wk, y->data, 0.0f) < 0)
			return -1;
		if (b != NULL && cu_bias_add(ctx, y->data, b, P, K) < 0)
			return -1;
		return 0;
	}
	if (C == 4 && K % SC_KB == 0 && cu_aligned16(y->data))
		CU_CHECK(ctx, launch_conv_fwd_smallc(static_cast<T *>(y->data), static_cast<const T *>(x->data), w, b,
						     scale, shift, relu, N, H, W, K, k, st));
	else if (K == 1 && k == 1 && C % cu_vmax<T>::v == 0 && cu_aligned16(x->data))
		CU_CHECK(ctx, launch_conv1x1_k1_vec(static_cast<T *>(y->data), static_cast<const T *>(x->data), w, b,
						    scale, shift, relu, P, C, st));
	else if (K == 1 && k == 1)
		CU_CHECK(ctx, launch_conv1x1_k1_fwd(static_cast<T *>(y->data), static_cast<const T *>(x->data), w, b,
						    scale, shift, relu, P, C, st));
	else
		CU_CHECK(ctx, launch_conv_fwd_direct(static_cast<T *>(y->data), static_cast<const T *>(x->data), w, b,
						     scale, shift, relu, N, H, W, C, K, k, st));
	return 0;
}

int cu_conv2d_forward(br_ctx *ctx, br_tensor *y, const br_tensor *x, const float *w, const float *b, int k,
		      const br_preact *pre)
{
	const int active = cu_preact_active(pre);

	if (cu_p(ctx)->bf16)
		return conv_fwd_t<bf16>(ctx, y, x, w, b, k, pre, active);
	return conv_fwd_t<float>(ctx, y, x, w, b, k, pre, active);
}

template <class T>
static int conv_bwd_t(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
		      const float *w, int k, const br_preact *pre, int active, int accum)
{
	cudaStream_t st = cu_stream(ctx);
	const int N = x->n, C = x->c, H = x->h, W = x->w, K = dy->c;
	const long long P = (long long)N * H * W;

	if (cu_use_cudnn(C, K)) {
		if (dw != NULL) {
			T *src = static_cast<T *>(x->data);
			T *dwk;
			struct cu_plan *pl;

			if (active) {
				src = (T *)cu_slot_get(ctx, SLOT_ACT, (size_t)P * C * sizeof(T));
				if (src == NULL || cu_preact_apply(ctx, src, x->data, pre, P, C) < 0)
					return -1;
			}
			dwk = (T *)cu_slot_get(ctx, SLOT_DW, (size_t)K * C * k * k * sizeof(T));
			if (dwk == NULL)
				return -1;
			pl = cu_plan_get(ctx, CU_BWD_FILTER, N, C, H, W, K, k, k / 2, 1, src, dwk, dy->data);
			if (pl == NULL || cu_plan_run(ctx, pl, src, dwk, dy->data, 0.0f) < 0)
				return -1;
			if (cu_weights_add_kcrs(ctx, dw, dwk, K, C, k * k) < 0)
				return -1;
		}
		if (da != NULL) {
			T *wk = (T *)cu_slot_get(ctx, SLOT_W, (size_t)K * C * k * k * sizeof(T));
			struct cu_plan *pl;

			if (wk == NULL || cu_weights_krsc(ctx, wk, w, K, C, k * k) < 0)
				return -1;
			pl = cu_plan_get(ctx, CU_BWD_DATA, N, C, H, W, K, k, k / 2, 1, da->data, wk, dy->data);
			if (pl == NULL || cu_plan_run(ctx, pl, da->data, wk, dy->data, accum ? 1.0f : 0.0f) < 0)
				return -1;
		}
	} else if (K == 1 && k == 1 && C % cu_vmax<T>::v == 0 && cu_aligned16(x->data) &&
		   (da == NULL || cu_aligned16(da->data))) {
		if (dw != NULL) {
			cu_red_geom g = cu_red_plan(P, C, 1, cu_vmax<T>::v);
			double *d_part = (double *)cu_slot_get(ctx, SLOT_RED, cu_red_bytes(g, 1));
			conv_k1_dw_f<T, cu_vmax<T>::v> f = {static_cast<const T *>(x->data),
							    static_cast<const T *>(dy->data),
							    active ? pre->scale : NULL,
							    active ? pre->shift : NULL,
							    active ? pre->relu : 0,
							    C};
			if (d_part == NULL)
				return -1;
			CU_CHECK(ctx, (cu_launch_reduce<1, cu_vmax<T>::v>(d_part, g, f, st)));
			if (cu_red_add_flat(ctx, dw, d_part, g.splits, C, 1) < 0)
				return -1;
		}
		if (da != NULL) {
			conv_k1_da_op<T> op = {static_cast<T *>(da->data), static_cast<const T *>(dy->data), w, C, accum};
			const void *ptrs[1] = {da->data};
			CU_CHECK(ctx, cu_launch_map<T>(op, P * C, C, ptrs, 1, st));
		}
	} else if (C == 4 && K % 32 == 0 && P < (1LL << 31) / 9 && dw != NULL) {
		const br_preact *pa = active ? pre : NULL;
		int splits = (int)((P + 2047) / 2048), ppb;
		double *d_part;
		if (splits > 1024)
			splits = 1024;
		ppb = (int)((P + splits - 1) / splits);
		d_part = (double *)cu_slot_get(ctx, SLOT_RED, (size_t)splits * K * C * k * k * sizeof(double));
		if (d_part == NULL)
			return -1;
		CU_CHECK(ctx, launch_conv_dw_smallc(d_part, static_cast<const T *>(x->data),
						    static_cast<const T *>(dy->data), pa, H, W, K, (int)P, ppb, splits, k, st));
		if (cu_red_add_flat(ctx, dw, d_part, splits, K * C, k * k) < 0)
			return -1;
		if (da != NULL)
			CU_CHECK(ctx, launch_conv_bwd_data_direct(static_cast<T *>(da->data),
								  static_cast<const T *>(dy->data), w, accum, N, H, W,
								  C, K, k, st));
	} else {
		if (dw != NULL) {
			const br_preact *pa = active ? pre : NULL;
			int rc = k == 3 ? conv_dw_direct<T, 3>(ctx, dw, static_cast<const T *>(x->data),
							       static_cast<const T *>(dy->data), pa, N, H, W, C, K)
					: conv_dw_direct<T, 1>(ctx, dw, static_cast<const T *>(x->data),
							       static_cast<const T *>(dy->data), pa, N, H, W, C, K);
			if (rc < 0)
				return -1;
		}
		if (da != NULL)
			CU_CHECK(ctx, launch_conv_bwd_data_direct(static_cast<T *>(da->data),
								  static_cast<const T *>(dy->data), w, accum, N, H, W,
								  C, K, k, st));
	}
	if (db != NULL && cu_bias_grad(ctx, db, dy->data, P, K) < 0)
		return -1;
	return 0;
}

int cu_conv2d_backward(br_ctx *ctx, br_tensor *da, float *dw, float *db, const br_tensor *dy, const br_tensor *x,
		       const float *w, int k, const br_preact *pre, int accum)
{
	const int active = cu_preact_active(pre);

	if (cu_p(ctx)->bf16)
		return conv_bwd_t<bf16>(ctx, da, dw, db, dy, x, w, k, pre, active, accum);
	return conv_bwd_t<float>(ctx, da, dw, db, dy, x, w, k, pre, active, accum);
}
