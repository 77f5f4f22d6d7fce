/*
 * components.c - 3-D connected components of a mask, by runs (see
 * components.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "volume.h"

void br_cc_free(br_cc *cc)
{
	if (cc == NULL)
		return;
	free(cc->size);
	free(cc->run);
	free(cc->row_start);
	free(cc);
}

/* Append the runs of one row (n bytes at p) to cc->run; -1 when out of memory. */
static int row_runs(br_cc *cc, int64_t *cap, const uint8_t *p, int64_t n)
{
	int64_t x = 0, x0;
	uint64_t w;

	for (;;) {
		/* skip background, eight voxels at a time */
		while (x + 8 <= n) {
			memcpy(&w, p + x, 8);
			if (w != 0)
				break;
			x += 8;
		}
		while (x < n && p[x] == 0)
			x++;
		if (x >= n)
			return 0;
		x0 = x;
		while (x < n && p[x] != 0)
			x++;
		if (cc->nruns == *cap) {
			int64_t nc = *cap * 2;
			br_run *r = realloc(cc->run, (size_t)nc * sizeof *r);
			if (r == NULL)
				return -1;
			cc->run = r;
			*cap = nc;
		}
		cc->run[cc->nruns].x0 = (int32_t)x0;
		cc->run[cc->nruns].x1 = (int32_t)x;
		cc->run[cc->nruns].comp = -1;
		cc->nruns++;
	}
}

