/*
 * conv_dw.c - weight and bias gradients of the 3x3 and 1x1 convolutions:
 *   dw[o][i][t] += sum_{n,y,x} dy[n,o,y,x] a[n,i,y+r-1,x+s-1],  a = pre(x), t = 3r + s
 *   db[o] += sum dy[n,o]
 *
 * A GEMM with the pixels as its reduction: dW (K x C*k*k) = dY (K x P) A^T.
 * Chunks of one image and a few rows (P near 1024).  3x3: the chunk's dy
 * rows and its activated input rows are zero padded to W+2 columns, so that
 * the column (i, t) of A^T is the padded plane of channel i read at a fixed
 * offset.  The micro-kernel (gemm_rows) reads 6 such rows in place and a
 * panel of dY^T (16 output channels, transposed once per chunk); each
 * 6 x 16 block of dW^T, summed in float over a super-chunk (2048 pixels or
 * more), is added into double
 * accumulators: per thread over a static split of the chunks, threads
 * added in order, so results do not change from run to run.
 */
#include <string.h>

#include "cpu.h"

#define SUPER 2048 /* pixels summed in float before the double accumulators */

/* dw: (K,C,k,k) added or NULL  db: (K) added or NULL  dy: (N,K,H,W)  x: (N,C,H,W)
 * mode CPU_GEMM_CONVT_BWD (k = 1): x is (N,C/4,2H,2W), its rows gathered as
 * for the transposed convolution's backward (dw of a 2x2 transposed conv
 * is this with dy := its input and x := its output gradient) */
int cpu_conv_dw(br_ctx *ctx, float *dw, float *db, const float *dy, const float *x, int n, int c, int kk, int h,
		int wd, int k, const struct cpu_pre *pre, int mode)
{
	const struct cpu_simd *sd = cpu_simd(ctx);
	size_t hw = (size_t)h * wd, ncol = (size_t)c * k * k, nwt = (size_t)kk * ncol;
	int kpad = (kk + DW_NR - 1) / DW_NR * DW_NR, w2, rows, nch, nt, msup;
	size_t lmax, smax, apsz, gsz, per, ncolpad = (ncol + DW_MR - 1) / DW_MR * DW_MR;
	double *acc;
	float *fws;

	if (db != NULL) {
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * kk * hw, 1 << 15)) schedule(static)
		for (int o = 0; o < kk; o++) {
			double s = 0.0;
			for (int i = 0; i < n; i++)
				s += cpu_sum(dy + ((size_t)i * kk + o) * hw, hw);
			db[o] += (float)s;
		}
	}
	if (dw == NULL)
		return 0;
	if (k == 1 && kk == 1 && mode == CPU_GEMM_PLANE) {
		/* one output channel (gate, heads): dot products, each input channel on its own */
#pragma omp parallel for num_threads(cpu_nt(ctx, (size_t)n * c * hw, 1 << 15)) schedule(static)
		for (int i = 0; i < c; i++) {
			float a[1024];
			double s = 0.0;
			for (int img = 0; img < n; img++)
				for (size_t p0 = 0; p0 < hw; p0 += 1024) {
					size_t len = hw - p0 < 1024 ? hw - p0 : 1024;
					sd->pre_copy(a, x + ((size_t)img * c + i) * hw + p0, len, cpu_pre_s(pre, i),
						     cpu_pre_b(pre, i), pre->relu);
					s += cpu_dot(a, dy + (size_t)img * hw + p0, len);
				}
			dw[i] += (float)s;
		}
		return 0;
	}
	/* chunks: 3x3 whole rows of the padded width; 1x1 any run of pixels */
	w2 = k == 3 ? wd + 2 : wd;
	if (k == 3) {
		rows = (1024 + w2 - 1) / w2;
		if (rows > h)
			rows = h;
		nch = (h + rows - 1) / rows;
		lmax = (size_t)rows * w2;
	} else {
		lmax = hw < 1024 ? hw : 1024;
		rows = 0;
		nch = (int)((hw + lmax - 1) / lmax);
	}
	/* super-chunks: consecutive chunks of one thread, SUPER pixels or more,
	 * through which the float sums of one panel of dW run before they are
	 * added into double (the double accumulators pass through memory once
	 * per super-chunk) */
	smax = lmax > SUPER ? lmax : SUPER;
	msup = (int)((smax + lmax - 1) / lmax) + 1;
	nt = ctx->nthreads < n * nch ? ctx->nthreads : n * nch;
	/* per thread: activated planes of msup chunks, padded dy rows of one
	 * chunk (3x3), dY^T of a super-chunk packed in panels of 16 output
	 * channels, a zero row, the float sums of one panel */
	apsz = k == 3 ? (size_t)(rows + 2) * w2 + 32 : lmax;
	gsz = k == 3 ? (size_t)kk * lmax : 0;
	per = (size_t)msup * c * apsz + gsz + (size_t)kpad * (smax + lmax) + lmax + ncolpad * DW_NR + 64;
	void *ws = cpu_ws(ctx, nwt * nt * sizeof(double) + (size_t)nt * per * sizeof(float) + 256);
	if (ws == NULL)
		return -1;
	acc = ws;
	fws = (float *)(acc + nwt * nt);
	memset(acc, 0, nwt * nt * sizeof(double));

