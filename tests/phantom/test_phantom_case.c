/*
 * test_phantom_case.c - the phantom library in-process (libcommon/phantom.h):
 * determinism (same parameters, same bytes, any number of threads), the
 * label set, tumours inside the brain, seeds and case numbers that differ,
 * the slab and BraTS 2023 variants of a case, bad parameters, mkdir -p; and,
 * given files written by brats-phantom, that they hold the in-memory case.
 *
 * usage: test_phantom_case DIR [SEED NUMBER full|small 2020|2023 PREFIX]...
 *   DIR     a scratch folder (mkdir -p is tried under it)
 *   PREFIX  the tool's files without the modality suffix, e.g.
 *           out/BraTS20_Training_007/BraTS20_Training_007_
 * Uses the procedural brain, so that nothing outside the tree is read.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dirs.h"
#include "kernels/tk.h"
#include "phantom.h"
#include "volume.h"

static const char *suffix_2020[] = {"t1", "t1ce", "t2", "flair", "seg"};
static const char *suffix_2023[] = {"t1n", "t1c", "t2w", "t2f", "seg"};

static int streq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static br_vol *vol_of(const br_phantom_case *c, int m)
{
	return m < BR_PHANTOM_NMOD ? c->img[m] : c->seg;
}

/* same sizes, type, affine, metadata and bytes */
static int vol_identical(const br_vol *a, const br_vol *b)
{
	int i;

	if (a->ndim != b->ndim || memcmp(a->dim, b->dim, sizeof a->dim) != 0 || a->dtype != b->dtype ||
	    memcmp(a->affine, b->affine, sizeof a->affine) != 0 || a->nmeta != b->nmeta ||
	    memcmp(a->data, b->data, br_vol_bytes(a)) != 0)
		return 0;
	for (i = 0; i < a->nmeta; i++)
		if (strcmp(a->meta[i].key, b->meta[i].key) != 0 || strcmp(a->meta[i].value, b->meta[i].value) != 0)
			return 0;
	return 1;
}

static int case_identical(const br_phantom_case *a, const br_phantom_case *b)
{
	int m;

	for (m = 0; m <= BR_PHANTOM_NMOD; m++)
		if (!vol_identical(vol_of(a, m), vol_of(b, m)))
			return 0;
	return a->ntumours == b->ntumours && memcmp(a->tumour, b->tumour, sizeof a->tumour) == 0;
}

static br_phantom_case *make(const br_phantom_template *t, uint64_t seed, long number, int small, int et_label,
			     int tmin, int tmax)
{
	br_phantom_params p;
	br_phantom_case *c;

	br_phantom_params_default(&p);
	p.seed = seed;
	p.number = number;
	p.tumours_min = tmin;
	p.tumours_max = tmax;
	if (small) {
		p.z0 = 46;
		p.nz = 64;
	}
	p.et_label = et_label;
	p.name = "case";
	c = br_phantom_case_make(t, &p);
	if (c == NULL)
		fprintf(stderr, "br_phantom_case_make: %s\n", br_error());
	return c;
}

/* every label in the allowed set; counts of each value in n[0..4] */
static int labels_ok(const br_vol *seg, int et_label, size_t n[5])
{
	const uint8_t *s = seg->data;
	size_t i, nv = br_vol_nvox(seg);

	memset(n, 0, 5 * sizeof *n);
	for (i = 0; i < nv; i++) {
		if (s[i] > 4 || s[i] == (et_label == 4 ? 3 : 4))
			return 0;
		n[s[i]]++;
	}
	return 1;
}

/* The brain is where the images are nonzero, the same voxels in all four;
 * every labelled voxel is inside it. */
static int tumour_in_brain(const br_phantom_case *c, size_t *nbrain)
{
	const uint8_t *s = c->seg->data;
	size_t i, nv = br_vol_nvox(c->seg);
	int m;

	*nbrain = 0;
	for (i = 0; i < nv; i++) {
		int in = ((const int16_t *)c->img[0]->data)[i] > 0;
		for (m = 1; m < BR_PHANTOM_NMOD; m++)
			if ((((const int16_t *)c->img[m]->data)[i] > 0) != in)
				return 0;
		if (s[i] != 0 && !in)
			return 0;
		*nbrain += in;
	}
	return 1;
}

static int differs(const br_phantom_case *a, const br_phantom_case *b)
{
	return memcmp(a->img[0]->data, b->img[0]->data, br_vol_bytes(a->img[0])) != 0;
}

