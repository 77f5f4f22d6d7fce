/*
 * brats-phantom - synthetic BraTS cases: four int16 MRI contrasts and a
 * label map in the BraTS folder and file layout, deterministic for a seed.
 * The cases are made by libcommon/phantom.c; this tool chooses them, names
 * them and writes them.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "dirs.h"
#include "phantom.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-phantom [-hqv] [-j N] [-n N] [--seed S] [--layout brats2020|brats2023]\n"
	"                     [--first K] [--size small|full] [--tumours A[-B]] [--no-seg] -o DIR\n"
	"Write N synthetic BraTS cases (t1, t1ce, t2, flair int16 and the seg label map,\n"
	"NIfTI-1 .nii.gz, 240x240x155 at 1 mm) into DIR, one folder per case.\n"
	"  -o DIR            output folder (created when missing)\n"
	"  -n N              number of cases (default 1)\n"
	"  --seed S          random seed, 0 to 2^63-1 (default 1); a case depends only on S and its number\n"
	"  --layout L        brats2020: BraTS20_Training_NNN/..._{t1,t1ce,t2,flair,seg} (default)\n"
	"                    brats2023: BraTS-GLI-NNNNN-000/...-{t1n,t1c,t2w,t2f,seg}, ET labelled 3\n"
	"  --first K         number of the first case (default 1)\n"
	"  --size S          full: 240x240x155 (default); small: the 64 slices z = 46..109 of the\n"
	"                    same case (240x240x64, affine shifted to keep world positions)\n"
	"  --tumours A[-B]   between A and B tumours per case, 0 <= A <= B <= 3 (default 1-3)\n"
	"  --no-seg          no label map (validation cases: BraTS20_Validation_NNN in brats2020)\n"
	"  -j N              threads (default: all cores); the output does not depend on it\n"
	"  -q, -v            quieter (no progress), more verbose (-v: each case's tumours)\n"
	"  -h                this help\n"
	"Environment: BR_PHANTOM_TEMPLATE, the brain template (default\n"
	"/usr/share/mricron/templates/ch2bet.nii.gz); a procedural brain when it cannot be read.\n";

enum { OPT_SEED = 256, OPT_LAYOUT, OPT_FIRST, OPT_SIZE, OPT_TUMOURS, OPT_NOSEG };

/* --size small: the 64 slices z = 46..109 */
#define SMALL_Z0 46
#define SMALL_NZ 64

/* The template named by BR_PHANTOM_TEMPLATE (default the Colin27 brain),
 * or the procedural brain, with a notice, when it cannot be used.
 * BR_PHANTOM_DUMP=FILE writes the template's four channels (CSF, GM, WM,
 * vessels; 0-255) as one 4-D record, to look at. */
static br_phantom_template *template_load(void)
{
	const char *path = getenv("BR_PHANTOM_TEMPLATE"), *dump = getenv("BR_PHANTOM_DUMP");
	br_phantom_template *t;

	if (path == NULL || *path == '\0')
		path = BR_PHANTOM_DEFAULT_TEMPLATE;
	t = br_phantom_template_read(path);
	if (t != NULL) {
		int dim[3];
		br_phantom_template_size(t, dim);
		br_msg(2, "template %s: %dx%dx%d", path, dim[0], dim[1], dim[2]);
	} else {
		br_msg(1, "%s: %s; using the procedural brain", path, br_error());
		t = br_phantom_template_procedural();
		if (t == NULL)
			br_die(NULL, "procedural brain: %s", br_error());
	}
	if (dump != NULL && *dump != '\0') {
		br_vol *v = br_phantom_template_channels(t);
		if (v == NULL || br_vol_write(dump, v, 1) < 0)
			br_die(dump, "%s", br_error());
		br_vol_free(v);
	}
	return t;
}

struct layout {
	int y2023, noseg, small;
};

static void case_name(char *buf, size_t n, const struct layout *L, long num)
{
	if (L->y2023)
		snprintf(buf, n, "BraTS-GLI-%05ld-000", num);
	else
		snprintf(buf, n, "BraTS20_%s_%03ld", L->noseg ? "Validation" : "Training", num);
}

