/*
 * dataset.h - training cases: image/label record pairs, memory-mapped where
 * the files allow it, indexed by axial slice, and the order of an epoch.
 */
#ifndef BR_DATASET_H
#define BR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "volume.h"

typedef struct {
	br_vol *img;         /* float32 (W, H, Z, 4): t1, t1ce, t2, flair */
	br_vol *lab;         /* uint8 (W, H, Z), BraTS labels 0, 1, 2, 4 */
	char *img_path, *lab_path;
	uint8_t *tumour;     /* per z: 1 when the slice has a label > 0 */
} r2u_case;

typedef struct {
	int c, z;            /* case, slice */
	uint8_t flip;        /* mirror left-right */
} r2u_slice;

typedef struct {
	r2u_case *cases;
	int ncases;
	size_t nslices;      /* all slices of all cases */
	size_t ntumour;      /* slices with tumour */
} r2u_data;

/* Load n pairs (label paths may be NULL for images only); checks types,
 * channels, sizes (multiples of 8), finite values, labels and that each
 * label record shares its image's grid.  -1 with msg naming the file. */
int r2u_data_load(r2u_data *d, char *const *img, char *const *lab, int n, char *msg, size_t msglen);
void r2u_data_free(r2u_data *d);

/* Lists of 'IMAGE LABEL' pairs, one pair a line; blank lines and lines
 * whose first non-blank character is '#' are skipped.  Paths are separated
 * by blanks (no quoting), at most R2U_LIST_MAXPATH bytes each. */
#define R2U_LIST_MAXPATH 4095
typedef struct {
	char **img, **lab;
	int n, cap;
} r2u_list;
/* Append one pair (copies); -1 when out of memory. */
int r2u_list_add(r2u_list *l, const char *img, const char *lab);
/* Append the pairs of a list read from f (bytes up to EOF); -1 with msg
 * ("line N: reason") on a bad line, and at least one pair is required. */
int r2u_list_parse(r2u_list *l, FILE *f, char *msg, size_t msglen);
/* The same from a file; msg does not name the file. */
int r2u_list_read(r2u_list *l, const char *path, char *msg, size_t msglen);
void r2u_list_free(r2u_list *l); /* frees the pairs, leaves an empty list */

/* The trainer's generator is rng.h's xoshiro256** (br_xoshiro256_seed,
 * br_xoshiro256_next on a uint64_t[4] state). */
/* A uniform number in [0, 1) that is a pure function of its arguments. */
double r2u_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* The slices of one epoch into order (room for d->nslices): every tumour
 * slice and each tumour-free slice with probability keep_empty; in file
 * order (cases as given, z ascending) when deterministic, else shuffled with
 * rng.  flip: a left-right flip drawn for each slice with probability 1/2.
 * Slices of equal size are kept together, so that a batch never mixes
 * sizes.  Returns the number of slices. */
size_t r2u_epoch_order(const r2u_data *d, r2u_slice *order, uint64_t rng[4], int deterministic, double keep_empty,
		       int flip, uint64_t seed, int64_t epoch);

/* How many of order[0..n) can go into one batch of at most max (same size). */
int r2u_batch_len(const r2u_data *d, const r2u_slice *order, size_t n, int max);
/* Assemble a batch: x (n, 4, H, W) float32 and labels (n, H, W) uint8. */
void r2u_batch(const r2u_data *d, const r2u_slice *sl, int n, float *x, uint8_t *labels);

#endif /* BR_DATASET_H */
