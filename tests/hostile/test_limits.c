/*
 * test_limits - the I/O layer's limits, unit by unit: overflow-checked size
 * arithmetic, records too large to exist, NRRD headers whose per-axis
 * fields come before 'dimension', the alignment of the data we write and of
 * the data we map, and bounded reads of headers that claim more than the
 * input holds.  Prints TAP lines; exits 1 on any failure.
 * usage: test_limits TMPDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "volume.h"
#include "tap.h"
#include "tpath.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif


static void write_file(const char *p, const char *text, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	if (f == NULL)
		return;
	fputs(text, f);
	if (n)
		fwrite(data, 1, n, f);
	fclose(f);
}

static long file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void sizes(void)
{
	size_t r = 7;
	int64_t wrap[4] = {1 << 20, 1 << 20, 1 << 20, 16}, fine[4] = {240, 240, 155, 4}, neg[2] = {3, -1};
	br_vol *v;

	tap(br_size_mul(&r, SIZE_MAX / 2 + 1, 2) < 0 && r == 7, "br_size_mul: a wrapping product is refused");
	tap(br_size_mul(&r, (size_t)1 << 31, (size_t)1 << 31) == 0 && r == (size_t)1 << 62, "br_size_mul: 2^31 * 2^31");
	tap(br_size_add(&r, SIZE_MAX, 1) < 0 && br_size_add(&r, 352, 4) == 0 && r == 356, "br_size_add: wraps refused");
	tap(br_size_prod(&r, wrap, 4, 1) < 0, "br_size_prod: 1048576^3 * 16 (2^64) is refused, not 0");
	tap(br_size_prod(&r, fine, 4, 4) == 0 && r == (size_t)240 * 240 * 155 * 4 * 4, "br_size_prod: a BraTS record");
	tap(br_size_prod(&r, neg, 2, 1) < 0, "br_size_prod: a negative size is refused");
	v = br_vol_new(BR_U8, 1 << 20, 1 << 20, 1 << 20, 16);
	tap(v == NULL && strstr(br_error(), "too large") != NULL, "br_vol_new: sizes whose product wraps to 0");
	br_vol_free(v);
	v = br_vol_new_empty(BR_F64, 1 << 20, 1 << 20, 1, 1);
	tap(v == NULL && strstr(br_error(), "too large") != NULL, "br_vol_new_empty: 8 TiB is over the limit");
	br_vol_free(v);
	v = br_vol_new_empty(BR_F32, 2048, 2048, 1024, 1);
	tap(v != NULL && v->data == NULL && br_vol_bytes(v) == (size_t)1 << 34,
	    "br_vol_new_empty: a 16 GiB record header, no data allocated");
	br_vol_free(v);
}

static void header_order(void)
{
	static const char *const fields[] = {"space directions: (1,0,0) (0,1,0) (0,0,1)", "spacings: 1 1 1",
					     "kinds: domain domain domain", "sizes: 2 2 2"};
	char text[512];
	unsigned char data[8] = {0};
	size_t i;
	br_vol *v;

	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		snprintf(text, sizeof text, "NRRD0004\ntype: uchar\n%s\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n",
			 fields[i]);
		write_file(path("order.nrrd"), text, data, sizeof data);
		v = br_vol_read(path("order.nrrd"));
		tap(v == NULL && strstr(br_error(), "before 'dimension'") != NULL, "NRRD '%.*s' before 'dimension': refused",
		    (int)strcspn(fields[i], ":"), fields[i]);
		br_vol_free(v);
	}
	write_file(path("twice.nrrd"),
		   "NRRD0004\ntype: uchar\ndimension: 2\nspace directions: (1,0,0) (0,1,0)\ndimension: 3\n"
		   "sizes: 2 2 2\nencoding: raw\n\n",
		   data, sizeof data);
	v = br_vol_read(path("twice.nrrd"));
	tap(v == NULL && strstr(br_error(), "twice") != NULL, "NRRD 'dimension' given twice: refused");
	br_vol_free(v);
}

static br_vol *ramp(int dtype, int nx, int ny, int nz, int nc)
{
	br_vol *v = br_vol_new(dtype, nx, ny, nz, nc);
	size_t i;

	for (i = 0; v != NULL && i < br_vol_numel(v); i++)
		br_vol_set(v, i, (double)(i % 97) - 40);
	return v;
}

static void alignment(void)
{
	static const char *const notes[] = {"", "x", "xy", "a somewhat longer note"};
	size_t k;
	int ok = 1;

	/* our NRRD: the data starts at a multiple of 64 bytes, whatever the header holds */
	for (k = 0; k < sizeof notes / sizeof notes[0]; k++) {
		br_vol *v = ramp(k % 2 ? BR_F64 : BR_F32, 5, 3, 2, k % 2 ? 1 : 4), *r;
		long sz;
		if (notes[k][0])
			br_meta_set(v, "note", notes[k]);
		ok = br_vol_write(path("al.nrrd"), v, 1) == 0;
		sz = file_size(path("al.nrrd"));
		r = ok ? br_vol_map(path("al.nrrd")) : NULL;
		tap(ok && sz > 0 && (size_t)(sz - (long)br_vol_bytes(v)) % 64 == 0 && r != NULL && r->map_base != NULL &&
			    (uintptr_t)r->data % 64 == 0 && memcmp(r->data, v->data, br_vol_bytes(v)) == 0,
		    "our NRRD (%s, note '%s'): data at a multiple of 64 bytes, mapped aligned", br_dtype_name(v->dtype),
		    notes[k]);
		br_vol_free(r);
		br_vol_free(v);
	}
	/* a stream of records: each record's data aligned from the start of the file */
	{
		br_vol *a = ramp(BR_F32, 3, 3, 1, 1), *b = ramp(BR_I16, 2, 1, 1, 1);
		br_writer *w = br_writer_open(path("two.nrrd"), 1);
		long sz;
		ok = w != NULL && br_writer_put(w, a) == 0 && br_writer_put(w, b) == 0 && br_writer_close(w) == 0;
		sz = file_size(path("two.nrrd"));
		tap(ok && (size_t)(sz - (long)br_vol_bytes(b)) % 64 == 0, "the second record of a stream is aligned too");
		br_vol_free(a);
		br_vol_free(b);
	}
	/* a foreign NRRD whose header is 2 mod 4 bytes long: read aligned (copied), same values */
	{
		float d[6] = {1.5f, -2, 3, 4e6f, -5e-3f, 6};
		const char *h = "NRRD0004\ntype: float\ndimension: 3\nsizes: 3 2 1\nendian: little\nencoding: raw\n\n";
		char text[256];
		size_t hl = strlen(h), nx = (4 - hl % 4) % 4; /* a comment line of k + 2 bytes makes it 2 mod 4 */
		br_vol *r;

		snprintf(text, sizeof text, "NRRD0004\n#%.*s\n%s", (int)nx, "xxx", h + 9);
		hl = strlen(text);
		write_file(path("odd.nrrd"), text, d, sizeof d);
		r = br_vol_map(path("odd.nrrd"));
		tap(hl % 4 == 2 && r != NULL && (uintptr_t)r->data % sizeof(float) == 0 &&
			    memcmp(r->data, d, sizeof d) == 0,
		    "a foreign NRRD with its data at 2 mod 4: floats aligned, same values");
		br_vol_free(r);
	}
}

