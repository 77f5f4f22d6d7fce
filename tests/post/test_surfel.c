/*
 * test_surfel.c - the surface-element areas of libcommon/lesion.c for one
 * spacing, one a line (code 0 to 255), for t_lesion.sh to compare with
 * tests/post/lesion_ref.py.
 *
 *   test_surfel SX SY SZ
 */
#include <stdio.h>
#include <stdlib.h>

#include "lesion.h"

int main(int argc, char **argv)
{
	double sp[3], area[256];
	int i;

	if (argc != 4) {
		fprintf(stderr, "usage: test_surfel SX SY SZ\n");
		return 2;
	}
	for (i = 0; i < 3; i++)
		sp[i] = strtod(argv[i + 1], NULL);
	br_surfel_areas(area, sp);
	for (i = 0; i < 256; i++)
		printf("%.17g\n", area[i]);
	return 0;
}