static void bad_params(const br_phantom_template *t)
{
	static const struct {
		int tmin, tmax, z0, nz, et;
		const char *what, *msg;
	} bad[] = {
		{2, 1, 0, 155, 4, "tumours 2-1", "tumours"},
		{0, 4, 0, 155, 4, "tumours 0-4", "tumours"},
		{-1, 1, 0, 155, 4, "tumours -1-1", "tumours"},
		{1, 3, 0, 0, 4, "no slices", "slices"},
		{1, 3, 100, 56, 4, "slices past the grid", "slices"},
		{1, 3, -1, 10, 4, "negative first slice", "slices"},
		{1, 3, 0, 155, 2, "ET labelled 2", "labelled"},
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		br_phantom_params p;
		br_phantom_case *c;
		br_phantom_params_default(&p);
		p.tumours_min = bad[i].tmin;
		p.tumours_max = bad[i].tmax;
		p.z0 = bad[i].z0;
		p.nz = bad[i].nz;
		p.et_label = bad[i].et;
		c = br_phantom_case_make(t, &p);
		tk_result(c == NULL && strstr(br_error(), bad[i].msg) != NULL, "bad parameters refused: %s (%s)",
			  bad[i].what, c == NULL ? br_error() : "made a case");
		br_phantom_case_free(c);
	}
}

static void mkdir_p(const char *dir)
{
	char path[4096], file[4096];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof path, "%s/mk/a/b//c/", dir);
	tk_result(br_mkdir_p(path) == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode), "mkdir -p: nested folders");
	tk_result(br_mkdir_p(path) == 0, "mkdir -p: existing folders are fine");
	snprintf(file, sizeof file, "%s/mk/file", dir);
	f = fopen(file, "w");
	if (f != NULL)
		fclose(f);
	snprintf(path, sizeof path, "%s/mk/file/sub", dir);
	tk_result(br_mkdir_p(path) < 0 && strstr(br_error(), "not a directory") != NULL,
		  "mkdir -p: a plain file on the way is an error (%s)", br_error());
	tk_result(br_mkdir_p("") < 0, "mkdir -p: an empty path is an error");
}

/* the tool's files PREFIX<suffix>.nii.gz hold case c: sizes, type, affine, voxels */
static void compare_files(const br_phantom_case *c, const char *prefix, int y2023)
{
	const char **suf = y2023 ? suffix_2023 : suffix_2020;
	int m, ok = 1;

	for (m = 0; m <= BR_PHANTOM_NMOD; m++) {
		char path[4096];
		br_vol *v;
		const br_vol *w = vol_of(c, m);
		snprintf(path, sizeof path, "%s%s.nii.gz", prefix, suf[m]);
		v = br_vol_read(path);
		if (v == NULL) {
			fprintf(stderr, "%s: %s\n", path, br_error());
			ok = 0;
			continue;
		}
		if (memcmp(v->dim, w->dim, sizeof v->dim) != 0 || v->dtype != w->dtype ||
		    memcmp(v->affine, w->affine, sizeof v->affine) != 0 ||
		    memcmp(v->data, w->data, br_vol_bytes(w)) != 0) {
			fprintf(stderr, "%s: differs from the case made in memory\n", path);
			ok = 0;
		}
		br_vol_free(v);
	}
	tk_result(ok, "the tool's files %s* hold the case made in memory", prefix);
}

