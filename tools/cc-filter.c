/*
 * cc-filter - drop the small connected components of a tumour label map
 * (the post-processing of Ma, Tang & Guo 2021).
 *
 * Every record of every input (stdin when none) is filtered and written to
 * one output stream: the components of the whole tumour (label > 0) are
 * found, the largest is kept, and every component smaller than --ratio times
 * the largest is set to 0 in every label.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "components.h"
#include "labelmap.h"
#include "metrics.h"
#include "volume.h"

static const char usage[] =
	"usage: cc-filter [-fhkqv] [-c 6|18|26] [-d device] [-j threads] [-m voxels]\n"
	"                 [-o output] [-r ratio] [--labels 2020|2023] [file ...]\n"
	"\n"
	"Keep the largest 3-D connected component of the whole tumour (label > 0)\n"
	"of each label map and every component of at least ratio times its size;\n"
	"the voxels of the others become 0.  Reads every record of the files (stdin\n"
	"when none) and writes the filtered records, geometry and metadata kept.\n"
	"\n"
	"  -c, --connectivity N   6, 18 or 26 (default 26)\n"
	"  -r, --ratio R          keep components of >= R times the largest (default 0.1)\n"
	"  -k, --keep-largest     keep only the largest component\n"
	"  -m, --min-voxels N     also drop components of fewer than N voxels (default 0)\n"
	"      --labels 2020|2023 label convention: 0,1,2,4 (default) or 0,1,2,3\n"
	"  -o, --output FILE      output (default stdout); .nrrd, .nii or .nii.gz\n"
	"  -f, --force            write binary data to a terminal\n"
	"  -v, --verbose          per-record statistics on stderr\n"
	"  -q, --quiet            no messages but errors\n"
	"  -d, --device DEV       accepted for uniformity; cc-filter runs on the CPU\n"
	"  -j, --threads N        accepted for uniformity; cc-filter uses one thread\n"
	"  -h, --help             this text\n";

enum { OPT_LABELS = 256 };

static const struct option long_opts[] = {
	BR_COMMON_LONG,
	{"connectivity", required_argument, 0, 'c'},
	{"ratio", required_argument, 0, 'r'},
	{"keep-largest", no_argument, 0, 'k'},
	{"min-voxels", required_argument, 0, 'm'},
	{"labels", required_argument, 0, OPT_LABELS},
	{"output", required_argument, 0, 'o'},
	{0, 0, 0, 0},
};

struct filter_opts {
	int connectivity;
	double ratio;
	int keep_largest;
	long min_voxels;
	int labels2023;
};

/* Filter one record in place; -1 with a reason.  Statistics out. */
static int filter_record(br_vol *v, const struct filter_opts *o, int64_t st[4])
{
	br_vol *lab; /* the labels as bytes: v, or a converted copy */
	uint8_t *keep = NULL;
	br_cc *cc;
	int64_t nfg = 0, i;

	lab = br_vol_labels_u8(v, o->labels2023);
	if (lab == NULL)
		return -1;
	cc = br_cc_new(lab->data, v->dim[0], v->dim[1], v->dim[2], o->connectivity);
	if (cc == NULL)
		goto fail;
	keep = malloc((size_t)(cc->n > 0 ? cc->n : 1));
	if (keep == NULL) {
		br_set_error("out of memory");
		goto fail;
	}
	for (i = 0; i < cc->n; i++)
		nfg += cc->size[i];
	st[0] = cc->n;
	st[1] = br_cc_select(keep, cc, o->ratio, o->min_voxels, o->keep_largest);
	st[2] = br_cc_clear(v->data, br_dtype_size(v->dtype), cc, keep);
	st[3] = nfg;
	if (lab != v)
		br_vol_free(lab);
	free(keep);
	br_cc_free(cc);
	return 0;
fail:
	if (lab != v)
		br_vol_free(lab);
	free(keep);
	br_cc_free(cc);
	return -1;
}

static br_vol *cc_record(br_vol *v, const char *path, int index, void *opts)
{
	int64_t st[4] = {0, 0, 0, 0};

	if (filter_record(v, opts, st) < 0) {
		br_vol_free(v);
		return NULL;
	}
	br_msg(2, "%s: record %d: %lld components, %lld kept, %lld of %lld tumour voxels removed", path, index,
	       (long long)st[0], (long long)st[1], (long long)st[2], (long long)st[3]);
	return v;
}

int main(int argc, char **argv)
{
	struct filter_opts o = {26, 0.1, 0, 0, 0};
	const char *out = "-";
	int c;

	br_tool_init("cc-filter", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "c:r:km:o:", long_opts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'c':
			o.connectivity = (int)br_parse_long(optarg, "--connectivity", 6, 26);
			if (o.connectivity != 6 && o.connectivity != 18 && o.connectivity != 26)
				br_usage_error("--connectivity: '%s' is not 6, 18 or 26", optarg);
			break;
		case 'r':
			o.ratio = br_parse_double(optarg, "--ratio", 0, 1);
			break;
		case 'k':
			o.keep_largest = 1;
			break;
		case 'm':
			o.min_voxels = br_parse_long(optarg, "--min-voxels", 0, (long)1 << 40);
			break;
		case OPT_LABELS:
			o.labels2023 = br_parse_choice(optarg, "--labels", (const char *const[]){"2020", "2023", NULL});
			break;
		case 'o':
			out = optarg;
			break;
		default:
			br_bad_option(argv);
		}
	}
	br_filter_records(out, argv + optind, argc - optind, cc_record, &o);
	return 0;
}
