/*
 * winograd.c - 3x3 convolutions (stride 1, pad 1) by Winograd F(4x4, 3x3).
 *
 * For each block of TB 4x4 output tiles (over images and tile rows), per
 * thread: the input transform writes V[36][C][TB] (pre-activation applied
 * while reading x, zero padding in the activated domain), 36 GEMMs
 * M[xi] = U[xi] V[xi] run the register-blocked micro-kernel, and the output
 * transform writes (or adds) the 4x4 outputs plus bias.  U[36][K/mr][C][mr],
 * the transformed filters, is computed once per call by all threads, or
 * once for good for constant weights of 128 channels or more
 * (br_hint_const: kept in the context, cpu_derived_get).  With
 * fewer blocks than twice the threads (small images or batches) the output
 * channels of each block are split into groups, one work item each.
 * flip: the weights are read as w[i][o][2-r][2-s] of a (Cin,Cout,3,3) array,
 * the backward-data convolution.  Partial tiles at the right and bottom
 * edges are computed with zeros and not stored.
 */
#include <string.h>

#include "cpu.h"

/* tiles per block: a multiple of nr, V and M near 512 KiB per thread (in L2;
 * 256 KiB to 2 MiB measured within noise of each other) */
static int block_tiles(int c, int kpad, int nr, size_t ntiles)
{
	size_t per_tile = 36 * (size_t)(c + kpad) * sizeof(float);
	size_t tb = ((size_t)512 << 10) / per_tile;

	tb = tb / nr * nr;
	if (tb < (size_t)nr)
		tb = nr;
	if (tb > (size_t)10 * nr)
		tb = (size_t)10 * nr;
	if (tb > (ntiles + nr - 1) / nr * nr)
		tb = (ntiles + nr - 1) / nr * nr;
	return (int)tb;
}

