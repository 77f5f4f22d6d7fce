/*
 * edt.c - exact Euclidean distance transform in linear time (see edt.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edt.h"
#include "volume.h"

void br_edt_line(double *out, const double *f, int64_t n, double sp, int64_t *v, double *z)
{
	int64_t q, k = -1;
	double s, pq, pv;

	/* lower envelope of the parabolas (x - sp*p)^2 + f[p] over the sites p;
	 * z[k] .. z[k+1] is where parabola v[k] is lowest (positions in mm) */
	for (q = 0; q < n; q++) {
		if (isinf(f[q]))
			continue;
		pq = sp * (double)q;
		if (k < 0) {
			k = 0;
			v[0] = q;
			z[0] = -INFINITY;
			z[1] = INFINITY;
			continue;
		}
		for (;;) {
			pv = sp * (double)v[k];
			s = ((f[q] + pq * pq) - (f[v[k]] + pv * pv)) / (2.0 * (pq - pv));
			if (s > z[k])
				break;
			k--; /* z[0] is -inf, so k stays >= 0 */
		}
		k++;
		v[k] = q;
		z[k] = s;
		z[k + 1] = INFINITY;
	}
	if (k < 0) {
		for (q = 0; q < n; q++)
			out[q] = INFINITY;
		return;
	}
	k = 0;
	for (q = 0; q < n; q++) {
		pq = sp * (double)q;
		while (z[k + 1] < pq)
			k++;
		pv = pq - sp * (double)v[k];
		out[q] = pv * pv + f[v[k]];
	}
}

int br_edt_sq(double *d, const uint8_t *feature, int64_t nx, int64_t ny, int64_t nz, const double sp[3])
{
	int64_t x, y, zz, i, last, n = nx > ny ? nx : ny, nxy = nx * ny;
	double *f, *g, *z;
	int64_t *v;
	int any;

	if (nz > n)
		n = nz;
	f = malloc((size_t)n * sizeof *f);
	g = malloc((size_t)n * sizeof *g);
	z = malloc((size_t)(n + 1) * sizeof *z);
	v = malloc((size_t)n * sizeof *v);
	if (f == NULL || g == NULL || z == NULL || v == NULL) {
		free(f);
		free(g);
		free(z);
		free(v);
		return br_set_error("out of memory");
	}

	/* x: distance to the nearest feature in the row, two scans */
	for (i = 0; i < nxy * nz; i += nx) {
		const uint8_t *m = feature + i;
		double *o = d + i;
		last = -1;
		for (x = 0; x < nx; x++) {
			if (m[x])
				last = x;
			o[x] = last < 0 ? INFINITY : sp[0] * (double)(x - last);
		}
		last = -1;
		for (x = nx - 1; x >= 0; x--) {
			if (m[x])
				last = x;
			if (last >= 0 && sp[0] * (double)(last - x) < o[x])
				o[x] = sp[0] * (double)(last - x);
			o[x] *= o[x];
		}
	}

	/* y: one slice at a time, so the columns stay in cache */
	if (ny > 1)
		for (zz = 0; zz < nz; zz++)
			for (x = 0; x < nx; x++) {
				double *col = d + zz * nxy + x;
				any = 0;
				for (y = 0; y < ny; y++) {
					f[y] = col[y * nx];
					any |= !isinf(f[y]);
				}
				if (!any)
					continue;
				br_edt_line(g, f, ny, sp[1], v, z);
				for (y = 0; y < ny; y++)
					col[y * nx] = g[y];
			}

	/* z */
	if (nz > 1)
		for (i = 0; i < nxy; i++) {
			double *col = d + i;
			any = 0;
			for (zz = 0; zz < nz; zz++) {
				f[zz] = col[zz * nxy];
				any |= !isinf(f[zz]);
			}
			if (!any)
				continue;
			br_edt_line(g, f, nz, sp[2], v, z);
			for (zz = 0; zz < nz; zz++)
				col[zz * nxy] = g[zz];
		}
	free(f);
	free(g);
	free(z);
	free(v);
	return 0;
}

/* ---- the transform at query voxels, from lists of voxels ---- */

/* Lower envelope of the parabolas (p - pos[i])^2 + f[i] of n sites
 * (positions in mm, increasing); returns its size.  v: the sites of the
 * envelope; parabola v[k] is lowest from zn[k]/zd[k] to zn[k+1]/zd[k+1]
 * (zd > 0), kept as fractions so that building it needs no division. */
