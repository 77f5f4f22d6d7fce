/*
 * stats.c - minimum/maximum and percentiles over voxel arrays.
 */
#include <math.h>
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

/* k-th smallest (0-based) of a[0..n), reordering a (Hoare's selection) */
static float select_k(float *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1, i, j;
	float pivot, t;

	while (lo < hi) {
		pivot = a[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

/* value at fractional rank r of a[0..m) (reordered) */
static double at_rank(float *a, size_t m, double r)
{
	size_t f = (size_t)floor(r), c = (size_t)ceil(r);
	double vf, vc;

	vf = select_k(a, m, f);
	if (c == f)
		return vf;
	/* the next order statistic is the minimum of the part above f */
	{
		size_t i;
		float mn = INFINITY;
		for (i = f + 1; i < m; i++)
			mn = a[i] < mn ? a[i] : mn;
		vc = mn;
	}
	return vf + (vc - vf) * (r - (double)f);
}

int br_percentiles_f32(const float *x, const uint8_t *mask, size_t n, double p1, double p2, double *q1, double *q2)
{
	float *a;
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
	*q1 = at_rank(a, m, p1 / 100.0 * (double)(m - 1));
	*q2 = at_rank(a, m, p2 / 100.0 * (double)(m - 1));
	free(a);
	return 0;
}

double br_quantile_sorted(const double *a, size_t n, double q)
{
	double r, f;
	size_t i;

	if (n == 0)
		return NAN;
	r = q * (double)(n - 1);
	f = floor(r);
	i = (size_t)f;
	if (i + 1 >= n)
		return a[n - 1];
	return a[i] + (a[i + 1] - a[i]) * (r - f);
}
