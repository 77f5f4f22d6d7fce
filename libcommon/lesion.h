/*
 * lesion.h - the BraTS 2023 lesion-wise scores, as the challenge's own
 * evaluation code (BraTS-2023-Metrics, get_LesionWiseResults) defines them,
 * and the surface-element HD95 they use (DeepMind's surface-distance).
 *
 * For one region (ET, WT or TC, each year's labels as in metrics.h), with
 * G the true region and P the predicted one:
 *
 *  1. Lesions.  G is dilated `dilations` times by the 18-connected 3x3x3
 *     cross (every offset with at most two nonzero coordinates; voxels
 *     outside the grid stay background, as scipy.ndimage.binary_dilation
 *     with its default border does); the 26-connected components of the
 *     dilated mask cut G into the ground-truth lesions: the voxels of G in
 *     one component form one lesion, so lesions closer than the dilation
 *     are merged.  The predicted lesions are the 26-connected components of
 *     P.
 *  2. Matching.  A predicted lesion matches a true lesion L when it has a
 *     voxel in L dilated `dilations` times (the same cross).  L is scored
 *     against the union M of the predicted lesions that match it (one
 *     predicted lesion may match several true lesions): Dice
 *     2|L&M|/(|L|+|M|), and the surface HD95 below, infinite (counted as
 *     `miss_hd`, 374 mm) when nothing matches.  A predicted lesion that
 *     matches no true lesion is a false positive.
 *  3. Small lesions.  A true lesion of volume (voxels times the product of
 *     the spacings, mm^3) at most `min_volume` (50 mm^3) is left out of the
 *     scores and counts; false positives count whatever their size.
 *  4. Scores.  With n the true lesions left in, FP the false positives:
 *     Dice = (sum of their Dice) / (n + FP), HD95 = (sum of their HD95 +
 *     FP * miss_hd) / (n + FP); 1 and 0 when n + FP is 0.  TP: true lesions
 *     left in that something matches; FN: those that nothing matches.  The
 *     sums run in the evaluation code's order of the lesions (its labels of
 *     the dilated mask, numbered in an x-slowest scan) and add as numpy
 *     does, so that the scores agree with it to the last bit.
 *
 * Surface HD95 (compute_surface_distances and compute_robust_hausdorff of
 * surface-distance): the surface of a mask lives on the corners of its
 * voxels; a corner whose eight voxels are neither all in nor all out is a
 * surface element, of the area of the marching-cubes surface inside that
 * 2x2x2 cell (vertices at the edge midpoints; the corners of the smaller
 * side, or of the inside when four and four, cut apart where they touch
 * only diagonally; a non-planar polygon cut into the triangles of largest
 * area, which is the marching-cubes table's choice), scaled to the
 * spacing.  Each element's distance (mm) to the nearest element of the
 * other mask is taken; in each direction the elements are sorted by
 * (distance, area) and the distance taken where the cumulated area first
 * reaches 95% of the total (numpy.searchsorted on cumsum / sum); the
 * larger of the two directions is the HD95.  Infinite when a mask is
 * empty.
 */
#ifndef BR_LESION_H
#define BR_LESION_H

#include <stdint.h>

#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	double dice, hd95; /* the lesion-wise scores */
	int64_t tp, fp, fn; /* lesions: matched true ones, unmatched predicted ones, missed true ones */
} br_lesion_score;

typedef struct {
	int dilations;     /* 3 for the gliomas (BraTS-GLI) */
	double min_volume; /* mm^3; 50 */
	double miss_hd;    /* mm; 374 */
} br_lesion_params;

extern const br_lesion_params br_lesion_brats2023; /* {3, 50, 374} */

/* The lesion-wise scores of the region masks pred and gt (nonzero = in;
 * nx*ny*nz bytes each, x fastest) with spacing sp (mm).  0, or -1 when
 * memory runs out (reason in br_error()). */
int br_lesion_score_masks(br_lesion_score *out, const uint8_t *pred, const uint8_t *gt, int64_t nx, int64_t ny,
			  int64_t nz, const double sp[3], const br_lesion_params *par);

/* The lesion-wise scores of the label maps pred and gt (labels checked)
 * for the regions whose bit (1u << region) is set in regions (the others
 * get NAN scores and zero counts). */
int br_lesion_score_case(br_lesion_score out[BR_NREGION], const uint8_t *pred, const uint8_t *gt, int64_t nx,
			 int64_t ny, int64_t nz, const double sp[3], int labels2023, unsigned regions,
			 const br_lesion_params *par);

/* The area (mm^2) of the surface element of each of the 256 codes for the
 * spacing sp; bit 7-(4a+2b+c) of a code is the voxel at offset (a-1, b-1,
 * c-1) along (x, y, z) from the corner (surface-distance's neighbour code). */
void br_surfel_areas(double area[256], const double sp[3]);

#ifdef __cplusplus
}
#endif

#endif /* BR_LESION_H */
