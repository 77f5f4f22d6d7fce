/*
 * tpath.h - files in a C test's own folder (header only): dir is set by the
 * test from its argument; path(NAME) is DIR/NAME in one of four rotating
 * buffers (a fifth call reuses the first: copy what must live longer).
 */
#ifndef BR_TESTS_TPATH_H
#define BR_TESTS_TPATH_H

#include <stdio.h>

static const char *dir;

__attribute__((unused)) static char *path(const char *name)
{
	static char buf[4][4096];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

#endif /* BR_TESTS_TPATH_H */
