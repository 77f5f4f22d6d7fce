/*
 * metrics.h - the BraTS segmentation scores (the challenge portal's, as
 * computed by CaPTk and MedPy): Dice, sensitivity, specificity and the 95th
 * percentile Hausdorff distance of the tumour regions, plus the statistics
 * the portal puts under its per-case rows.
 *
 * Regions of a label map: ET = {4}, WT = {1,2,4}, TC = {1,4}; with the 2023
 * labels ET = {3}, WT = {1,2,3}, TC = {1,3}.
 *
 * Conventions for empty masks (P: predicted region, G: ground truth):
 *   Dice        2|P&G| / (|P|+|G|); 1 when both are empty.
 *   Sensitivity TP/(TP+FN); 1 when G is empty (no tumour voxel to miss).
 *   Specificity TN/(TN+FP) over every voxel; 1 when G covers the whole grid.
 *   HD95        0 when both are empty; the length of the grid's diagonal,
 *               sqrt((nx sx)^2 + (ny sy)^2 + (nz sz)^2), when one is.
 * HD95 otherwise: boundary voxels are the voxels of a mask that one erosion
 * by the 6-connected cross removes (voxels outside the grid count as
 * background, so a mask's voxels on the grid border are boundary); the exact
 * Euclidean distances (mm) from each boundary voxel of P to the nearest
 * boundary voxel of G and from each of G to the nearest of P are pooled,
 * and the 95th percentile taken with linear interpolation.
 */
#ifndef BR_METRICS_H
#define BR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

enum br_region { BR_ET = 0, BR_WT, BR_TC, BR_NREGION };
extern const char *const br_region_name[BR_NREGION]; /* "ET", "WT", "TC" */

typedef struct {
	int64_t tp, fp, fn, tn;
	double dice, sens, spec, hd95;
} br_score;

/* lut[label] = 1 for the labels of the region, 0 otherwise. */
void br_region_lut(uint8_t lut[256], int region, int labels2023);

/* Score the label map pred against gt (both nx*ny*nz bytes on one grid, x
 * fastest, labels already checked), voxel spacing sp (mm), for the regions
 * whose bit (1u << region) is set in regions; the others get counts only
 * and NAN scores.  0, or -1 when memory runs out. */
int br_score_case(br_score out[BR_NREGION], const uint8_t *pred, const uint8_t *gt, int64_t nx, int64_t ny,
		  int64_t nz, const double sp[3], int labels2023, unsigned regions);

/* HD95 (conventions above) between the nonzero voxels of a and b. */
int br_hd95(double *out, const uint8_t *a, const uint8_t *b, int64_t nx, int64_t ny, int64_t nz,
	    const double sp[3]);

/* The portal's statistics rows of n > 0 values: mean, standard deviation
 * (population: divided by n, as numpy.std), median, 25% and 75% quantiles.
 * 0, or -1 when memory runs out. */
enum { BR_STAT_MEAN, BR_STAT_STD, BR_STAT_MEDIAN, BR_STAT_Q25, BR_STAT_Q75, BR_NSTAT };
extern const char *const br_stat_name[BR_NSTAT]; /* "Mean", "StdDev", "Median", "25quantile", "75quantile" */
int br_summary(double out[BR_NSTAT], const double *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* BR_METRICS_H */
