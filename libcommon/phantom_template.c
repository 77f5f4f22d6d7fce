/*
 * phantom_template.c - the brain template of the phantoms: tissue fractions
 * from a T1-weighted brain or a procedural brain, with a layer of CSF around
 * it, vessels, partial-volume blur, and the table of normal deviates.
 */
#include <stdlib.h>
#include <string.h>

#include "phantom_internal.h"

/* Acklam's approximation of the inverse normal CDF. */
static double inv_normal(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
				   1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
				   6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
				   -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
				   3.754408661907416e+00};
	double q, r;

	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -inv_normal(1 - p);
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static void gauss_table_init(br_phantom_template *t)
{
	int i;

	for (i = 0; i < 65536; i++)
		t->gauss[i] = (float)inv_normal((i + 0.5) / 65536.0);
}

void br_phantom_template_free(br_phantom_template *t)
{
	if (t == NULL)
		return;
	free(t->f);
	free(t->pts);
	free(t);
}

static void template_bbox(br_phantom_template *t)
{
	int x, y, z;

	t->lo[0] = t->lo[1] = t->lo[2] = 1e9;
	t->hi[0] = t->hi[1] = t->hi[2] = -1e9;
	for (z = 0; z < t->nz; z++)
		for (y = 0; y < t->ny; y++)
			for (x = 0; x < t->nx; x++) {
				const uint8_t *p = t->f + 4 * (((size_t)z * t->ny + y) * t->nx + x);
				if (p[0] + p[1] + p[2] == 0)
					continue;
				if (x < t->lo[0]) t->lo[0] = x;
				if (y < t->lo[1]) t->lo[1] = y;
				if (z < t->lo[2]) t->lo[2] = z;
				if (x > t->hi[0]) t->hi[0] = x;
				if (y > t->hi[1]) t->hi[1] = y;
				if (z > t->hi[2]) t->hi[2] = z;
			}
}

static int invert3x4(double out[3][4], const double a[4][4])
{
	double m[3][3], det;
	int i, j;

	det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
	      a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
	      a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
	if (fabs(det) < 1e-12)
		return -1;
	m[0][0] = (a[1][1] * a[2][2] - a[1][2] * a[2][1]) / det;
	m[0][1] = (a[0][2] * a[2][1] - a[0][1] * a[2][2]) / det;
	m[0][2] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / det;
	m[1][0] = (a[1][2] * a[2][0] - a[1][0] * a[2][2]) / det;
	m[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det;
	m[1][2] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det;
	m[2][0] = (a[1][0] * a[2][1] - a[1][1] * a[2][0]) / det;
	m[2][1] = (a[0][1] * a[2][0] - a[0][0] * a[2][1]) / det;
	m[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det;
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++)
			out[i][j] = m[i][j];
		out[i][3] = -(m[i][0] * a[0][3] + m[i][1] * a[1][3] + m[i][2] * a[2][3]);
	}
	return 0;
}

/* Tissue fractions from a T1-weighted skull-stripped brain: class centres
 * from k-means on the histogram, each refined to the histogram's mode, and
 * linear partial-volume mixing between neighbouring centres. */
