/*
 * safetensors.h - the safetensors checkpoint format: an 8-byte
 * little-endian header length, a JSON header naming every tensor (dtype,
 * shape, byte offsets into the data) and "__metadata__" (string to string),
 * then the raw little-endian data.
 *
 * The reader checks everything it is told against the file before it hands
 * a tensor out: header length, JSON syntax, dtypes, shapes against offsets,
 * offsets inside the data, no overlaps.  It never reads past the file.
 */
#ifndef BR_SAFETENSORS_H
#define BR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define BR_ST_MAXDIM 8

typedef struct {
	char *name;
	char dtype[8];           /* "F32", "F16", "I64", ... */
	int ndim;
	int64_t shape[BR_ST_MAXDIM];
	size_t begin, end;       /* byte offsets into the data section */
	const void *data;        /* points into the loaded file */
} br_st_tensor;

typedef struct {
	unsigned char *file;     /* the whole file */
	size_t size;
	size_t data_off;         /* start of the data section */
	br_st_tensor *t;
	int n;
	char **meta_key, **meta_val;
	int nmeta;
} br_st;

/* Read and check a whole file; NULL with br_error() set on failure. */
br_st *br_st_read(const char *path);
void br_st_free(br_st *st);
const br_st_tensor *br_st_find(const br_st *st, const char *name);
const char *br_st_meta(const br_st *st, const char *key);

/* Writer: tensors are added in order (float32 only), then written
 * atomically (temporary file, fsync, rename). */
typedef struct br_st_writer br_st_writer;
br_st_writer *br_st_writer_new(void);
int br_st_add_f32(br_st_writer *w, const char *name, const float *data, int ndim, const int64_t *shape);
int br_st_add_meta(br_st_writer *w, const char *key, const char *value);
int br_st_write(br_st_writer *w, const char *path); /* 0 / -1 with br_error() */
void br_st_writer_free(br_st_writer *w);

#endif /* BR_SAFETENSORS_H */
