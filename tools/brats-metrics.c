/*
 * brats-metrics - score segmentations as the BraTS portal does: Dice,
 * sensitivity, specificity and HD95 of ET, WT and TC, in the portal's CSV,
 * and with --lesion-wise the BraTS 2023 lesion-wise scores (lesion.h).
 *
 * One case (PRED GT) or a set (-p PRED_DIR -g GT_DIR) matched by case id
 * (scoreset.h).  In a set, a case that cannot be scored is reported on
 * stderr and the others are scored; the exit status is then 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "atomic_file.h"
#include "brats.h"
#include "cli.h"
#include "metrics.h"
#include "scoreset.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-metrics [-fhqv] [-d device] [-j threads] [-o output] [--labels 2020|2023]\n"
	"                     [--lesion-wise] [--region list] [--uncrop-ref] pred gt\n"
	"       brats-metrics [-fhqv] [-d device] [-j threads] [-o output] [--labels 2020|2023]\n"
	"                     [--lesion-wise] [--region list] [--subset] [--uncrop-ref]\n"
	"                     -p pred_dir -g gt_dir\n"
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
	"      --lesion-wise      add the BraTS 2023 lesion-wise Dice and HD95 and the\n"
	"                         lesion counts (Num_TP, Num_FP, Num_FN) of each region\n"
	"      --uncrop-ref       put a cropped prediction back on the ground truth's grid\n"
	"  -o, --output FILE      write the CSV to FILE (default stdout)\n"
	"  -j, --threads N        score N cases at once (default: all cores)\n"
	"  -v, --verbose          time every case on stderr\n"
	"  -q, --quiet            no messages but errors\n"
	"  -d, --device DEV       accepted for uniformity; runs on the CPU\n"
	"  -f, --force            accepted for uniformity; the CSV is text\n"
	"  -h, --help             this text\n";

enum { OPT_LABELS = 256, OPT_REGION, OPT_UNCROP, OPT_SUBSET, OPT_LESION };

static const struct option long_opts[] = {
	BR_COMMON_LONG,
	{"pred-dir", required_argument, 0, 'p'},
	{"gt-dir", required_argument, 0, 'g'},
	{"output", required_argument, 0, 'o'},
	{"labels", required_argument, 0, OPT_LABELS},
	{"region", required_argument, 0, OPT_REGION},
	{"uncrop-ref", no_argument, 0, OPT_UNCROP},
	{"subset", no_argument, 0, OPT_SUBSET},
	{"lesion-wise", no_argument, 0, OPT_LESION},
	{0, 0, 0, 0},
};

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

/* Score one case, timed on stderr with -v. */
static void run(br_score_job *j, const br_score_opts *o)
{
	double t0 = br_now();

	br_score_job_run(j, o);
	if (j->scored)
		br_msg(2, "%s: scored in %.3f s", j->id, br_now() - t0);
}

static void write_csv(const char *out, const br_score_job *jobs, size_t n, const br_score_opts *o)
{
	size_t len;
	char *text = br_score_csv(jobs, n, o, &len);

	if (text == NULL)
		br_die(NULL, "%s", br_error());
	if (br_text_write(out, text, len) < 0) {
		free(text);
		br_die(br_out_name(out), "%s", br_error());
	}
	free(text);
}

int main(int argc, char **argv)
{
	br_score_opts o = {0, (1u << BR_NREGION) - 1, 0, 0};
	const char *out = "-", *pdir = NULL, *gdir = NULL;
	br_score_job *jobs, one;
	size_t njobs, i, nscored = 0, nerr = 0, done = 0;
	int c, subset = 0, nthreads = 1;

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
		case OPT_LESION:
			o.lesion_wise = 1;
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
			one.id = strdup(id);
			if (one.id == NULL)
				br_die(NULL, "out of memory");
		}
		run(&one, &o);
		if (!one.scored)
			br_die(NULL, "%s", one.err != NULL ? one.err : "out of memory");
		write_csv(out, &one, 1, &o);
		free(one.id);
		free(one.err);
		return 0;
	}

	jobs = br_score_jobs_find(pdir, gdir, subset, &njobs);
	if (jobs == NULL)
		br_die(NULL, "%s", br_error());
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
		run(&jobs[i], &o);
#pragma omp critical
		{
			done++;
			br_progress_unit("%s: %zu/%zu cases", jobs[i].id != NULL ? jobs[i].id : "case", done, njobs);
		}
	}
	br_progress_end();
	for (i = 0; i < njobs; i++) {
		if (jobs[i].scored) {
			nscored++;
		} else {
			nerr++;
			fprintf(stderr, "%s: %s\n", br_opt.prog, jobs[i].err != NULL ? jobs[i].err : "out of memory");
		}
	}
	if (nscored > 0)
		write_csv(out, jobs, njobs, &o);
	if (nerr > 0)
		br_msg(1, "%zu of %zu cases not scored", nerr, njobs);
	br_score_jobs_free(jobs, njobs);
	return nerr > 0 ? 1 : 0;
}
