/*
 * brats-metrics - score segmentations as the BraTS portal does: Dice,
 * sensitivity, specificity and HD95 of ET, WT and TC, in the portal's CSV.
 *
 * One case (PRED GT) or a set (-p PRED_DIR -g GT_DIR) matched by case id:
 * PRED_DIR/<case>.nii.gz (.nii, .nrrd) against GT_DIR/<case>/<case>_seg.nii.gz
 * (or the 2023 name <case>-seg.nii.gz).  In a set, a case that cannot be
 * scored is reported on stderr and the others are scored; the exit status
 * is then 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "brats.h"
#include "atomic_file.h"
#include "cli.h"
#include "crop.h"
#include "metrics.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-metrics [-fhqv] [-d device] [-j threads] [-o output] [--labels 2020|2023]\n"
	"                     [--region list] [--uncrop-ref] pred gt\n"
	"       brats-metrics [-fhqv] [-d device] [-j threads] [-o output] [--labels 2020|2023]\n"
	"                     [--region list] [--subset] [--uncrop-ref] -p pred_dir -g gt_dir\n"
	"\n"
	"Score label maps against the ground truth as the BraTS portal does and\n"
	"write its CSV: Dice, sensitivity, specificity and HD95 of ET, WT and TC,\n"
	"one row per case, then Mean, StdDev, Median, 25quantile and 75quantile\n"
	"rows when there are several cases.\n"
	"\n"
	"  -p, --pred-dir DIR     predictions <case>.nii.gz (.nii, .nrrd) ...\n"
	"  -g, --gt-dir DIR       ... against <case>/<case>_seg.nii.gz (or -seg) here\n"
	"      --subset           score only the cases with a prediction\n"
	"      --region LIST      regions, comma-separated: ET, WT, TC (default all)\n"
	"      --labels 2020|2023 ET is label 4 (default) or 3\n"
	"      --uncrop-ref       put a cropped prediction back on the ground truth's grid\n"
	"  -o, --output FILE      write the CSV to FILE (default stdout)\n"
	"  -j, --threads N        score N cases at once (default: all cores)\n"
	"  -v, --verbose          time every case on stderr\n"
	"  -q, --quiet            no messages but errors\n"
	"  -d, --device DEV       accepted for uniformity; runs on the CPU\n"
	"  -f, --force            accepted for uniformity; the CSV is text\n"
	"  -h, --help             this text\n";

enum { OPT_LABELS = 256, OPT_REGION, OPT_UNCROP, OPT_SUBSET };

static const struct option long_opts[] = {
	BR_COMMON_LONG,
	{"pred-dir", required_argument, 0, 'p'},
	{"gt-dir", required_argument, 0, 'g'},
	{"output", required_argument, 0, 'o'},
	{"labels", required_argument, 0, OPT_LABELS},
	{"region", required_argument, 0, OPT_REGION},
	{"uncrop-ref", no_argument, 0, OPT_UNCROP},
	{"subset", no_argument, 0, OPT_SUBSET},
	{0, 0, 0, 0},
};

struct mopts {
	int labels2023;
	unsigned regions;
	int uncrop;
};

struct job {
	char *id, *pred, *gt;
	char *err; /* why it was not scored */
	br_score s[BR_NREGION];
	double secs;
	int scored;
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		br_die(NULL, "out of memory");
	return p;
}

