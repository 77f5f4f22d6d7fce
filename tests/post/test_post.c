/*
 * test_post.c - the post-processing libraries against brute force:
 *   edt.c         br_edt_sq (full) and br_edt_sq_points (from voxel lists)
 *                 on random sparse and dense sets, anisotropic spacing,
 *                 boxes thin in every axis;
 *   metrics.c     br_hd95 (boundaries, both directions, 95th percentile) and
 *                 br_percentile;
 *   components.c  br_cc_new at 6, 18 and 26 against a flood fill.
 * Prints TAP lines; exits 1 on a mismatch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "edt.h"
#include "metrics.h"
#include "tap.h"

static unsigned long long rng_state = 88172645463325252ull;

static double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int check(int id, int64_t nx, int64_t ny, int64_t nz, double pfeat, double pquery, const double sp[3])
{
	int64_t n = nx * ny * nz, i, j, nf = 0, nq = 0, bad = 0;
	uint8_t *f = calloc((size_t)n, 1);
	int64_t *fl = malloc((size_t)n * sizeof *fl), *ql = malloc((size_t)n * sizeof *ql);
	double *full = malloc((size_t)n * sizeof *full), *pts = malloc((size_t)n * sizeof *pts), worst = 0;

	for (i = 0; i < n; i++) {
		if (urand() < pfeat) {
			f[i] = 1;
			fl[nf++] = i;
		}
		if (urand() < pquery)
			ql[nq++] = i;
	}
	if (br_edt_sq(full, f, nx, ny, nz, sp) < 0 || br_edt_sq_points(pts, fl, nf, ql, nq, nx, ny, nz, sp) < 0) {
		tap(0, "out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		double best = INFINITY;
		int64_t x = i % nx, y = i / nx % ny, z = i / (nx * ny);
		for (j = 0; j < nf; j++) {
			int64_t k = fl[j];
			double dx = sp[0] * (double)(k % nx - x), dy = sp[1] * (double)(k / nx % ny - y),
			       dz = sp[2] * (double)(k / (nx * ny) - z), d = dx * dx + dy * dy + dz * dz;
			if (d < best)
				best = d;
		}
		if (isinf(best) ? !isinf(full[i]) : fabs(full[i] - best) > 1e-9 * (1 + best))
			bad++;
		else if (!isinf(best) && fabs(full[i] - best) > worst)
			worst = fabs(full[i] - best);
	}
	for (j = 0; j < nq; j++)
		if (isinf(full[ql[j]]) ? !isinf(pts[j]) : fabs(pts[j] - full[ql[j]]) > 1e-9 * (1 + full[ql[j]]))
			bad++;
	tap(!bad, "%lldx%lldx%lld, %lld features, %lld queries, spacing %g %g %g: %lld mismatches (max |err| %.2g)",
	    (long long)nx, (long long)ny, (long long)nz, (long long)nf, (long long)nq,
	       sp[0], sp[1], sp[2], (long long)bad, worst);
	free(f);
	free(fl);
	free(ql);
	free(full);
	free(pts);
	return bad != 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* HD95 the slow way: boundary by the definition, every pair of distances,
 * a full sort. */
