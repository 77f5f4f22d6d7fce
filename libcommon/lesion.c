/*
 * lesion.c - the BraTS 2023 lesion-wise scores (see lesion.h).
 *
 * The whole-region work (labelling the prediction, dilating and labelling
 * the ground truth) runs once; each true lesion is then handled inside its
 * own bounding box, grown by the dilation, and its surface distances inside
 * the box of the lesion and its matched prediction.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "edt.h"
#include "lesion.h"
#include "volume.h"

const br_lesion_params br_lesion_brats2023 = {3, 50.0, 374.0};

/* ---- surface elements ---- */

/* Corner t (bit t of a code) of the 2x2x2 cell: offsets (a, b, c) in {0,1}. */
static void corner_of_bit(int t, int c[3])
{
	int v = 7 - t;

	c[0] = v >> 2 & 1;
	c[1] = v >> 1 & 1;
	c[2] = v & 1;
}

static int bit_of_corner(int a, int b, int c) { return 7 - (4 * a + 2 * b + c); }

/* The polygons of one code: each polygon a cycle of cell edges (pairs of
 * bits) whose midpoints are its vertices.  At most 4 polygons of at most 6
 * vertices (a component of at most 4 corners). */
typedef struct {
	int n;
	int edge[6][2];
} polygon;

static int adjacent_bits(int s, int t)
{
	int d = (7 - s) ^ (7 - t);

	return d == 1 || d == 2 || d == 4;
}

/* The faces of the cell: each a cycle of 4 bits. */
static void face_cycle(int face, int cyc[4])
{
	static const int uv[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
	int ax = face / 2, val = face % 2, o0 = ax == 0 ? 1 : 0, o1 = ax == 2 ? 1 : 2, i, c[3];

	for (i = 0; i < 4; i++) {
		c[ax] = val;
		c[o0] = uv[i][0];
		c[o1] = uv[i][1];
		cyc[i] = bit_of_corner(c[0], c[1], c[2]);
	}
}

static int same_edge(const int *e, int s, int t) { return (e[0] == s && e[1] == t) || (e[0] == t && e[1] == s); }

/* The polygon around the component comp (bit set) of the corners. */
static void component_polygon(polygon *p, unsigned comp)
{
	int link[12][2][2], nlink = 0, face, i, j, k, cyc[4], in[4], cur[2], prev[2];

	/* each face: a run of the component's corners along the face's cycle
	 * joins the crossing edge before the run to the one after it */
	for (face = 0; face < 6; face++) {
		face_cycle(face, cyc);
		for (i = 0; i < 4; i++)
			in[i] = comp >> cyc[i] & 1;
		if (in[0] + in[1] + in[2] + in[3] == 0 || in[0] + in[1] + in[2] + in[3] == 4)
			continue;
		for (i = 0; i < 4; i++) {
			if (!in[i] || in[(i + 3) % 4])
				continue;
			j = i;
			while (in[(j + 1) % 4])
				j = (j + 1) % 4;
			link[nlink][0][0] = cyc[i];
			link[nlink][0][1] = cyc[(i + 3) % 4];
			link[nlink][1][0] = cyc[j];
			link[nlink][1][1] = cyc[(j + 1) % 4];
			nlink++;
		}
	}
	/* walk the cycle of links */
	p->n = 0;
	cur[0] = link[0][0][0];
	cur[1] = link[0][0][1];
	prev[0] = prev[1] = -1;
	for (;;) {
		p->edge[p->n][0] = cur[0];
		p->edge[p->n][1] = cur[1];
		p->n++;
		for (k = 0; k < nlink; k++) {
			int side;
			for (side = 0; side < 2; side++)
				if (same_edge(link[k][side], cur[0], cur[1]) &&
				    !same_edge(link[k][1 - side], prev[0], prev[1]))
					break;
			if (side < 2) {
				prev[0] = cur[0];
				prev[1] = cur[1];
				cur[0] = link[k][1 - side][0];
				cur[1] = link[k][1 - side][1];
				break;
			}
		}
		if (same_edge(p->edge[0], cur[0], cur[1]) || p->n == 6)
			break;
	}
}

/* Twice a vertex's position (the midpoint of its edge) in voxel units. */
static void vertex2(const polygon *p, int i, double v[3])
{
	int a[3], b[3], k;

	corner_of_bit(p->edge[i][0], a);
	corner_of_bit(p->edge[i][1], b);
	for (k = 0; k < 3; k++)
		v[k] = a[k] + b[k];
}

/* The area vector of the triangle (i, j, k) of p, in voxel units. */
static void tri_vector(double n[3], const polygon *p, int i, int j, int k)
{
	double a[3], b[3], c[3], u[3], w[3];
	int d;

	vertex2(p, i, a);
	vertex2(p, j, b);
	vertex2(p, k, c);
	for (d = 0; d < 3; d++) {
		u[d] = (b[d] - a[d]) / 2;
		w[d] = (c[d] - a[d]) / 2;
	}
	n[0] = (u[1] * w[2] - u[2] * w[1]) / 2;
	n[1] = (u[2] * w[0] - u[0] * w[2]) / 2;
	n[2] = (u[0] * w[1] - u[1] * w[0]) / 2;
}

static double norm3(const double n[3]) { return sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]); }

