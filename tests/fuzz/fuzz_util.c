/*
 * fuzz_util.c - temporary files and the standard input for the fuzz targets.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"

static char dir[4096];
static char path[4352];
static int saved_stdin = -1;

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4352];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

const char *fz_dir(void)
{
	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/brats-r2u-fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		setenv("TMPDIR", dir, 1);
		atexit(remove_dir);
	}
	return dir;
}

const char *fz_file(const char *name, const void *data, size_t size)
{
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
	f = fopen(path, "wb");
	if (f == NULL)
		return NULL;
	if ((size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		if (f != NULL)
			unlink(path);
		return NULL;
	}
	return path;
}

const char *fz_file_gz(const char *name, const void *data, size_t size)
{
	gzFile g;

	snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
	g = gzopen(path, "wb1");
	if (g == NULL)
		return NULL;
	if ((size > 0 && gzwrite(g, data, (unsigned)size) != (int)size) || gzclose(g) != Z_OK)
		return NULL;
	return path;
}

int fz_stdin(const char *p)
{
	int fd = open(p, O_RDONLY);

	if (fd < 0)
		return -1;
	if (saved_stdin < 0)
		saved_stdin = dup(0);
	dup2(fd, 0);
	close(fd);
	return 0;
}

void fz_stdin_restore(void)
{
	if (saved_stdin >= 0)
		dup2(saved_stdin, 0);
}