static void claims(void)
{
	struct rlimit rl, old;
	br_vol *v;

	/* the header claims 16 GiB, the file holds 16 bytes: refused before any
	 * allocation (with 1 GiB of address space a 16 GiB calloc fails, and
	 * the message would say so instead) */
	write_file(path("huge.nrrd"),
		   "NRRD0004\ntype: float\ndimension: 3\nsizes: 2048 2048 1024\nendian: little\nencoding: raw\n\n",
		   "0123456789abcdef", 16);
	getrlimit(RLIMIT_AS, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)1 << 30;
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < rl.rlim_cur)
		rl.rlim_cur = old.rlim_cur;
	if (!UNDER_ASAN) /* AddressSanitizer's reserved address space is far above any limit */
		setrlimit(RLIMIT_AS, &rl);
	v = br_vol_read(path("huge.nrrd"));
	tap(v == NULL && strstr(br_error(), "truncated") != NULL && strstr(br_error(), "17179869184") != NULL,
	    "NRRD claiming 16 GiB in a small file: truncated, nothing allocated");
	br_vol_free(v);
	v = br_vol_map(path("huge.nrrd"));
	tap(v == NULL && strstr(br_error(), "truncated") != NULL, "the same through br_vol_map");
	br_vol_free(v);
	setrlimit(RLIMIT_AS, &old);
}

int main(int argc, char **argv)
{
	tap_detail = br_error;
	if (argc != 2) {
		fprintf(stderr, "usage: test_limits TMPDIR\n");
		return 2;
	}
	dir = argv[1];
	sizes();
	header_order();
	alignment();
	claims();
	return tap_done("test_limits");
}
