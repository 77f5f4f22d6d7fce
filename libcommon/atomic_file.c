/*
 * atomic_file.c - whole-or-nothing output files.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "volume.h"

/* ---- temporary files removed on signals ---- */

#define MAX_TMP 64
static char *volatile tmp_paths[MAX_TMP];
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER; /* writers may run in threads */

void br_tmp_register(const char *path)
{
	char *p = strdup(path);
	int i;

	pthread_mutex_lock(&tmp_lock);
	for (i = 0; i < MAX_TMP && p != NULL; i++)
		if (tmp_paths[i] == NULL) {
			tmp_paths[i] = p;
			p = NULL;
		}
	pthread_mutex_unlock(&tmp_lock);
	free(p); /* list full: the file is still removed on errors, not on signals */
}

void br_tmp_unregister(const char *path)
{
	int i;
	char *p = NULL;

	pthread_mutex_lock(&tmp_lock);
	for (i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i] != NULL && strcmp(tmp_paths[i], path) == 0) {
			p = tmp_paths[i];
			tmp_paths[i] = NULL;
			break;
		}
	pthread_mutex_unlock(&tmp_lock);
	free(p);
}

void br_tmp_remove_all(void)
{
	int i;

	for (i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i] != NULL)
			unlink(tmp_paths[i]);
}

int br_atomic_open(br_atomic *a, const char *path, const char *suffix, int open_stream)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0, sl = suffix ? strlen(suffix) : 0;
	mode_t um;
	int fd;

	memset(a, 0, sizeof *a);
	a->path = strdup(path);
	a->tmp = malloc(strlen(path) + sl + 16);
	if (a->path == NULL || a->tmp == NULL) {
		br_atomic_abort(a);
		return br_set_error("out of memory");
	}
	sprintf(a->tmp, "%.*s.%s.tmpXXXXXX%s", (int)dirlen, path, slash ? slash + 1 : path, suffix ? suffix : "");
	fd = mkstemps(a->tmp, (int)sl);
	if (fd < 0) {
		int e = errno;
		free(a->tmp);
		a->tmp = NULL;
		br_atomic_abort(a);
		return br_set_error("cannot create a file beside it: %s", strerror(e));
	}
	br_tmp_register(a->tmp);
	um = umask(0); /* the mode an ordinary new file would get */
	umask(um);
	(void)fchmod(fd, 0666 & ~um);
	if (!open_stream) {
		close(fd);
		return 0;
	}
	a->f = fdopen(fd, "wb");
	if (a->f == NULL) {
		int e = errno;
		close(fd);
		br_atomic_abort(a);
		return br_set_error("%s", strerror(e));
	}
	return 0;
}

int br_atomic_commit(br_atomic *a, int durable)
{
	if (a->f != NULL) {
		errno = 0;
		if (fflush(a->f) != 0 || ferror(a->f) || (durable && fsync(fileno(a->f)) != 0)) {
			br_set_error("write failed: %s", strerror(errno ? errno : EIO));
			return -1;
		}
		if (fclose(a->f) != 0) {
			a->f = NULL;
			return br_set_error("write failed: %s", strerror(errno));
		}
		a->f = NULL;
	}
	if (rename(a->tmp, a->path) != 0)
		return br_set_error("cannot rename into place: %s", strerror(errno));
	br_tmp_unregister(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	return 0;
}

void br_atomic_abort(br_atomic *a)
{
	if (a->f != NULL)
		fclose(a->f);
	if (a->tmp != NULL) {
		unlink(a->tmp);
		br_tmp_unregister(a->tmp);
	}
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof *a);
}

int br_text_write(const char *path, const char *text, size_t len)
{
	br_atomic a;

	if (strcmp(path, "-") == 0) {
		errno = 0;
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
			return br_set_error("write failed: %s", strerror(errno ? errno : EIO));
		return 0;
	}
	if (br_atomic_open(&a, path, NULL, 1) < 0)
		return -1;
	if (fwrite(text, 1, len, a.f) != len || br_atomic_commit(&a, 0) < 0) {
		if (br_error()[0] == '\0' || strncmp(br_error(), "write failed", 12) != 0)
			br_set_error("write failed: %s", strerror(errno ? errno : EIO));
		br_atomic_abort(&a);
		return -1;
	}
	return 0;
}
