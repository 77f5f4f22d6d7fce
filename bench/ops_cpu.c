/*
 * ops_cpu.c - op-level benchmark of the CPU kernels: every convolution shape
 * of R2U-MTDS (b = 32, 176 x 144 slices), forward, backward-data and
 * backward-weights, at the given batch sizes.  TSV on stdout:
 *   layer  batch  pass  ms  gflops  cpu_ms
 * ms is the best wall time of -r repetitions after one warm-up; gflops
 * counts the direct convolution's 2 N H W C K k k (Winograd does fewer);
 * cpu_ms is the best process CPU time (all threads), the steadier number
 * on a shared machine (run with OMP_WAIT_POLICY=passive so that waiting
 * threads do not count).
 *
 * usage: ops_cpu [-t threads] [-r reps] [-b batch[,batch...]] [-f substring]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels.h"
#include "bench.h"
#include "cli.h" /* br_now */

struct shape {
	const char *name;
	int c, k, h, w, ks, pre; /* ks: 1, 3, or 2 = 2x2 transposed (h, w: input); pre: 0 none, 1 relu, 2 bn */
};

static const struct shape shapes[] = {
	{ "enc1.conv1", 4, 32, 176, 144, 3, 2 },   { "enc1.conv2", 32, 32, 176, 144, 3, 2 },
	{ "enc1.proj", 4, 32, 176, 144, 1, 0 },    { "enc1.gate", 32, 1, 176, 144, 1, 1 },
	{ "enc2.conv1", 32, 64, 88, 72, 3, 2 },    { "enc2.conv2", 64, 64, 88, 72, 3, 2 },
	{ "enc2.proj", 32, 64, 88, 72, 1, 0 },     { "enc2.gate", 64, 1, 88, 72, 1, 1 },
	{ "enc3.conv1", 64, 128, 44, 36, 3, 2 },   { "enc3.conv2", 128, 128, 44, 36, 3, 2 },
	{ "enc3.proj", 64, 128, 44, 36, 1, 0 },    { "enc3.gate", 128, 1, 44, 36, 1, 1 },
	{ "enc4.conv1", 128, 256, 22, 18, 3, 2 },  { "enc4.conv2", 256, 256, 22, 18, 3, 2 },
	{ "enc4.proj", 128, 256, 22, 18, 1, 0 },   { "enc4.gate", 256, 1, 22, 18, 1, 1 },
	{ "dec3.up", 256, 128, 22, 18, 2, 0 },     { "dec3.conv1", 256, 128, 44, 36, 3, 2 },
	{ "dec3.conv2", 128, 128, 44, 36, 3, 2 },  { "dec3.proj", 256, 128, 44, 36, 1, 0 },
	{ "dec2.up", 128, 64, 44, 36, 2, 0 },      { "dec2.conv1", 128, 64, 88, 72, 3, 2 },
	{ "dec2.conv2", 64, 64, 88, 72, 3, 2 },    { "dec2.proj", 128, 64, 88, 72, 1, 0 },
	{ "dec1.up", 64, 32, 88, 72, 2, 0 },       { "dec1.conv1", 64, 32, 176, 144, 3, 2 },
	{ "dec1.conv2", 32, 32, 176, 144, 3, 2 },  { "dec1.proj", 64, 32, 176, 144, 1, 0 },
	{ "head_wt", 32, 1, 176, 144, 1, 0 },      { "head_ncr", 64, 1, 88, 72, 1, 0 },
	{ "head_ed", 128, 1, 44, 36, 1, 0 },
};

