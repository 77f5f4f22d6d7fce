/*
 * metrics.c - the BraTS segmentation scores (see metrics.h).
 *
 * One pass over the two label maps fills a joint histogram of (predicted,
 * true) labels, from which every region's confusion counts follow, and the
 * bounding box of the whole tumour in either map.  A second pass, over that
 * box only, lists the boundary voxels of every region of both maps; the
 * exact distance transform (edt.h) then runs from these lists, so its cost
 * follows the surfaces rather than the box (scattered false positives make
 * the box as large as the grid).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edt.h"
#include "metrics.h"
#include "volume.h"

const char *const br_region_name[BR_NREGION] = {"ET", "WT", "TC"};
const char *const br_stat_name[BR_NSTAT] = {"Mean", "StdDev", "Median", "25quantile", "75quantile"};

void br_region_lut(uint8_t lut[256], int region, int labels2023)
{
	int et = labels2023 ? 3 : 4;

	memset(lut, 0, 256);
	switch (region) {
	case BR_ET:
		lut[et] = 1;
		break;
	case BR_WT:
		lut[1] = lut[2] = lut[et] = 1;
		break;
	case BR_TC:
		lut[1] = lut[et] = 1;
		break;
	}
}


/* ---- order statistics ---- */


int br_summary(double out[BR_NSTAT], const double *x, size_t n)
{
	double *t, s = 0, ss = 0;
	size_t i;

	if (n == 0) {
		for (i = 0; i < BR_NSTAT; i++)
			out[i] = NAN;
		return 0;
	}
	t = malloc(n * sizeof *t);
	if (t == NULL)
		return br_set_error("out of memory");
	for (i = 0; i < n; i++)
		s += x[i];
	out[BR_STAT_MEAN] = s / (double)n;
	for (i = 0; i < n; i++)
		ss += (x[i] - out[BR_STAT_MEAN]) * (x[i] - out[BR_STAT_MEAN]);
	out[BR_STAT_STD] = sqrt(ss / (double)n);
	memcpy(t, x, n * sizeof *t);
	out[BR_STAT_MEDIAN] = br_percentile(t, n, 0.5);
	out[BR_STAT_Q25] = br_percentile(t, n, 0.25);
	out[BR_STAT_Q75] = br_percentile(t, n, 0.75);
	free(t);
	return 0;
}

/* ---- HD95 ---- */

typedef struct {
	int64_t *i;
	int64_t n, cap;
} ilist;

static int ilist_push(ilist *l, int64_t v)
{
	if (l->n == l->cap) {
		int64_t nc = l->cap ? 2 * l->cap : 4096;
		int64_t *t = realloc(l->i, (size_t)nc * sizeof *t);
		if (t == NULL)
			return -1;
		l->i = t;
		l->cap = nc;
	}
	l->i[l->n++] = v;
	return 0;
}

/* The boundary voxels of every region r (bit r of bits[label]) of the
 * label map lab (grid n), inside the box lo..hi (inclusive), appended to
 * out[r] as raster indexes of the box.  A voxel of a region is interior
 * when its 6 neighbours are in the grid and in the region. */
static int boundaries(ilist out[BR_NREGION], const uint8_t *lab, const uint8_t bits[256], const int64_t n[3],
		      const int64_t lo[3], const int64_t hi[3])
{
	int64_t x, y, z, bx = hi[0] - lo[0] + 1, by = hi[1] - lo[1] + 1;
	size_t nx = (size_t)n[0], nxy = (size_t)(n[0] * n[1]);
	uint8_t *zero = calloc(nx, 1);
	uint64_t w;
	int r;

	if (zero == NULL)
		return br_set_error("out of memory");
	for (z = lo[2]; z <= hi[2]; z++)
		for (y = lo[1]; y <= hi[1]; y++) {
			const uint8_t *row = lab + (size_t)z * nxy + (size_t)y * nx;
			const uint8_t *ym = y > 0 ? row - nx : zero, *yp = y + 1 < n[1] ? row + nx : zero;
			const uint8_t *zm = z > 0 ? row - nxy : zero, *zp = z + 1 < n[2] ? row + nxy : zero;
			int64_t base = ((z - lo[2]) * by + (y - lo[1])) * bx - lo[0];
			for (x = lo[0]; x <= hi[0]; x++) {
				unsigned in, inner, edge;
				if (x + 8 <= hi[0] + 1) {
					memcpy(&w, row + x, 8);
					if (w == 0) {
						x += 7;
						continue;
					}
				}
				in = bits[row[x]];
				if (in == 0)
					continue;
				inner = in & bits[ym[x]] & bits[yp[x]] & bits[zm[x]] & bits[zp[x]] &
					(x > 0 ? bits[row[x - 1]] : 0) & (x + 1 < n[0] ? bits[row[x + 1]] : 0);
				edge = in & ~inner;
				for (r = 0; edge != 0; r++, edge >>= 1)
					if ((edge & 1) && ilist_push(&out[r], base + x) < 0) {
						free(zero);
						return br_set_error("out of memory");
					}
			}
		}
	free(zero);
	return 0;
}

