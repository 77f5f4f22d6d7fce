/*
 * driver.c - a main for the fuzz targets without libFuzzer: each argument
 * (a file, or a folder of files) is given to LLVMFuzzerTestOneInput once.
 * `make check` replays the kept corpus and the crashers this way, with gcc,
 * so the replay needs no clang.  A crash or a sanitizer report ends the
 * program; exit 0 means every input went through.
 *
 * usage: FUZZ_TARGET [-v] FILE|DIR...
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int verbose;
static long count;

static int run_file(const char *p)
{
	FILE *f = fopen(p, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, k;

	if (f == NULL) {
		fprintf(stderr, "fuzz driver: %s: %s\n", p, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
			if (nb == NULL) {
				fprintf(stderr, "fuzz driver: %s: out of memory\n", p);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		k = fread(buf + len, 1, cap - len, f);
		if (k == 0)
			break;
		len += k;
	}
	fclose(f);
	if (verbose)
		fprintf(stderr, "fuzz driver: %s (%zu bytes)\n", p, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	count++;
	return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *p)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL, full[4096];
	size_t n = 0, i;
	int rc = 0;

	if (stat(p, &st) < 0) {
		fprintf(stderr, "fuzz driver: %s: %s\n", p, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(p);
	d = opendir(p);
	if (d == NULL) {
		fprintf(stderr, "fuzz driver: %s: %s\n", p, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char **nn;
		if (e->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof *names);
		if (nn == NULL)
			break;
		names = nn;
		names[n] = strdup(e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp); /* the same order everywhere */
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof full, "%s/%s", p, names[i]);
		if (run_path(full) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (run_path(argv[i]) < 0)
			rc = 1;
	}
	fprintf(stderr, "fuzz driver: %ld inputs\n", count);
	return rc;
}
