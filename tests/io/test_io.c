/*
 * test_io - unit tests of the I/O layer: NRRD records and streams (every
 * type, 3-D and 4-D, metadata, several records, byte orders, gzip, spaces),
 * NIfTI-1 round trips, crop boxes, metadata, statistics, safetensors.
 * Prints TAP lines; exits 1 on any failure.  usage: test_io TMPDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crop.h"
#include "safetensors.h"
#include "stats.h"
#include "volume.h"
#include "tap.h"
#include "tpath.h"


/* a record with a non-trivial affine, values depending on the index */
static br_vol *make(int dtype, int nx, int ny, int nz, int nc)
{
	br_vol *v = br_vol_new(dtype, nx, ny, nz, nc);
	size_t i, n;
	double a[4][4] = {{-1.5, 0.1, 0, 10.25}, {0, -1.2, 0.05, 239}, {0.02, 0, 2.5, -7}, {0, 0, 0, 1}};

	if (v == NULL)
		return NULL;
	memcpy(v->affine, a, sizeof a);
	n = br_vol_numel(v);
	for (i = 0; i < n; i++)
		br_vol_set(v, i, br_dtype_is_float(dtype) ? (double)i * 0.37 - 11.0 : (double)(i * 7 % 120));
	br_meta_set(v, BR_KEY_CASE, "BraTS20_Training_042");
	br_meta_set(v, "note", "spaces and = and : inside");
	return v;
}

static int same(const br_vol *a, const br_vol *b)
{
	return a->dtype == b->dtype && a->dim[0] == b->dim[0] && a->dim[1] == b->dim[1] && a->dim[2] == b->dim[2] &&
	       a->dim[3] == b->dim[3] && br_affine_equal(a->affine, b->affine, 1e-9) &&
	       memcmp(a->data, b->data, br_vol_bytes(a)) == 0;
}

static void nrrd_types(void)
{
	static const int types[] = {BR_U8, BR_I8, BR_U16, BR_I16, BR_U32, BR_I32, BR_F32, BR_F64};
	size_t t;
	int nc;

	for (t = 0; t < sizeof types / sizeof types[0]; t++)
		for (nc = 1; nc <= 4; nc += 3) {
			br_vol *v = make(types[t], 7, 5, 3, nc), *r;
			int ok = br_vol_write(path("t.nrrd"), v, 1) == 0 && (r = br_vol_read(path("t.nrrd"))) != NULL;
			if (ok) {
				ok = same(v, r) && r->ndim == (nc > 1 ? 4 : 3) && br_meta_get(r, BR_KEY_CASE) &&
				     strcmp(br_meta_get(r, "note"), "spaces and = and : inside") == 0;
				br_vol_free(r);
			}
			tap(ok, "NRRD round trip: %s, %d channel(s), affine and metadata", br_dtype_name(types[t]), nc);
			br_vol_free(v);
		}
}

static void nrrd_stream(void)
{
	br_vol *a = make(BR_F32, 6, 4, 2, 4), *b = make(BR_U8, 3, 3, 3, 1), *r;
	br_writer *w = br_writer_open(path("s.nrrd"), 1);
	br_reader *rd;
	int ok = w && br_writer_put(w, a) == 0 && br_writer_put(w, b) == 0 && br_writer_put(w, a) == 0 &&
		 br_writer_close(w) == 0;
	int n = 0, k = -1;

	rd = ok ? br_reader_open(path("s.nrrd")) : NULL;
	while (rd && (k = br_reader_next(rd, &r)) == 1) {
		ok &= same(r, n == 1 ? b : a);
		br_vol_free(r);
		n++;
	}
	tap(ok && n == 3 && k == 0, "a stream of three records reads back in order, then ends");
	br_reader_close(rd);
	tap(br_vol_read(path("s.nrrd")) == NULL && strstr(br_error(), "more than one record") != NULL,
	    "br_vol_read refuses a stream of several records");
	br_vol_free(a);
	br_vol_free(b);
}

static void write_file(const char *p, const char *text, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	fputs(text, f);
	if (n)
		fwrite(data, 1, n, f);
	fclose(f);
}