static double hd95_brute(const uint8_t *a, const uint8_t *b, int64_t nx, int64_t ny, int64_t nz, const double sp[3])
{
	int64_t n = nx * ny * nz, i, j, na = 0, nb = 0, k = 0;
	int64_t *ba = malloc((size_t)n * sizeof *ba), *bb = malloc((size_t)n * sizeof *bb);
	double *d = malloc((size_t)(2 * n) * sizeof *d), r, lo, res;
	const uint8_t *m;
	int w;

	for (w = 0; w < 2; w++) {
		m = w ? b : a;
		for (i = 0; i < n; i++) {
			int64_t x = i % nx, y = i / nx % ny, z = i / (nx * ny);
			int inner;
			if (!m[i])
				continue;
			inner = x > 0 && x < nx - 1 && y > 0 && y < ny - 1 && z > 0 && z < nz - 1 && m[i - 1] && m[i + 1] &&
				m[i - nx] && m[i + nx] && m[i - nx * ny] && m[i + nx * ny];
			if (!inner) {
				if (w)
					bb[nb++] = i;
				else
					ba[na++] = i;
			}
		}
	}
	for (w = 0; w < 2; w++) {
		int64_t *from = w ? bb : ba, *to = w ? ba : bb, nf = w ? nb : na, nt = w ? na : nb;
		for (i = 0; i < nf; i++) {
			double best = INFINITY;
			for (j = 0; j < nt; j++) {
				double dx = sp[0] * (double)(from[i] % nx - to[j] % nx);
				double dy = sp[1] * (double)(from[i] / nx % ny - to[j] / nx % ny);
				double dz = sp[2] * (double)(from[i] / (nx * ny) - to[j] / (nx * ny));
				double dd = sqrt(dx * dx + dy * dy + dz * dz);
				if (dd < best)
					best = dd;
			}
			d[k++] = best;
		}
	}
	qsort(d, (size_t)k, sizeof *d, cmp_double);
	r = 0.95 * (double)(k - 1);
	lo = d[(int64_t)floor(r)];
	res = lo + (d[(int64_t)ceil(r)] - lo) * (r - floor(r));
	free(ba);
	free(bb);
	free(d);
	return res;
}

/* a random blob: voxels within a noisy radius of a centre */
static void blob(uint8_t *m, int64_t nx, int64_t ny, int64_t nz, double cx, double cy, double cz, double rad)
{
	int64_t x, y, z;

	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++)
			for (x = 0; x < nx; x++) {
				double d = sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz));
				if (d < rad + 1.5 * (urand() - 0.5))
					m[(z * ny + y) * nx + x] = 1;
			}
}

static int check_hd95(int id, int64_t nx, int64_t ny, int64_t nz, const double sp[3], int specks)
{
	int64_t n = nx * ny * nz, i;
	uint8_t *a = calloc((size_t)n, 1), *b = calloc((size_t)n, 1);
	double got, want;
	int bad;

	blob(a, nx, ny, nz, nx * 0.4, ny * 0.5, nz * 0.5, nx * 0.25);
	blob(b, nx, ny, nz, nx * 0.55, ny * 0.45, nz * 0.5, nx * 0.22);
	for (i = 0; i < specks; i++)
		a[(int64_t)(urand() * (double)n)] = 1;
	a[0] = 1; /* a grid corner: boundary by the grid's border */
	if (br_hd95(&got, a, b, nx, ny, nz, sp) < 0) {
		tap(0, "br_hd95 failed");
		return 1;
	}
	want = hd95_brute(a, b, nx, ny, nz, sp);
	bad = fabs(got - want) > 1e-9;
	tap(!bad, "br_hd95 %lldx%lldx%lld spacing %g %g %g, %d specks: %.6f, brute force %.6f",
	    (long long)nx, (long long)ny, (long long)nz, sp[0], sp[1], sp[2], specks, got, want);
	free(a);
	free(b);
	return bad;
}

static int check_percentile(int id)
{
	double a[101], s[101], got, want, r;
	int n, i, t, bad = 0;
	static const double qs[] = {0, 0.25, 0.5, 0.75, 0.95, 1};

	for (n = 1; n <= 101; n += 7)
		for (t = 0; t < 6; t++) {
			for (i = 0; i < n; i++)
				s[i] = a[i] = floor(urand() * 10); /* many ties */
			qsort(s, (size_t)n, sizeof *s, cmp_double);
			r = qs[t] * (n - 1);
			want = s[(int)floor(r)] + (s[(int)ceil(r)] - s[(int)floor(r)]) * (r - floor(r));
			got = br_percentile(a, (size_t)n, qs[t]);
			bad += fabs(got - want) > 1e-12;
		}
	tap(!bad, "br_percentile against a sort, with ties: %d mismatches", bad);
	return bad != 0;
}

