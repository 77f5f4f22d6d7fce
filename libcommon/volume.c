/*
 * volume.c - the volume record: allocation, metadata, conversion, geometry.
 */
#define _DEFAULT_SOURCE /* madvise */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "volume.h"

static _Thread_local char br_errbuf[1024];

const char *br_error(void) { return br_errbuf[0] ? br_errbuf : "unknown error"; }

int br_set_error(const char *fmt, ...)
{
	char tmp[sizeof br_errbuf];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap); /* fmt may refer to br_errbuf */
	va_end(ap);
	memcpy(br_errbuf, tmp, sizeof tmp);
	return -1;
}

size_t br_dtype_size(int dtype)
{
	switch (dtype) {
	case BR_U8:
	case BR_I8:
		return 1;
	case BR_U16:
	case BR_I16:
		return 2;
	case BR_U32:
	case BR_I32:
	case BR_F32:
		return 4;
	case BR_F64:
		return 8;
	}
	return 0;
}

const char *br_dtype_name(int dtype)
{
	switch (dtype) {
	case BR_U8: return "uint8";
	case BR_I8: return "int8";
	case BR_U16: return "uint16";
	case BR_I16: return "int16";
	case BR_U32: return "uint32";
	case BR_I32: return "int32";
	case BR_F32: return "float";
	case BR_F64: return "double";
	}
	return "unknown";
}

int br_dtype_is_float(int dtype) { return dtype == BR_F32 || dtype == BR_F64; }

void br_affine_identity(double a[4][4])
{
	int i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			a[i][j] = i == j;
}