static char *xprintf(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = malloc((size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static const char *shown(const char *path) { return strcmp(path, "-") == 0 ? "stdin" : path; }

/* The labels of v as bytes (v's own data when it is uint8); NULL with a reason. */
static uint8_t *labels_u8(const br_vol *v, int labels2023)
{
	br_vol *c;
	uint8_t *p;

	if (v->dim[3] != 1) {
		br_set_error("a label map has one channel, this record has %lld", (long long)v->dim[3]);
		return NULL;
	}
	if (v->dtype == BR_U8) {
		if (br_vol_check_labels(v, labels2023) < 0)
			return NULL;
		return v->data;
	}
	if (br_vol_check_labels(v, labels2023) < 0)
		return NULL;
	c = br_vol_convert(v, BR_U8);
	if (c == NULL)
		return NULL;
	p = c->data;
	c->data = NULL;
	br_vol_free(c);
	return p;
}

/* Score one case; j->err set when it cannot be. */
static void score(struct job *j, const struct mopts *o)
{
	br_vol *pred = NULL, *gt = NULL, *back;
	uint8_t *lp = NULL, *lg = NULL;
	double sp[3], t0 = br_now();

	pred = br_vol_read(j->pred);
	if (pred == NULL) {
		j->err = xprintf("%s: %s", shown(j->pred), br_error());
		goto done;
	}
	gt = br_vol_read(j->gt);
	if (gt == NULL) {
		j->err = xprintf("%s: %s", shown(j->gt), br_error());
		goto done;
	}
	if (!br_vol_same_grid(pred, gt) && o->uncrop) {
		back = br_uncrop(pred, gt);
		if (back == NULL) {
			j->err = xprintf("%s: cannot put it back on the ground truth's grid: %s", shown(j->pred),
					 br_error());
			goto done;
		}
		br_vol_free(pred);
		pred = back;
	}
	if (!br_vol_same_grid(pred, gt)) {
		if (pred->dim[0] != gt->dim[0] || pred->dim[1] != gt->dim[1] || pred->dim[2] != gt->dim[2])
			j->err = xprintf("%s: grid %lldx%lldx%lld does not match the ground truth's %lldx%lldx%lld%s",
					 shown(j->pred), (long long)pred->dim[0], (long long)pred->dim[1],
					 (long long)pred->dim[2], (long long)gt->dim[0], (long long)gt->dim[1],
					 (long long)gt->dim[2],
					 o->uncrop ? "" : " (a cropped prediction? use --uncrop-ref)");
		else
			j->err = xprintf("%s: its affine does not match the ground truth's (same sizes, other "
					 "voxel positions)",
					 shown(j->pred));
		goto done;
	}
	lp = labels_u8(pred, o->labels2023);
	if (lp == NULL) {
		j->err = xprintf("%s: %s", shown(j->pred), br_error());
		goto done;
	}
	lg = labels_u8(gt, o->labels2023);
	if (lg == NULL) {
		j->err = xprintf("%s: %s", shown(j->gt), br_error());
		goto done;
	}
	br_affine_spacing(gt->affine, sp);
	if (br_score_case(j->s, lp, lg, gt->dim[0], gt->dim[1], gt->dim[2], sp, o->labels2023, o->regions) < 0) {
		j->err = xprintf("%s: %s", shown(j->pred), br_error());
		goto done;
	}
	if (j->id == NULL) { /* a single case from stdin: the record's case id, or the ground truth's */
		const char *c = br_meta_get(pred, BR_KEY_CASE);
		char id[256];
		if (c == NULL || c[0] == '\0') {
			br_case_id_from_path(j->gt, id, sizeof id);
			c = id;
		}
		j->id = xprintf("%s", c);
	}
	j->scored = 1;
done:
	if (j->err == NULL && !j->scored)
		j->err = xprintf("out of memory");
	if (lp != NULL && pred != NULL && lp != pred->data)
		free(lp);
	if (lg != NULL && gt != NULL && lg != gt->data)
		free(lg);
	br_vol_free(pred);
	br_vol_free(gt);
	j->secs = br_now() - t0;
}

/* ---- finding the cases of a directory run ---- */

struct entry {
	char *id, *path;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

/* Regular files (or links to them) of dir whose names pass keep; sorted by id. */
static struct entry *list_dir(const char *dir, int want_dirs, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct entry *v = NULL, *t;
	size_t n = 0, cap = 0;
	struct stat st;
	char *path, id[256];

	if (d == NULL)
		br_die(dir, "%s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!want_dirs && !has_suffix(e->d_name, ".nii.gz") && !has_suffix(e->d_name, ".nii") &&
		    !has_suffix(e->d_name, ".nrrd"))
			continue;
		path = xprintf("%s/%s", dir, e->d_name);
		if (path == NULL)
			br_die(NULL, "out of memory");
		if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode))) {
			free(path);
			continue;
		}
		if (want_dirs)
			snprintf(id, sizeof id, "%s", e->d_name);
		else
			br_case_id_from_path(e->d_name, id, sizeof id);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			t = realloc(v, cap * sizeof *v);
			if (t == NULL)
				br_die(NULL, "out of memory");
			v = t;
		}
		v[n].id = xstrdup(id);
		v[n].path = path;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_entry);
	*count = n;
	return v;
}

static void free_jobs(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(jobs[i].id);
		free(jobs[i].pred);
		free(jobs[i].gt);
		free(jobs[i].err);
	}
	free(jobs);
}

static struct job *find_cases(const char *pdir, const char *gdir, int subset, size_t *njobs)
{
	struct entry *pe, *ge;
	size_t np, ng, i = 0, k = 0, n = 0;
	struct job *jobs;
	br_case c;