/* Area vectors of the triangles of the largest-area triangulation of p
 * (polygon chords by dynamic programming); returns how many (n - 2). */
static int max_triangulation(double tri[4][3], const polygon *p)
{
	double best[6][6], n[3];
	int split[6][6], i, j, k, gap, cnt = 0, stack[8][2], sp = 0;

	for (i = 0; i < p->n; i++)
		for (j = 0; j < p->n; j++) {
			best[i][j] = 0;
			split[i][j] = -1;
		}
	for (gap = 2; gap < p->n; gap++)
		for (i = 0; i + gap < p->n; i++) {
			j = i + gap;
			best[i][j] = -1;
			for (k = i + 1; k < j; k++) {
				double s;
				tri_vector(n, p, i, k, j);
				s = best[i][k] + best[k][j] + norm3(n);
				if (s > best[i][j] + 1e-12) {
					best[i][j] = s;
					split[i][j] = k;
				}
			}
		}
	stack[sp][0] = 0;
	stack[sp][1] = p->n - 1;
	sp++;
	while (sp > 0) {
		sp--;
		i = stack[sp][0];
		j = stack[sp][1];
		if (j - i < 2)
			continue;
		k = split[i][j];
		tri_vector(tri[cnt++], p, i, k, j);
		stack[sp][0] = i;
		stack[sp][1] = k;
		sp++;
		stack[sp][0] = k;
		stack[sp][1] = j;
		sp++;
	}
	return cnt;
}

void br_surfel_areas(double area[256], const double sp[3])
{
	double tri[4][3];
	polygon p;
	unsigned code, m, left, comp, grow;
	int t, s, k, nt;

	for (code = 0; code < 256; code++) {
		area[code] = 0;
		if (code == 0 || code == 255)
			continue;
		/* the smaller side's corners (the inside on a tie) */
		m = __builtin_popcount(code) > 4 ? ~code & 255u : code;
		left = m;
		while (left != 0) {
			/* one component of the corners by cell edges */
			for (t = 0; !(left >> t & 1); t++)
				;
			comp = 1u << t;
			do {
				grow = comp;
				for (t = 0; t < 8; t++)
					if (comp >> t & 1)
						for (s = 0; s < 8; s++)
							if ((m >> s & 1) && adjacent_bits(s, t))
								grow |= 1u << s;
				if (grow == comp)
					break;
				comp = grow;
			} while (1);
			left &= ~comp;
			component_polygon(&p, comp);
			nt = max_triangulation(tri, &p);
			for (k = 0; k < nt; k++) {
				double n[3] = {tri[k][0] * sp[1] * sp[2], tri[k][1] * sp[0] * sp[2],
					       tri[k][2] * sp[0] * sp[1]};
				area[code] += norm3(n);
			}
		}
	}
}

/* numpy's sum of a float64 array (pairwise, eight accumulators), so that
 * the cumulated fraction compares with 95% as surface-distance's does. */