static const char *suffix_2020[] = {"t1", "t1ce", "t2", "flair", "seg"};
static const char *suffix_2023[] = {"t1n", "t1c", "t2w", "t2f", "seg"};

/* Write the files of one case; on failure remove what was written and the
 * folder when this call created it, and die. */
static void case_write(const char *dir, const char *name, const struct layout *L, const br_phantom_case *c)
{
	char *cdir, *paths[5], errs[5][512];
	const char **suf = L->y2023 ? suffix_2023 : suffix_2020;
	int nfiles = L->noseg ? 4 : 5, created = 0, f, bad = -1;
	size_t len = strlen(dir) + 2 * strlen(name) + 32;

	cdir = malloc(len);
	if (cdir == NULL)
		br_die(NULL, "out of memory");
	snprintf(cdir, len, "%s/%s", dir, name);
	if (mkdir(cdir, 0777) == 0) {
		created = 1;
	} else {
		struct stat st;
		if (errno != EEXIST)
			br_die(cdir, "cannot create the case folder: %s", strerror(errno));
		if (stat(cdir, &st) != 0 || !S_ISDIR(st.st_mode))
			br_die(cdir, "exists and is not a folder");
	}
	for (f = 0; f < nfiles; f++) {
		paths[f] = malloc(len);
		if (paths[f] == NULL)
			br_die(NULL, "out of memory");
		/* BraTS 2023 joins name and suffix with a dash */
		snprintf(paths[f], len, "%s/%s%c%s.nii.gz", cdir, name, L->y2023 ? '-' : '_', suf[f]);
		errs[f][0] = '\0';
	}
	/* one file per thread: gzip is the slow part */
#pragma omp parallel for schedule(dynamic, 1)
	for (f = 0; f < nfiles; f++) {
		br_writer *w = br_writer_open(paths[f], 1);
		int rc = -1;
		if (w != NULL && br_writer_put(w, f < BR_PHANTOM_NMOD ? c->img[f] : c->seg) == 0)
			rc = br_writer_close(w);
		else if (w != NULL)
			br_writer_abort(w);
		if (rc < 0)
			snprintf(errs[f], sizeof errs[f], "%s", br_error());
	}
	for (f = 0; f < nfiles; f++)
		if (errs[f][0] != '\0' && bad < 0)
			bad = f;
	if (bad >= 0) {
		for (f = 0; f < nfiles; f++)
			if (errs[f][0] == '\0')
				unlink(paths[f]);
		if (created)
			rmdir(cdir);
		br_die(paths[bad], "%s", errs[bad]);
	}
	for (f = 0; f < nfiles; f++)
		free(paths[f]);
	free(cdir);
}

