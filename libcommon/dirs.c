/*
 * dirs.c - folders.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dirs.h"
#include "volume.h"

int br_mkdir_p(const char *path)
{
	char *p = strdup(path), *s;
	struct stat st;
	int rc = 0;

	if (p == NULL)
		return br_set_error("out of memory");
	for (s = *p == '/' ? p + 1 : p; rc == 0; s++) {
		char ch;
		if (*s != '/' && *s != '\0')
			continue;
		ch = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			rc = br_set_error("cannot create %s: %s", p, strerror(errno));
		else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = br_set_error("%s is not a directory", p);
		*s = ch;
		if (ch == '\0')
			break;
	}
	free(p);
	return rc;
}
