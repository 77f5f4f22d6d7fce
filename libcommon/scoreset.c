/*
 * scoreset.c - scoring sets of segmentations (see scoreset.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "brats.h"
#include "crop.h"
#include "labelmap.h"
#include "scoreset.h"
#include "volume.h"

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

/* ---- one case ---- */

void br_score_job_run(br_score_job *j, const br_score_opts *o)
{
	br_vol *pred = NULL, *gt = NULL, *back, *lp = NULL, *lg = NULL;
	double sp[3];

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
	lp = br_vol_labels_u8(pred, o->labels2023);
	if (lp == NULL) {
		j->err = xprintf("%s: %s", shown(j->pred), br_error());
		goto done;
	}
	lg = br_vol_labels_u8(gt, o->labels2023);
	if (lg == NULL) {
		j->err = xprintf("%s: %s", shown(j->gt), br_error());
		goto done;
	}
	br_affine_spacing(gt->affine, sp);
	if (br_score_case(j->s, lp->data, lg->data, gt->dim[0], gt->dim[1], gt->dim[2], sp, o->labels2023,
			  o->regions) < 0 ||
	    (o->lesion_wise && br_lesion_score_case(j->les, lp->data, lg->data, gt->dim[0], gt->dim[1], gt->dim[2],
						    sp, o->labels2023, o->regions, &br_lesion_brats2023) < 0)) {
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
		if (j->id == NULL)
			goto done;
	}
	j->scored = 1;
done:
	if (j->err == NULL && !j->scored)
		j->err = xprintf("out of memory");
	if (lp != pred)
		br_vol_free(lp);
	if (lg != gt)
		br_vol_free(lg);
	br_vol_free(pred);
	br_vol_free(gt);
}

/* ---- finding the cases of a set ---- */

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

static void free_entries(struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].path);
	}
	free(v);
}

/* The volume files (want_dirs 0) or the folders (1) of dir, sorted by id;
 * -1 with a reason. */
static int list_dir(struct entry **out, size_t *count, const char *dir, int want_dirs)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct entry *v = NULL, *t;
	size_t n = 0, cap = 0;
	struct stat st;
	char *path, id[256];

	if (d == NULL)
		return br_set_error("%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!want_dirs && !has_suffix(e->d_name, ".nii.gz") && !has_suffix(e->d_name, ".nii") &&
		    !has_suffix(e->d_name, ".nrrd"))
			continue;
		path = xprintf("%s/%s", dir, e->d_name);
		if (path == NULL)
			goto oom;
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
			if (t == NULL) {
				free(path);
				goto oom;
			}
			v = t;
		}
		v[n].path = path;
		v[n].id = strdup(id);
		n++;
		if (v[n - 1].id == NULL)
			goto oom;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_entry);
	*out = v;
	*count = n;
	return 0;
oom:
	closedir(d);
	free_entries(v, n);
	return br_set_error("out of memory");
}

void br_score_jobs_free(br_score_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs != NULL && i < n; i++) {
		free(jobs[i].id);
		free(jobs[i].pred);
		free(jobs[i].gt);
		free(jobs[i].err);
	}
	free(jobs);
}

br_score_job *br_score_jobs_find(const char *pdir, const char *gdir, int subset, size_t *njobs)
{
	struct entry *pe = NULL, *ge = NULL;
	size_t np = 0, ng = 0, i = 0, k = 0, n = 0;
	br_score_job *jobs = NULL;
	br_case c;
	int oom = 0;

	if (list_dir(&pe, &np, pdir, 0) < 0 || list_dir(&ge, &ng, gdir, 1) < 0)
		goto fail;
	jobs = calloc(np + ng + 1, sizeof *jobs);
	if (jobs == NULL) {
		oom = 1;
		goto fail;
	}
	/* the two sorted lists side by side; every string below is checked at the end */
	while (i < np || k < ng) {
		int cmp = i == np ? 1 : k == ng ? -1 : strcmp(pe[i].id, ge[k].id);
		br_score_job *j = &jobs[n];
		if (cmp <= 0) { /* a prediction */
			j->id = strdup(pe[i].id);
			j->pred = strdup(pe[i].path);
			while (i + 1 < np && strcmp(pe[i + 1].id, pe[i].id) == 0) {
				if (j->err == NULL)
					j->err = xprintf("%s: several predictions for case %s: %s, %s", pdir, pe[i].id,
							 pe[i].path, pe[i + 1].path);
				i++;
			}
			i++;
			if (cmp < 0) {
				if (j->err == NULL)
					j->err = xprintf("%s: no ground truth for case %s (%s/%s_seg.nii.gz or %s-seg.nii.gz)",
							 gdir, pe[i - 1].id, pe[i - 1].id, pe[i - 1].id, pe[i - 1].id);
				oom |= j->id == NULL || j->pred == NULL || j->err == NULL;
				n++;
				continue;
			}
		}
		/* a ground-truth folder, with or without a prediction */
		if (br_case_find(ge[k].path, &c, 1u << BR_SEG) == 0) {
			if (j->pred == NULL) {
				if (!subset) {
					j->id = strdup(ge[k].id);
					j->err = xprintf("%s: no prediction for case %s (%s.nii.gz, .nii or .nrrd)", pdir,
							 ge[k].id, ge[k].id);
					oom |= j->id == NULL || j->err == NULL;
					n++;
				}
			} else {
				j->gt = strdup(c.path[BR_SEG]);
				oom |= j->id == NULL || j->pred == NULL || j->gt == NULL;
				n++;
			}
			br_case_free(&c);
		} else if (j->pred != NULL) {
			if (j->err == NULL)
				j->err = xprintf("%s: %s", ge[k].path, br_error());
			oom |= j->id == NULL || j->pred == NULL || j->err == NULL;
			n++;
		}
		/* a folder with no segmentation and no prediction is not a case */
		k++;
	}
	if (oom)
		goto fail;
	free_entries(pe, np);
	free_entries(ge, ng);
	*njobs = n;
	return jobs;
fail:
	if (oom)
		br_set_error("out of memory");
	free_entries(pe, np);
	free_entries(ge, ng);
	br_score_jobs_free(jobs, np + ng + 1);
	return NULL;
}