#pragma omp parallel num_threads(nt)
	{
		int tid = omp_get_thread_num_();
		long c0 = (long)n * nch * tid / nt, c1 = (long)n * nch * (tid + 1) / nt;
		size_t sstride = smax + lmax; /* p extent of one packed panel of dY */
		double *ac = acc + nwt * tid;
		float *ap = fws + (size_t)tid * per, *g = ap + (size_t)msup * c * apsz, *dyT = g + gsz;
		float *zero = dyT + (size_t)kpad * sstride, *blk = zero + lmax;
		size_t clen[64], coff[64];
		memset(zero, 0, lmax * sizeof(float));
		for (long sc = c0; sc < c1;) {
			int nsc = 0;
			size_t stot = 0;
			/* one super-chunk: its chunks' activated planes and packed dY */
			for (; sc < c1 && nsc < msup && nsc < 64 && (nsc == 0 || stot < smax); sc++, nsc++) {
				int img = (int)(sc / nch);
				size_t len, p0;
				int y0 = 0, nrow = 0;
				float *apc = ap + (size_t)nsc * c * apsz;
				if (k == 3) {
					y0 = (int)(sc % nch) * rows;
					nrow = h - y0 < rows ? h - y0 : rows;
					len = (size_t)nrow * w2;
					p0 = (size_t)y0 * wd;
				} else {
					p0 = (size_t)(sc % nch) * lmax;
					len = hw - p0 < lmax ? hw - p0 : lmax;
				}
				clen[nsc] = len;
				coff[nsc] = stot;
				for (int i = 0; i < c; i++) {
					float *ai = apc + (size_t)i * apsz;
					const float *xi = x + ((size_t)img * c + i) * hw;
					if (k == 3) {
						memset(ai, 0, apsz * sizeof(float));
						for (int r = 0; r < nrow + 2; r++) {
							int yy = y0 - 1 + r;
							if (yy >= 0 && yy < h)
								sd->pre_copy(ai + 16 + (size_t)r * w2 + 1, xi + (size_t)yy * wd, wd,
									     cpu_pre_s(pre, i), cpu_pre_b(pre, i), pre->relu);
						}
					} else if (mode == CPU_GEMM_CONVT_BWD) {
						cpu_gather2(ai, x + ((size_t)img * (c / 4) + i / 4) * 4 * hw, wd, p0, len,
							    (i / 2) & 1, i & 1);
					} else {
						sd->pre_copy(ai, xi + p0, len, cpu_pre_s(pre, i), cpu_pre_b(pre, i), pre->relu);
					}
				}
				/* dY^T in panels of 16 output channels (3x3: from zero-padded rows) */
				for (int o = 0; o < kpad; o += DW_NR) {
					const float *src[DW_NR];
					for (int r = 0; r < DW_NR; r++) {
						if (o + r >= kk) {
							src[r] = zero;
							continue;
						}
						const float *d = dy + ((size_t)img * kk + o + r) * hw + p0;
						if (k == 3) {
							float *go = g + (size_t)(o + r) * lmax;
							for (int rr = 0; rr < nrow; rr++) {
								go[(size_t)rr * w2] = 0.0f;
								memcpy(go + (size_t)rr * w2 + 1, d + (size_t)rr * wd,
								       wd * sizeof(float));
								go[(size_t)rr * w2 + w2 - 1] = 0.0f;
							}
							src[r] = go;
						} else {
							src[r] = d;
						}
					}
					sd->pack_cols16(dyT + (size_t)o * sstride + stot * DW_NR, src, len);
				}
				stot += len;
			}
			/* dW^T (rows: columns of A^T, read in place from the activated
			 * planes; columns: 16 output channels): for each panel of dY^T,
			 * blocks of 256 pixels (the panel's block in L1) against every
			 * 6 rows; float sums over the super-chunk, then into double */
			for (int o = 0; o < kpad; o += DW_NR) {
				const float *Bo = dyT + (size_t)o * sstride;
				for (int ci = 0; ci < nsc; ci++) {
					const float *apc = ap + (size_t)ci * c * apsz;
					for (size_t q0 = 0; q0 < clen[ci]; q0 += 256) {
						size_t ql = clen[ci] - q0 < 256 ? clen[ci] - q0 : 256;
						for (size_t r0 = 0; r0 < ncol; r0 += DW_MR) {
							const float *A[DW_MR];
							for (int i = 0; i < DW_MR; i++) {
								size_t col = r0 + i;
								if (col >= ncol)
									A[i] = zero;
								else if (k == 3)
									A[i] = apc + (col / 9) * apsz + 16 + w2 +
									       ((ptrdiff_t)(col % 9 / 3) - 1) * w2 +
									       (ptrdiff_t)(col % 3) - 1 + q0;
								else
									A[i] = apc + col * apsz + q0;
							}
							sd->gemm_rows((int)ql, A, Bo + (coff[ci] + q0) * DW_NR, DW_NR,
								      blk + r0 * DW_NR, DW_NR, ci > 0 || q0 > 0);
						}
					}
				}
				for (size_t col = 0; col < ncol; col++)
					for (int j = 0; j < DW_NR && o + j < kk; j++)
						ac[(size_t)(o + j) * ncol + col] += blk[col * DW_NR + j];
			}
		}
	}
	for (int t = 1; t < nt; t++)
		for (size_t q = 0; q < nwt; q++)
			acc[q] += acc[nwt * t + q];
	for (size_t q = 0; q < nwt; q++)
		dw[q] += (float)acc[q];
	return 0;
}
