/*
 * brats-crop - the four modalities of a BraTS case, checked and cropped
 * into one float32 record (x, y, z, modality), or the label map with --seg.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brats.h"
#include "cli.h"
#include "crop.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-crop [-hqvf] [-j N] [-o OUT] [--seg] [--size WxH] [--center grid|brain]\n"
	"                  [--labels 2020|2023] CASE_DIR | T1 T1CE T2 FLAIR [SEG]\n"
	"Crop a BraTS case to one float32 record of sizes W H Z 4 (t1, t1ce, t2, flair),\n"
	"or with --seg to its uint8 label map (0, 1, 2, 4).\n"
	"  -o OUT            output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --seg             write the label map instead of the images\n"
	"  --size WxH        crop box size in x and y (default 144x176)\n"
	"  --center MODE     grid: centre of the grid (default); brain: centre of the brain's bounding box\n"
	"  --labels YEAR     2020: labels 0,1,2,4 (default); 2023: ET is 3, written as 4\n"
	"  -j N              threads for reading the modalities\n"
	"  -f                write binary data to a terminal\n"
	"  -q, -v            quieter, more verbose\n"
	"  -h                this help\n";

enum { OPT_SEG = 256, OPT_SIZE, OPT_CENTER, OPT_LABELS };

static int labels_year = 0; /* 0: from the file names */