static int template_from_t1(br_phantom_template *t, const br_vol *v)
{
	double hist[256] = {0}, sm[256], mu[3], vmax = 0, binw;
	size_t n = br_vol_nvox(v), i;
	int it, k, b;

	if (v->dim[3] != 1 || v->dim[0] < 32 || v->dim[1] < 32 || v->dim[2] < 32)
		return br_set_error("not a 3-D brain volume");
	if (invert3x4(t->mni2vox, v->affine) < 0)
		return br_set_error("singular affine");
	for (i = 0; i < n; i++) {
		double x = br_vol_get(v, i);
		if (x > vmax)
			vmax = x;
	}
	if (!(vmax > 0))
		return br_set_error("empty brain");
	binw = vmax / 255.0;
	for (i = 0; i < n; i++) {
		double x = br_vol_get(v, i);
		if (x > 0)
			hist[(int)(x / binw)]++;
	}
	for (b = 0; b < 256; b++) {
		double s = 0, w = 0;
		int d;
		for (d = -3; d <= 3; d++)
			if (b + d >= 1 && b + d < 256) {
				s += hist[b + d] * (4 - abs(d));
				w += 4 - abs(d);
			}
		sm[b] = s / w;
	}
	/* k-means on the histogram, 3 classes */
	mu[0] = 64;
	mu[1] = 160;
	mu[2] = 224;
	for (it = 0; it < 50; it++) {
		double s[3] = {0}, c[3] = {0};
		for (b = 1; b < 256; b++) {
			int best = 0;
			for (k = 1; k < 3; k++)
				if (fabs(b - mu[k]) < fabs(b - mu[best]))
					best = k;
			s[best] += hist[b] * b;
			c[best] += hist[b];
		}
		for (k = 0; k < 3; k++)
			if (c[k] > 0)
				mu[k] = s[k] / c[k];
	}
	/* refine each centre to the mode of the smoothed histogram in its cluster */
	for (k = 0; k < 3; k++) {
		int lo = k == 0 ? 1 : (int)((mu[k - 1] + mu[k]) / 2) + 1;
		int hi = k == 2 ? 255 : (int)((mu[k] + mu[k + 1]) / 2);
		int best = (int)mu[k];
		for (b = lo; b <= hi; b++)
			if (sm[b] > sm[best])
				best = b;
		mu[k] = best + 0.5;
	}
	if (!(mu[0] < mu[1] && mu[1] < mu[2]))
		return br_set_error("no CSF, grey and white matter classes in the histogram");
	t->nx = (int)v->dim[0];
	t->ny = (int)v->dim[1];
	t->nz = (int)v->dim[2];
	t->f = calloc(n, 4);
	if (t->f == NULL)
		return br_set_error("out of memory");
#pragma omp parallel for schedule(static)
	for (i = 0; i < n; i++) {
		double x = br_vol_get(v, i) / binw, g = 0, w = 0;
		uint8_t *p = t->f + 4 * i;
		if (x <= 0)
			continue;
		if (x >= mu[2])
			w = 1;
		else if (x >= mu[1])
			w = (x - mu[1]) / (mu[2] - mu[1]), g = 1 - w;
		else if (x > mu[0])
			g = (x - mu[0]) / (mu[1] - mu[0]);
		p[1] = (uint8_t)lround(255 * g);
		p[2] = (uint8_t)lround(255 * w);
		p[0] = (uint8_t)(255 - p[1] - p[2]);
	}
	return 0;
}

/* ---- the procedural brain ------------------------------------------------ */

/* ellipsoid radius: < 1 inside */
static double ell(double x, double y, double z, double cx, double cy, double cz, double ax, double ay, double az)
{
	return sqrt(sq((x - cx) / ax) + sq((y - cy) / ay) + sq((z - cz) / az));
}

/* Cerebrum, cerebellum and brainstem as deformed ellipsoids; a folded grey
 * matter shell (sulci are level lines of a random wave field), ventricles,
 * deep grey nuclei and the interhemispheric fissure.  Classes at 1 mm,
 * then blurred into partial-volume fractions. */
