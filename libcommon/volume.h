/*
 * volume.h - the volume record, the one currency every tool passes around,
 * and the one I/O layer that reads and writes it (NRRD streams, NIfTI-1).
 *
 * A record is a 3-D or 4-D array, x fastest, then y, z, and the channel axis
 * slowest (sizes 144 176 155 4 = x y z modality).  affine maps voxel indices
 * (i, j, k) to world coordinates in millimetres in the NIfTI convention
 * (RAS+): world = affine * [i j k 1]^T.  Key/value metadata travels with the
 * record (NRRD "key:=value" lines).
 *
 * Library functions never exit or print: they return NULL or -1 and leave a
 * one-line reason in br_error() (thread-local).
 */
#ifndef BR_VOLUME_H
#define BR_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum br_dtype {
	BR_U8 = 1,
	BR_I8,
	BR_U16,
	BR_I16,
	BR_U32,
	BR_I32,
	BR_F32,
	BR_F64
};

typedef struct {
	char *key, *value;
} br_kv;

typedef struct br_vol {
	int ndim;          /* 3 or 4 */
	int64_t dim[4];    /* x, y, z, channels (dim[3] == 1 when ndim == 3) */
	int dtype;         /* enum br_dtype */
	void *data;        /* dim[0]*dim[1]*dim[2]*dim[3] elements, x fastest */
	double affine[4][4]; /* voxel -> world (RAS, mm) */
	br_kv *meta;       /* key/value metadata, in insertion order */
	int nmeta;
	void *map_base;    /* data memory-mapped from a file (br_vol_map), else NULL */
	size_t map_len;
	/* data owned by someone else (br_vol_adopt): given back with
	 * release(release_arg, data) instead of being freed */
	void (*release)(void *arg, void *data);
	void *release_arg;
} br_vol;

/* Metadata keys used across the tools. */
#define BR_KEY_CASE "case"               /* case id, e.g. BraTS20_Training_001 */
#define BR_KEY_CONTENT "content"         /* image | labels | mask | prob */
#define BR_KEY_CHANNELS "channels"       /* "t1 t1ce t2 flair", "wt ncr ed et" */
#define BR_KEY_CROP "crop"               /* "x0 y0 z0 nx ny nz" in the source grid */
#define BR_KEY_SRC_SIZES "source_sizes"  /* "240 240 155" */
#define BR_KEY_SRC_AFFINE "source_affine" /* 12 numbers, rows of the 3x4 affine */
#define BR_KEY_NORM "normalisation"      /* how brats-norm scaled the record */
#define BR_KEY_OUTSIDE "brats_outside_box" /* fraction of the brain left outside the crop box */
#define BR_KEY_QFORM_CODE "nifti_qform_code"
#define BR_KEY_SFORM_CODE "nifti_sform_code"

