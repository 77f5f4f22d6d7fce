/*
 * decode.c - time the reading of image files (the .nii.gz decoding that
 * dominates preprocessing), all files read in parallel as brats-crop does.
 *   decode [-j N] [-n REPEATS] FILE...
 * Prints the median wall time in seconds and the bytes decoded.
 */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "volume.h"
#include "bench.h"
#include "cli.h" /* br_now */

int main(int argc, char **argv)
{
	int threads = 4, reps = 5, i, r, nf;
	double t[64];
	size_t bytes = 0;

	for (i = 1; i < argc - 1 && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-j") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-n") == 0)
			reps = atoi(argv[i + 1]);
	}
	nf = argc - i;
	if (nf < 1 || reps < 1 || reps > 64 || threads < 1) {
		fprintf(stderr, "usage: decode [-j N] [-n REPEATS] FILE...\n");
		return 2;
	}
	for (r = 0; r < reps; r++) {
		int bad = 0;
		double t0 = br_now();
		bytes = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : bad, bytes)
		for (int f = 0; f < nf; f++) {
			br_vol *v = br_vol_read(argv[i + f]);
			if (v == NULL) {
				fprintf(stderr, "decode: %s: %s\n", argv[i + f], br_error());
				bad++;
				continue;
			}
			bytes += br_vol_nvox(v) * br_dtype_size(v->dtype);
			br_vol_free(v);
		}
		t[r] = br_now() - t0;
		if (bad)
			return 1;
	}
	qsort(t, (size_t)reps, sizeof t[0], cmp_double);
	printf("%.6f\t%zu\n", t[reps / 2], bytes);
	return 0;
}