static void nrrd_foreign(void)
{
	/* big-endian int16, LPS space, spacings-free, a comment, NRRD0005 */
	unsigned char be[2 * 6] = {0, 1, 0, 2, 1, 0, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00};
	short want[6] = {1, 2, 256, -2, 32767, -32768};
	br_vol *v;
	int i, ok;

	write_file(path("be.nrrd"),
		   "NRRD0005\n# from another writer\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
		   "sizes: 3 2 1\nspace directions: (1,0,0) (0,2,0) (0,0,3)\nendian: big\nencoding: raw\n"
		   "space origin: (10,20,30)\ncontent: x\n\n",
		   be, sizeof be);
	v = br_vol_read(path("be.nrrd"));
	ok = v != NULL && v->dtype == BR_I16;
	for (i = 0; ok && i < 6; i++)
		ok = ((short *)v->data)[i] == want[i];
	/* LPS -> RAS: x and y flip */
	ok = ok && v->affine[0][0] == -1 && v->affine[1][1] == -2 && v->affine[2][2] == 3 && v->affine[0][3] == -10 &&
	     v->affine[1][3] == -20 && v->affine[2][3] == 30;
	tap(ok, "NRRD from another writer: big-endian shorts, LPS space to RAS");
	br_vol_free(v);

	/* interleaved channels first (3D Slicer's vector volumes) */
	{
		float d[2 * 3] = {1, 10, 2, 20, 3, 30}; /* (c, x) pairs, x = 0..2 */
		write_file(path("vec.nrrd"),
			   "NRRD0004\ntype: float\ndimension: 4\nsizes: 2 3 1 1\nkinds: vector domain domain domain\n"
			   "endian: little\nencoding: raw\n\n",
			   d, sizeof d);
		v = br_vol_read(path("vec.nrrd"));
		ok = v != NULL && v->dim[0] == 3 && v->dim[3] == 2 && ((float *)v->data)[0] == 1 &&
		     ((float *)v->data)[2] == 3 && ((float *)v->data)[3] == 10 && ((float *)v->data)[5] == 30;
		tap(ok, "NRRD with the channel axis first is read channel-planar");
		br_vol_free(v);
	}
	/* header problems */
	write_file(path("nosize.nrrd"), "NRRD0004\ntype: float\ndimension: 3\nencoding: raw\n\n", NULL, 0);
	tap(br_vol_read(path("nosize.nrrd")) == NULL && strstr(br_error(), "sizes"), "NRRD without sizes: refused");
	write_file(path("enc.nrrd"), "NRRD0004\ntype: float\ndimension: 1\nsizes: 1\nendian: little\nencoding: bzip2\n\n",
		   NULL, 0);
	tap(br_vol_read(path("enc.nrrd")) == NULL && strstr(br_error(), "bzip2"), "unsupported NRRD encoding: named");
	write_file(path("short.nrrd"), "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 10\nencoding: raw\n\nabc", NULL, 0);
	tap(br_vol_read(path("short.nrrd")) == NULL && strstr(br_error(), "truncated"), "short NRRD data: truncated");
	write_file(path("empty.nrrd"), "", NULL, 0);
	tap(br_vol_read(path("empty.nrrd")) == NULL && strstr(br_error(), "empty"), "empty file: no record");
	write_file(path("junk.nrrd"), "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 1\nencoding: raw\n\nxJUNK", NULL, 0);
	tap(br_vol_read(path("junk.nrrd")) == NULL && strstr(br_error(), "trailing"), "trailing garbage after a record");
}

static void nifti(void)
{
	static const int types[] = {BR_U8, BR_I16, BR_F32, BR_F64};
	size_t t;

	for (t = 0; t < sizeof types / sizeof types[0]; t++) {
		br_vol *v = make(types[t], 9, 8, 7, t == 2 ? 4 : 1), *r = NULL;
		int ok = br_vol_write(path("n.nii.gz"), v, 1) == 0 && (r = br_vol_read(path("n.nii.gz"))) != NULL;
		/* NIfTI keeps the affine as float32 */
		ok = ok && r->dtype == v->dtype && r->dim[3] == v->dim[3] && br_affine_equal(r->affine, v->affine, 1e-5) &&
		     memcmp(r->data, v->data, br_vol_bytes(v)) == 0;
		tap(ok, "NIfTI .nii.gz round trip: %s, %lld channel(s)", br_dtype_name(types[t]), (long long)v->dim[3]);
		br_vol_free(r);
		r = NULL;
		ok = br_vol_write(path("n.nii"), v, 1) == 0 && (r = br_vol_read(path("n.nii"))) != NULL &&
		     memcmp(r->data, v->data, br_vol_bytes(v)) == 0;
		tap(ok, "NIfTI .nii round trip: %s", br_dtype_name(types[t]));
		br_vol_free(r);
		r = br_vol_map(path("n.nii"));
		tap(r != NULL && (types[t] == BR_F64 || r->map_base != NULL) && memcmp(r->data, v->data, br_vol_bytes(v)) == 0,
		    "br_vol_map of .nii: %s%s", br_dtype_name(types[t]), types[t] == BR_F64 ? " (read)" : " (mapped)");
		br_vol_free(r);
		br_vol_free(v);
	}
	{
		br_vol *v = make(BR_F32, 8, 8, 4, 4), *r;
		br_vol_write(path("m.nrrd"), v, 1);
		r = br_vol_map(path("m.nrrd"));
		tap(r != NULL && r->map_base != NULL && same(r, v), "br_vol_map of raw NRRD: mapped, same record");
		br_vol_free(r);
		br_vol_free(v);
	}
}

