/*
 * components.h - 3-D connected components of a mask, by runs.
 *
 * The mask (nx*ny*nz bytes, x fastest, nonzero = foreground) is cut into
 * runs: maximal stretches of foreground along x in one row (y, z).  Runs
 * that touch in the chosen connectivity are merged with a union-find (path
 * halving, each root linked to the smaller index), one sweep per pair of
 * neighbouring rows, so labelling costs one pass over the voxels plus a
 * near-linear pass over the runs.  Components are numbered 0, 1, ... in the
 * raster order of their first voxel.
 *
 * Connectivity 6 joins voxels sharing a face, 18 a face or an edge, 26 a
 * face, an edge or a corner (scipy.ndimage.generate_binary_structure(3, 1),
 * (3, 2) and (3, 3)).
 */
#ifndef BR_COMPONENTS_H
#define BR_COMPONENTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	int32_t x0, x1; /* voxels x0 .. x1-1 of its row */
	int32_t comp;   /* component index */
} br_run;

typedef struct br_cc {
	int64_t nx, ny, nz;
	int64_t n;          /* components */
	int64_t *size;      /* size[c]: voxels of component c, c < n */
	int64_t nruns;
	br_run *run;        /* every run, in raster order */
	int64_t *row_start; /* runs of row r = y + ny*z: run[row_start[r] .. row_start[r+1]) */
} br_cc;

/* Label the components of mask; NULL (reason in br_error()) on a bad
 * connectivity or when memory runs out. */
br_cc *br_cc_new(const uint8_t *mask, int64_t nx, int64_t ny, int64_t nz, int connectivity);
void br_cc_free(br_cc *cc); /* NULL safe */

/* The component of the most voxels (the first in raster order on a tie);
 * -1 when there is none. */
int64_t br_cc_largest(const br_cc *cc);

/* The paper's rule: keep the largest component and every other one of at
 * least ratio times its size; with keep_largest only the largest; then drop
 * every component (the largest too) of fewer than min_voxels voxels.
 * keep: cc->n flags (1 keep, 0 drop).  Returns the number kept. */
int64_t br_cc_select(uint8_t *keep, const br_cc *cc, double ratio, int64_t min_voxels, int keep_largest);

/* Set to zero the voxels of the components not kept, in data (nx*ny*nz
 * elements of elem_size bytes, laid out like the mask; any type whose zero
 * is all zero bytes).  Returns the number of voxels cleared. */
int64_t br_cc_clear(void *data, size_t elem_size, const br_cc *cc, const uint8_t *keep);

/* Component index + 1 of every voxel, 0 for the background (labels:
 * nx*ny*nz). */
void br_cc_paint(int32_t *labels, const br_cc *cc);

#ifdef __cplusplus
}
#endif

#endif /* BR_COMPONENTS_H */
