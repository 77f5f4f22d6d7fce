/*
 * nifti_io.c - NIfTI-1 records through nifti_clib.
 *
 * Reading: nifti_clib parses the header (either byte order, .nii or .nii.gz)
 * and loads the data; we check the datatype and the dimensions, apply
 * scl_slope/scl_inter when set, and take the affine from the sform
 * (sform_code > 0), else the qform.  Writing: nifti_clib builds the header
 * from the record (sform = the affine, qform = its quaternion form, the same
 * codes), and we write header and data ourselves so that every write error
 * is seen.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <nifti1_io.h>

#include "atomic_file.h"
#include "byteorder.h"
#include "gzdata.h"
#include "io_internal.h"
#include "volume.h"

static int dt_from_nifti(int dt)
{
	switch (dt) {
	case DT_UINT8: return BR_U8;
	case DT_INT8: return BR_I8;
	case DT_UINT16: return BR_U16;
	case DT_INT16: return BR_I16;
	case DT_UINT32: return BR_U32;
	case DT_INT32: return BR_I32;
	case DT_FLOAT32: return BR_F32;
	case DT_FLOAT64: return BR_F64;
	}
	return 0;
}

static int dt_to_nifti(int dt)
{
	switch (dt) {
	case BR_U8: return DT_UINT8;
	case BR_I8: return DT_INT8;
	case BR_U16: return DT_UINT16;
	case BR_I16: return DT_INT16;
	case BR_U32: return DT_UINT32;
	case BR_I32: return DT_INT32;
	case BR_F32: return DT_FLOAT32;
	case BR_F64: return DT_FLOAT64;
	}
	return 0;
}

/* The header of path (.nii or .nii.gz) into *raw as it is in the file,
 * checked before nifti_clib converts it (nifti_clib prints its complaints,
 * mends bad sizes and casts vox_offset to int). */
static int read_header(const char *path, nifti_1_header *raw)
{
	nifti_1_header h;
	gzFile g;
	int k, i;

	g = gzopen(path, "rb");
	if (g == NULL)
		return br_set_error("%s", strerror(errno ? errno : ENOMEM));
	k = gzread(g, raw, sizeof *raw);
	gzclose(g);
	if (k != (int)sizeof *raw)
		return br_set_error("not a readable NIfTI-1 file (bad or truncated header)");
	h = *raw;
	if (h.sizeof_hdr != 348) {
		br_swap_bytes(&h.sizeof_hdr, 1, 4);
		if (h.sizeof_hdr != 348)
			return br_set_error(h.sizeof_hdr == 540 || raw->sizeof_hdr == 540
						    ? "NIfTI-2 files are not supported (convert to NIfTI-1)"
						    : "not a readable NIfTI-1 file (bad or truncated header)");
		br_swap_bytes(h.dim, 8, sizeof h.dim[0]);
		br_swap_bytes(&h.datatype, 1, sizeof h.datatype);
		br_swap_bytes(&h.vox_offset, 1, sizeof h.vox_offset);
	}
	if (h.dim[0] < 2 || h.dim[0] > 5 || (h.dim[0] >= 5 && h.dim[5] > 1))
		return br_set_error("unsupported NIfTI dimensions (dim[0] = %d)", h.dim[0]);
	for (i = 1; i <= h.dim[0]; i++)
		if (h.dim[i] < 1)
			return br_set_error("bad NIfTI dimensions (dim[%d] = %d)", i, h.dim[i]);
	if (dt_from_nifti(h.datatype) == 0)
		return br_set_error("unsupported NIfTI datatype %d (%s)", h.datatype, nifti_datatype_string(h.datatype));
	if (!(h.vox_offset >= 0 && h.vox_offset <= (float)(INT_MAX / 2)))
		return br_set_error("NIfTI vox_offset %g out of range", (double)h.vox_offset);
	return 0;
}

/* Read want bytes at the header's vox_offset, plain or gzip: from a plain
 * file the claim is checked against the file's length before anything is
 * allocated; from gzip the buffer grows only as data comes out. */
