/*
 * io.c - record streams: the reader (format by content) and the atomic
 * writer (format by name), over the buffered input of bufin.c.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nifti1_io.h>

#include "atomic_file.h"
#include "bufin.h"
#include "io_internal.h"
#include "volume.h"

/* ---- reader ---- */

struct br_reader {
	br_in in;
	char *path;
	int nrec;
	int single; /* NIfTI: one record, done */
};

br_reader *br_reader_open(const char *path)
{
	br_reader *r = calloc(1, sizeof *r);

	if (r == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	r->path = strdup(path);
	if (r->path == NULL || br_in_open(&r->in, path) < 0) {
		if (r->path == NULL)
			br_set_error("out of memory");
		free(r->path);
		free(r);
		return NULL;
	}
	return r;
}

const char *br_reader_path(const br_reader *r) { return r->in.name; }

void br_reader_close(br_reader *r)
{
	if (r == NULL)
		return;
	br_in_close(&r->in);
	free(r->path);
	free(r);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

int br_reader_next(br_reader *r, br_vol **out)
{
	size_t avail;
	const unsigned char *b;
	br_vol *v;
	int32_t hs_le, hs_be;

	*out = NULL;
	if (r->single)
		return 0;
	avail = br_in_fill(&r->in, 348);
	if (avail == 0) {
		if (r->nrec == 0)
			return br_set_error("empty input: no record");
		return 0;
	}
	b = r->in.buf + r->in.pos;
	if (avail >= 4 && memcmp(b, "NRRD", 4) == 0) {
		v = br_nrrd_read(&r->in);
		if (v == NULL)
			return -1;
		r->nrec++;
		*out = v;
		return 1;
	}
	if (r->nrec > 0)
		return br_set_error("trailing data after record %d is not an NRRD record", r->nrec);
	if (avail >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		if (r->in.own_fd && (has_suffix(r->path, ".nii.gz")))
			v = br_nifti_read_path(r->path, r->path);
		else
			v = br_nifti_read_stream(&r->in, 1);
		if (v == NULL)
			return -1;
		r->single = 1;
		r->nrec++;
		*out = v;
		return 1;
	}
	if (avail >= 4) {
		memcpy(&hs_le, b, 4);
		hs_be = (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
		if (hs_le == 348 || hs_be == 348 ||
		    (avail >= 4 && ((b[0] == 0x5c && b[1] == 1 && b[2] == 0 && b[3] == 0) ||
				    (b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0x5c)))) {
			if (avail < 348 || (hs_le != 348 && hs_be != 348))
				return br_set_error("truncated NIfTI header (%zu bytes)", avail);
			if (r->in.own_fd && has_suffix(r->path, ".nii"))
				v = br_nifti_read_path(r->path, r->path);
			else
				v = br_nifti_read_stream(&r->in, 0);
			if (v == NULL)
				return -1;
			r->single = 1;
			r->nrec++;
			*out = v;
			return 1;
		}
		if (hs_le == 540 || hs_be == 540)
			return br_set_error("NIfTI-2 files are not supported (convert to NIfTI-1)");
	}
	return br_set_error("unknown format (neither NRRD nor NIfTI-1)");
}

br_vol *br_vol_read(const char *path)
{
	br_reader *r = br_reader_open(path);
	br_vol *v = NULL, *extra = NULL;
	int k;

	if (r == NULL)
		return NULL;
	if (br_reader_next(r, &v) != 1) {
		br_reader_close(r);
		return NULL;
	}
	k = br_reader_next(r, &extra);
	if (k != 0) {
		if (k > 0)
			br_set_error("holds more than one record");
		br_vol_free(extra);
		br_vol_free(v);
		v = NULL;
	}
	br_reader_close(r);
	return v;
}

static br_vol *map_file(const char *path, size_t off, br_vol *v)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *base;
	size_t need;

	if (br_size_add(&need, off, br_vol_bytes(v)) < 0) {
		if (fd >= 0)
			close(fd);
		br_vol_free(v);
		br_set_error("data offset %zu out of range", off);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		br_set_error("%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		br_vol_free(v);
		return NULL;
	}
	if ((size_t)st.st_size < need) {
		close(fd);
		br_vol_free(v);
		br_set_error("data truncated: %zu bytes, the header promises %zu", (size_t)st.st_size, need);
		return NULL;
	}
	base = mmap(NULL, need, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		br_set_error("cannot map: %s", strerror(errno));
		br_vol_free(v);
		return NULL;
	}
	free(v->data);
	v->map_base = base;
	v->map_len = need;
	v->data = (char *)base + off;
	return v;
}

br_vol *br_vol_map(const char *path)
{
	br_in in;
	size_t avail;
	int raw_native = 0;
	br_vol *v;

	if (strcmp(path, "-") == 0 || br_in_open(&in, path) < 0)
		return br_vol_read(path);
	avail = br_in_fill(&in, 348);
	if (avail >= 4 && memcmp(in.buf, "NRRD", 4) == 0) {
		struct stat st;
		size_t off;
		v = br_nrrd_read_header(&in, &raw_native);
		off = in.buf_off + in.pos;
		/* mapped only where every element is aligned (the data offset a
		 * multiple of the element size; our writer pads the header to 64) */
		if (v != NULL && raw_native && off % br_dtype_size(v->dtype) == 0 && fstat(in.fd, &st) == 0 &&
		    (size_t)st.st_size == off + br_vol_bytes(v)) {
			br_in_close(&in);
			return map_file(path, off, v);
		}
		br_vol_free(v);
	} else if (avail >= 348 && !(in.buf[0] == 0x1f && in.buf[1] == 0x8b)) {
		/* uncompressed NIfTI-1 in the host's byte order, no scaling */
		nifti_1_header h;
		size_t es;
		memcpy(&h, in.buf, sizeof h);
		es = h.datatype == DT_FLOAT32 ? 4 : h.datatype == DT_INT16 ? 2 : 1;
		if (h.sizeof_hdr == 348 && h.vox_offset >= 352 && h.vox_offset <= 1e15 &&
		    (size_t)h.vox_offset == h.vox_offset && (size_t)h.vox_offset % es == 0 &&
		    (h.scl_slope == 0 || (h.scl_slope == 1 && h.scl_inter == 0)) &&
		    (h.datatype == DT_FLOAT32 || h.datatype == DT_UINT8 || h.datatype == DT_INT16)) {
			br_in_close(&in);
			v = br_vol_read(path); /* checks everything; then drop its copy for a mapping */
			if (v == NULL)
				return NULL;
			return map_file(path, (size_t)h.vox_offset, v);
		}
	}
	br_in_close(&in);
	return br_vol_read(path);
}

/* ---- writer ---- */

int br_format_from_name(const char *path)
{
	if (has_suffix(path, ".nii.gz"))
		return BR_FMT_NIIGZ;
	if (has_suffix(path, ".nii"))
		return BR_FMT_NII;
	return BR_FMT_NRRD;
}

struct br_writer {
	br_atomic a; /* a file: written under a temporary name */
	FILE *f;     /* where NRRD records go (the temporary or stdout) */
	int fmt;
	int nrec;
	int is_stdout;
};

br_writer *br_writer_open(const char *path, int force)
{
	br_writer *w;

	w = calloc(1, sizeof *w);
	if (w == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	if (strcmp(path, "-") == 0) {
		if (!force && isatty(1)) {
			free(w);
			br_set_error("refusing to write binary data to a terminal (redirect stdout or use -o)");
			return NULL;
		}
		w->is_stdout = 1;
		w->f = stdout;
		br_pipe_widen(1);
		w->fmt = BR_FMT_NRRD;
		return w;
	}
	w->fmt = br_format_from_name(path);
	/* the suffix kept last: the temporary's name says what it holds */
	if (br_atomic_open(&w->a, path, w->fmt == BR_FMT_NIIGZ ? ".nii.gz" : w->fmt == BR_FMT_NII ? ".nii" : "", 1) < 0) {
		free(w);
		return NULL;
	}
	if (w->a.direct && !force && isatty(fileno(w->a.f))) {
		br_atomic_abort(&w->a);
		free(w);
		br_set_error("refusing to write binary data to a terminal (use -f)");
		return NULL;
	}
	w->f = w->a.f;
	return w;
}

int br_writer_put(br_writer *w, const br_vol *v)
{
	if (w->fmt != BR_FMT_NRRD) {
		if (w->nrec > 0)
			return br_set_error("a NIfTI file holds one record; write several records as NRRD");
		w->nrec++;
		return br_nifti_write(w->f, v, w->fmt == BR_FMT_NIIGZ);
	}
	w->nrec++;
	if (br_nrrd_write(w->f, v) < 0)
		return -1;
	if (w->is_stdout && fflush(w->f) != 0)
		return br_set_error("write failed: %s", strerror(errno));
	return 0;
}

void br_writer_abort(br_writer *w)
{
	if (w == NULL)
		return;
	br_atomic_abort(&w->a);
	free(w);
}

int br_writer_close(br_writer *w)
{
	int rc = 0;

	if (w->is_stdout) {
		if (fflush(stdout) != 0)
			rc = br_set_error("write failed: %s", strerror(errno));
		free(w);
		return rc;
	}
	if (w->nrec == 0) {
		br_set_error("no record to write");
		br_writer_abort(w);
		return -1;
	}
	if (br_atomic_commit(&w->a, 0) < 0) {
		br_writer_abort(w);
		return -1;
	}
	free(w);
	return 0;
}

int br_vol_write(const char *path, const br_vol *v, int force)
{
	br_writer *w = br_writer_open(path, force);

	if (w == NULL)
		return -1;
	if (br_writer_put(w, v) < 0) {
		br_writer_abort(w);
		return -1;
	}
	return br_writer_close(w);
}