/* y: (N,K,H,W) written or added  x: (N,C,H,W)  w: (K,C,3,3), or (C,K,3,3) read flipped  b: (K) or NULL */
int cpu_wino_conv3(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int c, int kk,
		   int h, int wd, const struct cpu_pre *pre, int flip, int accum)
{
	const struct cpu_simd *sd = cpu_simd(ctx);
	int mr = sd->mr, nr = sd->nr, th = (h + 3) / 4, tw = (wd + 3) / 4;
	int kpad = (kk + mr - 1) / mr * mr, nt;
	size_t ntiles = (size_t)n * th * tw, hw = (size_t)h * wd, nblk, nitem, ld, usz, vsz, msz;
	int tb, ng, kg, keep = 0;
	float *ws;
	const float *Uc = NULL; /* U of constant weights, kept from an earlier call */

	tb = block_tiles(c, kpad, nr, ntiles);
	ld = (size_t)tb + 8;
	nblk = (ntiles + tb - 1) / tb;
	/* few blocks (small images, small batches): each block's output
	 * channels split into ng groups, each group its own work item (the
	 * cheap input transform done once per group) */
	ng = 1;
	if (nblk < 2 * (size_t)ctx->nthreads) {
		ng = (int)((2 * (size_t)ctx->nthreads + nblk - 1) / nblk);
		if (ng > kpad / mr)
			ng = kpad / mr;
	}
	kg = (kpad / mr + ng - 1) / ng * mr;
	ng = (kpad + kg - 1) / kg;
	nitem = nblk * ng;
	nt = ctx->nthreads < (int)nitem ? ctx->nthreads : (int)nitem;
	usz = 36 * (size_t)kpad * c;
	vsz = 36 * (size_t)c * ld;
	msz = 36 * (size_t)kpad * ld;
	ws = cpu_ws(ctx, (usz + (size_t)nt * (vsz + msz) + 64) * sizeof(float));
	if (ws == NULL)
		return -1;
	if (c >= 128 && kk >= 128 && cpu_is_const(ctx, w, (size_t)kk * c * 9 * sizeof(float))) {
		Uc = cpu_derived_get(ctx, w, c, kk, flip, mr);
		keep = Uc == NULL;
	}

#pragma omp parallel num_threads(nt)
	{
		int tid = omp_get_thread_num_();
		float *Uw = ws, *V = ws + usz + (size_t)tid * (vsz + msz), *M = V + vsz;
		const float *U = Uc != NULL ? Uc : Uw;

		/* filters, 8 output channels of 8 input channels at a time (whole
		 * cache lines of U written per xi): U[xi][o / mr][i][o % mr] */
		/* (every thread takes the same branch) */
		if (Uc == NULL)
#pragma omp for schedule(static)
		for (long t = 0; t < (long)((kpad + 7) / 8) * ((c + 7) / 8); t++) {
			int o0 = (int)(t / ((c + 7) / 8)) * 8, i0 = (int)(t % ((c + 7) / 8)) * 8;
			int ni = c - i0 < 8 ? c - i0 : 8;
			float g[72], u[8][288];
			for (int ii = 0; ii < ni; ii++) {
				int i = i0 + ii;
				for (int l = 0; l < 8; l++)
					for (int r = 0; r < 9; r++)
						g[r * 8 + l] = o0 + l >= kk ? 0.0f
							       : flip ? w[((size_t)i * kk + o0 + l) * 9 + 8 - r]
								      : w[((size_t)(o0 + l) * c + i) * 9 + r];
				sd->wino_filter8(u[ii], g);
			}
			for (int l = 0; l < 8 && o0 + l < kpad; l += mr)
				for (int xi = 0; xi < 36; xi++) {
					float *d = Uw + (((size_t)xi * (kpad / mr) + (o0 + l) / mr) * c + i0) * mr;
					/* (fixed-size copies: a loop of mr floats became a memmove call) */
					for (int ii = 0; ii < ni; ii++, d += mr)
						if (mr == 4)
							memcpy(d, u[ii] + xi * 8 + l, 4 * sizeof(float));
						else
							memcpy(d, u[ii] + xi * 8 + l, 8 * sizeof(float));
				}
		}
		/* implicit barrier: U complete */
#pragma omp for schedule(dynamic, 1)
		for (size_t item = 0; item < nitem; item++) {
			size_t blk = item / ng, t0 = blk * tb, t1 = t0 + tb < ntiles ? t0 + tb : ntiles, t;
			int ntb = (int)(t1 - t0), o0 = (int)(item % ng) * kg, o1 = o0 + kg < kpad ? o0 + kg : kpad;
			/* input transform, one tile-row segment at a time */
			for (t = t0; t < t1;) {
				size_t row = t / tw;
				int q0 = (int)(t % tw), nq = tw - q0;
				int img = (int)(row / th), ty = (int)(row % th);
				if ((size_t)nq > t1 - t)
					nq = (int)(t1 - t);
				for (int i = 0; i < c; i++)
					sd->wino_in(V + (size_t)i * ld + (t - t0), (size_t)c * ld,
						    x + ((size_t)img * c + i) * hw, h, wd, ty, q0, nq,
						    cpu_pre_s(pre, i), cpu_pre_b(pre, i), pre->relu);
				t += nq;
			}
			/* the 36 GEMMs */
			for (int xi = 0; xi < 36; xi++) {
				const float *Ux = U + (size_t)xi * kpad * c;
				const float *Vx = V + (size_t)xi * c * ld;
				float *Mx = M + (size_t)xi * kpad * ld;
				for (int j = 0; j < ntb; j += nr)
					for (int o = o0; o < o1; o += mr)
						sd->gemm(c, Ux + (size_t)o * c, Vx + j, ld, Mx + (size_t)o * ld + j, ld, 0);
			}
			/* output transform */
			for (t = t0; t < t1;) {
				size_t row = t / tw;
				int q0 = (int)(t % tw), nq = tw - q0;
				int img = (int)(row / th), ty = (int)(row % th);
				if ((size_t)nq > t1 - t)
					nq = (int)(t1 - t);
				for (int o = o0; o < o1 && o < kk; o++)
					sd->wino_out(y + ((size_t)img * kk + o) * hw, M + (size_t)o * ld + (t - t0),
						     (size_t)kpad * ld, h, wd, ty, q0, nq, b != NULL ? b[o] : 0.0f,
						     accum);
				t += nq;
			}
		}
	}
	if (keep) /* U of constant weights, for the calls to come */
		cpu_derived_add(ctx, w, c, kk, flip, mr, ws, usz);
	return 0;
}
