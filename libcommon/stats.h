/*
 * stats.h - small statistics over voxel arrays (minimum/maximum,
 * percentiles with NumPy's linear interpolation).
 */
#ifndef BR_STATS_H
#define BR_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Minimum and maximum of x[i] over i with mask[i] != 0 (mask NULL: all);
 * +inf/-inf when nothing is selected. */
void br_minmax_f32(const float *x, const uint8_t *mask, size_t n, double *lo, double *hi);

/* Two percentiles (0..100) of the selected values, NumPy's default "linear"
 * method: rank r = p/100 * (m-1), a[floor r] + (a[ceil r] - a[floor r]) * frac(r).
 * -1 when out of memory; +inf/-inf when nothing is selected. */
int br_percentiles_f32(const float *x, const uint8_t *mask, size_t n, double p1, double p2, double *q1,
		       double *q2);

/* The q-quantile (0 <= q <= 1) of n > 0 values with linear interpolation,
 * numpy's default: r = q (n-1), a[floor r] + (a[ceil r] - a[floor r]) (r -
 * floor r) over the sorted values.  Reorders a.  Linear time. */
double br_percentile(double *a, size_t n, double q);


#endif /* BR_STATS_H */
