/*
 * fuzz_nrrd - the record reader on NRRD input (raw, gzip, ascii encodings,
 * several records back to back): from a file, from the standard input, and
 * memory-mapped.  The first byte chooses the way; the rest is the input.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "volume.h"

static void touch(const br_vol *v)
{
	volatile double s = 0;
	size_t n = br_vol_numel(v), i;

	for (i = 0; i < n; i += 1 + n / 64) /* a few voxels: the buffer is as large as claimed */
		s += br_vol_get(v, i);
	if (n > 0)
		s += br_vol_get(v, n - 1);
	(void)br_meta_get(v, "case");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p;
	br_reader *r;
	br_vol *v;
	int mode, k, n = 0;

	if (size < 1)
		return 0;
	mode = data[0] % 3;
	p = fz_file("in.nrrd", data + 1, size - 1);
	if (p == NULL)
		return 0;
	switch (mode) {
	case 0: /* one record from a file (a second one is an error) */
		if ((v = br_vol_read(p)) != NULL) {
			touch(v);
			br_vol_free(v);
		}
		if ((v = br_vol_map(p)) != NULL) {
			touch(v);
			br_vol_free(v);
		}
		break;
	case 1: /* a stream of records on the standard input */
	case 2: /* the same from a file */
		if (mode == 1 && fz_stdin(p) < 0)
			return 0;
		r = br_reader_open(mode == 1 ? "-" : p);
		while (r != NULL && n++ < 64 && (k = br_reader_next(r, &v)) == 1) {
			touch(v);
			br_vol_free(v);
		}
		br_reader_close(r);
		if (mode == 1)
			fz_stdin_restore();
		break;
	}
	return 0;
}