static int64_t envelope(int64_t *v, double *zn, double *zd, const double *pos, const double *f, int64_t n)
{
	int64_t q, k = 0;
	double num = 0, den = 1, hq;

	v[0] = 0;
	for (q = 1; q < n; q++) {
		hq = f[q] + pos[q] * pos[q];
		for (;;) {
			num = hq - (f[v[k]] + pos[v[k]] * pos[v[k]]);
			den = 2.0 * (pos[q] - pos[v[k]]);
			if (k == 0 || num * zd[k] > zn[k] * den)
				break;
			k--;
		}
		k++;
		v[k] = q;
		zn[k] = num;
		zd[k] = den;
	}
	return k + 1;
}

/* Evaluate the envelope at increasing positions: advance e to the parabola
 * lowest at p and return its value. */
static inline double env_eval(int64_t *e, int64_t nenv, const int64_t *v, const double *zn, const double *zd,
			      const double *pos, const double *f, double p)
{
	double d;

	while (*e + 1 < nenv && zn[*e + 1] < p * zd[*e + 1])
		(*e)++;
	d = p - pos[v[*e]];
	return d * d + f[v[*e]];
}

int br_edt_sq_points(double *out, const int64_t *feat, int64_t nfeat, const int64_t *query, int64_t nquery,
		     int64_t nx, int64_t ny, int64_t nz, const double sp[3])
{
	int64_t nxy = nx * ny, i, k, c, j, m, x, t, ncol = 0, nqx = 0, nfz = 0, nmax, cap_rows;
	int64_t *colidx = NULL, *qxs = NULL, *qy_start = NULL, *qy = NULL, *fill = NULL;
	int64_t *cq_start = NULL, *cq = NULL, *fz = NULL, *fz_start = NULL, *fy = NULL, *fy_start = NULL, *v = NULL;
	double *g = NULL, *rowv = NULL, *pos = NULL, *fv = NULL, *zn = NULL, *zd = NULL;
	int rc = -1;

	if (nquery == 0)
		return 0;
	if (nfeat == 0) {
		for (k = 0; k < nquery; k++)
			out[k] = INFINITY;
		return 0;
	}
	nmax = nx > ny ? nx : ny;
	if (nz > nmax)
		nmax = nz;
	colidx = malloc((size_t)nxy * sizeof *colidx);
	qxs = malloc((size_t)nx * sizeof *qxs);
	qy_start = calloc((size_t)nx + 1, sizeof *qy_start);
	fz = malloc((size_t)nz * sizeof *fz);
	fz_start = malloc((size_t)(nz + 1) * sizeof *fz_start);
	v = malloc((size_t)nmax * sizeof *v);
	pos = malloc((size_t)nmax * sizeof *pos);
	fv = malloc((size_t)nmax * sizeof *fv);
	zn = malloc((size_t)(nmax + 1) * sizeof *zn);
	zd = malloc((size_t)(nmax + 1) * sizeof *zd);
	if (!colidx || !qxs || !qy_start || !fz || !fz_start || !v || !pos || !fv || !zn || !zd)
		goto oom;

	/* the columns (x, y) holding queries, numbered in raster order; the xs
	 * among them; per x, the ys of its columns */
	for (i = 0; i < nxy; i++)
		colidx[i] = -1;
	for (k = 0; k < nquery; k++)
		colidx[query[k] % nxy] = 0;
	for (i = 0; i < nxy; i++)
		if (colidx[i] == 0) {
			colidx[i] = ncol++;
			qy_start[i % nx + 1]++;
		}
	for (x = 0; x < nx; x++)
		if (qy_start[x + 1] > 0)
			qxs[nqx++] = x;
	for (x = 0; x < nx; x++)
		qy_start[x + 1] += qy_start[x];
	qy = malloc((size_t)ncol * sizeof *qy);
	fill = malloc((size_t)(nx > ncol ? nx : ncol) * sizeof *fill);
	cq_start = calloc((size_t)ncol + 1, sizeof *cq_start);
	cq = malloc((size_t)nquery * sizeof *cq);
	if (!qy || !fill || !cq_start || !cq)
		goto oom;
	memcpy(fill, qy_start, (size_t)nx * sizeof *fill);
	for (i = 0; i < nxy; i++)
		if (colidx[i] >= 0)
			qy[fill[i % nx]++] = i / nx;
	/* per column, its queries (indexes into query, so z increasing) */
	for (k = 0; k < nquery; k++)
		cq_start[colidx[query[k] % nxy] + 1]++;
	for (c = 0; c < ncol; c++)
		cq_start[c + 1] += cq_start[c];
	memcpy(fill, cq_start, (size_t)ncol * sizeof *fill);
	for (k = 0; k < nquery; k++)
		cq[fill[colidx[query[k] % nxy]]++] = k;

	/* the feature slices, and the feature rows of each (feat is sorted) */
	cap_rows = 0;
	for (k = 0; k < nfeat; k++) {
		int64_t z = feat[k] / nxy;
		if (nfz == 0 || fz[nfz - 1] != z) {
			fz_start[nfz] = k;
			fz[nfz++] = z;
		}
	}
	fz_start[nfz] = nfeat;
	for (j = 0; j < nfz; j++) {
		int64_t rows = 0, last = -1;
		for (k = fz_start[j]; k < fz_start[j + 1]; k++)
			if (feat[k] / nx != last) {
				last = feat[k] / nx;
				rows++;
			}
		if (rows > cap_rows)
			cap_rows = rows;
	}
	fy = malloc((size_t)cap_rows * sizeof *fy);
	fy_start = malloc((size_t)(cap_rows + 1) * sizeof *fy_start);
	rowv = malloc((size_t)cap_rows * (size_t)nqx * sizeof *rowv);
	g = malloc((size_t)ncol * (size_t)nfz * sizeof *g);
	if (!fy || !fy_start || !rowv || !g)
		goto oom;

	for (j = 0; j < nfz; j++) {
		int64_t nfy = 0, last = -1, xi;
		double *gj = g + j * ncol;
		for (k = fz_start[j]; k < fz_start[j + 1]; k++)
			if (feat[k] / nx != last) {
				last = feat[k] / nx;
				fy_start[nfy] = k;
				fy[nfy++] = last % ny;
			}
		fy_start[nfy] = fz_start[j + 1];
		/* x: in each feature row, the distance to its nearest feature at
		 * the query xs (both sorted: one merge) */
		for (m = 0; m < nfy; m++) {
			const int64_t *fx = feat + fy_start[m];
			int64_t nf = fy_start[m + 1] - fy_start[m], f = 0, base = feat[fy_start[m]] - feat[fy_start[m]] % nx;
			double *o = rowv + m * nqx, d;
			for (xi = 0; xi < nqx; xi++) {
				x = qxs[xi];
				while (f + 1 < nf && fx[f + 1] - base <= x)
					f++;
				d = fabs((double)(x - (fx[f] - base)));
				if (f + 1 < nf && (double)(fx[f + 1] - base - x) < d)
					d = (double)(fx[f + 1] - base - x);
				d *= sp[0];
				o[xi] = d * d;
			}
		}
		/* y: the sites are the feature rows; evaluate at the query columns */
		for (m = 0; m < nfy; m++)
			pos[m] = sp[1] * (double)fy[m];
		for (xi = 0; xi < nqx; xi++) {
			int64_t nenv, e = 0;
			x = qxs[xi];
			for (m = 0; m < nfy; m++)
				fv[m] = rowv[m * nqx + xi];
			nenv = envelope(v, zn, zd, pos, fv, nfy);
			for (t = qy_start[x]; t < qy_start[x + 1]; t++)
				gj[colidx[x + nx * qy[t]]] = env_eval(&e, nenv, v, zn, zd, pos, fv, sp[1] * (double)qy[t]);
		}
	}

	/* z: the sites are the feature slices; evaluate at the queries */
	for (j = 0; j < nfz; j++)
		pos[j] = sp[2] * (double)fz[j];
	for (c = 0; c < ncol; c++) {
		int64_t nenv, e = 0;
		for (j = 0; j < nfz; j++)
			fv[j] = g[j * ncol + c];
		nenv = envelope(v, zn, zd, pos, fv, nfz);
		for (t = cq_start[c]; t < cq_start[c + 1]; t++) {
			k = cq[t];
			out[k] = env_eval(&e, nenv, v, zn, zd, pos, fv, sp[2] * (double)(query[k] / nxy));
		}
	}
	rc = 0;
	goto done;
oom:
	br_set_error("out of memory");
done:
	free(colidx);
	free(qxs);
	free(qy_start);
	free(qy);
	free(fill);
	free(cq_start);
	free(cq);
	free(fz);
	free(fz_start);
	free(fy);
	free(fy_start);
	free(v);
	free(g);
	free(rowv);
	free(pos);
	free(fv);
	free(zn);
	free(zd);
	return rc;
}
