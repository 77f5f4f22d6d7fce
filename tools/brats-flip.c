/*
 * brats-flip - mirror records along one axis (an augmentation: only the
 * voxel order changes, the affine and the metadata stay as they are).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-flip [-hqvf] [-o OUT] [--axis x|y|z] [IN ...]\n"
	"Mirror every record (images and label maps alike) along one axis.\n"
	"  -o OUT        output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --axis A      x (left-right, default), y or z\n"
	"  -f            write binary data to a terminal\n"
	"  -q, -v        quieter, more verbose\n"
	"  -h            this help\n";

enum { OPT_AXIS = 256 };

static void flip(br_vol *v, int axis)
{
	size_t es = br_dtype_size(v->dtype), nx = (size_t)v->dim[0], ny = (size_t)v->dim[1];
	size_t nz = (size_t)v->dim[2], nc = (size_t)v->dim[3], row = nx * es, plane = nx * ny * es;
	unsigned char *d = v->data, tmp[16], *buf;
	size_t c, z, y, x;

	if (axis == 0) {
		for (c = 0; c < nc * nz * ny; c++) {
			unsigned char *r = d + c * row;
			for (x = 0; x < nx / 2; x++) {
				memcpy(tmp, r + x * es, es);
				memcpy(r + x * es, r + (nx - 1 - x) * es, es);
				memcpy(r + (nx - 1 - x) * es, tmp, es);
			}
		}
		return;
	}
	buf = malloc(axis == 1 ? row : plane);
	if (buf == NULL)
		br_die(NULL, "out of memory");
	for (c = 0; c < nc; c++) {
		unsigned char *vol = d + c * nz * plane;
		if (axis == 1) {
			for (z = 0; z < nz; z++)
				for (y = 0; y < ny / 2; y++) {
					unsigned char *a = vol + z * plane + y * row, *b = vol + z * plane + (ny - 1 - y) * row;
					memcpy(buf, a, row);
					memcpy(a, b, row);
					memcpy(b, buf, row);
				}
		} else {
			for (z = 0; z < nz / 2; z++) {
				unsigned char *a = vol + z * plane, *b = vol + (nz - 1 - z) * plane;
				memcpy(buf, a, plane);
				memcpy(a, b, plane);
				memcpy(b, buf, plane);
			}
		}
	}
	free(buf);
}

static br_vol *flip_record(br_vol *v, const char *path, int index, void *axis)
{
	(void)path;
	(void)index;
	flip(v, *(int *)axis);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"axis", required_argument, 0, OPT_AXIS},
		{0, 0, 0, 0},
	};
	const char *out = "-";
	int c, axis = 0;

	br_tool_init("brats-flip", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_AXIS:
			axis = br_parse_choice(optarg, "--axis", (const char *const[]){"x", "y", "z", NULL});
			break;
		default:
			br_bad_option(argv);
		}
	}
	br_filter_records(out, argv + optind, argc - optind, flip_record, &axis);
	return 0;
}
