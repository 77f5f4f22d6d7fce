/*
 * post_time.c - in-process timings of the post-processing libraries, for
 * bench/post.sh (the SciPy side is bench/post_ref.py).
 *
 *   post_time cc FILE CONN REPS        cc-filter's work on each record:
 *                                      copy, label, rank, clear (ms)
 *   post_time metrics PRED GT REPS     brats-metrics' work on one case:
 *                                      three regions (ms), and reading
 *
 * Prints "name wall_median_ms wall_min_ms cpu_median_ms" lines (CPU time
 * of the process, which a busy shared machine inflates less than wall time).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "components.h"
#include "metrics.h"
#include "volume.h"
#include "bench.h"

static void report(const char *name, double *t, double *c, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	qsort(c, (size_t)n, sizeof *c, cmp_double);
	printf("%s %.3f %.3f %.3f\n", name, 1e3 * t[n / 2], 1e3 * t[0], 1e3 * c[n / 2]);
}

static br_vol *load(const char *path)
{
	br_vol *v = br_vol_read(path);

	if (v == NULL) {
		fprintf(stderr, "post_time: %s: %s\n", path, br_error());
		exit(1);
	}
	if (v->dtype != BR_U8) {
		br_vol *c = br_vol_convert(v, BR_U8);
		br_vol_free(v);
		v = c;
	}
	return v;
}

int main(int argc, char **argv)
{
	int reps, i;
	double *t, *cp, t0, c0;

	if (argc != 5) {
		fprintf(stderr, "usage: post_time cc FILE CONN REPS | metrics PRED GT REPS\n");
		return 2;
	}
	reps = atoi(argv[4]);
	if (reps < 1)
		reps = 1;
	t = malloc((size_t)reps * sizeof *t);
	cp = malloc((size_t)reps * sizeof *cp);
	if (strcmp(argv[1], "cc") == 0) {
		br_vol *v = load(argv[2]), *w;
		int conn = atoi(argv[3]);
		int64_t removed = 0;
		for (i = 0; i < reps; i++) {
			br_cc *cc;
			uint8_t *keep;
			t0 = br_now();
			c0 = cpu_now();
			w = br_vol_copy(v);
			if (br_vol_check_labels(w, 0) < 0)
				return 1;
			cc = br_cc_new(w->data, w->dim[0], w->dim[1], w->dim[2], conn);
			keep = malloc((size_t)cc->n + 1);
			br_cc_select(keep, cc, 0.1, 0, 0);
			removed = br_cc_clear(w->data, 1, cc, keep);
			t[i] = br_now() - t0;
			cp[i] = cpu_now() - c0;
			free(keep);
			br_cc_free(cc);
			br_vol_free(w);
		}
		report("cc", t, cp, reps);
		fprintf(stderr, "post_time: %lld voxels removed\n", (long long)removed);
		br_vol_free(v);
	} else {
		br_vol *p, *g;
		br_score s[BR_NREGION];
		double sp[3];
		for (i = 0; i < reps; i++) {
			t0 = br_now();
			c0 = cpu_now();
			p = load(argv[2]);
			g = load(argv[3]);
			t[i] = br_now() - t0;
			cp[i] = cpu_now() - c0;
			br_vol_free(p);
			br_vol_free(g);
		}
		report("read", t, cp, reps);
		p = load(argv[2]);
		g = load(argv[3]);
		br_affine_spacing(g->affine, sp);
		for (i = 0; i < reps; i++) {
			t0 = br_now();
			c0 = cpu_now();
			if (br_score_case(s, p->data, g->data, g->dim[0], g->dim[1], g->dim[2], sp, 0, 7) < 0)
				return 1;
			t[i] = br_now() - t0;
			cp[i] = cpu_now() - c0;
		}
		report("metrics", t, cp, reps);
		fprintf(stderr, "post_time: HD95 ET %.5f WT %.5f TC %.5f\n", s[0].hd95, s[1].hd95, s[2].hd95);
		br_vol_free(p);
		br_vol_free(g);
	}
	free(t);
	free(cp);
	return 0;
}