int br_size_mul(size_t *out, size_t a, size_t b)
{
	size_t r;

	if (__builtin_mul_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

int br_size_add(size_t *out, size_t a, size_t b)
{
	size_t r;

	if (__builtin_add_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

int br_size_prod(size_t *out, const int64_t *dims, int n, size_t es)
{
	size_t p = es;
	int i;

	for (i = 0; i < n; i++)
		if (dims[i] < 0 || br_size_mul(&p, p, (size_t)dims[i]) < 0)
			return -1;
	*out = p;
	return 0;
}

br_vol *br_vol_new_empty(int dtype, int64_t nx, int64_t ny, int64_t nz, int64_t nc)
{
	br_vol *v;
	int64_t d[4];
	size_t bytes, es = br_dtype_size(dtype);

	if (es == 0) {
		br_set_error("unsupported data type %d", dtype);
		return NULL;
	}
	if (nc == 0)
		nc = 1;
	if (nx < 1 || ny < 1 || nz < 1 || nc < 1 || nx > BR_MAX_SIZE || ny > BR_MAX_SIZE || nz > BR_MAX_SIZE ||
	    nc > BR_MAX_CHANNELS) {
		br_set_error("bad sizes %lld %lld %lld %lld", (long long)nx, (long long)ny, (long long)nz,
			     (long long)nc);
		return NULL;
	}
	d[0] = nx;
	d[1] = ny;
	d[2] = nz;
	d[3] = nc;
	if (br_size_prod(&bytes, d, 4, es) < 0 || bytes > BR_MAX_BYTES) {
		br_set_error("record too large (%lld x %lld x %lld x %lld voxels of %zu bytes; at most %zu bytes)",
			     (long long)nx, (long long)ny, (long long)nz, (long long)nc, es, BR_MAX_BYTES);
		return NULL;
	}
	v = calloc(1, sizeof *v);
	if (v == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	v->ndim = nc > 1 ? 4 : 3;
	v->dim[0] = nx;
	v->dim[1] = ny;
	v->dim[2] = nz;
	v->dim[3] = nc;
	v->dtype = dtype;
	br_affine_identity(v->affine);
	return v;
}

/* Large arrays ask the kernel for transparent huge pages (Linux in its
 * "madvise" mode): a fresh 63 MB record is then faulted in about 30 steps of
 * 2 MiB instead of 15,000 of 4 KiB, which was most of brats-crop's time on a
 * real case.  The advice covers the pages [p, p + n) touches, rounded out:
 * a large block of malloc is a mapping of its own, and advising all of it
 * (not a part, which would split it) lets realloc keep growing it in place
 * with mremap.  It is a hint: it changes no content, and a refusal (another
 * kernel, THP off) changes nothing. */
#define HUGE_PAGE ((uintptr_t)2 << 20)
void br_mem_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t pg = 4096, a = (uintptr_t)p & ~(pg - 1), b = ((uintptr_t)p + n + pg - 1) & ~(pg - 1);

	if (p != NULL && n >= 2 * HUGE_PAGE)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void *br_mem_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	br_mem_advise(p, n);
	return p;
}

int br_vol_alloc(br_vol *v)
{
	/* calloc's large blocks are fresh, untouched mappings: advised before
	 * their first use */
	v->data = calloc(br_vol_numel(v) ? br_vol_numel(v) : 1, br_dtype_size(v->dtype));
	if (v->data == NULL)
		return br_set_error("out of memory (%zu bytes)", br_vol_bytes(v));
	br_mem_advise(v->data, br_vol_bytes(v));
	return 0;
}

br_vol *br_vol_new(int dtype, int64_t nx, int64_t ny, int64_t nz, int64_t nc)
{
	br_vol *v = br_vol_new_empty(dtype, nx, ny, nz, nc);

	if (v == NULL)
		return NULL;
	if (br_vol_alloc(v) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

void br_vol_free(br_vol *v)
{
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nmeta; i++) {
		free(v->meta[i].key);
		free(v->meta[i].value);
	}
	free(v->meta);
	br_vol_adopt(v, NULL, NULL, NULL);
	free(v);
}

void br_vol_adopt(br_vol *v, void *data, void (*release)(void *arg, void *data), void *arg)
{
	if (v->release != NULL)
		v->release(v->release_arg, v->data);
	else if (v->map_base != NULL)
		munmap(v->map_base, v->map_len);
	else
		free(v->data);
	v->map_base = NULL;
	v->map_len = 0;
	v->data = data;
	v->release = release;
	v->release_arg = arg;
}

br_vol *br_vol_like(const br_vol *v, int dtype, int64_t nc)
{
	br_vol *o = br_vol_new(dtype, v->dim[0], v->dim[1], v->dim[2], nc);

	if (o == NULL)
		return NULL;
	memcpy(o->affine, v->affine, sizeof o->affine);
	if (br_meta_copy(o, v) < 0) {
		br_vol_free(o);
		return NULL;
	}
	return o;
}

br_vol *br_vol_copy(const br_vol *v)
{
	br_vol *o = br_vol_like(v, v->dtype, v->dim[3]);

	if (o == NULL)
		return NULL;
	o->ndim = v->ndim;
	memcpy(o->data, v->data, br_vol_bytes(v));
	return o;
}

size_t br_vol_nvox(const br_vol *v) { return (size_t)v->dim[0] * v->dim[1] * v->dim[2]; }
size_t br_vol_numel(const br_vol *v) { return br_vol_nvox(v) * (size_t)v->dim[3]; }
size_t br_vol_bytes(const br_vol *v) { return br_vol_numel(v) * br_dtype_size(v->dtype); }

double br_vol_get(const br_vol *v, size_t i)
{
	switch (v->dtype) {
	case BR_U8: return ((const uint8_t *)v->data)[i];
	case BR_I8: return ((const int8_t *)v->data)[i];
	case BR_U16: return ((const uint16_t *)v->data)[i];
	case BR_I16: return ((const int16_t *)v->data)[i];
	case BR_U32: return ((const uint32_t *)v->data)[i];
	case BR_I32: return ((const int32_t *)v->data)[i];
	case BR_F32: return ((const float *)v->data)[i];
	case BR_F64: return ((const double *)v->data)[i];
	}
	return 0;
}

void br_vol_set(br_vol *v, size_t i, double x)
{
	switch (v->dtype) {
	case BR_U8: ((uint8_t *)v->data)[i] = (uint8_t)x; break;
	case BR_I8: ((int8_t *)v->data)[i] = (int8_t)x; break;
	case BR_U16: ((uint16_t *)v->data)[i] = (uint16_t)x; break;
	case BR_I16: ((int16_t *)v->data)[i] = (int16_t)x; break;
	case BR_U32: ((uint32_t *)v->data)[i] = (uint32_t)x; break;
	case BR_I32: ((int32_t *)v->data)[i] = (int32_t)x; break;
	case BR_F32: ((float *)v->data)[i] = (float)x; break;
	case BR_F64: ((double *)v->data)[i] = x; break;
	}
}

static int dtype_range(int dtype, double *lo, double *hi)
{
	switch (dtype) {
	case BR_U8: *lo = 0; *hi = 255; return 1;
	case BR_I8: *lo = -128; *hi = 127; return 1;
	case BR_U16: *lo = 0; *hi = 65535; return 1;
	case BR_I16: *lo = -32768; *hi = 32767; return 1;
	case BR_U32: *lo = 0; *hi = 4294967295.0; return 1;
	case BR_I32: *lo = -2147483648.0; *hi = 2147483647.0; return 1;
	}
	return 0; /* float types: no range check */
}

br_vol *br_vol_convert(const br_vol *v, int dtype)
{
	br_vol *o;
	size_t i, n = br_vol_numel(v);
	double lo, hi, x;
	int isint;

	o = br_vol_like(v, dtype, v->dim[3]);
	if (o == NULL)
		return NULL;
	o->ndim = v->ndim;
	if (dtype == v->dtype) {
		memcpy(o->data, v->data, br_vol_bytes(v));
		return o;
	}
	if (dtype == BR_F32 && v->dtype == BR_I16) { /* the common case, kept fast */
		const int16_t *s = v->data;
		float *d = o->data;
		for (i = 0; i < n; i++)
			d[i] = s[i];
		return o;
	}
	isint = dtype_range(dtype, &lo, &hi);
	for (i = 0; i < n; i++) {
		x = br_vol_get(v, i);
		if (isint) {
			if (!isfinite(x)) {
				br_set_error("voxel %zu is not finite, cannot convert to %s", i, br_dtype_name(dtype));
				br_vol_free(o);
				return NULL;
			}
			x = nearbyint(x);
			if (x < lo || x > hi) {
				br_set_error("voxel %zu value %g does not fit %s", i, x, br_dtype_name(dtype));
				br_vol_free(o);
				return NULL;
			}
		}
		br_vol_set(o, i, x);
	}
	return o;
}

/* ---- metadata ---- */

const char *br_meta_get(const br_vol *v, const char *key)
{
	int i;

	for (i = 0; i < v->nmeta; i++)
		if (strcmp(v->meta[i].key, key) == 0)
			return v->meta[i].value;
	return NULL;
}

int br_meta_set(br_vol *v, const char *key, const char *value)
{
	br_kv *m;
	char *k, *val;
	int i;

	if (key[0] == '\0' || strpbrk(key, "\n\r") != NULL || strstr(key, ":=") != NULL ||
	    strpbrk(value, "\n\r") != NULL)
		return br_set_error("metadata key '%s': newline or ':=' not allowed", key);
	val = strdup(value);
	if (val == NULL)
		return br_set_error("out of memory");
	for (i = 0; i < v->nmeta; i++) {
		if (strcmp(v->meta[i].key, key) == 0) {
			free(v->meta[i].value);
			v->meta[i].value = val;
			return 0;
		}
	}
	k = strdup(key);
	m = realloc(v->meta, (size_t)(v->nmeta + 1) * sizeof *m);
	if (k == NULL || m == NULL) {
		free(k);
		free(val);
		if (m != NULL)
			v->meta = m;
		return br_set_error("out of memory");
	}
	v->meta = m;
	v->meta[v->nmeta].key = k;
	v->meta[v->nmeta].value = val;
	v->nmeta++;
	return 0;
}

int br_meta_setf(br_vol *v, const char *key, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return br_meta_set(v, key, buf);
}

void br_meta_del(br_vol *v, const char *key)
{
	int i;

	for (i = 0; i < v->nmeta; i++) {
		if (strcmp(v->meta[i].key, key) == 0) {
			free(v->meta[i].key);
			free(v->meta[i].value);
			memmove(&v->meta[i], &v->meta[i + 1], (size_t)(v->nmeta - i - 1) * sizeof *v->meta);
			v->nmeta--;
			return;
		}
	}
}

int br_meta_copy(br_vol *dst, const br_vol *src)
{
	int i;

	for (i = 0; i < src->nmeta; i++)
		if (br_meta_set(dst, src->meta[i].key, src->meta[i].value) < 0)
			return -1;
	return 0;
}

/* ---- geometry ---- */

void br_affine_apply(const double a[4][4], double i, double j, double k, double out[3])
{
	int r;

	for (r = 0; r < 3; r++)
		out[r] = a[r][0] * i + a[r][1] * j + a[r][2] * k + a[r][3];
}

void br_affine_shift(double out[4][4], const double a[4][4], double x0, double y0, double z0)
{
	double o[3];
	double t[4][4];

	memcpy(t, a, sizeof t);
	br_affine_apply(a, x0, y0, z0, o);
	t[0][3] = o[0];
	t[1][3] = o[1];
	t[2][3] = o[2];
	memcpy(out, t, sizeof t);
}

void br_affine_spacing(const double a[4][4], double sp[3])
{
	int c;

	for (c = 0; c < 3; c++)
		sp[c] = sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
}

int br_affine_equal(const double a[4][4], const double b[4][4], double tol)
{
	int i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 4; j++)
			if (fabs(a[i][j] - b[i][j]) > tol)
				return 0;
	return 1;
}

int br_vol_same_grid(const br_vol *a, const br_vol *b)
{
	return a->dim[0] == b->dim[0] && a->dim[1] == b->dim[1] && a->dim[2] == b->dim[2] &&
	       br_affine_equal(a->affine, b->affine, 1e-3);
}

/* ---- checks ---- */

int br_vol_check_finite(const br_vol *v)
{
	size_t i, n = br_vol_numel(v), nv = br_vol_nvox(v);

	if (v->dtype == BR_F32) {
		const float *p = v->data;
		for (i = 0; i < n; i++)
			if (!isfinite(p[i]))
				goto bad;
	} else if (v->dtype == BR_F64) {
		const double *p = v->data;
		for (i = 0; i < n; i++)
			if (!isfinite(p[i]))
				goto bad;
	}
	return 0;
bad:
	return br_set_error("voxel (%zu,%zu,%zu) channel %zu is %s", i % v->dim[0], i / v->dim[0] % v->dim[1],
			    i % nv / v->dim[0] / v->dim[1], i / nv, isnan(br_vol_get(v, i)) ? "NaN" : "infinite");
}

int br_vol_check_labels(const br_vol *v, int labels2023)
{
	size_t i, n = br_vol_numel(v);
	double x;

	if (v->dtype == BR_U8) { /* the common case: one table lookup per voxel */
		const uint8_t *p = v->data;
		uint8_t bad[256];
		unsigned acc = 0;
		memset(bad, 1, sizeof bad);
		bad[0] = bad[1] = bad[2] = 0;
		bad[labels2023 ? 3 : 4] = 0;
		for (i = 0; i < n; i++)
			acc |= bad[p[i]];
		if (acc == 0)
			return 0;
	}
	for (i = 0; i < n; i++) {
		x = br_vol_get(v, i);
		if (x == 0 || x == 1 || x == 2 || (labels2023 ? x == 3 : x == 4))
			continue;
		return br_set_error("label %g at voxel (%zu,%zu,%zu) is not one of 0,1,2,%d", x, i % v->dim[0],
				    i / v->dim[0] % v->dim[1], i / v->dim[0] / v->dim[1] % v->dim[2],
				    labels2023 ? 3 : 4);
	}
	return 0;
}