int main(int argc, char **argv)
{
	br_phantom_template *t;
	br_phantom_case *a, *b, *c;
	br_vol *ch;
	size_t n[5], n3[5], nbrain = 0, i;
	int k, m, ok;

	if (argc < 2 || (argc - 2) % 5 != 0) {
		fprintf(stderr, "usage: test_phantom_case DIR [SEED NUMBER full|small 2020|2023 PREFIX]...\n");
		return 2;
	}
	mkdir_p(argv[1]);

	t = br_phantom_template_procedural();
	tk_result(t != NULL && br_phantom_template_is_procedural(t), "the procedural brain");
	if (t == NULL) {
		fprintf(stderr, "%s\n", br_error());
		return tk_done();
	}
	{
		int dim[3];
		br_phantom_template_size(t, dim);
		tk_result(dim[0] == 181 && dim[1] == 217 && dim[2] == 181, "template size 181 x 217 x 181");
	}
	tk_result(br_phantom_template_read(argv[1]) == NULL && br_error()[0] != '\0',
		  "a template that is not a brain volume is refused (%s)", br_error());

	/* one small case, made twice, and once on one thread */
	a = make(t, 21, 7, 1, 4, 1, 3);
	b = make(t, 21, 7, 1, 4, 1, 3);
	tk_result(a != NULL && b != NULL, "a case, twice");
	if (a == NULL || b == NULL)
		return tk_done();
	tk_result(case_identical(a, b), "same parameters: identical bytes, affines, metadata and tumours");
#ifdef _OPENMP
	{
		int nt = omp_get_max_threads();
		omp_set_num_threads(1);
		c = make(t, 21, 7, 1, 4, 1, 3);
		omp_set_num_threads(nt);
		tk_result(c != NULL && case_identical(a, c), "one thread instead of %d: identical bytes", nt);
		br_phantom_case_free(c);
	}
#endif
	ok = 1;
	for (m = 0; m <= BR_PHANTOM_NMOD; m++) {
		const br_vol *v = vol_of(a, m);
		ok = ok && v->dim[0] == 240 && v->dim[1] == 240 && v->dim[2] == 64 && v->dim[3] == 1 &&
		     v->dtype == (m < BR_PHANTOM_NMOD ? BR_I16 : BR_U8) && v->affine[0][0] == -1 && v->affine[1][1] == -1 &&
		     v->affine[2][2] == 1 && v->affine[1][3] == 239 && v->affine[2][3] == 46 &&
		     streq(br_meta_get(v, BR_KEY_CASE), "case") &&
		     streq(br_meta_get(v, BR_KEY_CONTENT), m < BR_PHANTOM_NMOD ? "image" : "labels");
	}
	tk_result(ok, "small: 240 x 240 x 64 int16 and uint8, affine at z 46, case and content in the metadata");
	tk_result(labels_ok(a->seg, 4, n), "labels in {0, 1, 2, 4}");
	tk_result(a->ntumours >= 1 && a->ntumours <= 3 && n[1] + n[2] + n[4] > 0,
		  "%d tumour(s), %zu labelled voxels (1: %zu, 2: %zu, 4: %zu)", a->ntumours, n[1] + n[2] + n[4], n[1],
		  n[2], n[4]);
	tk_result(tumour_in_brain(a, &nbrain) && nbrain > 100000,
		  "the brain (%zu voxels) is where all four images are nonzero, and holds every labelled voxel", nbrain);
	ok = 1;
	for (k = 0; k < a->ntumours; k++) {
		const br_phantom_tumour *tu = &a->tumour[k];
		ok = ok && tu->kind >= BR_PHANTOM_FULL && tu->kind <= BR_PHANTOM_EDEMA && tu->centre[0] >= 0 &&
		     tu->centre[0] < 240 && tu->centre[1] >= 0 && tu->centre[1] < 240 && tu->centre[2] >= 0 &&
		     tu->centre[2] < 155 && tu->radius[0] > 0 && tu->mass >= 0;
	}
	tk_result(ok, "tumour descriptions: kinds, centres in the grid, radii");

	/* other seeds and numbers */
	c = make(t, 22, 7, 1, 4, 1, 3);
	tk_result(c != NULL && differs(a, c), "another seed: another case");
	br_phantom_case_free(c);
	c = make(t, 21, 8, 1, 4, 1, 3);
	tk_result(c != NULL && differs(a, c), "another case number: another case");
	br_phantom_case_free(c);

	/* BraTS 2023: the same case, ET labelled 3 */
	c = make(t, 21, 7, 1, 3, 1, 3);
	ok = c != NULL && labels_ok(c->seg, 3, n3);
	for (m = 0; ok && m < BR_PHANTOM_NMOD; m++)
		ok = vol_identical(a->img[m], c->img[m]);
	for (i = 0; ok && i < br_vol_nvox(a->seg); i++) {
		uint8_t x = ((uint8_t *)a->seg->data)[i];
		ok = ((uint8_t *)c->seg->data)[i] == (x == 4 ? 3 : x);
	}
	tk_result(ok, "ET labelled 3: same images, labels {0, 1, 2, 3}, 4 -> 3");
	br_phantom_case_free(c);

	/* the full case holds the small one */
	c = make(t, 21, 7, 0, 4, 1, 3);
	ok = c != NULL && c->img[0]->dim[2] == 155 && c->seg->affine[2][3] == 0;
	for (m = 0; ok && m <= BR_PHANTOM_NMOD; m++) {
		const br_vol *v = vol_of(c, m), *w = vol_of(a, m);
		size_t plane = 240 * 240 * br_dtype_size(v->dtype);
		ok = memcmp((const char *)v->data + 46 * plane, w->data, 64 * plane) == 0;
	}
	tk_result(ok, "full: 155 slices at z 0, slices 46..109 are the small case");
	br_phantom_case_free(c);

	/* no tumour */
	c = make(t, 21, 7, 1, 4, 0, 0);
	tk_result(c != NULL && c->ntumours == 0 && labels_ok(c->seg, 4, n3) && n3[0] == br_vol_nvox(c->seg) &&
			  tumour_in_brain(c, &nbrain) && nbrain > 100000,
		  "no tumour: every label 0, a brain");
	br_phantom_case_free(c);

	bad_params(t);

	ch = br_phantom_template_channels(t);
	tk_result(ch != NULL && ch->ndim == 4 && ch->dim[0] == 181 && ch->dim[3] == 4 && ch->dtype == BR_U8,
		  "the template's channels as one 4-D uint8 record");
	br_vol_free(ch);

	/* the tool's files */
	for (k = 2; k + 5 <= argc; k += 5) {
		int small = strcmp(argv[k + 2], "small") == 0, y2023 = strcmp(argv[k + 3], "2023") == 0;
		c = make(t, strtoull(argv[k], NULL, 10), strtol(argv[k + 1], NULL, 10), small, y2023 ? 3 : 4, 1, 3);
		if (c == NULL)
			tk_result(0, "case for %s", argv[k + 4]);
		else
			compare_files(c, argv[k + 4], y2023);
		br_phantom_case_free(c);
	}

	br_phantom_case_free(a);
	br_phantom_case_free(b);
	br_phantom_template_free(t);
	br_phantom_template_free(NULL);
	br_phantom_case_free(NULL);
	return tk_done();
}
