/*
 * brats-uncrop - put cropped records back on the grid of a reference volume.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crop.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-uncrop [-hqvf] -r REFERENCE [-o OUT] [IN ...]\n"
	"Put cropped records back on the grid of REFERENCE (zeros outside the crop\n"
	"box), with the reference's affine and NIfTI codes; label maps stay uint8.\n"
	"  -r REFERENCE  a volume on the original grid, e.g. the case's t1 or seg file\n"
	"  -o OUT        output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  -f            write binary data to a terminal\n"
	"  -q, -v        quieter, more verbose\n"
	"  -h            this help\n";

static br_vol *uncrop_record(br_vol *v, const char *path, int index, void *ref)
{
	br_vol *o = br_uncrop(v, ref);

	(void)path;
	(void)index;
	br_vol_free(v);
	return o;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"reference", required_argument, 0, 'r'},
		{0, 0, 0, 0},
	};
	const char *out = "-", *refpath = NULL;
	int c;
	br_vol *ref;

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
		default:
			br_bad_option(argv);
		}
	}
	if (refpath == NULL)
		br_usage_error("-r REFERENCE is required");
	ref = br_vol_read(refpath);
	if (ref == NULL)
		br_die(refpath, "%s", br_error());
	/* only the reference's grid is needed */
	free(ref->data);
	ref->data = NULL;
	br_filter_records(out, argv + optind, argc - optind, uncrop_record, ref);
	br_vol_free(ref);
	return 0;
}