/* ---- the CSV ---- */

enum { NMETRIC = 4, NLESION = 5 };
static const char *const metric_name[NMETRIC + NLESION] = {
	"Dice", "Sensitivity", "Specificity", "Hausdorff95", "LesionWise_Dice", "LesionWise_Hausdorff95",
	"Num_TP", "Num_FP", "Num_FN"};

static double metric(const br_score_job *j, int m, int r)
{
	const br_score *s = &j->s[r];
	const br_lesion_score *l = &j->les[r];

	switch (m) {
	case 0: return s->dice;
	case 1: return s->sens;
	case 2: return s->spec;
	case 3: return s->hd95;
	case 4: return l->dice;
	case 5: return l->hd95;
	case 6: return (double)l->tp;
	case 7: return (double)l->fp;
	default: return (double)l->fn;
	}
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

char *br_score_csv(const br_score_job *jobs, size_t n, const br_score_opts *o, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	size_t i, scored = 0, k;
	int m, r, s, nm = o->lesion_wise ? NMETRIC + NLESION : NMETRIC, bad = 0;
	double *x = NULL, stat[BR_NSTAT];

	if (f == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	fputs("Label", f);
	for (m = 0; m < nm; m++)
		for (r = 0; r < BR_NREGION; r++)
			if (o->regions & (1u << r))
				fprintf(f, ",%s_%s", metric_name[m], br_region_name[r]);
	fputc('\n', f);
	for (i = 0; i < n; i++) {
		if (!jobs[i].scored)
			continue;
		scored++;
		put_id(f, jobs[i].id);
		for (m = 0; m < nm; m++)
			for (r = 0; r < BR_NREGION; r++)
				if (o->regions & (1u << r))
					fprintf(f, m >= 6 ? ",%.0f" : ",%.5f", metric(&jobs[i], m, r));
		fputc('\n', f);
	}
	if (scored > 1) {
		double (*rows)[NMETRIC + NLESION][BR_NREGION] = malloc(BR_NSTAT * sizeof *rows);
		x = malloc(scored * sizeof *x);
		if (x == NULL || rows == NULL) {
			free(rows);
			bad = 1;
			goto end;
		}
		for (m = 0; m < nm; m++)
			for (r = 0; r < BR_NREGION; r++) {
				if (!(o->regions & (1u << r)))
					continue;
				for (i = 0, k = 0; i < n; i++)
					if (jobs[i].scored)
						x[k++] = metric(&jobs[i], m, r);
				if (br_summary(stat, x, k) < 0)
					bad = 1;
				for (s = 0; s < BR_NSTAT; s++)
					rows[s][m][r] = stat[s];
			}
		for (s = 0; s < BR_NSTAT; s++) {
			fputs(br_stat_name[s], f);
			for (m = 0; m < nm; m++)
				for (r = 0; r < BR_NREGION; r++)
					if (o->regions & (1u << r))
						fprintf(f, ",%.5f", rows[s][m][r]);
			fputc('\n', f);
		}
		free(rows);
	}
end:
	free(x);
	if (fclose(f) != 0 || bad) {
		free(buf);
		br_set_error("out of memory");
		return NULL;
	}
	return buf;
}
