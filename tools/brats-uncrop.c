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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"reference", required_argument, 0, 'r'},
		{0, 0, 0, 0},
	};
	const char *out = "-", *refpath = NULL, *stdin_only[] = {"-"}, **inputs;
	int c, ninputs, k, r, idx = 0;
	br_writer *w;
	br_vol *ref, *v, *o;

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
	inputs = optind < argc ? (const char **)(argv + optind) : stdin_only;
	ninputs = optind < argc ? argc - optind : 1;
	w = br_writer_open(out, br_opt.force);
	if (w == NULL)
		br_die(out, "%s", br_error());
	for (k = 0; k < ninputs; k++) {
		br_reader *rd = br_reader_open(inputs[k]);
		if (rd == NULL) {
			br_writer_abort(w);
			br_die(inputs[k], "%s", br_error());
		}
		while ((r = br_reader_next(rd, &v)) == 1) {
			idx++;
			o = br_uncrop(v, ref);
			if (o == NULL) {
				br_writer_abort(w);
				br_die(br_reader_path(rd), "record %d: %s", idx, br_error());
			}
			if (br_writer_put(w, o) < 0) {
				br_writer_abort(w);
				br_die(out, "%s", br_error());
			}
			br_vol_free(o);
			br_vol_free(v);
		}
		if (r < 0) {
			br_writer_abort(w);
			br_die(br_reader_path(rd), "%s", br_error());
		}
		br_reader_close(rd);
	}
	if (br_writer_close(w) < 0)
		br_die(out, "%s", br_error());
	br_vol_free(ref);
	return 0;
}