static void crops(void)
{
	br_vol *v = make(BR_I16, 20, 16, 6, 2), *c, *c2, *u;
	br_box b = {3, 4, 1, 10, 8, 4}, b2 = {2, 1, 0, 5, 5, 3};
	double w1[3], w2[3];
	int ok, x, y, z, ch;

	c = br_crop(v, b, BR_F32);
	br_affine_apply(v->affine, 5, 6, 2, w1);
	br_affine_apply(c->affine, 2, 2, 1, w2);
	ok = c->dim[0] == 10 && c->dim[1] == 8 && c->dim[2] == 4 && c->dim[3] == 2 && fabs(w1[0] - w2[0]) < 1e-9 &&
	     fabs(w1[1] - w2[1]) < 1e-9 && fabs(w1[2] - w2[2]) < 1e-9;
	for (ch = 0; ch < 2 && ok; ch++)
		for (z = 0; z < 4; z++)
			for (y = 0; y < 8; y++)
				for (x = 0; x < 10; x++)
					ok &= ((float *)c->data)[((ch * 4 + z) * 8 + y) * 10 + x] ==
					      (float)br_vol_get(v, ((size_t)(ch * 6 + z + 1) * 16 + y + 4) * 20 + x + 3);
	tap(ok, "crop: voxels, sizes, and every voxel keeps its world position");
	c2 = br_crop(c, b2, BR_F32); /* crop of a crop */
	u = br_uncrop(c2, v);
	ok = c2 && u && strcmp(br_meta_get(c2, BR_KEY_CROP), "5 5 1 5 5 3") == 0 && br_affine_equal(u->affine, v->affine, 1e-9);
	for (ch = 0; ch < 2 && ok; ch++)
		for (z = 0; z < 6; z++)
			for (y = 0; y < 16; y++)
				for (x = 0; x < 20; x++) {
					int in = x >= 5 && x < 10 && y >= 5 && y < 10 && z >= 1 && z < 4;
					size_t i = ((size_t)(ch * 6 + z) * 16 + y) * 20 + x;
					ok &= ((float *)u->data)[i] == (in ? (float)br_vol_get(v, i) : 0.0f);
				}
	tap(ok, "a crop of a crop composes its boxes; uncrop restores it on the source grid");
	br_vol_free(u);
	/* without metadata, from the affines */
	br_meta_del(c2, BR_KEY_CROP);
	u = br_uncrop(c2, v);
	tap(u != NULL && ((float *)u->data)[(1 * 16 + 5) * 20 + 5] == (float)br_vol_get(v, (1 * 16 + 5) * 20 + 5),
	    "uncrop without metadata places the record by its affine");
	br_vol_free(u);
	{
		br_vol *big = br_vol_new(BR_U8, 30, 16, 6, 1);
		u = br_uncrop(c, big);
		tap(u == NULL && strstr(br_error(), "cropped from a 20 x 16 x 6 grid"), "uncrop onto another grid: refused");
		br_vol_free(big);
	}
	{
		br_box out = {-3, -2, 0, 8, 6, 6};
		br_vol *p = br_crop(v, out, BR_I16);
		tap(p && ((short *)p->data)[0] == 0 && ((short *)p->data)[2 * 8 + 3] == (short)br_vol_get(v, 0),
		    "a box leaving the grid is padded with zeros");
		br_vol_free(p);
	}
	br_vol_free(c);
	br_vol_free(c2);
	br_vol_free(v);
}

static void misc(void)
{
	double a[] = {5, 1, 4, 2, 3}, lo, hi;
	float f[] = {3, 1, 2, 10, 7};
	uint8_t mask[] = {1, 1, 1, 0, 1};
	br_vol *v = br_vol_new(BR_F32, 2, 2, 2, 1), *c;

	tap(br_percentile(a, 5, 0.5) == 3 && br_percentile(a, 5, 0.9) == 4.6 && br_percentile(a, 5, 0) == 1,
	    "percentiles: linear interpolation (NumPy's default)");
	br_percentiles_f32(f, mask, 5, 0, 100, &lo, &hi);
	tap(lo == 1 && hi == 7, "masked percentiles");
	br_minmax_f32(f, NULL, 5, &lo, &hi);
	tap(lo == 1 && hi == 10, "min and max");
	((float *)v->data)[3] = NAN;
	tap(br_vol_check_finite(v) < 0 && strstr(br_error(), "(1,1,0)") && strstr(br_error(), "NaN"),
	    "NaN found and located");
	((float *)v->data)[3] = 300;
	c = br_vol_convert(v, BR_U8);
	tap(c == NULL && strstr(br_error(), "does not fit"), "conversion out of range: refused");
	((float *)v->data)[3] = 4;
	tap(br_vol_check_labels(v, 0) == 0 && br_vol_check_labels(v, 1) < 0, "label conventions 2020 and 2023");
	br_meta_set(v, "a", "1");
	br_meta_set(v, "a", "2");
	tap(v->nmeta == 1 && strcmp(br_meta_get(v, "a"), "2") == 0 && br_meta_set(v, "bad\nkey", "x") < 0,
	    "metadata: replace, and no newline in a key");
	br_vol_free(v);
}

