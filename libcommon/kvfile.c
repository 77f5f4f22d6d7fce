/*
 * kvfile.c - append-only key/value files (see kvfile.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirs.h"
#include "kvfile.h"
#include "volume.h"

#define KV_LINE_MAX 1024

struct kv {
	char *key, *value;
};

struct br_kvfile {
	char *path;
	struct kv *e;
	size_t n, cap;
};

static int valid(const char *s)
{
	return s[0] != '\0' && strpbrk(s, "\t\n\r") == NULL && strlen(s) < KV_LINE_MAX / 2;
}

static struct kv *find(const br_kvfile *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->e[i].key, key) == 0)
			return &f->e[i];
	return NULL;
}

/* key = value in memory */
static int remember(br_kvfile *f, const char *key, const char *value)
{
	struct kv *e = find(f, key);
	char *v = strdup(value), *k;

	if (v == NULL)
		return br_set_error("out of memory");
	if (e != NULL) {
		free(e->value);
		e->value = v;
		return 0;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 32;
		struct kv *ne = realloc(f->e, cap * sizeof *ne);
		if (ne == NULL) {
			free(v);
			return br_set_error("out of memory");
		}
		f->e = ne;
		f->cap = cap;
	}
	if ((k = strdup(key)) == NULL) {
		free(v);
		return br_set_error("out of memory");
	}
	f->e[f->n].key = k;
	f->e[f->n].value = v;
	f->n++;
	return 0;
}

br_kvfile *br_kvfile_open(const char *path)
{
	br_kvfile *f = calloc(1, sizeof *f);
	char line[KV_LINE_MAX + 2];
	struct stat st;
	FILE *in;
	int fd;

	if (f == NULL || (f->path = strdup(path)) == NULL) {
		free(f);
		br_set_error("out of memory");
		return NULL;
	}
	/* a regular file only: a FIFO or a device in its place must not block
	 * or feed the reader (O_NONBLOCK for the open, then fstat) */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return f;
		br_set_error("%s: %s", path, strerror(errno));
		br_kvfile_close(f);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (in = fdopen(fd, "r")) == NULL) {
		close(fd);
		br_set_error("%s: not a regular file", path);
		br_kvfile_close(f);
		return NULL;
	}
	while (fgets(line, sizeof line, in) != NULL) {
		size_t len = strlen(line);
		char *tab;
		if (len == 0 || line[len - 1] != '\n') { /* too long, or a torn last line: skip the rest */
			int ch;
			if (len == sizeof line - 1)
				while ((ch = getc(in)) != EOF && ch != '\n')
					;
			continue;
		}
		line[len - 1] = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL || strchr(tab + 1, '\t') != NULL)
			continue;
		*tab = '\0';
		if (!valid(line) || !valid(tab + 1))
			continue;
		if (remember(f, line, tab + 1) < 0) {
			fclose(in);
			br_kvfile_close(f);
			return NULL;
		}
	}
	fclose(in);
	return f;
}

const char *br_kvfile_get(const br_kvfile *f, const char *key)
{
	const struct kv *e = f != NULL ? find(f, key) : NULL;

	return e != NULL ? e->value : NULL;
}

size_t br_kvfile_count(const br_kvfile *f) { return f != NULL ? f->n : 0; }

int br_kvfile_put(br_kvfile *f, const char *key, const char *value)
{
	char line[KV_LINE_MAX + 2];
	int fd, len;
	char *slash;

	if (!valid(key) || !valid(value))
		return br_set_error("a key or value that is empty, too long or holds a tab or newline");
	if (remember(f, key, value) < 0)
		return -1;
	len = snprintf(line, sizeof line, "%s\t%s\n", key, value);
	fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0666);
	if (fd < 0 && errno == ENOENT && (slash = strrchr(f->path, '/')) != NULL && slash != f->path) {
		*slash = '\0';
		if (br_mkdir_p(f->path) == 0)
			fd = -2;
		*slash = '/';
		if (fd == -2)
			fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0666);
	}
	if (fd < 0)
		return br_set_error("%s: %s", f->path, strerror(errno));
	{
		struct stat st;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return br_set_error("%s: not a regular file", f->path);
		}
	}
	if (write(fd, line, (size_t)len) != len) { /* one write: lines of several processes do not mix */
		int e = errno;
		close(fd);
		return br_set_error("%s: %s", f->path, e ? strerror(e) : "short write");
	}
	return close(fd) == 0 ? 0 : br_set_error("%s: %s", f->path, strerror(errno));
}

void br_kvfile_close(br_kvfile *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].key);
		free(f->e[i].value);
	}
	free(f->e);
	free(f->path);
	free(f);
}

char *br_cache_path(const char *name)
{
	const char *d = getenv("BR_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	char *p;
	size_t n;

	if (d != NULL && (d[0] == '\0' || strcmp(d, "off") == 0))
		return NULL;
	n = strlen(name) + 64 + (d ? strlen(d) : 0) + (x ? strlen(x) : 0) + (h ? strlen(h) : 0);
	if ((p = malloc(n)) == NULL)
		return NULL;
	if (d != NULL)
		snprintf(p, n, "%s/%s", d, name);
	else if (x != NULL && x[0] == '/')
		snprintf(p, n, "%s/brats-r2u/%s", x, name);
	else if (h != NULL && h[0] == '/')
		snprintf(p, n, "%s/.cache/brats-r2u/%s", h, name);
	else {
		free(p);
		return NULL;
	}
	return p;
}