	pe = list_dir(pdir, 0, &np);
	ge = list_dir(gdir, 1, &ng);
	jobs = calloc(np + ng + 1, sizeof *jobs);
	if (jobs == NULL)
		br_die(NULL, "out of memory");
	while (i < np || k < ng) {
		int cmp = i == np ? 1 : k == ng ? -1 : strcmp(pe[i].id, ge[k].id);
		struct job *j = &jobs[n];
		if (cmp <= 0) { /* a prediction */
			j->id = xstrdup(pe[i].id);
			j->pred = xstrdup(pe[i].path);
			while (i + 1 < np && strcmp(pe[i + 1].id, pe[i].id) == 0) {
				if (j->err == NULL)
					j->err = xprintf("%s: several predictions for case %s: %s, %s", pdir, j->id,
							 pe[i].path, pe[i + 1].path);
				i++;
			}
			i++;
			if (cmp < 0) {
				if (j->err == NULL)
					j->err = xprintf("%s: no ground truth for case %s (%s/%s_seg.nii.gz or %s-seg.nii.gz)",
							 gdir, j->id, j->id, j->id, j->id);
				n++;
				continue;
			}
		}
		/* a ground-truth folder, with or without a prediction */
		if (br_case_find(ge[k].path, &c, 1u << BR_SEG) == 0) {
			if (j->pred == NULL) {
				if (!subset) {
					j->id = xstrdup(ge[k].id);
					j->err = xprintf("%s: no prediction for case %s (%s.nii.gz, .nii or .nrrd)", pdir,
							 ge[k].id, ge[k].id);
					n++;
				}
			} else {
				j->gt = xstrdup(c.path[BR_SEG]);
				n++;
			}
			br_case_free(&c);
		} else if (j->pred != NULL) {
			if (j->err == NULL)
				j->err = xprintf("%s: %s", ge[k].path, br_error());
			n++;
		}
		/* a folder with no segmentation and no prediction is not a case */
		k++;
	}
	for (i = 0; i < np; i++) {
		free(pe[i].id);
		free(pe[i].path);
	}
	for (k = 0; k < ng; k++) {
		free(ge[k].id);
		free(ge[k].path);
	}
	free(pe);
	free(ge);
	*njobs = n;
	return jobs;
}

/* ---- the CSV ---- */

static const char *const metric_name[4] = {"Dice", "Sensitivity", "Specificity", "Hausdorff95"};

static double metric(const br_score *s, int m)
{
	return m == 0 ? s->dice : m == 1 ? s->sens : m == 2 ? s->spec : s->hd95;
}