static int template_procedural(br_phantom_template *t)
{
	const int nx = 181, ny = 217, nz = 181;
	const double ox = -90, oy = -125, oz = -71;
	size_t n = (size_t)nx * ny * nz;
	float *cls;
	waves surf, fold, cfold;
	rng r;
	int x, y, z, c, pass;

	br_xoshiro256_seed(r.s, 0x5eedb7a1u);
	waves_init(&surf, &r, 6, 40, 90);
	waves_init(&fold, &r, 8, 18, 40);
	waves_init(&cfold, &r, 8, 5, 9);
	t->nx = nx;
	t->ny = ny;
	t->nz = nz;
	memset(t->mni2vox, 0, sizeof t->mni2vox);
	t->mni2vox[0][0] = t->mni2vox[1][1] = t->mni2vox[2][2] = 1;
	t->mni2vox[0][3] = -ox;
	t->mni2vox[1][3] = -oy;
	t->mni2vox[2][3] = -oz;
	t->procedural = 1;
	t->f = calloc(n, 4);
	cls = malloc(n * 3 * sizeof *cls);
	if (t->f == NULL || cls == NULL) {
		free(cls);
		return br_set_error("out of memory");
	}
#pragma omp parallel for private(x, y) schedule(dynamic, 1)
	for (z = 0; z < nz; z++)
		for (y = 0; y < ny; y++)
			for (x = 0; x < nx; x++) {
				double px = x + ox, py = y + oy, pz = z + oz, rho, depth, fo, csf = 0, gm = 0, wm = 0;
				float *q = cls + 3 * (((size_t)z * ny + y) * nx + x);
				double s = 1 + 0.03 * waves_eval(&surf, px, py, pz);
				/* cerebrum: narrower in front, flatter below; temporal lobes */
				double rm = ell(px, py, pz, 0, -18, 10, 66 * s * (py > 0 ? 1 - 0.1 * py / 60 : 1), 84 * s,
						(pz < 10 ? 50 : 62) * s);
				double rt = ell(fabs(px), py, pz, 40, -8, -18, 26 * s, 42 * s, 22 * s);
				rho = rm < rt ? rm : rt;
				q[0] = q[1] = q[2] = 0;
				if (rho < 1) {
					double ap = fabs(px);
					depth = (1 - rho) * 55;
					fo = waves_eval(&fold, px, py, pz);
					if (depth < 1.0 || (fabs(fo) < 0.13 && depth < 22))
						csf = 1;
					else if (depth < 3.2 || (fabs(fo) < 0.65 && depth < 25))
						gm = 1;
					else
						wm = 1;
					/* interhemispheric fissure and medial cortex */
					if (ap < 1.0 && (pz > 20 || py > 22 || py < -62))
						csf = 1, gm = wm = 0;
					else if (ap < 4 && (pz > 20 || py > 22 || py < -62) && csf == 0)
						gm = 1, wm = 0;
					/* deep grey: thalami, putamen, caudate */
					if (ell(ap, py, pz, 11, -18, 6, 8, 14, 9) < 1 || ell(ap, py, pz, 24, 4, 2, 6, 15, 10) < 1 ||
					    ell(ap, py, pz, 14, 8, 12, 5, 12, 7) < 1)
						gm = 0.7, wm = 0.3, csf = 0;
					/* lateral ventricles (frontal horn and body, bent; atrium;
					 * temporal horn) and the third ventricle */
					if (ell(ap, py, pz - 0.004 * sq(py + 15), 11, -14, 18, 5.5, 34, 7.5) < 1 ||
					    ell(ap, py, pz, 23, -40, 10, 6, 10, 9) < 1 ||
					    ell(ap, py, pz, 31, -18, -12, 4, 16, 4) < 1 || ell(px, py, pz, 0, -15, 2, 1.8, 14, 8) < 1)
						csf = 1, gm = wm = 0;
				} else {
					/* cerebellum with foliage, brainstem */
					rho = ell(px, py, pz, 0, -62, -32, 50 * s, 32 * s, 22 * s);
					if (rho < 1) {
						fo = waves_eval(&cfold, px, py, pz);
						if (fabs(fo) < 0.15 && rho > 0.3)
							csf = 1;
						else if (rho < 0.45 && fabs(px) > 8)
							wm = 1;
						else
							gm = 1;
					} else if (ell(px, py, pz, 0, -28, -30, 12, 14, 40) < 1 && pz > -68) {
						wm = 0.85, gm = 0.15;
					}
				}
				q[0] = (float)csf;
				q[1] = (float)gm;
				q[2] = (float)wm;
			}
	/* [1 2 1] blur along x, y and z (partial volume), in cls, through t->f as scratch */
	for (pass = 0; pass < 3; pass++) {
		size_t stride = pass == 0 ? 3 : pass == 1 ? 3 * (size_t)nx : 3 * (size_t)nx * ny;
		int len = pass == 0 ? nx : pass == 1 ? ny : nz;
		size_t lines = n / len, l;
#pragma omp parallel for schedule(static)
		for (l = 0; l < lines; l++) {
			size_t base;
			float buf[3 * 217], *line;
			int k2;
			if (pass == 0)
				base = l * nx * 3;
			else if (pass == 1)
				base = ((l / nx) * nx * ny + l % nx) * 3;
			else
				base = l * 3;
			line = cls + base;
			for (k2 = 0; k2 < len; k2++)
				for (c = 0; c < 3; c++)
					buf[3 * k2 + c] = line[k2 * stride + c];
			for (k2 = 0; k2 < len; k2++)
				for (c = 0; c < 3; c++) {
					float a = k2 > 0 ? buf[3 * (k2 - 1) + c] : 0;
					float b = k2 < len - 1 ? buf[3 * (k2 + 1) + c] : 0;
					line[k2 * stride + c] = 0.25f * a + 0.5f * buf[3 * k2 + c] + 0.25f * b;
				}
		}
	}
	{
		size_t i;
#pragma omp parallel for schedule(static)
		for (i = 0; i < n; i++) {
			float *q = cls + 3 * i, s = q[0] + q[1] + q[2];
			uint8_t *p = t->f + 4 * i;
			if (s < 0.5f)
				continue; /* outside: the mask is the half-way surface */
			p[1] = (uint8_t)lroundf(255 * q[1] / s);
			p[2] = (uint8_t)lroundf(255 * q[2] / s);
			if (p[1] + p[2] > 255)
				p[2] = (uint8_t)(255 - p[1]);
			p[0] = (uint8_t)(255 - p[1] - p[2]);
		}
	}
	free(cls);
	return 0;
}

