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
#include "labelmap.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-crop [-hqvf] [-j N] [-o OUT] [--seg] [--size WxH] [--center grid|brain]\n"
	"                  [--labels 2020|2023] CASE_DIR | T1 T1CE T2 FLAIR [SEG]\n"
	"Crop a BraTS case to one float32 record of sizes W H Z 4 (t1, t1ce, t2, flair),\n"
	"or with --seg to its uint8 label map (0, 1, 2, 4).  A warning (and the record's\n"
	"brats_outside_box) tells when more than 0.5% of the brain falls outside the box.\n"
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

/* more of the brain than this outside the box: a warning and a note */
#define OUTSIDE_WARN 0.005

/* out[i] = 1 where voxel i of v (one channel) is nonzero, else 0 */
static void nonzero_mask(uint8_t *out, const br_vol *v)
{
	size_t i, n = br_vol_nvox(v);

#define NONZERO(T)                                  \
	do {                                        \
		const T *p = v->data;               \
		_Pragma("omp simd")                 \
		for (i = 0; i < n; i++)             \
			out[i] = p[i] != 0;         \
	} while (0)
	switch (v->dtype) {
	case BR_U8: NONZERO(uint8_t); break;
	case BR_I16: NONZERO(int16_t); break;
	case BR_U16: NONZERO(uint16_t); break;
	case BR_I32: NONZERO(int32_t); break;
	case BR_F32: NONZERO(float); break;
	case BR_F64: NONZERO(double); break;
	default:
		for (i = 0; i < n; i++)
			out[i] = br_vol_get(v, i) != 0;
	}
#undef NONZERO
}

/* The fraction of brain voxels (nonzero in any modality: brain is a 0/1
 * mask) outside box, counted a row at a time. */
static double outside_fraction(const br_vol *brain, br_box box, size_t *n_out, size_t *n_brain)
{
	const uint8_t *b = brain->data;
	int64_t y, z, nx = brain->dim[0], ny = brain->dim[1], nz = brain->dim[2];
	int64_t x0 = box.x0 > 0 ? box.x0 : 0, x1 = box.x0 + box.nx < nx ? box.x0 + box.nx : nx;
	size_t in = 0, all = 0;

	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++) {
			const uint8_t *row = b + ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx;
			size_t c = 0, ci = 0;
			int64_t x;
#pragma omp simd reduction(+ : c)
			for (x = 0; x < nx; x++)
				c += row[x];
			all += c;
			if (y >= box.y0 && y < box.y0 + box.ny && z >= box.z0 && z < box.z0 + box.nz) {
#pragma omp simd reduction(+ : ci)
				for (x = x0; x < x1; x++)
					ci += row[x];
				in += ci;
			}
		}
	*n_out = all - in;
	*n_brain = all;
	return all > 0 ? (double)(all - in) / (double)all : 0.0;
}

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
	u = br_vol_labels_u8(v, y2023);
	if (u == NULL)
		br_die(path, "%s", br_error());
	if (u != v)
		br_vol_free(v);
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
	const char *where;
	double outside = -1;
	size_t n_out = 0, n_brain = 0;

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
	 * as soon as it is read, straight into its channel of the output, so
	 * that at most a few full volumes are in memory at once. */
	if (seg) {
		segv = load(paths[BR_SEG], 1, y2023);
		box = br_box_centred(segv, w, h, NULL);
	}
	where = argc == 1 ? argv[0] : paths[0];
	if (!seg || brain_centre) {
		char *errs[4] = {0};
		uint8_t *nz[4] = {0}; /* nonzero voxels of each modality */
		int64_t grid0[3] = {0}; /* the grid of the image that made o */
		char oerr[256] = "";
		br_vol *any;
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
			} else if ((nz[m] = br_mem_alloc(br_vol_nvox(v))) == NULL) {
				errs[m] = strdup("out of memory");
			} else {
				nonzero_mask(nz[m], v);
				if (!brain_centre && !seg) {
					/* every grid is the same (checked below), so is every
					 * box: the first image read makes the output's data;
					 * its header is made from the first modality below */
					br_box b = br_box_centred(v, w, h, NULL);
					int fits;
#pragma omp critical(brats_crop_out)
					{
						if (o == NULL) {
							memcpy(grid0, v->dim, sizeof grid0);
							if ((o = br_vol_new_empty(BR_F32, b.nx, b.ny, b.nz, 4)) != NULL && br_vol_alloc(o) < 0) {
								br_vol_free(o);
								o = NULL;
							}
							if (o == NULL)
								snprintf(oerr, sizeof oerr, "%s", br_error());
						}
						/* another grid is refused below, by name */
						fits = o != NULL && memcmp(grid0, v->dim, sizeof grid0) == 0;
					}
					if (o == NULL)
						errs[m] = strdup(oerr);
					else if (fits && br_crop_into(o, m, v, 0, b) < 0)
						errs[m] = strdup(br_error());
				}
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
		/* the brain: nonzero in any of the four modalities */
		any = br_vol_new(BR_U8, vols[0]->dim[0], vols[0]->dim[1], vols[0]->dim[2], 1);
		if (any == NULL)
			br_die(NULL, "%s", br_error());
		{
			size_t i, n = br_vol_nvox(any);
			uint8_t *a = any->data;
			const uint8_t *n0 = nz[0], *n1 = nz[1], *n2 = nz[2], *n3 = nz[3];
#pragma omp simd
			for (i = 0; i < n; i++)
				a[i] = n0[i] | n1[i] | n2[i] | n3[i];
			for (m = 0; m < 4; m++)
				free(nz[m]);
		}
		if (brain_centre)
			box = br_box_centred(any, w, h, any); /* centred on the brain's bounding box */
		else
			box = br_box_centred(any, w, h, NULL);
		outside = outside_fraction(any, box, &n_out, &n_brain);
		br_vol_free(any);
		if (!seg) {
			/* the header from the first modality (t1), as it always was */
			br_vol *hdr = br_crop_header(vols[0], box, BR_F32, 4);
			if (hdr == NULL)
				br_die(paths[0], "%s", br_error());
			if (brain_centre) {
				if (br_vol_alloc(hdr) < 0)
					br_die(NULL, "%s", br_error());
				for (m = 0; m < 4; m++)
					if (br_crop_into(hdr, m, vols[m], 0, box) < 0)
						br_die(paths[m], "%s", br_error());
			} else {
				hdr->data = o->data;
				o->data = NULL;
				br_vol_free(o);
			}
			o = hdr;
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
	if (outside > OUTSIDE_WARN)
		br_meta_setf(o, BR_KEY_OUTSIDE, "%.6g", outside);
	if (br_vol_write(out, o, br_opt.force) < 0)
		br_die(br_out_name(out), "%s", br_error());
	/* after the record is out: a failed write says only why it failed */
	if (outside > OUTSIDE_WARN)
		br_warn(where, "%.2f%% of the brain (%zu of %zu voxels) is outside the %lldx%lld crop box%s", 100 * outside,
			n_out, n_brain, (long long)box.nx, (long long)box.ny,
			brain_centre ? "; a larger --size keeps it" : "; --center brain centres the box on the brain");
	br_vol_free(o);
	br_vol_free(segv);
	br_case_free(&cs);
	return 0;
}