/* HD95 between two nonempty boundary lists of a box of size bn. */
static int hd95_lists(double *out, const ilist *a, const ilist *b, const int64_t bn[3], const double sp[3])
{
	int64_t i, n = a->n + b->n;
	double *d = malloc((size_t)n * sizeof *d);

	if (d == NULL)
		return br_set_error("out of memory");
	/* from each boundary voxel of a to the nearest of b, and back */
	if (br_edt_sq_points(d, b->i, b->n, a->i, a->n, bn[0], bn[1], bn[2], sp) < 0 ||
	    br_edt_sq_points(d + a->n, a->i, a->n, b->i, b->n, bn[0], bn[1], bn[2], sp) < 0) {
		free(d);
		return -1;
	}
	for (i = 0; i < n; i++)
		d[i] = sqrt(d[i]);
	*out = br_percentile(d, (size_t)n, 0.95);
	free(d);
	return 0;
}

static double grid_diagonal(const int64_t n[3], const double sp[3])
{
	double dx = (double)n[0] * sp[0], dy = (double)n[1] * sp[1], dz = (double)n[2] * sp[2];

	return sqrt(dx * dx + dy * dy + dz * dz);
}

/* HD95 of the regions whose bit is set in need, between pred and gt, inside
 * the box lo..hi that holds every voxel of either; hd[r] set. */
static int hd95_regions(double hd[BR_NREGION], const uint8_t *pred, const uint8_t *gt, const uint8_t bits[256],
			unsigned need, const int64_t n[3], const int64_t lo[3], const int64_t hi[3],
			const double sp[3])
{
	ilist lp[BR_NREGION], lg[BR_NREGION];
	int64_t bn[3] = {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
	uint8_t b[256];
	int r, rc = 0;

	memset(lp, 0, sizeof lp);
	memset(lg, 0, sizeof lg);
	for (r = 0; r < 256; r++)
		b[r] = bits[r] & need;
	if (boundaries(lp, pred, b, n, lo, hi) < 0 || boundaries(lg, gt, b, n, lo, hi) < 0)
		rc = -1;
	for (r = 0; r < BR_NREGION && rc == 0; r++)
		if (need & (1u << r))
			rc = hd95_lists(&hd[r], &lp[r], &lg[r], bn, sp);
	for (r = 0; r < BR_NREGION; r++) {
		free(lp[r].i);
		free(lg[r].i);
	}
	return rc;
}

int br_hd95(double *out, const uint8_t *a, const uint8_t *b, int64_t nx, int64_t ny, int64_t nz,
	    const double sp[3])
{
	uint8_t bits[256];
	int64_t n[3] = {nx, ny, nz}, lo[3] = {nx, ny, nz}, hi[3] = {-1, -1, -1}, x, y, z;
	size_t i;
	int ina = 0, inb = 0;
	double hd[BR_NREGION];

	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++)
			for (x = 0; x < nx; x++) {
				i = (size_t)((z * ny + y) * nx + x);
				if (!a[i] && !b[i])
					continue;
				ina |= a[i] != 0;
				inb |= b[i] != 0;
				if (x < lo[0]) lo[0] = x;
				if (x > hi[0]) hi[0] = x;
				if (y < lo[1]) lo[1] = y;
				if (y > hi[1]) hi[1] = y;
				if (z < lo[2]) lo[2] = z;
				if (z > hi[2]) hi[2] = z;
			}
	if (!ina && !inb) {
		*out = 0;
		return 0;
	}
	if (!ina || !inb) {
		*out = grid_diagonal(n, sp);
		return 0;
	}
	/* any nonzero value is in: region bit 0 */
	memset(bits, 1, sizeof bits);
	bits[0] = 0;
	if (hd95_regions(hd, a, b, bits, 1, n, lo, hi, sp) < 0)
		return -1;
	*out = hd[0];
	return 0;
}