/* a safetensors file of a given header and 8 bytes of data */
static void write_st(const char *name, const char *header)
{
	uint64_t n = strlen(header);
	float data[2] = {1, 2};
	FILE *f = fopen(path(name), "wb");

	fwrite(&n, 8, 1, f);
	fputs(header, f);
	fwrite(data, 4, 2, f);
	fclose(f);
}

/* a file of exactly n given bytes */
static void write_raw(const char *name, const char *bytes, size_t n)
{
	FILE *f = fopen(path(name), "wb");

	fwrite(bytes, 1, n, f);
	fclose(f);
}

static void safetensors(void)
{
	br_st_writer *w = br_st_writer_new();
	float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-1};
	int64_t sa[2] = {2, 3}, sb[1] = {1};
	br_st *st;
	const br_st_tensor *t;
	int ok;

	br_st_add_f32(w, "a.weight", a, 2, sa);
	br_st_add_f32(w, "b \"quoted\"", b, 1, sb);
	br_st_add_meta(w, "arch", "r2u-mtds");
	ok = br_st_write(w, path("x.safetensors")) == 0 && (st = br_st_read(path("x.safetensors"))) != NULL;
	br_st_writer_free(w);
	t = ok ? br_st_find(st, "a.weight") : NULL;
	ok = ok && t && t->ndim == 2 && t->shape[1] == 3 && memcmp(t->data, a, sizeof a) == 0 &&
	     br_st_find(st, "b \"quoted\"") && strcmp(br_st_meta(st, "arch"), "r2u-mtds") == 0 && (st->data_off % 8) == 0;
	tap(ok, "safetensors round trip (names, shapes, data, metadata, 8-byte aligned data)");
	if (ok)
		br_st_free(st);
	/* overlapping offsets, offsets past the end, shapes that disagree */
	write_st("bad.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
				    "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
	tap(br_st_read(path("bad.safetensors")) == NULL && strstr(br_error(), "overlap"), "safetensors: overlapping tensors refused");
	write_st("past.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}");
	tap(br_st_read(path("past.safetensors")) == NULL && strstr(br_error(), "do not fit"),
	    "safetensors: data past the end of the file refused");
	write_st("shape.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}");
	tap(br_st_read(path("shape.safetensors")) == NULL, "safetensors: shape and offsets that disagree refused");
	/* a 38-byte file whose header ends in a digit: parsed within its bounds
	 * (an overread AddressSanitizer reports otherwise) */
	write_raw("digits.safetensors", "\x1e\0\0\0\0\0\0\0{\"x\":{\"dtype\":\"F32\",\"shape\":[1", 38);
	tap(br_st_read(path("digits.safetensors")) == NULL && strstr(br_error(), "bad header entry for tensor 'x'"),
	    "safetensors: a header that ends in digits is read within its bounds");
	write_st("dup.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
				    "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
	tap(br_st_read(path("dup.safetensors")) == NULL && strstr(br_error(), "tensor 'x' is given twice"),
	    "safetensors: a tensor name given twice refused");
	write_st("dupmeta.safetensors", "{\"__metadata__\":{\"base\":\"8\",\"base\":\"512\"},"
					"\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
	tap(br_st_read(path("dupmeta.safetensors")) == NULL && strstr(br_error(), "metadata key 'base' is given twice"),
	    "safetensors: a metadata key given twice refused");
	write_st("dupkey.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}");
	tap(br_st_read(path("dupkey.safetensors")) == NULL, "safetensors: a field given twice in one entry refused");
	write_raw("nrrd.safetensors", "NRRD0004\ntype: float\ndimension: 3\n", 34);
	tap(br_st_read(path("nrrd.safetensors")) == NULL && strcmp(br_error(), "not a safetensors file") == 0,
	    "safetensors: another format is 'not a safetensors file'");
}

int main(int argc, char **argv)
{
	tap_detail = br_error;
	dir = argc > 1 ? argv[1] : "/tmp";
	nrrd_types();
	nrrd_stream();
	nrrd_foreign();
	nifti();
	crops();
	misc();
	safetensors();
	return tap_done("test_io");
}
