/*
 * net_bench - time the whole R2U-MTDS network through the model API:
 * training steps (zero grad, forward, loss, backward, Adam) and inference
 * of a batch of slices, on random inputs; prints one TSV row per mode and,
 * with -v, the per-op profile of one step.
 *
 * usage: net_bench [-d DEVICE] [-p fp32|tf32|bf16] [-j N] [-w WIDTH]
 *                  [-b TRAIN_BATCH] [-i INFER_BATCH] [-n ITERS] [-m train|infer|both] [-v]
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "r2u.h"
#include "bench.h"
#include "cli.h" /* br_now */

int main(int argc, char **argv)
{
	const char *device = "cpu", *mode = "both";
	int prec = BR_PREC_DEFAULT, threads = 0, width = 32, tb = 32, ib = 16, iters = 5, verbose = 0, c, h = 176,
	    w = 144, i, k;
	br_ctx *ctx;
	r2u *m;
	char err[512];
	float *x, loss[5];
	uint8_t *lab;
	size_t nb;
	double *t, flops;

	while ((c = getopt(argc, argv, "d:p:j:w:b:i:n:m:vH:W:")) != -1) {
		switch (c) {
		case 'd': device = optarg; break;
		case 'p': prec = br_precision_from_name(optarg); break;
		case 'j': threads = atoi(optarg); break;
		case 'w': width = atoi(optarg); break;
		case 'b': tb = atoi(optarg); break;
		case 'i': ib = atoi(optarg); break;
		case 'n': iters = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'v': verbose = 1; break;
		case 'H': h = atoi(optarg); break;
		case 'W': w = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: net_bench [-d dev] [-p prec] [-j n] [-w width] [-b train_batch] "
					"[-i infer_batch] [-n iters] [-m train|infer|both] [-v]\n");
			return 2;
		}
	}
	if (prec < 0 || iters < 1) {
		fprintf(stderr, "net_bench: bad precision or iteration count\n");
		return 2;
	}
	ctx = br_ctx_new(device, threads, prec, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "net_bench: %s\n", err);
		return 1;
	}
	m = r2u_new(ctx, width, 1, err, sizeof err);
	if (m == NULL) {
		fprintf(stderr, "net_bench: %s\n", err);
		return 1;
	}
	nb = (size_t)(tb > ib ? tb : ib);
	x = br_host_alloc(ctx, nb * 4 * h * w * sizeof *x);
	lab = br_host_alloc(ctx, nb * h * w);
	t = malloc((size_t)iters * sizeof *t);
	if (x == NULL || lab == NULL || t == NULL) {
		fprintf(stderr, "net_bench: out of memory\n");
		return 1;
	}
	srand(1);
	for (i = 0; i < (int)(nb * 4 * h * w); i++)
		x[i] = (float)rand() / RAND_MAX;
	for (i = 0; i < (int)(nb * h * w); i++) {
		int r = rand() % 10;
		lab[i] = r < 7 ? 0 : r == 7 ? 1 : r == 8 ? 2 : 4;
	}
	flops = r2u_flops(width, h, w);
	printf("# %s, width %d, %d x %d, %.2f GFLOP per slice forward\n", br_ctx_describe(ctx), width, h, w, flops / 1e9);
	printf("mode\tdevice\tprecision\tbatch\tms\tslices_per_s\tTFLOP_per_s\n");
	if (strcmp(mode, "infer") != 0) {
		for (k = -2; k < iters; k++) { /* two warm-up steps (algorithm search, allocation) */
			double t0 = br_now();
			if (r2u_zero_grad(m) < 0 || r2u_forward(m, x, tb, h, w, 1, 0.2f, (uint64_t)k + 3) < 0 ||
			    r2u_backward(m, lab, 1.0f) < 0 || r2u_adam(m, 1e-4f, k + 3) < 0 || r2u_losses(m, loss) < 0) {
				fprintf(stderr, "net_bench: %s\n", r2u_error(m));
				return 1;
			}
			if (k >= 0)
				t[k] = br_now() - t0;
		}
		qsort(t, (size_t)iters, sizeof *t, cmp_double);
		printf("train\t%s\t%s\t%d\t%.3f\t%.1f\t%.2f\n", device, br_precision_name(br_ctx_precision(ctx)), tb,
		       t[iters / 2] * 1e3, tb / t[iters / 2], 3 * flops * tb / t[iters / 2] / 1e12);
		if (verbose) {
			br_prof_reset(ctx);
			br_prof_enable(ctx, 1);
			r2u_zero_grad(m);
			r2u_forward(m, x, tb, h, w, 1, 0.2f, 99);
			r2u_backward(m, lab, 1.0f);
			r2u_adam(m, 1e-4f, 100);
			r2u_losses(m, loss);
			br_prof_enable(ctx, 0);
			printf("# per-op time of one training step (batch %d):\n", tb);
			br_prof_report(ctx, stdout);
		}
	}
	if (strcmp(mode, "train") != 0) {
		float *out = malloc((size_t)ib * 4 * h * w * sizeof *out);
		if (out == NULL)
			return 1;
		for (k = -2; k < iters; k++) {
			double t0 = br_now();
			if (r2u_forward(m, x, ib, h, w, 0, 0.0f, 0) < 0 || r2u_download(m, out, 1) < 0) {
				fprintf(stderr, "net_bench: %s\n", r2u_error(m));
				return 1;
			}
			if (k >= 0)
				t[k] = br_now() - t0;
		}
		qsort(t, (size_t)iters, sizeof *t, cmp_double);
		printf("infer\t%s\t%s\t%d\t%.3f\t%.1f\t%.2f\n", device, br_precision_name(br_ctx_precision(ctx)), ib,
		       t[iters / 2] * 1e3, ib / t[iters / 2], flops * ib / t[iters / 2] / 1e12);
		if (verbose) {
			br_prof_reset(ctx);
			br_prof_enable(ctx, 1);
			r2u_forward(m, x, ib, h, w, 0, 0.0f, 0);
			r2u_download(m, out, 1);
			br_prof_enable(ctx, 0);
			printf("# per-op time of one inference pass (batch %d):\n", ib);
			br_prof_report(ctx, stdout);
		}
		free(out);
	}
	br_host_free(ctx, x);
	br_host_free(ctx, lab);
	free(t);
	r2u_free(m);
	br_ctx_free(ctx);
	return 0;
}
