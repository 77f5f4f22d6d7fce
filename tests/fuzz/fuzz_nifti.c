/*
 * fuzz_nifti - the record reader on NIfTI-1 input (nifti_clib behind it):
 * .nii and .nii.gz files, the standard input (spooled to a temporary file),
 * and the memory-mapped .nii.  The first byte chooses the way; the rest is
 * the input, gzip-compressed by the target where the way asks for .gz, so
 * that the fuzzer mutates the header rather than the compressed bytes.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "volume.h"

static void take(br_vol *v)
{
	volatile double s = 0;
	size_t n, i;

	if (v == NULL)
		return;
	n = br_vol_numel(v);
	for (i = 0; i < n; i += 1 + n / 64)
		s += br_vol_get(v, i);
	if (n > 0)
		s += br_vol_get(v, n - 1);
	br_vol_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 5;
	data++;
	size--;
	switch (mode) {
	case 0: /* .nii: read, then mapped */
		if ((p = fz_file("in.nii", data, size)) == NULL)
			return 0;
		take(br_vol_read(p));
		take(br_vol_map(p));
		break;
	case 1: /* .nii.gz */
		if ((p = fz_file_gz("in.nii.gz", data, size)) != NULL)
			take(br_vol_read(p));
		break;
	case 2: /* the standard input, plain and gzip-compressed */
	case 3:
		p = mode == 2 ? fz_file("in.bin", data, size) : fz_file_gz("in.bin", data, size);
		if (p == NULL || fz_stdin(p) < 0)
			return 0;
		take(br_vol_read("-"));
		fz_stdin_restore();
		break;
	case 4: /* a .nii.gz whose compressed bytes are the input */
		if ((p = fz_file("in.nii.gz", data, size)) != NULL)
			take(br_vol_read(p));
		break;
	}
	return 0;
}