static void put_id(FILE *f, const char *id)
{
	const char *p;

	if (strpbrk(id, ",\"\r\n") == NULL) {
		fputs(id, f);
		return;
	}
	fputc('"', f);
	for (p = id; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static char *csv(const struct job *jobs, size_t n, unsigned regions, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	size_t i, scored = 0, k;
	int m, r, s;
	double *x, stat[BR_NSTAT];

	if (f == NULL)
		br_die(NULL, "out of memory");
	fputs("Label", f);
	for (m = 0; m < 4; m++)
		for (r = 0; r < BR_NREGION; r++)
			if (regions & (1u << r))
				fprintf(f, ",%s_%s", metric_name[m], br_region_name[r]);
	fputc('\n', f);
	for (i = 0; i < n; i++) {
		if (!jobs[i].scored)
			continue;
		scored++;
		put_id(f, jobs[i].id);
		for (m = 0; m < 4; m++)
			for (r = 0; r < BR_NREGION; r++)
				if (regions & (1u << r))
					fprintf(f, ",%.5f", metric(&jobs[i].s[r], m));
		fputc('\n', f);
	}
	if (scored > 1) {
		double rows[BR_NSTAT][4][BR_NREGION];
		x = malloc(scored * sizeof *x);
		if (x == NULL)
			br_die(NULL, "out of memory");
		for (m = 0; m < 4; m++)
			for (r = 0; r < BR_NREGION; r++) {
				if (!(regions & (1u << r)))
					continue;
				for (i = 0, k = 0; i < n; i++)
					if (jobs[i].scored)
						x[k++] = metric(&jobs[i].s[r], m);
				if (br_summary(stat, x, k) < 0)
					br_die(NULL, "%s", br_error());
				for (s = 0; s < BR_NSTAT; s++)
					rows[s][m][r] = stat[s];
			}
		free(x);
		for (s = 0; s < BR_NSTAT; s++) {
			fputs(br_stat_name[s], f);
			for (m = 0; m < 4; m++)
				for (r = 0; r < BR_NREGION; r++)
					if (regions & (1u << r))
						fprintf(f, ",%.5f", rows[s][m][r]);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0)
		br_die(NULL, "out of memory");
	return buf;
}

static unsigned parse_regions(const char *arg)
{
	unsigned set = 0;
	const char *p = arg;
	size_t len;
	int r;

	while (*p) {
		len = strcspn(p, ",");
		for (r = 0; r < BR_NREGION; r++)
			if (len == 2 && strncasecmp(p, br_region_name[r], 2) == 0)
				break;
		if (r == BR_NREGION)
			br_usage_error("--region: '%.*s' is not ET, WT or TC", (int)len, p);
		set |= 1u << r;
		p += len;
		if (*p == ',')
			p++;
	}
	if (set == 0)
		br_usage_error("--region: no region given");
	return set;
}

int main(int argc, char **argv)
{
	struct mopts o = {0, (1u << BR_NREGION) - 1, 0};
	const char *out = "-", *pdir = NULL, *gdir = NULL;
	struct job *jobs, one;
	size_t njobs, i, nscored = 0, nerr = 0, done = 0, len;
	int c, subset = 0, nthreads = 1;
	char *text;

	br_tool_init("brats-metrics", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "p:g:o:", long_opts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'p':
			pdir = optarg;
			break;
		case 'g':
			gdir = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_LABELS:
			o.labels2023 = br_parse_choice(optarg, "--labels", (const char *const[]){"2020", "2023", NULL});
			break;
		case OPT_REGION:
			o.regions = parse_regions(optarg);
			break;
		case OPT_UNCROP:
			o.uncrop = 1;
			break;
		case OPT_SUBSET:
			subset = 1;
			break;
		default:
			br_bad_option(argv);
		}
	}
	if ((pdir != NULL) != (gdir != NULL))
		br_usage_error("-p and -g go together");
	if (pdir != NULL && optind != argc)
		br_usage_error("give either -p and -g or two files, not both");
	if (pdir == NULL && argc - optind != 2)
		br_usage_error("expected two files: the prediction and the ground truth");
	if (pdir == NULL && subset)
		br_usage_error("--subset applies to -p and -g runs");

	if (pdir == NULL) {
		char id[256];
		memset(&one, 0, sizeof one);
		one.pred = argv[optind];
		one.gt = argv[optind + 1];
		if (strcmp(one.pred, "-") != 0) {
			br_case_id_from_path(one.pred, id, sizeof id);
			one.id = xstrdup(id);
		}
		score(&one, &o);
		if (!one.scored)
			br_die(NULL, "%s", one.err);
		br_msg(2, "%s: scored in %.3f s", one.id, one.secs);
		text = csv(&one, 1, o.regions, &len);
		if (br_text_write(out, text, len) < 0) {
			free(text);
			br_die(strcmp(out, "-") == 0 ? "stdout" : out, "%s", br_error());
		}
		free(text);
		free(one.id);
		return 0;
	}

	jobs = find_cases(pdir, gdir, subset, &njobs);
	if (njobs == 0)
		br_die(pdir, "no case to score (predictions <case>.nii.gz, .nii or .nrrd)");
#ifdef _OPENMP
	nthreads = br_opt.threads > 0 ? br_opt.threads : omp_get_max_threads();
#endif
	(void)nthreads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
	for (i = 0; i < njobs; i++) {
		if (jobs[i].err != NULL)
			continue;
		score(&jobs[i], &o);
#pragma omp critical
		{
			done++;
			if (jobs[i].scored)
				br_msg(2, "%s: scored in %.3f s", jobs[i].id, jobs[i].secs);
			br_progress("%zu/%zu cases", done, njobs);
		}
	}
	br_progress_end();
	for (i = 0; i < njobs; i++) {
		if (jobs[i].scored) {
			nscored++;
		} else {
			nerr++;
			fprintf(stderr, "%s: %s\n", br_opt.prog, jobs[i].err);
		}
	}
	if (nscored > 0) {
		text = csv(jobs, njobs, o.regions, &len);
		if (br_text_write(out, text, len) < 0) {
			free(text);
			br_die(strcmp(out, "-") == 0 ? "stdout" : out, "%s", br_error());
		}
		free(text);
	}
	if (nerr > 0)
		br_msg(1, "%zu of %zu cases not scored", nerr, njobs);
	free_jobs(jobs, njobs);
	return nerr > 0 ? 1 : 0;
}