static double np_sum(const double *a, size_t n)
{
	double r[8], res;
	size_t i, j, n2;

	if (n < 8) {
		res = 0;
		for (i = 0; i < n; i++)
			res += a[i];
		return res;
	}
	if (n <= 128) {
		for (j = 0; j < 8; j++)
			r[j] = a[j];
		for (i = 8; i < n - n % 8; i += 8)
			for (j = 0; j < 8; j++)
				r[j] += a[i + j];
		res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	n2 = n / 2;
	n2 -= n2 % 8;
	return np_sum(a, n2) + np_sum(a + n2, n - n2);
}

typedef struct {
	double d, a;
} surfel;

static int cmp_surfel(const void *x, const void *y)
{
	const surfel *p = x, *q = y;

	if (p->d != q->d)
		return p->d < q->d ? -1 : 1;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* The percentile distance of n surfels (sorted here). */
static double robust_percentile(surfel *s, size_t n, double percent)
{
	double *a, cum = 0, total, q = percent / 100.0;
	size_t i;

	if (n == 0)
		return INFINITY;
	qsort(s, n, sizeof *s, cmp_surfel);
	a = malloc(n * sizeof *a);
	if (a == NULL)
		return NAN;
	for (i = 0; i < n; i++)
		a[i] = s[i].a;
	total = np_sum(a, n);
	free(a);
	for (i = 0; i < n; i++) {
		cum += s[i].a;
		if (cum / total >= q)
			break;
	}
	return s[i < n ? i : n - 1].d;
}

/* Surface elements of mask m (box n, x fastest): the corners of the box's
 * lattice (n+1 per axis; corner c lies before voxel c) whose code is
 * neither 0 nor 255, as lattice indexes in raster order, with their codes. */
static int64_t surfels(int64_t *idx, uint8_t *code, const uint8_t *m, const int64_t n[3])
{
	int64_t lx = n[0] + 1, ly = n[1] + 1, lz = n[2] + 1, x, y, z, cnt = 0;
	int a, b, c;

	for (z = 0; z < lz; z++)
		for (y = 0; y < ly; y++)
			for (x = 0; x < lx; x++) {
				unsigned k = 0;
				for (a = 0; a < 2; a++)
					for (b = 0; b < 2; b++)
						for (c = 0; c < 2; c++) {
							int64_t vx = x - 1 + a, vy = y - 1 + b, vz = z - 1 + c;
							if (vx < 0 || vy < 0 || vz < 0 || vx >= n[0] || vy >= n[1] || vz >= n[2])
								continue;
							if (m[(vz * n[1] + vy) * n[0] + vx])
								k |= 1u << bit_of_corner(a, b, c);
						}
				if (k != 0 && k != 255) {
					idx[cnt] = (z * ly + y) * lx + x;
					code[cnt] = (uint8_t)k;
					cnt++;
				}
			}
	return cnt;
}

/* The percentile distance from the surfels query (codes qcode) to the
 * nearest of feat, on the lattice of the box n; d, s: nquery of scratch.
 * 0, or -1 when memory runs out. */
static int one_way(double *out, double *d, surfel *s, const int64_t *feat, int64_t nfeat, const int64_t *query,
		   const uint8_t *qcode, int64_t nquery, const int64_t n[3], const double sp[3], const double area[256],
		   double percent)
{
	int64_t i;

	if (br_edt_sq_points(d, feat, nfeat, query, nquery, n[0] + 1, n[1] + 1, n[2] + 1, sp) < 0)
		return -1;
	for (i = 0; i < nquery; i++) {
		s[i].d = sqrt(d[i]);
		s[i].a = area[qcode[i]];
	}
	*out = robust_percentile(s, (size_t)nquery, percent);
	return isnan(*out) ? -1 : 0;
}

/* Surface HD of the masks ma, mb of the box n (which holds both). */
static int surface_hd_box(double *out, const uint8_t *ma, const uint8_t *mb, const int64_t n[3], const double sp[3],
			  const double area[256], double percent)
{
	int64_t nl = (n[0] + 1) * (n[1] + 1) * (n[2] + 1), na, nb;
	int64_t *ia = malloc((size_t)nl * sizeof *ia), *ib = malloc((size_t)nl * sizeof *ib);
	uint8_t *ca = malloc((size_t)nl), *cb = malloc((size_t)nl);
	double *d = NULL, hab, hba;
	surfel *s = NULL;
	int rc = -1;

	if (ia == NULL || ib == NULL || ca == NULL || cb == NULL)
		goto done;
	na = surfels(ia, ca, ma, n);
	nb = surfels(ib, cb, mb, n);
	if (na == 0 || nb == 0) {
		*out = INFINITY;
		rc = 0;
		goto done;
	}
	d = malloc((size_t)(na > nb ? na : nb) * sizeof *d);
	s = malloc((size_t)(na > nb ? na : nb) * sizeof *s);
	if (d == NULL || s == NULL)
		goto done;
	if (one_way(&hab, d, s, ib, nb, ia, ca, na, n, sp, area, percent) < 0 ||
	    one_way(&hba, d, s, ia, na, ib, cb, nb, n, sp, area, percent) < 0)
		goto done;
	*out = hab > hba ? hab : hba;
	rc = 0;
done:
	if (rc < 0)
		br_set_error("out of memory");
	free(ia);
	free(ib);
	free(ca);
	free(cb);
	free(d);
	free(s);
	return rc;
}

/* ---- boxes ---- */

typedef struct {
	int64_t lo[3], hi[3]; /* inclusive; empty when hi < lo */
} box;

static void box_empty(box *b)
{
	int k;

	for (k = 0; k < 3; k++) {
		b->lo[k] = INT64_MAX;
		b->hi[k] = -1;
	}
}

static void box_add(box *b, int64_t x0, int64_t x1, int64_t y, int64_t z) /* voxels x0..x1 of row (y, z) */
{
	if (x0 < b->lo[0]) b->lo[0] = x0;
	if (x1 > b->hi[0]) b->hi[0] = x1;
	if (y < b->lo[1]) b->lo[1] = y;
	if (y > b->hi[1]) b->hi[1] = y;
	if (z < b->lo[2]) b->lo[2] = z;
	if (z > b->hi[2]) b->hi[2] = z;
}

static void box_union(box *b, const box *c)
{
	int k;

	for (k = 0; k < 3; k++) {
		if (c->lo[k] < b->lo[k]) b->lo[k] = c->lo[k];
		if (c->hi[k] > b->hi[k]) b->hi[k] = c->hi[k];
	}
}

/* b grown by g voxels on every side, clipped to the grid n. */
static box box_grow(const box *b, int64_t g, const int64_t n[3])
{
	box r;
	int k;

	for (k = 0; k < 3; k++) {
		r.lo[k] = b->lo[k] - g < 0 ? 0 : b->lo[k] - g;
		r.hi[k] = b->hi[k] + g > n[k] - 1 ? n[k] - 1 : b->hi[k] + g;
	}
	return r;
}

static void box_size(int64_t s[3], const box *b)
{
	int k;

	for (k = 0; k < 3; k++)
		s[k] = b->hi[k] - b->lo[k] + 1;
}

/* ---- dilation by the 18-connected cross ---- */

/* out = in dilated by 3 voxels along axis (the voxel and its two neighbours). */
static void dilate_line(uint8_t *out, const uint8_t *in, const int64_t n[3], int axis)
{
	int64_t st = axis == 0 ? 1 : axis == 1 ? n[0] : n[0] * n[1], len = n[axis], x, y, z, i;

	for (z = 0; z < n[2]; z++)
		for (y = 0; y < n[1]; y++)
			for (x = 0; x < n[0]; x++) {
				int64_t v = (z * n[1] + y) * n[0] + x;
				uint8_t r = in[v];
				i = axis == 0 ? x : axis == 1 ? y : z;
				if (i > 0)
					r |= in[v - st];
				if (i + 1 < len)
					r |= in[v + st];
				out[v] = r;
			}
}

/* m (box n, 0/1) dilated iters times by the cross {offsets with at most
 * two nonzero coordinates} = the union of the three axis-plane 3x3
 * squares, each separable.  0, or -1 when memory runs out. */
static int dilate18(uint8_t *m, const int64_t n[3], int iters)
{
	size_t nv = (size_t)(n[0] * n[1] * n[2]), i;
	uint8_t *dx = malloc(nv), *dy = malloc(nv), *t = malloc(nv);
	int it;

	if (dx == NULL || dy == NULL || t == NULL) {
		free(dx);
		free(dy);
		free(t);
		return br_set_error("out of memory");
	}
	for (it = 0; it < iters; it++) {
		dilate_line(dx, m, n, 0);
		dilate_line(dy, m, n, 1);
		dilate_line(m, dx, n, 1); /* xy square */
		dilate_line(t, dx, n, 2); /* xz square */
		for (i = 0; i < nv; i++)
			m[i] |= t[i];
		dilate_line(t, dy, n, 2); /* yz square */
		for (i = 0; i < nv; i++)
			m[i] |= t[i];
	}
	free(dx);
	free(dy);
	free(t);
	return 0;
}

/* ---- lesion-wise scores of one region ---- */

typedef struct {
	int64_t voxels;
	box b;
	int64_t first; /* x-slowest raster index of the first voxel of its dilated component */
	int kept;      /* over the volume threshold */
	double dice, hd;
} lesion;

static int cmp_first(const void *a, const void *b)
{
	const lesion *p = a, *q = b;

	return p->first < q->first ? -1 : p->first > q->first;
}

int br_lesion_score_masks(br_lesion_score *out, const uint8_t *pred, const uint8_t *gt, int64_t nx, int64_t ny,
			  int64_t nz, const double sp[3], const br_lesion_params *par)
{
	int64_t n[3] = {nx, ny, nz}, bn[3], ln[3], un[3], x, y, z, r, k, c, nles = 0, nin = 0, nfp = 0;
	size_t nv = (size_t)(nx * ny * nz);
	br_cc *cp = NULL, *cd = NULL;
	int32_t *lp = NULL, *ld = NULL;
	int64_t *stamp = NULL, *mlist = NULL;
	uint8_t *matched = NULL, *gd = NULL, *lm = NULL, *ma = NULL, *mb = NULL;
	box *pbox = NULL, gbox, bg;
	lesion *les = NULL;
	double area[256], *vd = NULL, *vh = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	br_surfel_areas(area, sp);

	/* the predicted lesions, their labels over the grid and their boxes */
	cp = br_cc_new(pred, nx, ny, nz, 26);
	if (cp == NULL)
		goto fail;
	lp = malloc(nv * sizeof *lp);
	pbox = malloc((size_t)(cp->n > 0 ? cp->n : 1) * sizeof *pbox);
	matched = calloc((size_t)(cp->n > 0 ? cp->n : 1), 1);
	stamp = malloc((size_t)(cp->n > 0 ? cp->n : 1) * sizeof *stamp);
	mlist = malloc((size_t)(cp->n > 0 ? cp->n : 1) * sizeof *mlist);
	if (lp == NULL || pbox == NULL || matched == NULL || stamp == NULL || mlist == NULL)
		goto oom;
	br_cc_paint(lp, cp);
	for (c = 0; c < cp->n; c++) {
		box_empty(&pbox[c]);
		stamp[c] = -1;
	}
	for (r = 0; r < ny * nz; r++)
		for (k = cp->row_start[r]; k < cp->row_start[r + 1]; k++)
			box_add(&pbox[cp->run[k].comp], cp->run[k].x0, cp->run[k].x1 - 1, r % ny, r / ny);

	/* the true lesions: the voxels of gt in each component of gt dilated */
	box_empty(&gbox);
	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++)
			for (x = 0; x < nx; x++)
				if (gt[(z * ny + y) * nx + x])
					box_add(&gbox, x, x, y, z);
	if (gbox.hi[0] >= 0) {
		bg = box_grow(&gbox, par->dilations, n);
		box_size(bn, &bg);
		gd = malloc((size_t)(bn[0] * bn[1] * bn[2]));
		if (gd == NULL)
			goto oom;
		for (z = 0; z < bn[2]; z++)
			for (y = 0; y < bn[1]; y++)
				for (x = 0; x < bn[0]; x++)
					gd[(z * bn[1] + y) * bn[0] + x] =
						gt[((z + bg.lo[2]) * ny + y + bg.lo[1]) * nx + x + bg.lo[0]] != 0;
		if (dilate18(gd, bn, par->dilations) < 0)
			goto fail;
		cd = br_cc_new(gd, bn[0], bn[1], bn[2], 26);
		if (cd == NULL)
			goto fail;
		nles = cd->n;
		ld = malloc((size_t)(bn[0] * bn[1] * bn[2]) * sizeof *ld);
		les = malloc((size_t)(nles > 0 ? nles : 1) * sizeof *les);
		if (ld == NULL || les == NULL)
			goto oom;
		br_cc_paint(ld, cd);
		for (k = 0; k < nles; k++) {
			les[k].voxels = 0;
			les[k].first = INT64_MAX;
			box_empty(&les[k].b);
		}
		/* ld: lesion + 1 on the voxels of gt, 0 elsewhere */
		for (z = 0; z < bn[2]; z++)
			for (y = 0; y < bn[1]; y++)
				for (x = 0; x < bn[0]; x++) {
					int64_t v = (z * bn[1] + y) * bn[0] + x, f;
					if (ld[v] == 0)
						continue;
					k = ld[v] - 1;
					f = ((x + bg.lo[0]) * ny + y + bg.lo[1]) * nz + z + bg.lo[2];
					if (f < les[k].first)
						les[k].first = f;
					if (!gt[((z + bg.lo[2]) * ny + y + bg.lo[1]) * nx + x + bg.lo[0]]) {
						ld[v] = 0;
						continue;
					}
					les[k].voxels++;
					box_add(&les[k].b, x + bg.lo[0], x + bg.lo[0], y + bg.lo[1], z + bg.lo[2]);
				}
	}

	/* each true lesion against the predicted lesions that touch it dilated */
	for (k = 0; k < nles; k++) {
		box lb, ub;
		int64_t nm = 0, inter = 0, psize = 0, i;
		double vol = (double)les[k].voxels * sp[0] * sp[1] * sp[2], dice, hd;
		int keep = vol > par->min_volume;

		if (les[k].voxels == 0)
			continue; /* every component of the dilation holds a voxel of gt; kept for safety */
		lb = box_grow(&les[k].b, par->dilations, n);
		box_size(ln, &lb);
		lm = malloc((size_t)(ln[0] * ln[1] * ln[2]));
		if (lm == NULL)
			goto oom;
		for (z = 0; z < ln[2]; z++)
			for (y = 0; y < ln[1]; y++)
				for (x = 0; x < ln[0]; x++) {
					int64_t gx = x + lb.lo[0] - bg.lo[0], gy = y + lb.lo[1] - bg.lo[1],
						gz = z + lb.lo[2] - bg.lo[2];
					lm[(z * ln[1] + y) * ln[0] + x] = ld[(gz * bn[1] + gy) * bn[0] + gx] == k + 1;
				}
		if (dilate18(lm, ln, par->dilations) < 0)
			goto fail;
		for (z = 0; z < ln[2]; z++)
			for (y = 0; y < ln[1]; y++)
				for (x = 0; x < ln[0]; x++) {
					if (!lm[(z * ln[1] + y) * ln[0] + x])
						continue;
					c = lp[((z + lb.lo[2]) * ny + y + lb.lo[1]) * nx + x + lb.lo[0]] - 1;
					if (c >= 0 && stamp[c] != k) {
						stamp[c] = k;
						mlist[nm++] = c;
						matched[c] = 1;
					}
				}
		free(lm);
		lm = NULL;
		if (nm == 0) {
			dice = 0;
			hd = INFINITY;
		} else {
			ub = les[k].b;
			for (i = 0; i < nm; i++) {
				psize += cp->size[mlist[i]];
				box_union(&ub, &pbox[mlist[i]]);
			}
			box_size(un, &ub);
			ma = calloc((size_t)(un[0] * un[1] * un[2]), 1);
			mb = malloc((size_t)(un[0] * un[1] * un[2]));
			if (ma == NULL || mb == NULL)
				goto oom;
			for (z = 0; z < un[2]; z++)
				for (y = 0; y < un[1]; y++)
					for (x = 0; x < un[0]; x++) {
						int64_t gx = x + ub.lo[0], gy = y + ub.lo[1], gz = z + ub.lo[2];
						int64_t v = (z * un[1] + y) * un[0] + x;
						c = lp[(gz * ny + gy) * nx + gx] - 1;
						mb[v] = c >= 0 && stamp[c] == k;
						if (gx >= bg.lo[0] && gx <= bg.hi[0] && gy >= bg.lo[1] && gy <= bg.hi[1] &&
						    gz >= bg.lo[2] && gz <= bg.hi[2] &&
						    ld[((gz - bg.lo[2]) * bn[1] + gy - bg.lo[1]) * bn[0] + gx - bg.lo[0]] == k + 1) {
							ma[v] = 1;
							inter += mb[v];
						}
					}
			dice = 2.0 * (double)inter / (double)(psize + les[k].voxels);
			if (surface_hd_box(&hd, ma, mb, un, sp, area, 95) < 0)
				goto fail;
			free(ma);
			free(mb);
			ma = mb = NULL;
		}
		les[k].kept = keep;
		les[k].dice = dice;
		les[k].hd = isinf(hd) ? par->miss_hd : hd;
		if (!keep)
			continue;
		if (nm > 0)
			out->tp++;
		else
			out->fn++;
	}
	for (c = 0; c < cp->n; c++)
		nfp += !matched[c];
	out->fp = nfp;
	/* the sums in the order of the evaluation code's lesion numbers (the
	 * dilated components labelled in an x-slowest scan), as numpy sums */
	if (nles > 0)
		qsort(les, (size_t)nles, sizeof *les, cmp_first);
	vd = malloc((size_t)(nles > 0 ? nles : 1) * sizeof *vd);
	vh = malloc((size_t)(nles > 0 ? nles : 1) * sizeof *vh);
	if (vd == NULL || vh == NULL)
		goto oom;
	for (k = 0; k < nles; k++)
		if (les[k].voxels > 0 && les[k].kept) {
			vd[nin] = les[k].dice;
			vh[nin] = les[k].hd;
			nin++;
		}
	if (nin + nfp == 0) {
		out->dice = 1;
		out->hd95 = 0;
	} else {
		out->dice = np_sum(vd, (size_t)nin) / (double)(nin + nfp);
		out->hd95 = (np_sum(vh, (size_t)nin) + (double)nfp * par->miss_hd) / (double)(nin + nfp);
	}
	rc = 0;
	goto done;
oom:
	br_set_error("out of memory");
fail:
	rc = -1;
done:
	br_cc_free(cp);
	br_cc_free(cd);
	free(lp);
	free(ld);
	free(stamp);
	free(mlist);
	free(matched);
	free(gd);
	free(lm);
	free(ma);
	free(mb);
	free(pbox);
	free(les);
	free(vd);
	free(vh);
	return rc;
}

int br_lesion_score_case(br_lesion_score out[BR_NREGION], const uint8_t *pred, const uint8_t *gt, int64_t nx,
			 int64_t ny, int64_t nz, const double sp[3], int labels2023, unsigned regions,
			 const br_lesion_params *par)
{
	size_t nv = (size_t)(nx * ny * nz), i;
	uint8_t lut[256], *mp = malloc(nv), *mg = malloc(nv);
	int r, rc = 0;

	if (mp == NULL || mg == NULL) {
		free(mp);
		free(mg);
		return br_set_error("out of memory");
	}
	for (r = 0; r < BR_NREGION && rc == 0; r++) {
		if (!(regions & (1u << r))) {
			memset(&out[r], 0, sizeof out[r]);
			out[r].dice = out[r].hd95 = NAN;
			continue;
		}
		br_region_lut(lut, r, labels2023);
		for (i = 0; i < nv; i++) {
			mp[i] = lut[pred[i]];
			mg[i] = lut[gt[i]];
		}
		rc = br_lesion_score_masks(&out[r], mp, mg, nx, ny, nz, sp, par);
	}
	free(mp);
	free(mg);
	return rc;
}