/* 1-2-1 blur of the four channels along one axis (integer, so exact). */
static void template_blur(br_phantom_template *t, int axis)
{
	size_t sx = 4, sy = 4 * (size_t)t->nx, sz = sy * t->ny;
	size_t stride = axis == 0 ? sx : axis == 1 ? sy : sz;
	int len = axis == 0 ? t->nx : axis == 1 ? t->ny : t->nz;
	int n1 = axis == 0 ? t->ny : t->nx, n2 = axis == 2 ? t->ny : t->nz;
	int l;

#pragma omp parallel for schedule(static)
	for (l = 0; l < n1 * n2; l++) {
		int a = l % n1, b = l / n1, k, c;
		size_t base = axis == 0 ? a * sy + b * sz : axis == 1 ? a * sx + b * sz : a * sx + b * sy;
		uint8_t *p = t->f + base, prev[4] = {0, 0, 0, 0}, cur[4];
		for (k = 0; k < len; k++) {
			uint8_t *q = p + k * stride;
			for (c = 0; c < 4; c++) {
				int next = k + 1 < len ? q[stride + c] : 0;
				cur[c] = q[c];
				q[c] = (uint8_t)((prev[c] + 2 * cur[c] + next + 2) >> 2);
				prev[c] = cur[c];
			}
		}
	}
}

/* Common to both brains: a thin layer of CSF around the brain (the
 * subarachnoid space, bright on T2), vessels in the CSF spaces (curves
 * where two random fields vanish, plus the superior sagittal sinus; they
 * enhance on T1ce), a little blur, and the bounding box. */
