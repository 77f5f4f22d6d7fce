/*
 * brats.c - BraTS naming: finding a case's files and its id.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "brats.h"
#include "volume.h"

const char *const br_modality_name[BR_NMOD] = {"t1", "t1ce", "t2", "flair", "seg"};

/* suffixes before the extension, per modality */
static const char *const suf2020[BR_NMOD] = {"_t1", "_t1ce", "_t2", "_flair", "_seg"};
static const char *const suf2023[BR_NMOD] = {"-t1n", "-t1c", "-t2w", "-t2f", "-seg"};

static size_t strip_ext(const char *name)
{
	size_t n = strlen(name);

	if (n > 7 && strcmp(name + n - 7, ".nii.gz") == 0)
		return n - 7;
	if (n > 4 && strcmp(name + n - 4, ".nii") == 0)
		return n - 4;
	if (n > 5 && strcmp(name + n - 5, ".nrrd") == 0)
		return n - 5;
	return n;
}

static int ends_with_n(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && strncmp(s + n - m, suf, m) == 0;
}

static int is_volume_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 7 && strcmp(name + n - 7, ".nii.gz") == 0) || (n > 4 && strcmp(name + n - 4, ".nii") == 0);
}

static int set_path(br_case *c, int m, const char *dir, const char *name, char *dup, size_t duplen)
{
	char *p;

	if (c->path[m] != NULL) {
		snprintf(dup, duplen, "%s", c->path[m]);
		return -1;
	}
	p = malloc(strlen(dir) + strlen(name) + 2);
	if (p == NULL)
		return -2;
	sprintf(p, "%s/%s", dir, name);
	c->path[m] = p;
	return 0;
}

int br_case_find(const char *dir, br_case *c, unsigned need)
{
	DIR *d;
	struct dirent *e;
	char dup[4096], segalt[4096] = "";
	int m, r, nalt = 0, n2020 = 0, n2023 = 0;
	const char *base;
	size_t dl;

	memset(c, 0, sizeof *c);
	d = opendir(dir);
	if (d == NULL)
		return br_set_error("cannot open case folder");
	while ((e = readdir(d)) != NULL) {
		size_t n;
		if (e->d_name[0] == '.' || !is_volume_name(e->d_name))
			continue;
		n = strip_ext(e->d_name);
		for (m = 0; m < BR_NMOD; m++) {
			int in20 = ends_with_n(e->d_name, n, suf2020[m]);
			int in23 = ends_with_n(e->d_name, n, suf2023[m]);
			if (!in20 && !in23)
				continue;
			r = set_path(c, m, dir, e->d_name, dup, sizeof dup);
			if (r == -1) {
				/* the message first: e points into d */
				br_set_error("duplicate %s: %s and %s", br_modality_name[m], dup, e->d_name);
				closedir(d);
				br_case_free(c);
				return -1;
			}
			if (r == -2) {
				closedir(d);
				goto oom;
			}
			n2020 += in20;
			n2023 += in23;
			break;
		}
		if (m == BR_NMOD && strcasestr(e->d_name, "seg") != NULL) {
			nalt++;
			snprintf(segalt, sizeof segalt, "%s", e->d_name);
		}
	}
	closedir(d);
	if (c->path[BR_SEG] == NULL && nalt == 1 && set_path(c, BR_SEG, dir, segalt, dup, sizeof dup) == -2)
		goto oom;
	if (c->path[BR_SEG] == NULL && nalt > 1 && (need & (1u << BR_SEG))) {
		br_case_free(c);
		return br_set_error("several files could be the segmentation (name one explicitly)");
	}
	for (m = 0; m < BR_NMOD; m++)
		if ((need & (1u << m)) && c->path[m] == NULL) {
			br_case_free(c);
			return br_set_error("no %s file (%s*%s.nii.gz or -%s)", br_modality_name[m], "",
					    suf2020[m], suf2023[m] + 1);
		}
	c->layout2023 = n2023 > n2020;
	dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	base = dir;
	{
		size_t i;
		for (i = 0; i < dl; i++)
			if (dir[i] == '/')
				base = dir + i + 1;
	}
	snprintf(c->id, sizeof c->id, "%.*s", (int)(dl - (size_t)(base - dir)), base);
	if (c->id[0] == '\0' || strcmp(c->id, ".") == 0 || strcmp(c->id, "..") == 0) {
		/* a relative "." - name it after a modality file instead */
		for (m = 0; m < BR_NMOD; m++)
			if (c->path[m] != NULL) {
				br_case_id_from_path(c->path[m], c->id, sizeof c->id);
				break;
			}
	}
	return 0;
oom:
	br_case_free(c);
	return br_set_error("out of memory");
}

void br_case_free(br_case *c)
{
	int m;

	for (m = 0; m < BR_NMOD; m++) {
		free(c->path[m]);
		c->path[m] = NULL;
	}
}

void br_case_id_from_path(const char *path, char *id, size_t n)
{
	const char *base = strrchr(path, '/');
	size_t len;
	int m;
	static const char *const extra[] = {"_pred", "-pred", "_prob", "_labels", "_image", "_img"};
	size_t i;

	base = base ? base + 1 : path;
	len = strip_ext(base);
	for (m = 0; m < BR_NMOD; m++) {
		if (ends_with_n(base, len, suf2020[m])) {
			len -= strlen(suf2020[m]);
			break;
		}
		if (ends_with_n(base, len, suf2023[m])) {
			len -= strlen(suf2023[m]);
			break;
		}
	}
	for (i = 0; i < sizeof extra / sizeof extra[0]; i++)
		if (ends_with_n(base, len, extra[i])) {
			len -= strlen(extra[i]);
			break;
		}
	snprintf(id, n, "%.*s", (int)len, base);
}