static inline int32_t uf_find(int32_t *parent, int32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static inline void uf_union(int32_t *parent, int32_t a, int32_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

/* Merge the runs of row cur with the touching runs of the earlier row prev.
 * Runs a and b touch when their x ranges, widened by tol (0 or 1), overlap.
 * Both lists are sorted and disjoint with gaps of at least one voxel, so one
 * sweep that advances the run ending first finds every touching pair. */
static void merge_rows(int32_t *parent, const br_cc *cc, int64_t cur, int64_t prev, int tol)
{
	int64_t i = cc->row_start[cur], ie = cc->row_start[cur + 1];
	int64_t j = cc->row_start[prev], je = cc->row_start[prev + 1];
	const br_run *r = cc->run;

	while (i < ie && j < je) {
		if (r[j].x0 < r[i].x1 + tol && r[i].x0 < r[j].x1 + tol)
			uf_union(parent, (int32_t)i, (int32_t)j);
		if (r[i].x1 < r[j].x1)
			i++;
		else
			j++;
	}
}

br_cc *br_cc_new(const uint8_t *mask, int64_t nx, int64_t ny, int64_t nz, int connectivity)
{
	br_cc *cc = NULL;
	int32_t *parent = NULL;
	int64_t cap = 4096, rows, row, y, z, i, n;
	int tol_face, tol_diag; /* tolerance for rows one step away in y or z, and in both */

	if (connectivity != 6 && connectivity != 18 && connectivity != 26) {
		br_set_error("connectivity %d is not 6, 18 or 26", connectivity);
		return NULL;
	}
	if (nx < 1 || ny < 1 || nz < 1 || nx > INT32_MAX) {
		br_set_error("bad sizes %lld %lld %lld", (long long)nx, (long long)ny, (long long)nz);
		return NULL;
	}
	tol_face = connectivity == 6 ? 0 : 1;
	tol_diag = connectivity == 26 ? 1 : connectivity == 18 ? 0 : -1; /* -1: not neighbours */
	rows = ny * nz;
	cc = calloc(1, sizeof *cc);
	if (cc == NULL)
		goto oom;
	cc->nx = nx;
	cc->ny = ny;
	cc->nz = nz;
	cc->row_start = malloc((size_t)(rows + 1) * sizeof *cc->row_start);
	cc->run = malloc((size_t)cap * sizeof *cc->run);
	if (cc->row_start == NULL || cc->run == NULL)
		goto oom;

	/* pass 1: runs */
	for (row = 0; row < rows; row++) {
		cc->row_start[row] = cc->nruns;
		if (row_runs(cc, &cap, mask + (size_t)row * (size_t)nx, nx) < 0)
			goto oom;
	}
	cc->row_start[rows] = cc->nruns;
	if (cc->nruns > INT32_MAX) {
		br_set_error("too many runs (%lld)", (long long)cc->nruns);
		br_cc_free(cc);
		return NULL;
	}

	/* pass 2: merge each row with its neighbours among the earlier rows:
	 * (y-1, z) and (y, z-1) share a face line, (y-1, z-1) and (y+1, z-1) an edge line */
	parent = malloc((size_t)(cc->nruns > 0 ? cc->nruns : 1) * sizeof *parent);
	if (parent == NULL)
		goto oom;
	for (i = 0; i < cc->nruns; i++)
		parent[i] = (int32_t)i;
	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++) {
			row = y + ny * z;
			if (cc->row_start[row] == cc->row_start[row + 1])
				continue;
			if (y > 0)
				merge_rows(parent, cc, row, row - 1, tol_face);
			if (z > 0) {
				merge_rows(parent, cc, row, row - ny, tol_face);
				if (tol_diag >= 0) {
					if (y > 0)
						merge_rows(parent, cc, row, row - ny - 1, tol_diag);
					if (y + 1 < ny)
						merge_rows(parent, cc, row, row - ny + 1, tol_diag);
				}
			}
		}

	/* pass 3: number the components in raster order (a root precedes its
	 * runs, as every link points to the smaller index) and count voxels */
	n = 0;
	for (i = 0; i < cc->nruns; i++) {
		int32_t root = uf_find(parent, (int32_t)i);
		cc->run[i].comp = root == i ? (int32_t)n++ : cc->run[root].comp;
	}
	cc->n = n;
	cc->size = calloc((size_t)(n > 0 ? n : 1), sizeof *cc->size);
	if (cc->size == NULL)
		goto oom;
	for (i = 0; i < cc->nruns; i++)
		cc->size[cc->run[i].comp] += cc->run[i].x1 - cc->run[i].x0;
	free(parent);
	return cc;
oom:
	free(parent);
	br_cc_free(cc);
	br_set_error("out of memory");
	return NULL;
}

int64_t br_cc_largest(const br_cc *cc)
{
	int64_t c, best = -1;

	for (c = 0; c < cc->n; c++)
		if (best < 0 || cc->size[c] > cc->size[best])
			best = c;
	return best;
}

int64_t br_cc_select(uint8_t *keep, const br_cc *cc, double ratio, int64_t min_voxels, int keep_largest)
{
	int64_t c, kept = 0, big = br_cc_largest(cc);
	double cut;

	if (big < 0)
		return 0;
	cut = ratio * (double)cc->size[big];
	for (c = 0; c < cc->n; c++) {
		if (keep_largest)
			keep[c] = c == big;
		else
			keep[c] = c == big || (double)cc->size[c] >= cut;
		if (cc->size[c] < min_voxels)
			keep[c] = 0;
		kept += keep[c];
	}
	return kept;
}

int64_t br_cc_clear(void *data, size_t elem_size, const br_cc *cc, const uint8_t *keep)
{
	int64_t row, i, rows = cc->ny * cc->nz, cleared = 0;
	unsigned char *d = data;
	const br_run *r;

	for (row = 0; row < rows; row++)
		for (i = cc->row_start[row]; i < cc->row_start[row + 1]; i++) {
			r = &cc->run[i];
			if (keep[r->comp])
				continue;
			memset(d + ((size_t)row * (size_t)cc->nx + (size_t)r->x0) * elem_size, 0,
			       (size_t)(r->x1 - r->x0) * elem_size);
			cleared += r->x1 - r->x0;
		}
	return cleared;
}

void br_cc_paint(int32_t *labels, const br_cc *cc)
{
	int64_t row, i, x, rows = cc->ny * cc->nz;
	int32_t *l;

	memset(labels, 0, (size_t)(cc->nx * rows) * sizeof *labels);
	for (row = 0; row < rows; row++) {
		l = labels + (size_t)row * (size_t)cc->nx;
		for (i = cc->row_start[row]; i < cc->row_start[row + 1]; i++)
			for (x = cc->run[i].x0; x < cc->run[i].x1; x++)
				l[x] = cc->run[i].comp + 1;
	}
}