/* ---- errors ---- */
const char *br_error(void);
int br_set_error(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	; /* returns -1 */

/* ---- sizes ----
 * Every product or sum of sizes, strides, offsets and byte counts that
 * comes from a file is computed here, with overflow checks, so that a
 * header cannot wrap a size to something small.  Each returns 0, or -1 (no
 * message, *out unchanged) when the result does not fit a size_t. */
int br_size_mul(size_t *out, size_t a, size_t b);
int br_size_add(size_t *out, size_t a, size_t b);
/* dims[0] * ... * dims[n-1] * es; -1 also when a size is negative */
int br_size_prod(size_t *out, const int64_t *dims, int n, size_t es);

/* The limits of a record: each spatial size at most BR_MAX_SIZE, at most
 * BR_MAX_CHANNELS channels, at most BR_MAX_BYTES bytes of data.  Every record
 * is made by br_vol_new or br_vol_new_empty, which check them, so that
 * products of a record's own sizes (br_vol_bytes, strides, voxel indices)
 * cannot overflow. */
#define BR_MAX_SIZE ((int64_t)1 << 20)
#define BR_MAX_CHANNELS ((int64_t)1 << 16)
#define BR_MAX_BYTES ((size_t)1 << 40)

/* ---- records ---- */
size_t br_dtype_size(int dtype);
const char *br_dtype_name(int dtype); /* "uint8", "int16", "float", ... (NRRD names) */
int br_dtype_is_float(int dtype);

/* New record with zeroed data (identity affine, no metadata). nc == 0 or 1
 * gives a 3-D record. */
br_vol *br_vol_new(int dtype, int64_t nx, int64_t ny, int64_t nz, int64_t nc);
/* Give v the data block data (the same size and type as v's), which
 * release(arg, data) gives back when v is freed or adopts another block
 * (release NULL: free()); v's own data is freed, or unmapped, first. */
void br_vol_adopt(br_vol *v, void *data, void (*release)(void *arg, void *data), void *arg);
/* zeroed data for a record made by br_vol_new_empty (data NULL) */
int br_vol_alloc(br_vol *v);
/* Large arrays: br_mem_alloc is malloc with br_mem_advise, which asks for
 * huge pages over [p, p + n) before the memory is first touched (a hint;
 * free() releases the block as usual). */
void *br_mem_alloc(size_t n);
void br_mem_advise(void *p, size_t n);
/* The same record without its data (data NULL), for readers that fill it
 * as the data arrives. */
br_vol *br_vol_new_empty(int dtype, int64_t nx, int64_t ny, int64_t nz, int64_t nc);
void br_vol_free(br_vol *v); /* NULL safe */
/* New record of another type/channel count with v's affine and metadata. */
br_vol *br_vol_like(const br_vol *v, int dtype, int64_t nc);
br_vol *br_vol_copy(const br_vol *v);
/* Same voxels converted to dtype (values rounded and range-checked for
 * integer targets; -1/NULL when a value does not fit). */
br_vol *br_vol_convert(const br_vol *v, int dtype);
size_t br_vol_nvox(const br_vol *v);   /* x*y*z (one channel) */
size_t br_vol_numel(const br_vol *v);  /* x*y*z*c */
size_t br_vol_bytes(const br_vol *v);
double br_vol_get(const br_vol *v, size_t i); /* element i as double */
void br_vol_set(br_vol *v, size_t i, double x); /* element i (no range check) */

/* Metadata: get returns NULL when absent; set copies key and value
 * (replacing an existing key); del removes it. */
const char *br_meta_get(const br_vol *v, const char *key);
int br_meta_set(br_vol *v, const char *key, const char *value);
int br_meta_setf(br_vol *v, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
void br_meta_del(br_vol *v, const char *key);
int br_meta_copy(br_vol *dst, const br_vol *src); /* all of src's keys into dst */

/* Geometry helpers. */
void br_affine_identity(double a[4][4]);
/* world position of voxel (i,j,k) */
void br_affine_apply(const double a[4][4], double i, double j, double k, double out[3]);
/* affine of the sub-grid starting at voxel (x0,y0,z0): same directions,
 * origin moved so every voxel keeps its world position */
void br_affine_shift(double out[4][4], const double a[4][4], double x0, double y0, double z0);
/* voxel spacing: the lengths of the affine's first three columns */
void br_affine_spacing(const double a[4][4], double sp[3]);
/* 1 when two affines agree to tol (mm) */
int br_affine_equal(const double a[4][4], const double b[4][4], double tol);
/* 1 when two records share a grid: same x,y,z sizes and affines within 1e-3 mm */
int br_vol_same_grid(const br_vol *a, const br_vol *b);

/* ---- reading ---- */

/* A stream of records from a file or stdin ("-").  The format is recognised
 * by content: NRRD (one or several records back to back), NIfTI-1 (.nii or
 * gzip-compressed .nii.gz; one record). */
typedef struct br_reader br_reader;
br_reader *br_reader_open(const char *path);
/* 1: a record in *out (caller frees); 0: end of stream; -1: error. */
int br_reader_next(br_reader *r, br_vol **out);
const char *br_reader_path(const br_reader *r); /* "stdin" for "-" */
void br_reader_close(br_reader *r);

/* Exactly one record (a stream with more than one is an error). */
br_vol *br_vol_read(const char *path);

/* Like br_vol_read, but the data of an uncompressed single-record file in
 * the host's byte order (raw NRRD, .nii) is memory-mapped read-only rather
 * than read, so that data sets larger than memory can be used.  Other
 * files are read.  The data must not be written to. */
br_vol *br_vol_map(const char *path);

/* Check what the tools rely on: finite values in float records; returns -1
 * with a reason naming the first bad voxel. */
int br_vol_check_finite(const br_vol *v);
/* Label maps: every value in {0,1,2,4} (labels2023: {0,1,2,3}). */
int br_vol_check_labels(const br_vol *v, int labels2023);

/* ---- writing ---- */

enum br_format { BR_FMT_NRRD = 0, BR_FMT_NII = 1, BR_FMT_NIIGZ = 2 };
int br_format_from_name(const char *path); /* by suffix; "-" and unknown -> NRRD */

/* A writer to a file or stdout ("-").  A file is written under a temporary
 * name in the same directory and renamed into place by br_writer_close, so
 * a failure never leaves a partial file.  NIfTI takes one record; NRRD
 * streams take any number.  Writing binary to a terminal is refused unless
 * force. */
typedef struct br_writer br_writer;
br_writer *br_writer_open(const char *path, int force);
int br_writer_put(br_writer *w, const br_vol *v);
int br_writer_close(br_writer *w); /* -1 on error (temporary removed) */
void br_writer_abort(br_writer *w); /* remove the temporary, free; NULL safe */

/* One record to one path (open, put, close). */
int br_vol_write(const char *path, const br_vol *v, int force);

/* Lower level, used by the writer and by tests. */
int br_nrrd_write(FILE *f, const br_vol *v);

#ifdef __cplusplus
}
#endif

#endif /* BR_VOLUME_H */
