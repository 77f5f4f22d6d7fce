/*
 * crop.c - crop boxes: cutting a record out of its grid and putting it back.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crop.h"

br_box br_box_centred(const br_vol *grid, int64_t nx, int64_t ny, const br_vol *brain)
{
	br_box b;
	int64_t lo[2] = {grid->dim[0], grid->dim[1]}, hi[2] = {-1, -1};
	size_t nv, i, c;
	int64_t x, y;

	b.nx = nx;
	b.ny = ny;
	b.z0 = 0;
	b.nz = grid->dim[2];
	b.x0 = (grid->dim[0] - nx) / 2;
	b.y0 = (grid->dim[1] - ny) / 2;
	if (brain == NULL)
		return b;
	nv = br_vol_nvox(brain);
	for (c = 0; c < (size_t)brain->dim[3]; c++) {
		for (i = 0; i < nv; i++) {
			if (br_vol_get(brain, c * nv + i) == 0)
				continue;
			x = (int64_t)(i % (size_t)brain->dim[0]);
			y = (int64_t)(i / (size_t)brain->dim[0] % (size_t)brain->dim[1]);
			if (x < lo[0]) lo[0] = x;
			if (x > hi[0]) hi[0] = x;
			if (y < lo[1]) lo[1] = y;
			if (y > hi[1]) hi[1] = y;
		}
	}
	if (hi[0] < 0)
		return b; /* empty image: the grid centre */
	/* centre of the bounding box; for equal parity the box is symmetric */
	b.x0 = (lo[0] + hi[0] + 1 - nx) / 2;
	b.y0 = (lo[1] + hi[1] + 1 - ny) / 2;
	/* stay inside the grid where the box fits */
	if (nx <= grid->dim[0]) {
		if (b.x0 < 0) b.x0 = 0;
		if (b.x0 + nx > grid->dim[0]) b.x0 = grid->dim[0] - nx;
	}
	if (ny <= grid->dim[1]) {
		if (b.y0 < 0) b.y0 = 0;
		if (b.y0 + ny > grid->dim[1]) b.y0 = grid->dim[1] - ny;
	}
	return b;
}

/* Box corners may lie outside the grid, but not further than this: box
 * arithmetic (corner + size, offsets) then stays far from overflowing. */
#define BOX_MAX_CORNER ((int64_t)1 << 40)