/* flood fill: the number of components and the sorted sizes */
static int check_cc(int id, int64_t nx, int64_t ny, int64_t nz, double p, int conn)
{
	int64_t n = nx * ny * nz, i, ncomp = 0, *stack = malloc((size_t)n * sizeof *stack), *sizes = calloc((size_t)n, sizeof *sizes);
	uint8_t *m = calloc((size_t)n, 1);
	int32_t *lab = calloc((size_t)n, sizeof *lab), *mine = malloc((size_t)n * sizeof *mine);
	br_cc *cc;
	int bad = 0;

	for (i = 0; i < n; i++)
		m[i] = urand() < p ? (uint8_t)(1 + (urand() < 0.5)) : 0;
	for (i = 0; i < n; i++) {
		int64_t top = 0;
		if (!m[i] || lab[i])
			continue;
		ncomp++;
		lab[i] = (int32_t)ncomp;
		stack[top++] = i;
		while (top > 0) {
			int64_t v = stack[--top], x = v % nx, y = v / nx % ny, z = v / (nx * ny), dx, dy, dz;
			sizes[ncomp - 1]++;
			for (dz = -1; dz <= 1; dz++)
				for (dy = -1; dy <= 1; dy++)
					for (dx = -1; dx <= 1; dx++) {
						int64_t xx = x + dx, yy = y + dy, zz = z + dz, w, nnz = (dx != 0) + (dy != 0) + (dz != 0);
						if (nnz == 0 || (conn == 6 && nnz > 1) || (conn == 18 && nnz > 2))
							continue;
						if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz)
							continue;
						w = (zz * ny + yy) * nx + xx;
						if (m[w] && !lab[w]) {
							lab[w] = (int32_t)ncomp;
							stack[top++] = w;
						}
					}
		}
	}
	cc = br_cc_new(m, nx, ny, nz, conn);
	if (cc == NULL || cc->n != ncomp) {
		bad = 1;
	} else {
		/* the same partition: flood-fill labels (raster order of first
		 * voxel, as br_cc numbers them) equal the painted ones */
		br_cc_paint(mine, cc);
		for (i = 0; i < n; i++)
			bad += mine[i] != lab[i];
		for (i = 0; i < ncomp; i++)
			bad += cc->size[i] != sizes[i];
	}
	tap(!bad, "br_cc_new %lldx%lldx%lld density %.2f connectivity %d: %lld components, %d mismatches",
	    (long long)nx, (long long)ny, (long long)nz, p, conn, (long long)ncomp, bad);
	br_cc_free(cc);
	free(stack);
	free(sizes);
	free(m);
	free(lab);
	free(mine);
	return bad != 0;
}

int main(void)
{
	static const double iso[3] = {1, 1, 1}, aniso[3] = {0.9, 1.3, 2.7}, flat[3] = {2.5, 0.7, 1.1};
	int fail = 0, id = 0;

	fail |= check(++id, 17, 13, 11, 0.01, 0.3, iso);
	fail |= check(++id, 17, 13, 11, 0.01, 0.3, aniso);
	fail |= check(++id, 23, 9, 14, 0.2, 0.5, flat);
	fail |= check(++id, 31, 29, 7, 0.002, 1.0, aniso);
	fail |= check(++id, 1, 40, 9, 0.05, 0.5, aniso);
	fail |= check(++id, 40, 1, 9, 0.05, 0.5, flat);
	fail |= check(++id, 9, 8, 1, 0.05, 0.5, aniso);
	fail |= check(++id, 12, 12, 12, 0.0, 0.2, iso);       /* no feature: infinite */
	fail |= check(++id, 12, 12, 12, 0.9, 0.2, aniso);
	fail |= check(++id, 12, 12, 12, 0.003, 0.0, aniso);   /* no query */
	fail |= check(++id, 26, 21, 17, 0.0005, 0.05, flat);
	fail |= check_hd95(++id, 24, 20, 16, iso, 0);
	fail |= check_hd95(++id, 24, 20, 16, aniso, 5);
	fail |= check_hd95(++id, 20, 26, 12, flat, 20);
	fail |= check_percentile(++id);
	{
		static const int conns[3] = {6, 18, 26};
		static const double dens[3] = {0.1, 0.3, 0.6};
		int c, d;
		for (c = 0; c < 3; c++)
			for (d = 0; d < 3; d++)
				fail |= check_cc(++id, 23, 17, 13, dens[d], conns[c]);
		fail |= check_cc(++id, 1, 30, 20, 0.5, 26);
		fail |= check_cc(++id, 30, 1, 20, 0.5, 18);
		fail |= check_cc(++id, 30, 20, 1, 0.5, 6);
	}
	(void)fail;
	return tap_done("test_post");
}