static int read_data(const char *path, const nifti_image *nim, size_t want, void **out)
{
	size_t done = 0, cap = 0, off = (size_t)nim->iname_offset;
	gzFile g;
	int k, errnum;
	unsigned char *buf = NULL;
	struct stat st;

	/* a gzip file is decoded whole by libdeflate; anything else streams */
	{
		void *whole;
		int rc = br_gz_inflate_range(path, off, want, &whole);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			buf = whole;
			goto swap;
		}
	}
	g = gzopen(path, "rb");
	if (g == NULL)
		return br_set_error("%s", strerror(errno ? errno : ENOMEM));
	gzbuffer(g, 1 << 18);
	if (gzdirect(g)) { /* not compressed: the file's length is known */
		size_t have = stat(path, &st) == 0 && (size_t)st.st_size > off ? (size_t)st.st_size - off : 0;
		if (have < want) {
			gzclose(g);
			return br_set_error("data truncated: %zu of the %zu bytes the header promises", have, want);
		}
		cap = want;
		buf = br_mem_alloc(want);
		if (buf == NULL) {
			gzclose(g);
			return br_set_error("out of memory (%zu bytes)", want);
		}
	}
	if (gzseek(g, (z_off_t)off, SEEK_SET) != (z_off_t)off) {
		gzclose(g);
		free(buf);
		return br_set_error("data truncated: no data at offset %zu", off);
	}
	while (done < want) {
		unsigned chunk;
		if (done == cap && br_in_grow(&buf, &cap, want) < 0) {
			gzclose(g);
			free(buf);
			return -1;
		}
		chunk = cap - done > (1u << 30) ? (1u << 30) : (unsigned)(cap - done);
		k = gzread(g, buf + done, chunk);
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	if (done < want) {
		const char *zmsg = gzerror(g, &errnum);
		if (errnum != Z_OK && errnum != Z_BUF_ERROR)
			br_set_error("data corrupt (%s) after %zu of %zu bytes", zmsg, done, want);
		else
			br_set_error("data truncated: %zu of the %zu bytes the header promises", done, want);
		gzclose(g);
		free(buf);
		return -1;
	}
	gzclose(g);
swap:
	if (nim->byteorder != nifti_short_order() && nim->nbyper > 1)
		br_swap_bytes(buf, want / (size_t)nim->nbyper, (size_t)nim->nbyper);
	*out = buf;
	return 0;
}

static void quiet_nifti(void)
{
	static int done;

	if (!done) {
		nifti_set_debug_level(0);
		done = 1;
	}
}

br_vol *br_nifti_read_path(const char *path, const char *display)
{
	nifti_1_header raw;
	nifti_image *nim;
	br_vol *v = NULL;
	int dtype, i, j;
	long long nc;
	size_t n, k;

	(void)display;
	quiet_nifti();
	if (read_header(path, &raw) < 0)
		return NULL;
	nim = nifti_convert_nhdr2nim(raw, NULL);
	if (nim == NULL) {
		br_set_error("not a readable NIfTI-1 file (bad or truncated header)");
		return NULL;
	}
	dtype = dt_from_nifti(nim->datatype);
	nc = nim->dim[0] >= 4 ? nim->nt : 1;
	/* the sizes checked against the limits of a record before any data */
	v = br_vol_new_empty(dtype, nim->nx, nim->ny, nim->nz, nc);
	if (v == NULL)
		goto fail;
	n = br_vol_numel(v);
	if (n != (size_t)nim->nvox || br_dtype_size(dtype) != (size_t)nim->nbyper) {
		br_set_error("inconsistent NIfTI dimensions");
		goto fail;
	}
	/* the data, read here rather than by nifti_image_load, which silently
	 * turns NaN and infinite floats into zeros and can miss a short file */
	if (read_data(path, nim, br_vol_bytes(v), &v->data) < 0)
		goto fail;
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			v->affine[i][j] = nim->sform_code > 0 ? nim->sto_xyz.m[i][j] : nim->qto_xyz.m[i][j];
	v->affine[3][0] = v->affine[3][1] = v->affine[3][2] = 0;
	v->affine[3][3] = 1;
	if (br_meta_setf(v, BR_KEY_QFORM_CODE, "%d", nim->qform_code) < 0 ||
	    br_meta_setf(v, BR_KEY_SFORM_CODE, "%d", nim->sform_code) < 0)
		goto fail;
	if (nim->scl_slope != 0 && isfinite(nim->scl_slope) && (nim->scl_slope != 1 || nim->scl_inter != 0)) {
		br_vol *f = br_vol_convert(v, BR_F32);
		float *p;
		if (f == NULL)
			goto fail;
		p = f->data;
		for (k = 0; k < n; k++)
			p[k] = p[k] * nim->scl_slope + nim->scl_inter;
		br_vol_free(v);
		v = f;
	}
	nifti_image_free(nim);
	return v;
fail:
	br_vol_free(v);
	nifti_image_free(nim);
	return NULL;
}

br_vol *br_nifti_read_stream(br_in *in, int gz)
{
	const char *dir = getenv("TMPDIR");
	char where[4096], *tmp;
	int fd;
	FILE *f;
	size_t k;
	br_vol *v = NULL;

	snprintf(where, sizeof where, "%s/brats-r2u-stdin", dir && *dir ? dir : "/tmp");
	fd = br_tmp_create(where, gz ? ".nii.gz" : ".nii", &tmp);
	if (fd < 0) {
		br_set_error("cannot spool NIfTI input to a temporary file: %s", br_error());
		return NULL;
	}
	f = fdopen(fd, "wb");
	if (f == NULL) {
		close(fd);
		br_set_error("cannot spool NIfTI input: %s", strerror(errno));
		goto done;
	}
	while ((k = br_in_fill(in, in->cap)) > 0) {
		if (fwrite(in->buf + in->pos, 1, k, f) != k)
			break;
		in->pos += k;
	}
	k = (size_t)ferror(f);
	if (fclose(f) != 0 || k != 0) {
		br_set_error("cannot spool NIfTI input: %s", strerror(errno ? errno : EIO));
		goto done;
	}
	v = br_nifti_read_path(tmp, in->name);
done:
	unlink(tmp);
	br_tmp_unregister(tmp);
	free(tmp);
	return v;
}