static int template_finish(br_phantom_template *t)
{
	size_t sx = 4, sy = 4 * (size_t)t->nx, sz = sy * t->ny;
	size_t n = (size_t)t->nx * t->ny * t->nz;
	double vox2mni[3][4], m4[4][4];
	waves w1, w2;
	rng r;
	uint8_t *mark;
	int it, i, j, *ztop;

	/* two 6-connected dilations: new voxels are CSF, marked 1 and 2 */
	mark = calloc(n, 1);
	if (mark == NULL)
		return br_set_error("out of memory");
	for (it = 1; it <= 2; it++) {
		int z;
#pragma omp parallel for schedule(static)
		for (z = 1; z < t->nz - 1; z++) {
			int y, x;
			for (y = 1; y < t->ny - 1; y++)
				for (x = 1; x < t->nx - 1; x++) {
					size_t v = ((size_t)z * t->ny + y) * t->nx + x;
					const uint8_t *p = t->f + 4 * v;
					if (p[0] + p[1] + p[2] != 0 || mark[v] != 0)
						continue;
#define IN(o) (p[(o)] + p[(o) + 1] + p[(o) + 2] != 0)
					if (IN(sx) || IN(-(long)sx) || IN(sy) || IN(-(long)sy) || IN(sz) || IN(-(long)sz))
						mark[v] = (uint8_t)it;
#undef IN
				}
		}
		{
			size_t v;
			for (v = 0; v < n; v++)
				if (mark[v] == it)
					t->f[4 * v] = 255;
		}
	}
	/* vessels */
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			m4[i][j] = i < 3 ? t->mni2vox[i][j] : j == 3;
	invert3x4(vox2mni, m4);
	/* top of each column (z is up in the templates we know) */
	ztop = malloc((size_t)t->nx * t->ny * sizeof *ztop);
	if (ztop == NULL) {
		free(mark);
		return br_set_error("out of memory");
	}
	for (j = 0; j < t->nx * t->ny; j++) {
		int z;
		ztop[j] = -1;
		for (z = t->nz - 1; z >= 0 && ztop[j] < 0; z--) {
			const uint8_t *p = t->f + 4 * ((size_t)z * t->nx * t->ny + j);
			if (p[0] + p[1] + p[2] != 0)
				ztop[j] = z;
		}
	}
	br_xoshiro256_seed(r.s, 0xa11ce5u);
	waves_init(&w1, &r, 6, 12, 40);
	waves_init(&w2, &r, 6, 12, 40);
	{
		int z;
#pragma omp parallel for schedule(dynamic, 4)
		for (z = 0; z < t->nz; z++) {
			int y, x;
			for (y = 0; y < t->ny; y++)
				for (x = 0; x < t->nx; x++) {
					size_t v = ((size_t)z * t->ny + y) * t->nx + x;
					uint8_t *p = t->f + 4 * v;
					double q[3], a, b, e;
					int k;
					if (p[0] < 100)
						continue;
					for (k = 0; k < 3; k++)
						q[k] = vox2mni[k][0] * x + vox2mni[k][1] * y + vox2mni[k][2] * z + vox2mni[k][3];
					if (mark[v] != 0 && fabs(q[0]) < 3.5 && z >= ztop[(size_t)y * t->nx + x] - 3) {
						p[3] = p[0]; /* sagittal sinus */
						continue;
					}
					a = waves_eval(&w1, q[0], q[1], q[2]);
					b = waves_eval(&w2, q[0], q[1], q[2]);
					e = 1 - (a * a + b * b) / 0.04;
					if (e > 0)
						p[3] = (uint8_t)lround(p[0] * (e > 0.5 ? 1 : 2 * e));
				}
		}
	}
	free(mark);
	free(ztop);
	for (i = 0; i < 3; i++)
		template_blur(t, i);
	template_bbox(t);
	/* every 8th brain voxel, for fitting the brain into the grid */
	{
		size_t cap = 0, v;
		for (v = 0; v < n; v++) {
			const uint8_t *p = t->f + 4 * v;
			int x = (int)(v % t->nx), y = (int)(v / t->nx % t->ny), z = (int)(v / ((size_t)t->nx * t->ny));
			if ((x | y | z) & 1 || p[0] + p[1] + p[2] < 128)
				continue;
			if (t->npts == cap) {
				float *np2;
				cap = cap ? 2 * cap : 65536;
				np2 = realloc(t->pts, cap * 3 * sizeof *np2);
				if (np2 == NULL)
					return br_set_error("out of memory");
				t->pts = np2;
			}
			for (i = 0; i < 3; i++)
				t->pts[3 * t->npts + i] = (float)(vox2mni[i][0] * x + vox2mni[i][1] * y + vox2mni[i][2] * z +
								  vox2mni[i][3]);
			t->npts++;
		}
	}
	return 0;
}

br_phantom_template *br_phantom_template_read(const char *path)
{
	br_phantom_template *t;
	br_vol *v = br_vol_read(path);

	if (v == NULL)
		return NULL;
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		br_vol_free(v);
		br_set_error("out of memory");
		return NULL;
	}
	if (template_from_t1(t, v) < 0 || template_finish(t) < 0) {
		br_vol_free(v);
		br_phantom_template_free(t);
		return NULL;
	}
	br_vol_free(v);
	gauss_table_init(t);
	return t;
}

br_phantom_template *br_phantom_template_procedural(void)
{
	br_phantom_template *t = calloc(1, sizeof *t);

	if (t == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	if (template_procedural(t) < 0 || template_finish(t) < 0) {
		br_phantom_template_free(t);
		return NULL;
	}
	gauss_table_init(t);
	return t;
}

int br_phantom_template_is_procedural(const br_phantom_template *t)
{
	return t->procedural;
}

void br_phantom_template_size(const br_phantom_template *t, int dim[3])
{
	dim[0] = t->nx;
	dim[1] = t->ny;
	dim[2] = t->nz;
}

br_vol *br_phantom_template_channels(const br_phantom_template *t)
{
	size_t n = (size_t)t->nx * t->ny * t->nz, i;
	br_vol *v = br_vol_new(BR_U8, t->nx, t->ny, t->nz, 4);
	int c;

	if (v == NULL)
		return NULL;
	for (c = 0; c < 4; c++)
		for (i = 0; i < n; i++)
			((uint8_t *)v->data)[c * n + i] = t->f[4 * i + c];
	return v;
}

