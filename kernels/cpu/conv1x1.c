/*
 * conv1x1.c - 1x1 convolutions as GEMMs: y[n] (K x P) = W (K x C) pre(x[n]) (C x P).
 *
 * Blocks of one image and NB pixels: the pre-activation is applied while
 * packing the block of x (C x NB, in cache), the register-blocked
 * micro-kernel of the Winograd GEMMs multiplies, and the epilogue adds the
 * bias and writes or adds into y, whole rows of the block at a time (writing
 * the micro-kernel's tiles straight into y measured slower: 4 rows a plane
 * apart per tile).  wtrans: W is read as w[i][o] of a
 * (C,K) array (the backward-data of a (K,C) convolution).
 *
 * The 2x2 transposed convolution is the same GEMM with other ends:
 * CPU_GEMM_CONVT_FWD scatters output row o = 4k + 2a + b to y[k][2i+a][2j+b]
 * (bias b[k]); CPU_GEMM_CONVT_BWD gathers input row i = 4k + 2a + b from
 * dy[k][2i+a][2j+b] (its backward-data).
 */
#include <string.h>

#include "cpu.h"

/* y = sum_i w[i] pre(x[i]) + b (kk = 1), or y[o] (+)= w[o] pre(x) (c = 1);
 * blocks of one image and 8192 pixels (long runs of each plane), channels in order */
static int thin(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c, int kk,
		size_t hw, const struct cpu_pre *pre, int wtrans, int accum)
{
	const struct cpu_simd *sd = cpu_simd(ctx);
	size_t nb = (hw + 8191) / 8192;

#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * hw * (c + kk), 1 << 15)) schedule(static)
	for (size_t t = 0; t < (size_t)n * nb; t++) {
		size_t img = t / nb, p0 = (t % nb) * 8192, len = hw - p0 < 8192 ? hw - p0 : 8192;
		float a[8192], acc[8192];
		if (kk == 1) {
			float bias = b != NULL ? b[0] : 0.0f;
#pragma omp simd
			for (size_t p = 0; p < len; p++)
				acc[p] = 0.0f;
			for (int i = 0; i < c; i++) {
				float wi = w[i]; /* (1,C) and (C,1) are the same array */
				sd->pre_copy(a, x + (img * c + i) * hw + p0, len, cpu_pre_s(pre, i), cpu_pre_b(pre, i),
					     pre->relu);
#pragma omp simd
				for (size_t p = 0; p < len; p++)
					acc[p] += wi * a[p];
			}
			float *yo = y + img * hw + p0;
#pragma omp simd
			for (size_t p = 0; p < len; p++)
				yo[p] = accum ? yo[p] + (acc[p] + bias) : acc[p] + bias;
		} else {
			sd->pre_copy(a, x + img * hw + p0, len, cpu_pre_s(pre, 0), cpu_pre_b(pre, 0), pre->relu);
			for (int o = 0; o < kk; o++) {
				float wo = w[o], bias = b != NULL ? b[o] : 0.0f;
				float *yo = y + (img * kk + o) * hw + p0;
				if (accum) {
#pragma omp simd
					for (size_t p = 0; p < len; p++)
						yo[p] += wo * a[p] + bias;
				} else {
#pragma omp simd
					for (size_t p = 0; p < len; p++)
						yo[p] = wo * a[p] + bias;
				}
			}
		}
	}
	(void)wtrans;
	return 0;
}

/* mode CPU_GEMM_PLANE: y: (N,K,H,W) written or added  x: (N,C,H,W)
 * CPU_GEMM_CONVT_FWD: y: (N,K/4,2H,2W)  x: (N,C,H,W)  b: (K/4)
 * CPU_GEMM_CONVT_BWD: y: (N,K,H,W)  x: (N,C/4,2H,2W)
 * w: (K,C), or (C,K) when wtrans;  b: (K) or NULL */