static float *rnd(size_t n, float sd)
{
	float *p = malloc(n * sizeof(float));
	uint64_t s = 88172645463325252ULL;
	if (p == NULL) {
		fprintf(stderr, "ops_cpu: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		p[i] = sd * ((float)(s >> 40) * (1.0f / 16777216.0f) - 0.5f);
	}
	return p;
}

#define CALL(x)                                                                            \
	do {                                                                               \
		if ((x) < 0) {                                                             \
			fprintf(stderr, "ops_cpu: %s: %s\n", #x, br_ctx_error(ctx));     \
			exit(1);                                                           \
		}                                                                          \
	} while (0)

int main(int argc, char **argv)
{
	int nt = 2, reps = 3, opt, nb = 0, batches[8];
	const char *filter = NULL, *bl = "32,8";
	char err[256];
	br_ctx *ctx;

	while ((opt = getopt(argc, argv, "t:r:b:f:h")) != -1) {
		switch (opt) {
		case 't':
			nt = atoi(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'b':
			bl = optarg;
			break;
		case 'f':
			filter = optarg;
			break;
		default:
			printf("usage: ops_cpu [-t threads] [-r reps] [-b batch[,batch...]] [-f substring]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	for (const char *p = bl; *p && nb < 8; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
		batches[nb++] = atoi(p);
	ctx = br_ctx_new("cpu", nt, BR_PREC_FP32, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "ops_cpu: %s\n", err);
		return 1;
	}
	fprintf(stderr, "ops_cpu: %s\n", br_ctx_describe(ctx));
	printf("layer\tbatch\tpass\tms\tgflops\tcpu_ms\n");
	for (int bi = 0; bi < nb; bi++) {
		int n = batches[bi];
		for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
			const struct shape *s = &shapes[si];
			int oh = s->ks == 2 ? 2 * s->h : s->h, ow = s->ks == 2 ? 2 * s->w : s->w;
			int kk = s->ks == 2 ? 2 : s->ks;
			size_t nx = (size_t)n * s->c * s->h * s->w, ny = (size_t)n * s->k * oh * ow;
			size_t nw = (size_t)s->k * s->c * kk * kk;
			double flop = 2.0 * n * s->c * s->k * (double)s->h * s->w * kk * kk;
			if (filter != NULL && strstr(s->name, filter) == NULL)
				continue;
			float *x = rnd(nx, 2), *w = rnd(nw, 0.2f), *b = rnd(s->k, 0.1f), *y = rnd(ny, 1), *dy = rnd(ny, 1);
			float *dx = rnd(nx, 1), *dw = rnd(nw, 1), *db = rnd(s->k, 1), *sc = rnd(s->c, 1), *sh = rnd(s->c, 1);
			br_tensor tx = { x, n, s->c, s->h, s->w }, ty = { y, n, s->k, oh, ow }, tdy = { dy, n, s->k, oh, ow };
			br_tensor tdx = { dx, n, s->c, s->h, s->w };
			br_preact pre = { s->pre == 2 ? sc : NULL, s->pre == 2 ? sh : NULL, s->pre >= 1 };
			const br_preact *pp = s->pre ? &pre : NULL;
			for (int pass = 0; pass < 3; pass++) {
				static const char *pn[3] = { "fwd", "bwd_data", "bwd_weight" };
				double best = 1e30, cbest = 1e30;
				for (int r = 0; r <= reps; r++) {
					double t0 = br_now(), c0 = cpu_now();
					if (s->ks == 2) {
						if (pass == 0)
							CALL(br_convt2x2_forward(ctx, &ty, &tx, w, b));
						else if (pass == 1)
							CALL(br_convt2x2_backward(ctx, &tdx, NULL, NULL, &tdy, &tx, w, 0));
						else
							CALL(br_convt2x2_backward(ctx, NULL, dw, db, &tdy, &tx, w, 0));
					} else {
						if (pass == 0)
							CALL(br_conv2d_forward(ctx, &ty, &tx, w, b, s->ks, pp));
						else if (pass == 1)
							CALL(br_conv2d_backward(ctx, &tdx, NULL, NULL, &tdy, &tx, w, s->ks, pp, 0));
						else
							CALL(br_conv2d_backward(ctx, NULL, dw, db, &tdy, &tx, w, s->ks, pp, 0));
					}
					double t = br_now() - t0, ct = cpu_now() - c0;
					if (r > 0 && t < best)
						best = t;
					if (r > 0 && ct < cbest)
						cbest = ct;
				}
				printf("%s\t%d\t%s\t%.3f\t%.1f\t%.3f\n", s->name, n, pn[pass], best * 1e3, flop / best * 1e-9,
				       cbest * 1e3);
				fflush(stdout);
			}
			free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(sc), free(sh);
		}
	}
	br_ctx_free(ctx);
	return 0;
}
