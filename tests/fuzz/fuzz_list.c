/*
 * fuzz_list - the parser of 'IMAGE LABEL' lists (r2u-train -l, --val).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	r2u_list l = {0};
	char msg[256];
	FILE *f;
	int i;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return 0;
	if (r2u_list_parse(&l, f, msg, sizeof msg) == 0) {
		if (l.n < 1)
			abort();
		for (i = 0; i < l.n; i++) /* two non-empty paths without blanks */
			if (l.img[i][0] == '\0' || l.lab[i][0] == '\0' || strpbrk(l.img[i], " \t\n") ||
			    strpbrk(l.lab[i], " \t\n") || strlen(l.img[i]) > R2U_LIST_MAXPATH)
				abort();
	} else if (l.n != 0 && msg[0] == '\0') {
		abort();
	}
	fclose(f);
	r2u_list_free(&l);
	return 0;
}