/* Read, check and convert one modality or label file. */
static br_vol *load(const char *path, int seg, int y2023)
{
	br_vol *v = br_vol_read(path), *u;

	if (v == NULL)
		br_die(path, "%s", br_error());
	if (v->dim[3] != 1) {
		long long nc = (long long)v->dim[3];
		br_vol_free(v);
		br_die(path, "has %lld channels, expected one volume", nc);
	}
	if (br_vol_check_finite(v) < 0 || (seg && br_vol_check_labels(v, y2023) < 0)) {
		br_vol_free(v); /* the message stays in br_error() */
		br_die(path, "%s", br_error());
	}
	if (!seg)
		return v;
	u = br_vol_convert(v, BR_U8);
	br_vol_free(v);
	if (u == NULL)
		br_die(path, "%s", br_error());
	if (y2023) {
		uint8_t *p = u->data;
		size_t i, n = br_vol_nvox(u);
		for (i = 0; i < n; i++)
			if (p[i] == 3)
				p[i] = 4;
	}
	return u;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"seg", no_argument, 0, OPT_SEG},
		{"size", required_argument, 0, OPT_SIZE},
		{"center", required_argument, 0, OPT_CENTER},
		{"centre", required_argument, 0, OPT_CENTER},
		{"labels", required_argument, 0, OPT_LABELS},
		{0, 0, 0, 0},
	};
	const char *out = "-", *paths[BR_NMOD] = {0};
	int c, m, seg = 0, brain_centre = 0, y2023;
	long w = 144, h = 176;
	br_case cs;
	br_vol *vols[4] = {0}, *segv = NULL, *o = NULL;
	br_box box;
	char id[256];

	br_tool_init("brats-crop", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_SEG:
			seg = 1;
			break;
		case OPT_SIZE: {
			char *x = strchr(optarg, 'x');
			if (x == NULL)
				br_usage_error("--size: '%s' is not WxH", optarg);
			*x = '\0';
			w = br_parse_long(optarg, "--size W", 1, 4096);
			h = br_parse_long(x + 1, "--size H", 1, 4096);
			break;
		}
		case OPT_CENTER:
			brain_centre = br_parse_choice(optarg, "--center", (const char *const[]){"grid", "brain", NULL});
			break;
		case OPT_LABELS:
			labels_year = (int)br_parse_long(optarg, "--labels", 2020, 2023);
			if (labels_year != 2020 && labels_year != 2023)
				br_usage_error("--labels: 2020 or 2023");
			break;
		default:
			br_bad_option(argv);
		}
	}
	argc -= optind;
	argv += optind;
	memset(&cs, 0, sizeof cs);
	if (argc == 1) {
		unsigned need = seg ? 1u << BR_SEG : 0;
		if (!seg || brain_centre)
			need |= 1u << BR_T1 | 1u << BR_T1CE | 1u << BR_T2 | 1u << BR_FLAIR;
		if (br_case_find(argv[0], &cs, need) < 0)
			br_die(argv[0], "%s", br_error());
		for (m = 0; m < BR_NMOD; m++)
			paths[m] = cs.path[m];
		snprintf(id, sizeof id, "%s", cs.id);
		y2023 = labels_year ? labels_year == 2023 : cs.layout2023;
	} else if (argc == 4 || argc == 5) {
		for (m = 0; m < argc; m++)
			paths[m] = argv[m];
		if (seg && argc == 4)
			br_usage_error("--seg needs the SEG file (or a case folder)");
		br_case_id_from_path(argv[0], id, sizeof id);
		y2023 = labels_year == 2023;
	} else {
		br_usage_error("expected a case folder or four (five) files");
	}

	/* Images: read in parallel; with a grid-centred box each one is cropped
	 * as soon as it is read, so that at most a few full volumes are in
	 * memory at once. */
	if (seg) {
		segv = load(paths[BR_SEG], 1, y2023);
		box = br_box_centred(segv, w, h, NULL);
	}
	if (!seg || brain_centre) {
		char *errs[4] = {0};
		br_vol *crops[4] = {0};
		int nthr = br_opt.threads > 0 ? br_opt.threads : 4;

#pragma omp parallel for num_threads(nthr) schedule(dynamic, 1)
		for (m = 0; m < 4; m++) {
			br_vol *v = vols[m] != NULL ? vols[m] : br_vol_read(paths[m]);
			if (v == NULL) {
				errs[m] = strdup(br_error());
				continue;
			}
			if (v->dim[3] != 1) {
				errs[m] = strdup("has several channels, expected one volume");
			} else if (br_vol_check_finite(v) < 0) {
				errs[m] = strdup(br_error());
			} else if (!brain_centre && !seg) {
				/* every grid is the same (checked below), so is every box */
				crops[m] = br_crop(v, br_box_centred(v, w, h, NULL), BR_F32);
				if (crops[m] == NULL)
					errs[m] = strdup(br_error());
			}
			if (!brain_centre && !seg) {
				/* keep only the header for the grid check */
				free(v->data);
				v->data = NULL;
			}
			vols[m] = v;
		}
		for (m = 0; m < 4; m++)
			if (errs[m] != NULL)
				br_die(paths[m], "%s", errs[m]);
		for (m = 1; m < 4; m++)
			if (!br_vol_same_grid(vols[m], vols[0]))
				br_die(paths[m], "grid (%lld x %lld x %lld) or affine differs from %s's",
				       (long long)vols[m]->dim[0], (long long)vols[m]->dim[1], (long long)vols[m]->dim[2],
				       paths[0]);
		if (segv != NULL && !br_vol_same_grid(segv, vols[0]))
			br_die(paths[BR_SEG], "grid or affine differs from the images'");
		if (brain_centre) {
			/* the brain's bounding box over the four modalities */
			br_vol *any = br_vol_like(vols[0], BR_U8, 1);
			size_t i, n = br_vol_nvox(vols[0]);
			if (any == NULL)
				br_die(NULL, "%s", br_error());
			for (m = 0; m < 4; m++)
				for (i = 0; i < n; i++)
					if (br_vol_get(vols[m], i) != 0)
						((uint8_t *)any->data)[i] = 1;
			box = br_box_centred(any, w, h, any);
			br_vol_free(any);
			if (!seg)
				for (m = 0; m < 4; m++)
					if ((crops[m] = br_crop(vols[m], box, BR_F32)) == NULL)
						br_die(paths[m], "%s", br_error());
		}
		if (!seg) {
			size_t nb = br_vol_nvox(crops[0]);
			o = br_vol_like(crops[0], BR_F32, 4);
			if (o == NULL)
				br_die(NULL, "%s", br_error());
			for (m = 0; m < 4; m++) {
				memcpy((float *)o->data + (size_t)m * nb, crops[m]->data, nb * sizeof(float));
				br_vol_free(crops[m]);
			}
			br_meta_set(o, BR_KEY_CONTENT, "image");
			br_meta_set(o, BR_KEY_CHANNELS, "t1 t1ce t2 flair");
		}
		for (m = 0; m < 4; m++) {
			br_vol_free(vols[m]);
			vols[m] = NULL;
		}
	}
	if (seg) {
		o = br_crop(segv, box, BR_U8);
		if (o == NULL)
			br_die(paths[BR_SEG], "%s", br_error());
		br_meta_set(o, BR_KEY_CONTENT, "labels");
		br_meta_del(o, BR_KEY_CHANNELS);
	}
	br_meta_set(o, BR_KEY_CASE, id);
	if (br_vol_write(out, o, br_opt.force) < 0)
		br_die(out, "%s", br_error());
	br_vol_free(o);
	br_vol_free(segv);
	br_case_free(&cs);
	return 0;
}