/* ---- one case ---- */

int br_score_case(br_score out[BR_NREGION], const uint8_t *pred, const uint8_t *gt, int64_t nx, int64_t ny,
		  int64_t nz, const double sp[3], int labels2023, unsigned regions)
{
	int64_t hist[64] = {0}; /* hist[8 * pred + gt] for labels 0..7, (0,0) not counted */
	int64_t n[3] = {nx, ny, nz}, wlo[3], whi[3], x, y, z, nonzero = 0;
	int64_t total = nx * ny * nz;
	uint8_t lut[256], bits[256];
	double hd[BR_NREGION];
	size_t row;
	uint64_t wp, wg;
	unsigned need = 0;
	int r, p, g;

	for (x = 0; x < 3; x++) {
		wlo[x] = n[x];
		whi[x] = -1;
	}
	/* joint histogram and the whole tumour's bounding box, in one pass */
	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++) {
			const uint8_t *a, *b;
			int64_t rlo = -1, rhi = -1;
			row = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx;
			a = pred + row;
			b = gt + row;
			x = 0;
			while (x < nx) {
				if (x + 8 <= nx) {
					memcpy(&wp, a + x, 8);
					memcpy(&wg, b + x, 8);
					if ((wp | wg) == 0) {
						x += 8;
						continue;
					}
				}
				if (a[x] | b[x]) {
					hist[(a[x] & 7) * 8 + (b[x] & 7)]++;
					if (rlo < 0)
						rlo = x;
					rhi = x;
				}
				x++;
			}
			if (rlo >= 0) {
				if (rlo < wlo[0]) wlo[0] = rlo;
				if (rhi > whi[0]) whi[0] = rhi;
				if (y < wlo[1]) wlo[1] = y;
				if (y > whi[1]) whi[1] = y;
				if (z < wlo[2]) wlo[2] = z;
				if (z > whi[2]) whi[2] = z;
			}
		}
	for (p = 0; p < 64; p++)
		nonzero += hist[p];
	hist[0] = total - nonzero;

	memset(bits, 0, sizeof bits);
	for (r = 0; r < BR_NREGION; r++) {
		br_score *s = &out[r];
		br_region_lut(lut, r, labels2023);
		for (p = 0; p < 256; p++)
			bits[p] |= (uint8_t)(lut[p] << r);
		s->tp = s->fp = s->fn = s->tn = 0;
		for (p = 0; p < 8; p++)
			for (g = 0; g < 8; g++) {
				int64_t h = hist[p * 8 + g];
				if (lut[p] && lut[g])
					s->tp += h;
				else if (lut[p])
					s->fp += h;
				else if (lut[g])
					s->fn += h;
				else
					s->tn += h;
			}
		if (!(regions & (1u << r))) {
			s->dice = s->sens = s->spec = s->hd95 = NAN;
			continue;
		}
		s->dice = 2 * s->tp + s->fp + s->fn == 0 ? 1.0
							 : 2.0 * (double)s->tp / (double)(2 * s->tp + s->fp + s->fn);
		s->sens = s->tp + s->fn == 0 ? 1.0 : (double)s->tp / (double)(s->tp + s->fn);
		s->spec = s->tn + s->fp == 0 ? 1.0 : (double)s->tn / (double)(s->tn + s->fp);
		if (s->tp + s->fp == 0 && s->tp + s->fn == 0)
			s->hd95 = 0;
		else if (s->tp + s->fp == 0 || s->tp + s->fn == 0)
			s->hd95 = grid_diagonal(n, sp);
		else
			need |= 1u << r; /* both masks nonempty: measured below */
	}
	if (need != 0) {
		if (hd95_regions(hd, pred, gt, bits, need, n, wlo, whi, sp) < 0)
			return -1;
		for (r = 0; r < BR_NREGION; r++)
			if (need & (1u << r))
				out[r].hd95 = hd[r];
	}
	return 0;
}

/* ---- text output ---- */