int cpu_conv1x1(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c, int kk,
		int h, int wd, const struct cpu_pre *pre, int wtrans, int accum, int mode)
{
	size_t hw = (size_t)h * wd;

	/* one output channel (gate, heads) or one input channel (their
	 * backward-data): memory-bound, no GEMM */
	if (mode == CPU_GEMM_PLANE && (kk == 1 || c == 1))
		return thin(ctx, y, x, w, b, n, c, kk, hw, pre, wtrans, accum);
	const struct cpu_simd *sd = cpu_simd(ctx);
	int mr = sd->mr, nr = sd->nr, kpad = (kk + mr - 1) / mr * mr, nt;
	size_t nb, nbp, nblk, asz, bsz, msz;
	float *ws;

	/* pixels per block: the packed block of x near 128 KiB */
	nb = (size_t)32768 / (size_t)c;
	nb = nb / nr * nr;
	if (nb < (size_t)nr)
		nb = nr;
	if (nb > (size_t)20 * nr)
		nb = (size_t)20 * nr;
	if (nb > (hw + nr - 1) / nr * nr)
		nb = (hw + nr - 1) / nr * nr;
	nbp = (hw + nb - 1) / nb;
	nblk = (size_t)n * nbp;
	nt = ctx->nthreads < (int)nblk ? ctx->nthreads : (int)nblk;
	asz = (size_t)kpad * c;
	bsz = (size_t)c * nb;
	msz = (size_t)kpad * nb;
	ws = cpu_ws(ctx, (asz + (size_t)nt * (bsz + msz) + 64) * sizeof(float));
	if (ws == NULL)
		return -1;
	for (int o = 0; o < kpad; o++)
		for (int i = 0; i < c; i++)
			ws[((size_t)(o / mr) * c + i) * mr + o % mr] =
				o >= kk ? 0.0f : wtrans ? w[(size_t)i * kk + o] : w[(size_t)o * c + i];

#pragma omp parallel num_threads(nt)
	{
		int tid = omp_get_thread_num_();
		float *B = ws + asz + (size_t)tid * (bsz + msz), *M = B + bsz;
#pragma omp for schedule(dynamic, 1)
		for (size_t blk = 0; blk < nblk; blk++) {
			size_t img = blk / nbp, p0 = (blk % nbp) * nb, len = hw - p0 < nb ? hw - p0 : nb;
			size_t lenp = (len + nr - 1) / nr * nr;
			for (int i = 0; i < c; i++) {
				float *bi = B + (size_t)i * nb;
				if (mode == CPU_GEMM_CONVT_BWD)
					cpu_gather2(bi, x + (img * (c / 4) + i / 4) * 4 * hw, wd, p0, len, (i / 2) & 1, i & 1);
				else
					sd->pre_copy(bi, x + (img * c + i) * hw + p0, len, cpu_pre_s(pre, i),
						     cpu_pre_b(pre, i), pre->relu);
				memset(bi + len, 0, (lenp - len) * sizeof(float));
			}
			for (size_t j = 0; j < lenp; j += nr)
				for (int o = 0; o < kpad; o += mr)
					sd->gemm(c, ws + (size_t)o * c, B + j, nb, M + (size_t)o * nb + j, nb, 0);
			if (mode == CPU_GEMM_CONVT_FWD) {
				for (int o = 0; o < kk; o++) {
					const float *mo = M + (size_t)o * nb;
					float *yo = y + (img * (kk / 4) + o / 4) * 4 * hw, bias = b != NULL ? b[o / 4] : 0.0f;
					int a = (o / 2) & 1, bb = o & 1;
					for (size_t p = p0, e = p0 + len; p < e;) {
						size_t i = p / wd, j = p % wd, stop = (i + 1) * (size_t)wd < e ? (i + 1) * (size_t)wd : e;
						float *r = yo + (2 * i + a) * 2 * (size_t)wd + bb;
						for (; p < stop; p++, j++)
							r[2 * j] = *mo++ + bias;
					}
				}
				continue;
			}
			/* the block's rows written out whole (long sequential stores) */
			for (int o = 0; o < kk; o++) {
				float *yo = y + (img * kk + o) * hw + p0, bias = b != NULL ? b[o] : 0.0f;
				const float *mo = M + (size_t)o * nb;
				if (accum) {
#pragma omp simd
					for (size_t j = 0; j < len; j++)
						yo[j] += mo[j] + bias;
				} else {
#pragma omp simd
					for (size_t j = 0; j < len; j++)
						yo[j] = mo[j] + bias;
				}
			}
		}
	}
	return 0;
}
