/*
 * brats-norm - min-max normalisation per record and channel to [0, 1].
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-norm [-hqvf] [-j N] [-o OUT] [--mask all|nonzero] [--clip P] [IN ...]\n"
	"Scale every channel of every record to [0, 1] by its minimum and maximum.\n"
	"  -o OUT          output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --mask all      minimum and maximum over all voxels of the record (default)\n"
	"  --mask nonzero  over brain voxels only (nonzero in any channel); others stay 0\n"
	"  --clip P        clip to the P and 100-P percentiles before scaling (0 <= P < 50)\n"
	"  -j N            threads\n"
	"  -f              write binary data to a terminal\n"
	"  -q, -v          quieter, more verbose\n"
	"  -h              this help\n";

enum { OPT_MASK = 256, OPT_CLIP };

static int mask_nonzero;
static double clip_p;

/* Normalise record v (float32) in place; note what was done in its metadata. */
static void normalise(br_vol *v, const char *path, int index)
{
	size_t nv = br_vol_nvox(v), i, nin;
	int64_t c, nc = v->dim[3];
	float *d = v->data;
	uint8_t *brain = NULL;
	char note[1024];
	size_t len;

	len = (size_t)snprintf(note, sizeof note, "minmax mask=%s clip=%g", mask_nonzero ? "nonzero" : "all", clip_p);
	if (mask_nonzero) {
		brain = calloc(nv, 1);
		if (brain == NULL)
			br_die(path, "out of memory");
		for (c = 0; c < nc; c++)
			for (i = 0; i < nv; i++)
				if (d[(size_t)c * nv + i] != 0)
					brain[i] = 1;
	}
	for (c = 0; c < nc; c++) {
		float *x = d + (size_t)c * nv;
		double lo = INFINITY, hi = -INFINITY, scale;

		if (clip_p > 0) {
			if (br_percentiles_f32(x, brain, nv, clip_p, 100 - clip_p, &lo, &hi) < 0)
				br_die(path, "%s", br_error());
		} else {
			br_minmax_f32(x, brain, nv, &lo, &hi);
		}
		nin = 0;
		if (!(hi > lo)) {
			br_warn(path, "record %d channel %lld is constant (%g): written as zeros", index,
				(long long)c, isfinite(lo) ? lo : 0.0);
			memset(x, 0, nv * sizeof *x);
			scale = 0;
		} else {
			scale = 1.0 / (hi - lo);
#pragma omp parallel for num_threads(br_opt.threads > 0 ? br_opt.threads : 1) schedule(static) reduction(+ : nin)
			for (i = 0; i < nv; i++) {
				double y;
				if (brain != NULL && !brain[i]) {
					x[i] = 0;
					continue;
				}
				y = ((double)x[i] - lo) * scale;
				x[i] = (float)(y < 0 ? 0 : y > 1 ? 1 : y);
				nin++;
			}
		}
		if (len < sizeof note)
			len += (size_t)snprintf(note + len, sizeof note - len, " c%lld=[%.9g,%.9g]", (long long)c,
						isfinite(lo) ? lo : 0.0, isfinite(hi) ? hi : 0.0);
		(void)nin;
	}
	br_meta_set(v, BR_KEY_NORM, note);
	free(brain);
}

static br_vol *norm_record(br_vol *v, const char *path, int index, void *arg)
{
	br_vol *f;

	(void)arg;
	if (v->dtype != BR_F32) {
		f = br_vol_convert(v, BR_F32);
		br_vol_free(v);
		if ((v = f) == NULL)
			return NULL;
	}
	if (br_vol_check_finite(v) < 0) {
		br_vol_free(v);
		return NULL;
	}
	normalise(v, path, index);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"mask", required_argument, 0, OPT_MASK},
		{"clip", required_argument, 0, OPT_CLIP},
		{0, 0, 0, 0},
	};
	const char *out = "-";
	int c;

	br_tool_init("brats-norm", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_MASK:
			mask_nonzero = br_parse_choice(optarg, "--mask", (const char *const[]){"all", "nonzero", NULL});
			break;
		case OPT_CLIP:
			clip_p = br_parse_double(optarg, "--clip", 0, 49.999);
			break;
		default:
			br_bad_option(argv);
		}
	}
	br_filter_records(out, argv + optind, argc - optind, norm_record, NULL);
	return 0;
}
