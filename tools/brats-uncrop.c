/*
 * brats-uncrop - put cropped records back on the grid of a reference volume.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "crop.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-uncrop [-hqvf] -r REFERENCE [-o OUT] [--labels 2020|2023] [IN ...]\n"
	"Put cropped records back on the grid of REFERENCE (zeros outside the crop\n"
	"box), with the reference's affine and NIfTI codes; label maps stay uint8.\n"
	"  -r REFERENCE  a volume on the original grid, e.g. the case's t1 or seg file\n"
	"  -o OUT        output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --labels YEAR label maps (0,1,2,4) written as 2020: 0,1,2,4 (default); 2023: ET as 3\n"
	"  -f            write binary data to a terminal\n"
	"  -q, -v        quieter, more verbose\n"
	"  -h            this help\n";

enum { OPT_LABELS = 256 };

struct uncrop_job {
	br_vol *ref;
	int labels2023;
};

/* A label map in the BraTS 2023 convention (BraTS-GLI data): enhancing tumour 4 -> 3. */
static int relabel_2023(br_vol *v)
{
	uint8_t *p = v->data;
	size_t i, n = br_vol_nvox(v);

	if (v->dtype != BR_U8 || v->dim[3] != 1)
		return br_set_error("--labels 2023 applies to label maps, this record is %s with %lld channels",
				    br_dtype_name(v->dtype), (long long)v->dim[3]);
	if (br_vol_check_labels(v, 0) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (p[i] == 4)
			p[i] = 3;
	return 0;
}

static br_vol *uncrop_record(br_vol *v, const char *path, int index, void *arg)
{
	struct uncrop_job *j = arg;
	br_vol *o = NULL;

	(void)path;
	(void)index;
	if (!j->labels2023 || relabel_2023(v) == 0)
		o = br_uncrop(v, j->ref);
	br_vol_free(v);
	return o;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"reference", required_argument, 0, 'r'},
		{"labels", required_argument, 0, OPT_LABELS},
		{0, 0, 0, 0},
	};
	const char *out = "-", *refpath = NULL;
	int c;
	struct uncrop_job job = {NULL, 0};

	br_tool_init("brats-uncrop", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:r:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'r':
			refpath = optarg;
			break;
		case OPT_LABELS:
			job.labels2023 = br_parse_choice(optarg, "--labels", (const char *const[]){"2020", "2023", NULL});
			break;
		default:
			br_bad_option(argv);
		}
	}
	if (refpath == NULL)
		br_usage_error("-r REFERENCE is required");
	job.ref = br_vol_read(refpath);
	if (job.ref == NULL)
		br_die(refpath, "%s", br_error());
	/* only the reference's grid is needed */
	free(job.ref->data);
	job.ref->data = NULL;
	br_filter_records(out, argv + optind, argc - optind, uncrop_record, &job);
	br_vol_free(job.ref);
	return 0;
}
