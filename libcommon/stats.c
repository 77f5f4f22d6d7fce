/*
 * stats.c - minimum/maximum and percentiles over voxel arrays.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "volume.h"

void br_minmax_f32(const float *x, const uint8_t *mask, size_t n, double *lo, double *hi)
{
	float a = INFINITY, b = -INFINITY;
	size_t i;

	if (mask == NULL) {
		for (i = 0; i < n; i++) {
			a = x[i] < a ? x[i] : a;
			b = x[i] > b ? x[i] : b;
		}
	} else {
		for (i = 0; i < n; i++)
			if (mask[i]) {
				a = x[i] < a ? x[i] : a;
				b = x[i] > b ? x[i] : b;
			}
	}
	*lo = a;
	*hi = b;
}

/* Move the k-th smallest of a[0..n) to a[k], smaller ones before, larger after. */
static void select_k(double *a, int64_t n, int64_t k)
{
	int64_t lo = 0, hi = n - 1, i, j, mid;
	double p, t;

	while (hi > lo) {
		mid = lo + (hi - lo) / 2;
		if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
		if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
		if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
		p = a[mid];
		i = lo;
		j = hi;
		while (i <= j) {
			while (a[i] < p)
				i++;
			while (a[j] > p)
				j--;
			if (i <= j) {
				t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

double br_percentile(double *a, size_t n, double q)
{
	double r, lo, hi;
	int64_t k, i;

	if (n == 0)
		return NAN;
	r = q * (double)(n - 1);
	k = (int64_t)floor(r);
	if (k < 0)
		k = 0;
	if (k > (int64_t)n - 1)
		k = (int64_t)n - 1;
	select_k(a, (int64_t)n, k);
	lo = a[k];
	if (r <= (double)k || k + 1 >= (int64_t)n)
		return lo;
	hi = a[k + 1]; /* the smallest of the values after k */
	for (i = k + 2; i < (int64_t)n; i++)
		if (a[i] < hi)
			hi = a[i];
	return lo + (hi - lo) * (r - (double)k);
}

int br_percentiles_f32(const float *x, const uint8_t *mask, size_t n, double p1, double p2, double *q1, double *q2)
{
	double *a;
	size_t i, m = 0;

	a = malloc((n ? n : 1) * sizeof *a);
	if (a == NULL)
		return br_set_error("out of memory");
	for (i = 0; i < n; i++)
		if (mask == NULL || mask[i])
			a[m++] = x[i];
	if (m == 0) {
		*q1 = INFINITY;
		*q2 = -INFINITY;
		free(a);
		return 0;
	}
	*q1 = br_percentile(a, m, p1 / 100.0);
	*q2 = br_percentile(a, m, p2 / 100.0);
	free(a);
	return 0;
}
