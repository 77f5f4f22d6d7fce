/*
 * gzdata.c - a byte range of a gzip (or plain) file, decoded at once.
 *
 * A BraTS image is a few megabytes of gzip.  libdeflate decodes a whole
 * buffer several times faster than zlib's streaming inflate, so a regular
 * gzip file is read whole and decoded with libdeflate into a buffer exactly
 * as large as the bytes the caller asks for.  What libdeflate cannot take
 * cheaply (not gzip, not a regular file, very large files, members that run
 * past the wanted range, corrupt data whose good part should be measured)
 * is left to the caller's zlib streaming reader.  A header that promises
 * more than 1032 times the compressed size (deflate's largest ratio) is
 * refused before anything is allocated.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include "gzdata.h"
#include "volume.h"

/* Compressed files larger than this are streamed with zlib instead of
 * being held whole in memory (a BraTS volume is 1-10 MB of gzip). */
#define GZ_WHOLE_MAX ((size_t)1 << 30)

static int read_all(int fd, unsigned char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = read(fd, buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return br_set_error("%s", strerror(errno));
		if (k == 0)
			return br_set_error("file shrank while being read");
		done += (size_t)k;
	}
	return 0;
}

/* libdeflate over the whole file in memory, into *out (offset + want
 * bytes, the range then moved to the front).  Returns 0 when done, -1 with
 * an error, 1 when the streaming reader should take over (not gzip, a
 * member longer than the range, corrupt data: zlib says how far good data
 * reaches). */
static int whole_range(const unsigned char *in, size_t nin, size_t offset, size_t want, void **out)
{
	struct libdeflate_decompressor *d;
	unsigned char *o;
	size_t cap = offset + want, got = 0, pos = 0;
	enum libdeflate_result r = LIBDEFLATE_SUCCESS;

	if (nin < 18 || in[0] != 0x1f || in[1] != 0x8b)
		return 1;
	o = br_mem_alloc(cap);
	if (o == NULL)
		return br_set_error("out of memory (%zu bytes)", cap);
	d = libdeflate_alloc_decompressor();
	if (d == NULL) {
		free(o);
		return br_set_error("out of memory (decompressor)");
	}
	/* one gzip member after another until the range is filled */
	while (got < cap && pos < nin) {
		size_t used_in = 0, used_out = 0;
		if (nin - pos < 18 || in[pos] != 0x1f || in[pos + 1] != 0x8b)
			break; /* a tail that is not gzip: zlib ignores it too */
		r = libdeflate_gzip_decompress_ex(d, in + pos, nin - pos, o + got, cap - got, &used_in, &used_out);
		if (r != LIBDEFLATE_SUCCESS)
			break;
		pos += used_in;
		got += used_out;
	}
	libdeflate_free_decompressor(d);
	if (r != LIBDEFLATE_SUCCESS) {
		free(o);
		return 1;
	}
	if (got < cap) {
		free(o);
		return br_set_error("data truncated: %zu of the %zu bytes the header promises",
				    got > offset ? got - offset : 0, want);
	}
	if (offset > 0) {
		unsigned char *shrunk;
		memmove(o, o + offset, want);
		shrunk = realloc(o, want ? want : 1);
		if (shrunk != NULL)
			o = shrunk;
	}
	*out = o;
	return 0;
}

int br_gz_inflate_range(const char *path, size_t offset, size_t want, void **out)
{
	struct stat st;
	unsigned char *in, magic[2];
	size_t nin;
	int fd, rc;

	if (want > SIZE_MAX - offset)
		return br_set_error("data range too large");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return br_set_error("%s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uintmax_t)st.st_size > GZ_WHOLE_MAX ||
	    st.st_size < 18) {
		close(fd);
		return 1;
	}
	nin = (size_t)st.st_size;
	if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		close(fd);
		return 1; /* not gzip */
	}
	/* deflate expands at most 1032:1: a header promising more than the
	 * whole file could hold is found out before anything is allocated */
	if ((offset + want) / 1032 > nin) {
		close(fd);
		return br_set_error("data truncated: %zu bytes of gzip cannot hold the %zu bytes the header promises",
				    nin, want);
	}
	in = malloc(nin);
	if (in == NULL) {
		close(fd);
		return 1;
	}
	rc = read_all(fd, in, nin);
	close(fd);
	if (rc == 0)
		rc = whole_range(in, nin, offset, want, out);
	free(in);
	return rc;
}