static void parse_tumours(const char *s, int *a, int *b)
{
	char *end;
	long x, y;

	errno = 0;
	x = strtol(s, &end, 10);
	y = x;
	if (end != s && *end == '-') {
		const char *s2 = end + 1;
		y = strtol(s2, &end, 10);
		if (end == s2)
			end = (char *)s; /* bad */
	}
	if (end == s || *end != '\0' || errno != 0 || x < 0 || y < x || y > BR_PHANTOM_MAX_TUMOURS)
		br_usage_error("--tumours: '%s' is not A or A-B with 0 <= A <= B <= %d", s, BR_PHANTOM_MAX_TUMOURS);
	*a = (int)x;
	*b = (int)y;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"seed", required_argument, 0, OPT_SEED},
		{"layout", required_argument, 0, OPT_LAYOUT},
		{"first", required_argument, 0, OPT_FIRST},
		{"size", required_argument, 0, OPT_SIZE},
		{"tumours", required_argument, 0, OPT_TUMOURS},
		{"no-seg", no_argument, 0, OPT_NOSEG},
		{0, 0, 0, 0},
	};
	const char *dir = NULL;
	long n = 1, first = 1, seed = 1, c, maxnum;
	int opt, tmin = 1, tmax = 3;
	struct layout L = {0, 0, 0};
	br_phantom_template *tp;
	br_phantom_params par;
	double t_all;

	br_tool_init("brats-phantom", usage);
	while ((opt = getopt_long(argc, argv, BR_COMMON_SHORT "n:o:", longopts, NULL)) != -1) {
		if (opt != '?' && opt != ':' && br_common_option(opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			n = br_parse_long(optarg, "-n", 1, 99999);
			break;
		case 'o':
			dir = optarg;
			break;
		case OPT_SEED:
			seed = br_parse_long(optarg, "--seed", 0, INT64_MAX);
			break;
		case OPT_LAYOUT:
			L.y2023 = br_parse_choice(optarg, "--layout", (const char *const[]){"brats2020", "brats2023", NULL});
			break;
		case OPT_FIRST:
			first = br_parse_long(optarg, "--first", 0, 99999);
			break;
		case OPT_SIZE:
			L.small = br_parse_choice(optarg, "--size", (const char *const[]){"full", "small", NULL});
			break;
		case OPT_TUMOURS:
			parse_tumours(optarg, &tmin, &tmax);
			break;
		case OPT_NOSEG:
			L.noseg = 1;
			break;
		default:
			if (optopt != 0 && optopt < 256)
				br_usage_error("option -%c: %s", optopt,
					       strchr(BR_COMMON_SHORT "n:o:", optopt) ? "needs a value" : "unknown option");
			br_usage_error("%s: unknown option or missing value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		br_usage_error("unexpected argument '%s'", argv[optind]);
	if (dir == NULL || dir[0] == '\0')
		br_usage_error("no output folder (-o DIR)");
	maxnum = L.y2023 ? 99999 : 999;
	if (first + n - 1 > maxnum)
		br_usage_error("cases %ld to %ld do not fit %d digits", first, first + n - 1, L.y2023 ? 5 : 3);
#ifdef _OPENMP
	if (br_opt.threads > 0)
		omp_set_num_threads(br_opt.threads);
#endif
	if (br_mkdir_p(dir) < 0)
		br_die(dir, "%s", br_error());
	if (access(dir, W_OK) != 0)
		br_die(dir, "not writable: %s", strerror(errno));
	tp = template_load();
	br_phantom_params_default(&par);
	par.seed = (uint64_t)seed;
	par.tumours_min = tmin;
	par.tumours_max = tmax;
	if (L.small) {
		par.z0 = SMALL_Z0;
		par.nz = SMALL_NZ;
	}
	par.et_label = L.y2023 ? 3 : 4;
	t_all = br_now();
	for (c = 0; c < n; c++) {
		char name[64];
		br_phantom_case *cs;
		double t0 = br_now();
		int k;

		par.number = first + c;
		case_name(name, sizeof name, &L, par.number);
		par.name = name;
		if (c == 0)
			br_progress("%s (%ld/%ld)", name, c + 1, n);
		cs = br_phantom_case_make(tp, &par);
		if (cs == NULL)
			br_die(name, "%s", br_error());
		for (k = 0; k < cs->ntumours; k++) {
			const br_phantom_tumour *t = &cs->tumour[k];
			br_msg(3, "case %ld tumour %d: kind %d, centre %.0f %.0f %.0f, radii %.1f %.1f %.1f mm, mass %.1f",
			       par.number, k, t->kind, t->centre[0], t->centre[1], t->centre[2], t->radius[0], t->radius[1],
			       t->radius[2], t->mass);
		}
		case_write(dir, name, &L, cs);
		if (br_opt.verbose >= 2) {
			const uint8_t *s = cs->seg->data;
			size_t i, nv = br_vol_nvox(cs->seg), wt = 0;
			for (i = 0; i < nv; i++)
				wt += s[i] != 0;
			br_msg(2, "%s: %d tumour%s, whole tumour %.1f cm3, %.2f s", name, cs->ntumours,
			       cs->ntumours == 1 ? "" : "s", wt / 1000.0, br_now() - t0);
		}
		br_phantom_case_free(cs);
		if (n > 1) {
			char left[32];
			br_fmt_duration(left, sizeof left, (br_now() - t_all) / (double)(c + 1) * (double)(n - c - 1));
			br_progress_unit("%s (%ld/%ld) %.1f s, %s left", name, c + 1, n, br_now() - t0, left);
		}
	}
	br_progress_end();
	br_phantom_template_free(tp);
	return 0;
}