static int meta_code(const br_vol *v, const char *key)
{
	const char *s = br_meta_get(v, key);
	int c = s ? atoi(s) : 0;

	return c > 0 && c <= 4 ? c : 0;
}

int br_nifti_write(FILE *f, const br_vol *v, int gz)
{
	nifti_image *nim;
	nifti_1_header hdr;
	int dims[8] = {0, 1, 1, 1, 1, 1, 1, 1};
	int i, j, qcode, scode, rc = -1;
	float qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
	mat44 m;
	char ext[4] = {0, 0, 0, 0};
	size_t nbytes = br_vol_bytes(v);

	quiet_nifti();
	if (dt_to_nifti(v->dtype) == 0)
		return br_set_error("cannot write data type %s as NIfTI", br_dtype_name(v->dtype));
	if (v->dim[0] > 32767 || v->dim[1] > 32767 || v->dim[2] > 32767 || v->dim[3] > 32767)
		return br_set_error("sizes too large for NIfTI-1");
	dims[0] = v->dim[3] > 1 ? 4 : 3;
	dims[1] = (int)v->dim[0];
	dims[2] = (int)v->dim[1];
	dims[3] = (int)v->dim[2];
	dims[4] = (int)v->dim[3];
	nim = nifti_make_new_nim(dims, dt_to_nifti(v->dtype), 0);
	if (nim == NULL)
		return br_set_error("nifti_clib could not make a header");
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			m.m[i][j] = (float)v->affine[i][j];
	scode = meta_code(v, BR_KEY_SFORM_CODE);
	qcode = meta_code(v, BR_KEY_QFORM_CODE);
	if (scode == 0)
		scode = qcode ? qcode : NIFTI_XFORM_SCANNER_ANAT;
	if (qcode == 0)
		qcode = scode;
	nim->sform_code = scode;
	nim->sto_xyz = m;
	nim->sto_ijk = nifti_mat44_inverse(m);
	nifti_mat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
	nim->qform_code = qcode;
	nim->quatern_b = qb;
	nim->quatern_c = qc;
	nim->quatern_d = qd;
	nim->qoffset_x = qx;
	nim->qoffset_y = qy;
	nim->qoffset_z = qz;
	nim->qfac = qfac;
	nim->dx = nim->pixdim[1] = dx;
	nim->dy = nim->pixdim[2] = dy;
	nim->dz = nim->pixdim[3] = dz;
	if (v->dim[3] > 1)
		nim->dt = nim->pixdim[4] = 1;
	nim->qto_xyz = nifti_quatern_to_mat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac);
	nim->qto_ijk = nifti_mat44_inverse(nim->qto_xyz);
	nim->xyz_units = NIFTI_UNITS_MM;
	nim->scl_slope = 1;
	nim->scl_inter = 0;
	nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
	nim->iname_offset = 352;
	snprintf(nim->descrip, sizeof nim->descrip, "brats-r2u");
	hdr = nifti_convert_nim2nhdr(nim);
	nifti_image_free(nim);

	if (gz) {
		gzFile g;
		size_t done = 0, chunk;
		int fd;
		/* the compressed stream goes to f's descriptor (f holds no buffered data) */
		if (fflush(f) != 0)
			return br_set_error("write failed: %s", strerror(errno));
		fd = dup(fileno(f));
		g = fd < 0 ? NULL : gzdopen(fd, "wb6");
		if (g == NULL) {
			rc = errno;
			if (fd >= 0)
				close(fd);
			return br_set_error("cannot open for writing: %s", strerror(rc ? rc : ENOMEM));
		}
		gzbuffer(g, 1 << 18);
		if (gzwrite(g, &hdr, sizeof hdr) != (int)sizeof hdr || gzwrite(g, ext, 4) != 4)
			goto gzfail;
		while (done < nbytes) {
			chunk = nbytes - done > (1u << 30) ? (1u << 30) : nbytes - done;
			if (gzwrite(g, (const char *)v->data + done, (unsigned)chunk) != (int)chunk)
				goto gzfail;
			done += chunk;
		}
		if (gzclose(g) != Z_OK)
			return br_set_error("write failed: %s", strerror(errno ? errno : ENOSPC));
		return 0;
gzfail:
		gzclose(g);
		return br_set_error("write failed: %s", strerror(errno ? errno : EIO));
	}
	errno = 0;
	if (fwrite(&hdr, sizeof hdr, 1, f) != 1 || fwrite(ext, 4, 1, f) != 1 ||
	    (nbytes > 0 && fwrite(v->data, nbytes, 1, f) != 1))
		return br_set_error("write failed: %s", strerror(errno ? errno : EIO));
	return 0;
}