/* x as an int64 when it is a whole number with |x| <= lim, else -1 */
static int whole(double x, int64_t lim, int64_t *out)
{
	if (!(x >= -(double)lim && x <= (double)lim) || x != nearbyint(x))
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int parse_numbers(const char *s, double *out, int n)
{
	char *end;
	int i;

	for (i = 0; i < n; i++) {
		out[i] = strtod(s, &end);
		if (end == s || !isfinite(out[i]))
			return -1;
		s = end;
	}
	while (*s == ' ')
		s++;
	return *s == '\0' ? 0 : -1;
}

int br_box_from_meta(const br_vol *v, br_box *box, int64_t src_sizes[3], double src_affine[4][4])
{
	const char *c = br_meta_get(v, BR_KEY_CROP), *s = br_meta_get(v, BR_KEY_SRC_SIZES),
		   *a = br_meta_get(v, BR_KEY_SRC_AFFINE);
	double b[6], z[3], m[12];
	int i, j;

	if (c == NULL || s == NULL || a == NULL)
		return br_set_error("no crop metadata (the record was not written by brats-crop)");
	if (parse_numbers(c, b, 6) < 0 || parse_numbers(s, z, 3) < 0 || parse_numbers(a, m, 12) < 0)
		return br_set_error("malformed crop metadata");
	/* range-checked before converting: an out-of-range double has no int64 */
	if (whole(b[0], BOX_MAX_CORNER, &box->x0) < 0 || whole(b[1], BOX_MAX_CORNER, &box->y0) < 0 ||
	    whole(b[2], BOX_MAX_CORNER, &box->z0) < 0)
		return br_set_error("crop box corner (%s) out of range", c);
	if (whole(b[3], BR_MAX_SIZE, &box->nx) < 0 || whole(b[4], BR_MAX_SIZE, &box->ny) < 0 ||
	    whole(b[5], BR_MAX_SIZE, &box->nz) < 0 || whole(z[0], BR_MAX_SIZE, &src_sizes[0]) < 0 ||
	    whole(z[1], BR_MAX_SIZE, &src_sizes[1]) < 0 || whole(z[2], BR_MAX_SIZE, &src_sizes[2]) < 0 ||
	    src_sizes[0] < 1 || src_sizes[1] < 1 || src_sizes[2] < 1)
		return br_set_error("malformed crop metadata (sizes '%s', source sizes '%s')", c, s);
	br_affine_identity(src_affine);
	for (i = 0; i < 3; i++)
		for (j = 0; j < 4; j++)
			src_affine[i][j] = m[4 * i + j];
	if (box->nx != v->dim[0] || box->ny != v->dim[1] || box->nz != v->dim[2])
		return br_set_error("crop metadata (%lld x %lld x %lld) does not match the record's sizes",
				    (long long)box->nx, (long long)box->ny, (long long)box->nz);
	return 0;
}

/* a "crop" key: the box is then read from the metadata, or refused */
static int has_crop_meta(const br_vol *v) { return br_meta_get(v, BR_KEY_CROP) != NULL; }

/* every channel of src (box-sized) into the box of the grid dst, row by row
 * (the way back of copy_into, below) */
static void copy_box(br_vol *dst, const br_vol *src, br_box box)
{
	int64_t xa, xb, y, z, c, gx, gy, gz;
	size_t es = br_dtype_size(dst->dtype), nvg, nvb;

	xa = box.x0 < 0 ? -box.x0 : 0;
	xb = box.x0 + box.nx > dst->dim[0] ? dst->dim[0] - box.x0 : box.nx;
	if (xb <= xa)
		return;
	nvg = br_vol_nvox(dst);
	nvb = (size_t)(box.nx * box.ny * box.nz);
	for (c = 0; c < dst->dim[3]; c++)
		for (z = 0; z < box.nz; z++) {
			gz = box.z0 + z;
			if (gz < 0 || gz >= dst->dim[2])
				continue;
			for (y = 0; y < box.ny; y++) {
				size_t gi, bi;
				gy = box.y0 + y;
				if (gy < 0 || gy >= dst->dim[1])
					continue;
				gx = box.x0 + xa;
				gi = c * nvg + ((size_t)gz * dst->dim[1] + gy) * dst->dim[0] + gx;
				bi = c * nvb + ((size_t)z * box.ny + y) * box.nx + xa;
				memcpy((char *)dst->data + gi * es, (const char *)src->data + bi * es, (size_t)(xb - xa) * es);
			}
		}
}

static void set_source_meta(br_vol *o, const int64_t sz[3], const double a[4][4], br_box box)
{
	br_meta_setf(o, BR_KEY_CROP, "%lld %lld %lld %lld %lld %lld", (long long)box.x0, (long long)box.y0,
		     (long long)box.z0, (long long)box.nx, (long long)box.ny, (long long)box.nz);
	br_meta_setf(o, BR_KEY_SRC_SIZES, "%lld %lld %lld", (long long)sz[0], (long long)sz[1], (long long)sz[2]);
	br_meta_setf(o, BR_KEY_SRC_AFFINE, "%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g",
		     a[0][0] + 0.0, a[0][1] + 0.0, a[0][2] + 0.0, a[0][3] + 0.0, a[1][0] + 0.0, a[1][1] + 0.0,
		     a[1][2] + 0.0, a[1][3] + 0.0, a[2][0] + 0.0, a[2][1] + 0.0, a[2][2] + 0.0, a[2][3] + 0.0);
}

/* Channel c of o (box-sized) <- the box of channel vc of v, row by row,
 * converted to o's type (v's own, or float32); voxels of the box outside v's
 * grid are left as they are. */
static void copy_into(br_vol *o, int64_t c, const br_vol *v, int64_t vc, br_box box)
{
	int64_t xa, xb, y, z;
	size_t es = br_dtype_size(o->dtype), nvg = br_vol_nvox(v), nvb = br_vol_nvox(o);

	xa = box.x0 < 0 ? -box.x0 : 0;
	xb = box.x0 + box.nx > v->dim[0] ? v->dim[0] - box.x0 : box.nx;
	if (xb <= xa)
		return;
	for (z = 0; z < box.nz; z++) {
		int64_t gz = box.z0 + z;
		if (gz < 0 || gz >= v->dim[2])
			continue;
		for (y = 0; y < box.ny; y++) {
			int64_t gy = box.y0 + y, x, n = xb - xa;
			size_t gi, bi;
			if (gy < 0 || gy >= v->dim[1])
				continue;
			gi = (size_t)vc * nvg + ((size_t)gz * (size_t)v->dim[1] + (size_t)gy) * (size_t)v->dim[0] +
			     (size_t)(box.x0 + xa);
			bi = (size_t)c * nvb + ((size_t)z * (size_t)box.ny + (size_t)y) * (size_t)box.nx + (size_t)xa;
			if (o->dtype == v->dtype) {
				memcpy((char *)o->data + bi * es, (const char *)v->data + gi * es, (size_t)n * es);
			} else if (v->dtype == BR_I16) { /* the common case, kept fast */
				const int16_t *s = (const int16_t *)v->data + gi;
				float *d = (float *)o->data + bi;
#pragma omp simd
				for (x = 0; x < n; x++)
					d[x] = s[x];
			} else {
				for (x = 0; x < n; x++)
					br_vol_set(o, bi + (size_t)x, br_vol_get(v, gi + (size_t)x));
			}
		}
	}
}

br_vol *br_crop_header(const br_vol *v, br_box box, int dtype, int64_t nc)
{
	br_vol *o;
	br_box prev, total;
	int64_t sz[3];
	double sa[4][4];

	if (box.nx < 1 || box.ny < 1 || box.nz < 1) {
		br_set_error("empty crop box");
		return NULL;
	}
	o = br_vol_new_empty(dtype, box.nx, box.ny, box.nz, nc);
	if (o == NULL)
		return NULL;
	if (nc == v->dim[3])
		o->ndim = v->ndim;
	if (br_meta_copy(o, v) < 0) {
		br_vol_free(o);
		return NULL;
	}
	br_affine_shift(o->affine, v->affine, (double)box.x0, (double)box.y0, (double)box.z0);
	if (has_crop_meta(v)) {
		if (br_box_from_meta(v, &prev, sz, sa) < 0) {
			br_vol_free(o);
			return NULL;
		}
		total = box;
		total.x0 += prev.x0;
		total.y0 += prev.y0;
		total.z0 += prev.z0;
		set_source_meta(o, sz, sa, total);
	} else {
		sz[0] = v->dim[0];
		sz[1] = v->dim[1];
		sz[2] = v->dim[2];
		set_source_meta(o, sz, v->affine, box);
	}
	return o;
}

int br_crop_into(br_vol *o, int64_t c, const br_vol *v, int64_t vc, br_box box)
{
	if (o->dim[0] != box.nx || o->dim[1] != box.ny || o->dim[2] != box.nz || c < 0 || c >= o->dim[3] || vc < 0 ||
	    vc >= v->dim[3] || o->data == NULL || v->data == NULL)
		return br_set_error("crop: the record does not fit the box");
	if (o->dtype != v->dtype && o->dtype != BR_F32)
		return br_set_error("crop: cannot convert %s to %s while cropping", br_dtype_name(v->dtype),
				    br_dtype_name(o->dtype));
	copy_into(o, c, v, vc, box);
	return 0;
}

br_vol *br_crop(const br_vol *v, br_box box, int dtype)
{
	br_vol *o, *conv;
	int64_t c;
	/* straight into dtype where a row copy can convert, else crop in the
	 * source type and convert only the box */
	int direct = dtype == v->dtype || dtype == BR_F32;

	o = br_crop_header(v, box, direct ? dtype : v->dtype, v->dim[3]);
	if (o == NULL || br_vol_alloc(o) < 0) {
		br_vol_free(o);
		return NULL;
	}
	for (c = 0; c < v->dim[3]; c++)
		copy_into(o, c, v, c, box);
	if (direct)
		return o;
	conv = br_vol_convert(o, dtype);
	br_vol_free(o);
	return conv;
}

br_vol *br_uncrop(const br_vol *rec, const br_vol *ref)
{
	br_box box;
	int64_t sz[3];
	double sa[4][4], shifted[4][4], ijk[3];
	br_vol *o;
	int i;

	if (has_crop_meta(rec)) {
		if (br_box_from_meta(rec, &box, sz, sa) < 0)
			return NULL; /* present but malformed: not a reason to guess from the affines */
		if (sz[0] != ref->dim[0] || sz[1] != ref->dim[1] || sz[2] != ref->dim[2]) {
			br_set_error("was cropped from a %lld x %lld x %lld grid, the reference is %lld x %lld x %lld",
				     (long long)sz[0], (long long)sz[1], (long long)sz[2], (long long)ref->dim[0],
				     (long long)ref->dim[1], (long long)ref->dim[2]);
			return NULL;
		}
		if (!br_affine_equal(sa, ref->affine, 1e-3)) {
			br_set_error("was cropped from a grid with another affine than the reference's");
			return NULL;
		}
	} else {
		/* no metadata: the corner from the affines (same directions, whole-voxel shift) */
		double d[3][3], det, inv[3][3], off[3];
		int r, c;
		for (r = 0; r < 3; r++)
			for (c = 0; c < 3; c++)
				d[r][c] = ref->affine[r][c];
		det = d[0][0] * (d[1][1] * d[2][2] - d[1][2] * d[2][1]) - d[0][1] * (d[1][0] * d[2][2] - d[1][2] * d[2][0]) +
		      d[0][2] * (d[1][0] * d[2][1] - d[1][1] * d[2][0]);
		if (fabs(det) < 1e-12) {
			br_set_error("the reference affine is singular");
			return NULL;
		}
		inv[0][0] = (d[1][1] * d[2][2] - d[1][2] * d[2][1]) / det;
		inv[0][1] = (d[0][2] * d[2][1] - d[0][1] * d[2][2]) / det;
		inv[0][2] = (d[0][1] * d[1][2] - d[0][2] * d[1][1]) / det;
		inv[1][0] = (d[1][2] * d[2][0] - d[1][0] * d[2][2]) / det;
		inv[1][1] = (d[0][0] * d[2][2] - d[0][2] * d[2][0]) / det;
		inv[1][2] = (d[0][2] * d[1][0] - d[0][0] * d[1][2]) / det;
		inv[2][0] = (d[1][0] * d[2][1] - d[1][1] * d[2][0]) / det;
		inv[2][1] = (d[0][1] * d[2][0] - d[0][0] * d[2][1]) / det;
		inv[2][2] = (d[0][0] * d[1][1] - d[0][1] * d[1][0]) / det;
		for (r = 0; r < 3; r++)
			off[r] = rec->affine[r][3] - ref->affine[r][3];
		for (r = 0; r < 3; r++)
			ijk[r] = inv[r][0] * off[0] + inv[r][1] * off[1] + inv[r][2] * off[2];
		for (i = 0; i < 3; i++) {
			if (!(fabs(ijk[i]) <= (double)BOX_MAX_CORNER)) {
				br_set_error("no crop metadata, and its origin lies far outside the reference grid");
				return NULL;
			}
			if (fabs(ijk[i] - nearbyint(ijk[i])) > 1e-3) {
				br_set_error("no crop metadata, and its origin is not on the reference's voxel grid");
				return NULL;
			}
		}
		box.x0 = (int64_t)nearbyint(ijk[0]);
		box.y0 = (int64_t)nearbyint(ijk[1]);
		box.z0 = (int64_t)nearbyint(ijk[2]);
		box.nx = rec->dim[0];
		box.ny = rec->dim[1];
		box.nz = rec->dim[2];
	}
	br_affine_shift(shifted, ref->affine, (double)box.x0, (double)box.y0, (double)box.z0);
	if (!br_affine_equal(shifted, rec->affine, 1e-3)) {
		br_set_error("its affine does not match the reference grid shifted to the crop box");
		return NULL;
	}
	o = br_vol_new(rec->dtype, ref->dim[0], ref->dim[1], ref->dim[2], rec->dim[3]);
	if (o == NULL)
		return NULL;
	o->ndim = rec->ndim;
	memcpy(o->affine, ref->affine, sizeof o->affine);
	if (br_meta_copy(o, rec) < 0 || br_meta_copy(o, ref) < 0) {
		br_vol_free(o);
		return NULL;
	}
	br_meta_del(o, BR_KEY_CROP);
	br_meta_del(o, BR_KEY_SRC_SIZES);
	br_meta_del(o, BR_KEY_SRC_AFFINE);
	if (br_meta_get(rec, BR_KEY_CASE) != NULL)
		br_meta_set(o, BR_KEY_CASE, br_meta_get(rec, BR_KEY_CASE));
	if (br_meta_get(rec, BR_KEY_CONTENT) != NULL)
		br_meta_set(o, BR_KEY_CONTENT, br_meta_get(rec, BR_KEY_CONTENT));
	copy_box(o, rec, box);
	return o;
}
