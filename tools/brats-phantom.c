/*
 * brats-phantom - synthetic BraTS cases: four int16 MRI contrasts and a
 * label map in the BraTS folder and file layout, deterministic for a seed.
 *
 * The anatomy is the Colin27 brain (ch2bet.nii.gz from Debian's
 * mricron-data) split into partial-volume fractions of CSF, grey and white
 * matter, or a procedural brain when that file is missing.  Every case maps
 * it into the BraTS grid with its own affine and smooth displacement, adds
 * 1-3 gliomas (necrotic core, enhancing rim, edema following the white
 * matter, optional mass effect), and renders each contrast from the tissue
 * fractions with a bias field and Rician noise.
 *
 * Determinism: one xoshiro256** stream per case, seeded from (seed, case
 * number), draws every parameter; voxel noise comes from a counter-based hash
 * of (case, voxel), so the threads never change a byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "volume.h"

static const char usage[] =
	"usage: brats-phantom [-hqv] [-j N] [-n N] [--seed S] [--layout brats2020|brats2023]\n"
	"                     [--first K] [--size small|full] [--tumours A[-B]] [--no-seg] -o DIR\n"
	"Write N synthetic BraTS cases (t1, t1ce, t2, flair int16 and the seg label map,\n"
	"NIfTI-1 .nii.gz, 240x240x155 at 1 mm) into DIR, one folder per case.\n"
	"  -o DIR            output folder (created when missing)\n"
	"  -n N              number of cases (default 1)\n"
	"  --seed S          random seed, 0 to 2^63-1 (default 1); a case depends only on S and its number\n"
	"  --layout L        brats2020: BraTS20_Training_NNN/..._{t1,t1ce,t2,flair,seg} (default)\n"
	"                    brats2023: BraTS-GLI-NNNNN-000/...-{t1n,t1c,t2w,t2f,seg}, ET labelled 3\n"
	"  --first K         number of the first case (default 1)\n"
	"  --size S          full: 240x240x155 (default); small: the 64 slices z = 46..109 of the\n"
	"                    same case (240x240x64, affine shifted to keep world positions)\n"
	"  --tumours A[-B]   between A and B tumours per case, 0 <= A <= B <= 3 (default 1-3)\n"
	"  --no-seg          no label map (validation cases: BraTS20_Validation_NNN in brats2020)\n"
	"  -j N              threads (default: all cores); the output does not depend on it\n"
	"  -q, -v            quieter, more verbose (-v: one line per case)\n"
	"  -h                this help\n"
	"Environment: BR_PHANTOM_TEMPLATE, the brain template (default\n"
	"/usr/share/mricron/templates/ch2bet.nii.gz); a procedural brain when it cannot be read.\n";

#define DEFAULT_TEMPLATE "/usr/share/mricron/templates/ch2bet.nii.gz"

enum { OPT_SEED = 256, OPT_LAYOUT, OPT_FIRST, OPT_SIZE, OPT_TUMOURS, OPT_NOSEG };

/* The BraTS grid. */
#define NX 240
#define NY 240
#define NZ 155
#define SMALL_Z0 46
#define SMALL_NZ 64

/* ---- random numbers ------------------------------------------------------ */

/* splitmix64's finaliser: a good 64-bit hash */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *s)
{
	return mix64(*s += 0x9e3779b97f4a7c15ull);
}

typedef struct {
	uint64_t s[4];
} rng;

static void rng_seed(rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* uniform in [0, 1) */
static double urand(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double uniform(rng *r, double a, double b)
{
	return a + (b - a) * urand(r);
}

static double loguniform(rng *r, double a, double b)
{
	return exp(uniform(r, log(a), log(b)));
}

static double gauss(rng *r)
{
	double u = urand(r), v = urand(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* random unit vector */
static void unit_vector(rng *r, double v[3])
{
	double z = uniform(r, -1, 1), a = uniform(r, 0, 2 * M_PI), s = sqrt(1 - z * z);

	v[0] = s * cos(a);
	v[1] = s * sin(a);
	v[2] = z;
}

/* rotation matrix from a random axis and an angle */
static void rotation(double m[3][3], const double ax[3], double ang)
{
	double c = cos(ang), s = sin(ang), t = 1 - c, x = ax[0], y = ax[1], z = ax[2];

	m[0][0] = t * x * x + c;     m[0][1] = t * x * y - s * z; m[0][2] = t * x * z + s * y;
	m[1][0] = t * x * y + s * z; m[1][1] = t * y * y + c;     m[1][2] = t * y * z - s * x;
	m[2][0] = t * x * z - s * y; m[2][1] = t * y * z + s * x; m[2][2] = t * z * z + c;
}

/* Standard normal deviates indexed by 16 random bits (inverse CDF at bin
 * centres, Acklam's approximation). */
static float gauss_table[65536];

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

static void gauss_table_init(void)
{
	int i;

	for (i = 0; i < 65536; i++)
		gauss_table[i] = (float)inv_normal((i + 0.5) / 65536.0);
}

/* ---- smooth random fields ------------------------------------------------- */

/* A sum of random plane waves, normalised to unit variance. */
#define MAXMODES 8
typedef struct {
	int n;
	double w[MAXMODES][3], phase[MAXMODES], amp[MAXMODES];
} waves;

static void waves_init(waves *f, rng *r, int n, double lmin, double lmax)
{
	int k;

	f->n = n;
	for (k = 0; k < n; k++) {
		double u[3], len = loguniform(r, lmin, lmax);
		unit_vector(r, u);
		f->w[k][0] = 2 * M_PI / len * u[0];
		f->w[k][1] = 2 * M_PI / len * u[1];
		f->w[k][2] = 2 * M_PI / len * u[2];
		f->phase[k] = uniform(r, 0, 2 * M_PI);
		f->amp[k] = sqrt(2.0 / n);
	}
}

static double waves_eval(const waves *f, double x, double y, double z)
{
	double s = 0;
	int k;

	for (k = 0; k < f->n; k++)
		s += f->amp[k] * sin(f->w[k][0] * x + f->w[k][1] * y + f->w[k][2] * z + f->phase[k]);
	return s;
}

/* Channels sampled on a coarse lattice (spacing h voxels from origin o) and
 * interpolated trilinearly: smooth fields at a fraction of the cost. */
typedef struct {
	int nx, ny, nz, nc;
	double h, o[3];
	float *v; /* (nz, ny, nx, nc) */
} lattice;

static int lattice_new(lattice *g, int nc, double h, const double lo[3], const double hi[3])
{
	g->nc = nc;
	g->h = h;
	memcpy(g->o, lo, sizeof g->o);
	g->nx = (int)ceil((hi[0] - lo[0]) / h) + 2;
	g->ny = (int)ceil((hi[1] - lo[1]) / h) + 2;
	g->nz = (int)ceil((hi[2] - lo[2]) / h) + 2;
	g->v = malloc((size_t)g->nx * g->ny * g->nz * nc * sizeof *g->v);
	return g->v ? 0 : -1;
}

/* fill channel c with waves f, scaled */
static void lattice_fill(lattice *g, int c, const waves *f, double scale)
{
	int x, y, z;

#pragma omp parallel for private(x, y) schedule(static)
	for (z = 0; z < g->nz; z++)
		for (y = 0; y < g->ny; y++)
			for (x = 0; x < g->nx; x++) {
				size_t i = (((size_t)z * g->ny + y) * g->nx + x) * g->nc + c;
				g->v[i] = (float)(scale * waves_eval(f, g->o[0] + x * g->h, g->o[1] + y * g->h,
								     g->o[2] + z * g->h));
			}
}

/* Fill channel c with blurred Gaussian noise of unit variance: blobs of a
 * few lattice spacings without the regular pattern of a few plane waves. */
static void lattice_random(lattice *g, int c, rng *r)
{
	size_t n = (size_t)g->nx * g->ny * g->nz, i, st[3];
	float *a = malloc(n * sizeof *a);
	double ss = 0;
	int ax, x, y, z;

	if (a == NULL)
		br_die(NULL, "out of memory");
	for (i = 0; i < n; i++)
		a[i] = (float)gauss(r);
	st[0] = 1;
	st[1] = (size_t)g->nx;
	st[2] = (size_t)g->nx * g->ny;
	for (ax = 0; ax < 3; ax++) {
		int len = ax == 0 ? g->nx : ax == 1 ? g->ny : g->nz;
		for (z = 0; z < (ax == 2 ? 1 : g->nz); z++)
			for (y = 0; y < (ax == 1 ? 1 : g->ny); y++)
				for (x = 0; x < (ax == 0 ? 1 : g->nx); x++) {
					float *p = a + z * st[2] + y * st[1] + x, prev = p[0], cur;
					int k;
					for (k = 0; k < len; k++) {
						float next = p[(k + 1 < len ? k + 1 : k) * st[ax]];
						cur = p[k * st[ax]];
						p[k * st[ax]] = 0.25f * prev + 0.5f * cur + 0.25f * next;
						prev = cur;
					}
				}
	}
	for (i = 0; i < n; i++)
		ss += (double)a[i] * a[i];
	ss = ss > 0 ? sqrt(n / ss) : 1;
	for (i = 0; i < n; i++)
		g->v[i * g->nc + c] = (float)(a[i] * ss);
	free(a);
}

/* Trilinear interpolation of every channel at voxel position p into out. */
static inline void lattice_at(const lattice *g, double px, double py, double pz, float *out)
{
	double fx = (px - g->o[0]) / g->h, fy = (py - g->o[1]) / g->h, fz = (pz - g->o[2]) / g->h;
	int x0, y0, z0, c;
	float wx, wy, wz;
	const float *p;
	size_t sx, sy, sz;

	if (fx < 0) fx = 0;
	if (fy < 0) fy = 0;
	if (fz < 0) fz = 0;
	if (fx > g->nx - 1.001) fx = g->nx - 1.001;
	if (fy > g->ny - 1.001) fy = g->ny - 1.001;
	if (fz > g->nz - 1.001) fz = g->nz - 1.001;
	x0 = (int)fx;
	y0 = (int)fy;
	z0 = (int)fz;
	wx = (float)(fx - x0);
	wy = (float)(fy - y0);
	wz = (float)(fz - z0);
	sx = (size_t)g->nc;
	sy = sx * g->nx;
	sz = sy * g->ny;
	p = g->v + z0 * sz + y0 * sy + x0 * sx;
	for (c = 0; c < g->nc; c++) {
		float a = p[c] + wx * (p[c + sx] - p[c]);
		float b = p[c + sy] + wx * (p[c + sy + sx] - p[c + sy]);
		float d = p[c + sz] + wx * (p[c + sz + sx] - p[c + sz]);
		float e = p[c + sz + sy] + wx * (p[c + sz + sy + sx] - p[c + sz + sy]);
		a += wy * (b - a);
		d += wy * (e - d);
		out[c] = a + wz * (d - a);
	}
}

/* ---- the brain template -------------------------------------------------- */

/* Partial-volume fractions CSF, GM, WM (sum 255 inside the brain, 0 outside)
 * and the part of the CSF that is vessels, four bytes per voxel, on a grid in
 * MNI space. */
typedef struct {
	int nx, ny, nz;
	uint8_t *f;           /* (z, y, x, 4) */
	double mni2vox[3][4]; /* MNI mm -> template voxel */
	double lo[3], hi[3];  /* brain bounding box, template voxels */
	float *pts;           /* a sample of brain voxels, MNI mm (x y z) */
	size_t npts;
	int procedural;
} template_t;

static void template_free(template_t *t)
{
	free(t->f);
	free(t->pts);
	t->f = NULL;
	t->pts = NULL;
	t->npts = 0;
}

static void template_bbox(template_t *t)
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
static int template_from_t1(template_t *t, const br_vol *v)
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

static double sq(double x)
{
	return x * x;
}

/* ellipsoid radius: < 1 inside */
static double ell(double x, double y, double z, double cx, double cy, double cz, double ax, double ay, double az)
{
	return sqrt(sq((x - cx) / ax) + sq((y - cy) / ay) + sq((z - cz) / az));
}

/* Cerebrum, cerebellum and brainstem as deformed ellipsoids; a folded grey
 * matter shell (sulci are level lines of a random wave field), ventricles,
 * deep grey nuclei and the interhemispheric fissure.  Classes at 1 mm,
 * then blurred into partial-volume fractions. */
static int template_procedural(template_t *t)
{
	const int nx = 181, ny = 217, nz = 181;
	const double ox = -90, oy = -125, oz = -71;
	size_t n = (size_t)nx * ny * nz;
	float *cls;
	waves surf, fold, cfold;
	rng r;
	int x, y, z, c, pass;

	rng_seed(&r, 0x5eedb7a1u);
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
static void template_blur(template_t *t, int axis)
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

/* BR_PHANTOM_DUMP=FILE writes the template's four channels (CSF, GM, WM,
 * vessels; 0-255) as one 4-D record, to look at. */
static void template_dump(const template_t *t)
{
	const char *path = getenv("BR_PHANTOM_DUMP");
	size_t n = (size_t)t->nx * t->ny * t->nz, i;
	br_vol *v;
	int c;

	if (path == NULL || *path == '\0')
		return;
	v = br_vol_new(BR_U8, t->nx, t->ny, t->nz, 4);
	if (v == NULL)
		br_die(path, "%s", br_error());
	for (c = 0; c < 4; c++)
		for (i = 0; i < n; i++)
			((uint8_t *)v->data)[c * n + i] = t->f[4 * i + c];
	if (br_vol_write(path, v, 1) < 0)
		br_die(path, "%s", br_error());
	br_vol_free(v);
}

/* Common to both brains: a thin layer of CSF around the brain (the
 * subarachnoid space, bright on T2), vessels in the CSF spaces (curves
 * where two random fields vanish, plus the superior sagittal sinus; they
 * enhance on T1ce), a little blur, and the bounding box. */
static void template_finish(template_t *t)
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
		br_die(NULL, "out of memory");
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
	if (ztop == NULL)
		br_die(NULL, "out of memory");
	for (j = 0; j < t->nx * t->ny; j++) {
		int z;
		ztop[j] = -1;
		for (z = t->nz - 1; z >= 0 && ztop[j] < 0; z--) {
			const uint8_t *p = t->f + 4 * ((size_t)z * t->nx * t->ny + j);
			if (p[0] + p[1] + p[2] != 0)
				ztop[j] = z;
		}
	}
	rng_seed(&r, 0xa11ce5u);
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
					br_die(NULL, "out of memory");
				t->pts = np2;
			}
			for (i = 0; i < 3; i++)
				t->pts[3 * t->npts + i] = (float)(vox2mni[i][0] * x + vox2mni[i][1] * y + vox2mni[i][2] * z +
								  vox2mni[i][3]);
			t->npts++;
		}
	}
	template_dump(t);
}

static void template_load(template_t *t)
{
	const char *path = getenv("BR_PHANTOM_TEMPLATE");
	br_vol *v;

	memset(t, 0, sizeof *t);
	if (path == NULL || *path == '\0')
		path = DEFAULT_TEMPLATE;
	v = br_vol_read(path);
	if (v != NULL && template_from_t1(t, v) == 0) {
		br_vol_free(v);
		br_msg(2, "template %s: %dx%dx%d", path, t->nx, t->ny, t->nz);
		template_finish(t);
		return;
	}
	br_vol_free(v);
	template_free(t);
	br_msg(1, "%s: %s; using the procedural brain", path, br_error());
	if (template_procedural(t) < 0)
		br_die(NULL, "procedural brain: %s", br_error());
	template_finish(t);
}

/* Trilinear sample of the four template channels at template voxel (x,y,z);
 * 0 outside the grid. */
static inline void template_at(const template_t *t, double x, double y, double z, float out[4])
{
	int x0, y0, z0, c;
	float wx, wy, wz;
	const uint8_t *p;
	size_t sx = 4, sy = 4 * (size_t)t->nx, sz = sy * t->ny;

	out[0] = out[1] = out[2] = out[3] = 0;
	if (!(x >= 0 && y >= 0 && z >= 0 && x < t->nx - 1 && y < t->ny - 1 && z < t->nz - 1))
		return;
	x0 = (int)x;
	y0 = (int)y;
	z0 = (int)z;
	wx = (float)(x - x0);
	wy = (float)(y - y0);
	wz = (float)(z - z0);
	p = t->f + z0 * sz + y0 * sy + x0 * sx;
	for (c = 0; c < 4; c++) {
		float a = p[c] + wx * (p[c + sx] - p[c]);
		float b = p[c + sy] + wx * (p[c + sy + sx] - p[c + sy]);
		float d = p[c + sz] + wx * (p[c + sz + sx] - p[c + sz]);
		float e = p[c + sz + sy] + wx * (p[c + sz + sy + sx] - p[c + sz + sy]);
		a += wy * (b - a);
		d += wy * (e - d);
		out[c] = (a + wz * (d - a)) * (1.0f / 255);
	}
}

/* ---- a case -------------------------------------------------------------- */

enum { C_CSF, C_GM, C_WM, C_ED, C_NCR, C_ET, C_NET, C_VES, NCLASS };
enum { M_T1, M_T1CE, M_T2, M_FLAIR, NMOD };
/* tumour kinds: which parts it has */
enum { K_FULL, K_SOLID, K_NONENH, K_NOEDEMA, K_EDEMA, NKIND };

/* mean intensities relative to white matter */
static const double base_mu[NMOD][NCLASS] = {
	/*          CSF   GM    WM   ED    NCR   ET    NET   vessel */
	[M_T1] = {0.36, 0.82, 1.0, 0.72, 0.45, 0.84, 0.64, 0.70},
	[M_T1CE] = {0.38, 0.86, 1.0, 0.76, 0.42, 1.85, 0.70, 2.80},
	[M_T2] = {3.80, 1.35, 1.0, 2.30, 2.90, 1.90, 2.40, 0.50},
	[M_FLAIR] = {0.24, 1.18, 1.0, 2.00, 1.10, 1.60, 1.80, 0.60},
};

#define MAXTUM 3
typedef struct {
	int kind;
	double c[3][3];       /* centres of the WT, TC and NCR ellipsoids, voxels */
	double q[3][3];       /* rotation (rows: ellipsoid axes) */
	double ax[3][3];      /* semi-axes per layer, mm */
	double rmean[3];      /* mean radius per layer, mm */
	double amp[3];        /* shape perturbation per layer */
	double mass;          /* mass effect radius a (mm), 0 for none */
	double mcen[3];       /* centre of the mass effect */
	int lo[3], hi[3];     /* bounding box, voxels (inclusive) */
	lattice noise;        /* 4 channels: WT, TC, NCR shape noise, texture */
} tumour;

typedef struct {
	uint64_t key;         /* noise stream */
	double a[3][4];       /* BraTS voxel -> template voxel */
	double mni[3][4];     /* BraTS voxel -> MNI mm (no displacement) */
	double d2t[3][3];     /* MNI displacement (mm) -> template voxels */
	lattice fields;       /* 8 channels: displacement x y z (MNI mm), bias per modality, texture */
	double texamp;        /* tissue texture amplitude */
	double mu[NMOD][NCLASS];
	double level[NMOD], sigma[NMOD];
	double tex[NCLASS];
	int ntum;
	tumour t[MAXTUM];
} case_t;

static void case_free(case_t *cs)
{
	int i;

	free(cs->fields.v);
	cs->fields.v = NULL;
	for (i = 0; i < cs->ntum; i++) {
		free(cs->t[i].noise.v);
		cs->t[i].noise.v = NULL;
	}
	cs->ntum = 0;
}

/* Map BraTS voxel (i,j,k) (after the mass effect) into the template. */
static inline void to_template(const case_t *cs, const float d[3], double i, double j, double k, double out[3])
{
	int r;

	for (r = 0; r < 3; r++)
		out[r] = cs->a[r][0] * i + cs->a[r][1] * j + cs->a[r][2] * k + cs->a[r][3] +
			 cs->d2t[r][0] * d[0] + cs->d2t[r][1] * d[1] + cs->d2t[r][2] * d[2];
}

/* Tissue fractions (CSF, GM, WM, spare) at BraTS voxel (i,j,k), no tumours. */
static void tissue_at(const case_t *cs, const template_t *tp, double i, double j, double k, float f[4])
{
	float fl[8];
	double p[3];

	lattice_at(&cs->fields, i, j, k, fl);
	to_template(cs, fl, i, j, k, p);
	template_at(tp, p[0], p[1], p[2], f);
}

static double smoothstep(double e0, double e1, double x)
{
	double t = (x - e0) / (e1 - e0);

	t = t < 0 ? 0 : t > 1 ? 1 : t;
	return t * t * (3 - 2 * t);
}

/* Mass effect: tissue pushed away from the tumour core, volume preserving
 * near it (r0^3 = r^3 - a^3), fading out by 3.5 a.  Moves p in place;
 * returns 1 when it did. */
static inline int mass_effect(const tumour *t, double p[3])
{
	double dx = p[0] - t->mcen[0], dy = p[1] - t->mcen[1], dz = p[2] - t->mcen[2];
	double r2 = dx * dx + dy * dy + dz * dz, a = t->mass, r, r0, s;

	if (a <= 0 || r2 >= sq(3.5 * a))
		return 0;
	r = sqrt(r2);
	if (r < a) {
		s = 0;
	} else {
		r0 = cbrt(r * r * r - a * a * a);
		r0 = r - (r - r0) * (1 - smoothstep(1.5 * a, 3.5 * a, r));
		s = r0 / r;
	}
	p[0] = t->mcen[0] + dx * s;
	p[1] = t->mcen[1] + dy * s;
	p[2] = t->mcen[2] + dz * s;
	return 1;
}

/* Normalised radius of layer l of tumour t at p: < 1 inside. */
static inline double layer_rho(const tumour *t, int l, const double p[3], float noise)
{
	double d[3], s = 0;
	int a;

	d[0] = p[0] - t->c[l][0];
	d[1] = p[1] - t->c[l][1];
	d[2] = p[2] - t->c[l][2];
	for (a = 0; a < 3; a++) {
		double u = (t->q[a][0] * d[0] + t->q[a][1] * d[1] + t->q[a][2] * d[2]) / t->ax[l][a];
		s += u * u;
	}
	s = sqrt(s);
	noise = 1 + (float)t->amp[l] * noise;
	return s * (noise > 0.6f ? noise : 0.6f);
}

/* Draw one tumour of whole-tumour volume vol (cm^3) centred in white
 * matter of hemisphere hemi (+1 right, -1 left, 0 any), away from the
 * others.  Returns 0, or -1 when no place was found. */
static int random_kind(rng *r)
{
	double k = urand(r);

	return k < 0.50 ? K_FULL : k < 0.66 ? K_SOLID : k < 0.84 ? K_NONENH : k < 0.93 ? K_NOEDEMA : K_EDEMA;
}

static int tumour_place(case_t *cs, const template_t *tp, rng *r, tumour *t, double vol, int hemi, int kind)
{
	double rw = cbrt(3 * vol * 1000 / (4 * M_PI)), u[3], rtc, rn, lo[3], hi[3], ext;
	int tries, l, a, ok, m;

	memset(t, 0, sizeof *t);
	t->kind = kind;
	unit_vector(r, u);
	rotation(t->q, u, uniform(r, 0, M_PI));
	rtc = rw / uniform(r, 1.25, 2.0);
	if (t->kind == K_NOEDEMA)
		rtc = rw / uniform(r, 1.0, 1.1);
	rn = rtc * uniform(r, 0.4, 0.75);
	if (t->kind == K_SOLID && rtc > 15) /* large enhancing tumours are necrotic */
		t->kind = K_FULL;
	for (a = 0; a < 3; a++) {
		double e = uniform(r, 0.75, 1.3);
		t->ax[0][a] = rw * e;
		t->ax[1][a] = rtc * e * uniform(r, 0.85, 1.15);
		t->ax[2][a] = rn * e * uniform(r, 0.85, 1.15);
	}
	for (l = 0; l < 3; l++)
		t->rmean[l] = cbrt(t->ax[l][0] * t->ax[l][1] * t->ax[l][2]);
	t->amp[0] = uniform(r, 0.18, 0.32);
	t->amp[1] = uniform(r, 0.10, 0.20);
	t->amp[2] = uniform(r, 0.12, 0.25);
	t->mass = urand(r) < 0.6 && t->kind != K_EDEMA ? rtc * uniform(r, 0.4, 0.8) : 0;
	/* the place: white matter, supratentorial slab, inside the brain */
	for (tries = 0; tries < 2000; tries++) {
		double c[3], p[3];
		float f[4];
		c[0] = uniform(r, 55, 185);
		c[1] = uniform(r, 40, 200);
		c[2] = uniform(r, 54, 104);
		if (hemi != 0) {
			double xm = cs->mni[0][0] * c[0] + cs->mni[0][1] * c[1] + cs->mni[0][2] * c[2] + cs->mni[0][3];
			if (xm * hemi < 6)
				continue;
		}
		tissue_at(cs, tp, c[0], c[1], c[2], f);
		if (f[2] < 0.7f)
			continue;
		ok = 1;
		for (m = 0; m < 6 && ok; m++) {
			p[0] = c[0];
			p[1] = c[1];
			p[2] = c[2];
			p[m / 2] += (m & 1 ? -1 : 1) * 0.8 * rtc;
			tissue_at(cs, tp, p[0], p[1], p[2], f);
			if (f[0] + f[1] + f[2] < 0.9f)
				ok = 0;
		}
		for (m = 0; m < cs->ntum && ok; m++)
			if (sqrt(sq(c[0] - cs->t[m].c[0][0]) + sq(c[1] - cs->t[m].c[0][1]) + sq(c[2] - cs->t[m].c[0][2])) <
			    0.8 * (rw + cs->t[m].rmean[0]))
				ok = 0;
		if (!ok)
			continue;
		for (a = 0; a < 3; a++) {
			t->c[0][a] = c[a];
			t->c[1][a] = c[a] + uniform(r, -0.2, 0.2) * (rw - rtc);
			t->c[2][a] = t->c[1][a] + uniform(r, -0.15, 0.15) * (rtc - rn);
			t->mcen[a] = t->c[1][a];
		}
		break;
	}
	if (tries == 2000)
		return -1;
	/* bounding box and the shape-noise lattice */
	ext = 0;
	for (l = 0; l < 3; l++) {
		double off = sqrt(sq(t->c[l][0] - t->c[0][0]) + sq(t->c[l][1] - t->c[0][1]) + sq(t->c[l][2] - t->c[0][2]));
		for (a = 0; a < 3; a++)
			if (off + t->ax[l][a] / 0.6 > ext) /* 0.6: layer_rho's smallest factor */
				ext = off + t->ax[l][a] / 0.6;
	}
	ext += 3;
	for (a = 0; a < 3; a++) {
		int n = a < 2 ? NX : NZ;
		lo[a] = floor(t->c[0][a] - ext);
		hi[a] = ceil(t->c[0][a] + ext);
		if (lo[a] < 0) lo[a] = 0;
		if (hi[a] > n - 1) hi[a] = n - 1;
		t->lo[a] = (int)lo[a];
		t->hi[a] = (int)hi[a];
	}
	if (lattice_new(&t->noise, 4, 2.0, lo, hi) < 0)
		return br_set_error("out of memory");
	{
		waves w;
		waves_init(&w, r, 8, 0.6 * rw, 2.5 * rw);
		lattice_fill(&t->noise, 0, &w, 1);
		waves_init(&w, r, 8, 0.6 * rtc, 2.5 * rtc);
		lattice_fill(&t->noise, 1, &w, 1);
		waves_init(&w, r, 8, 0.6 * rn, 2.5 * rn);
		lattice_fill(&t->noise, 2, &w, 1);
	}
	lattice_random(&t->noise, 3, r);
	return 0;
}

/* Everything about case number num but the voxels. */
static int case_make(case_t *cs, const template_t *tp, uint64_t seed, long num, int tmin, int tmax)
{
	rng r;
	uint64_t s = seed ^ mix64((uint64_t)num * 0x2545f4914f6cdd1dull + 0x1234567ull);
	double rot[3][3], u[3], sc[3], tr[3], cmni[3], wc[3], m[3][3], lo[3], hi[3], hemi;
	int i, j, mod, c, ntum, tries, pass, kind;
	waves w;

	memset(cs, 0, sizeof *cs);
	rng_seed(&r, s);
	cs->key = rng_next(&r);
	/* smooth displacement (MNI mm) and bias fields on a 4-voxel lattice */
	lo[0] = lo[1] = lo[2] = 0;
	hi[0] = NX - 1;
	hi[1] = NY - 1;
	hi[2] = NZ - 1;
	if (lattice_new(&cs->fields, 8, 4.0, lo, hi) < 0)
		return br_set_error("out of memory");
	{
		double damp = uniform(&r, 1.0, 2.5);
		for (c = 0; c < 3; c++) {
			waves_init(&w, &r, 6, 40, 110);
			lattice_fill(&cs->fields, c, &w, damp);
		}
	}
	for (mod = 0; mod < NMOD; mod++) {
		waves_init(&w, &r, 5, 120, 320);
		lattice_fill(&cs->fields, 3 + mod, &w, uniform(&r, 0.04, 0.12));
	}
	/* global geometry: BraTS world w = (-i, 239 - j, k); the brain centre
	 * (MNI cmni) lands at voxel (119.5, 119.5, 78) give or take a few mm */
	{
		double g = uniform(&r, 0.92, 1.05);
		sc[0] = 0.93 * g * uniform(&r, 0.97, 1.03);
		sc[1] = 0.91 * g * uniform(&r, 0.97, 1.03);
		sc[2] = 0.94 * g * uniform(&r, 0.97, 1.03);
	}
	unit_vector(&r, u);
	rotation(rot, u, uniform(&r, -1, 1) * 4 * M_PI / 180);
	for (i = 0; i < 3; i++)
		tr[i] = uniform(&r, -3, 3);
	cmni[0] = 0;
	cmni[1] = -17;
	cmni[2] = tp->procedural ? 6 : 10;
	wc[0] = -119.5 + tr[0];
	wc[1] = 239 - 119.5 + tr[1];
	wc[2] = 78 + tr[2];
	/* keep the brain inside the centre crop (x 48..191, y 32..207) with
	 * room for the displacement, and its top below the last slice: shrink,
	 * then shift, judging by a sample of the template's brain voxels */
	for (pass = 0; pass < 2; pass++) {
		double blo[3] = {1e9, 1e9, 1e9}, bhi[3] = {-1e9, -1e9, -1e9}, dg[3] = {-1, -1, 1}, o[3] = {0, 239, 0};
		size_t q;
		for (q = 0; q < tp->npts; q++) {
			const float *pt = tp->pts + 3 * q;
			double v[3];
			float dsp[8];
			for (i = 0; i < 3; i++) {
				double wv = wc[i];
				for (j = 0; j < 3; j++)
					wv += rot[i][j] * sc[j] * (pt[j] - cmni[j]);
				v[i] = dg[i] * (wv - o[i]);
			}
			/* where the displacement moves it, to first order */
			lattice_at(&cs->fields, v[0], v[1], v[2], dsp);
			for (i = 0; i < 3; i++) {
				for (j = 0; j < 3; j++)
					v[i] -= dg[i] * rot[i][j] * sc[j] * dsp[j];
				if (v[i] < blo[i]) blo[i] = v[i];
				if (v[i] > bhi[i]) bhi[i] = v[i];
			}
		}
		if (tp->npts == 0)
			break;
		if (pass == 0) {
			double f = 1;
			if (136 / (bhi[0] - blo[0]) < f) f = 136 / (bhi[0] - blo[0]);
			if (168 / (bhi[1] - blo[1]) < f) f = 168 / (bhi[1] - blo[1]);
			for (i = 0; i < 3; i++)
				sc[i] *= f;
			continue;
		}
		{
			double d[3] = {0, 0, 0};
			if (blo[0] < 51) d[0] = 51 - blo[0];
			if (bhi[0] > 188) d[0] = 188 - bhi[0];
			if (blo[1] < 35) d[1] = 35 - blo[1];
			if (bhi[1] > 204) d[1] = 204 - bhi[1];
			if (bhi[2] > 150) d[2] = 150 - bhi[2];
			for (i = 0; i < 3; i++)
				wc[i] += dg[i] * d[i];
		}
	}
	/* MNI = cmni + S^-1 R^T (w - wc); w = D v + o, D = diag(-1, -1, 1), o = (0, 239, 0) */
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			m[i][j] = rot[j][i] / sc[i];
	{
		double mv[3][4], dg[3] = {-1, -1, 1}, o[3] = {0, 239, 0};
		for (i = 0; i < 3; i++) {
			for (j = 0; j < 3; j++)
				mv[i][j] = m[i][j] * dg[j];
			mv[i][3] = cmni[i];
			for (j = 0; j < 3; j++)
				mv[i][3] += m[i][j] * (o[j] - wc[j]);
		}
		memcpy(cs->mni, mv, sizeof mv);
		/* then MNI -> template voxel */
		for (i = 0; i < 3; i++) {
			for (j = 0; j < 4; j++)
				cs->a[i][j] = tp->mni2vox[i][0] * mv[0][j] + tp->mni2vox[i][1] * mv[1][j] +
					      tp->mni2vox[i][2] * mv[2][j] + (j == 3 ? tp->mni2vox[i][3] : 0);
			for (j = 0; j < 3; j++)
				cs->d2t[i][j] = tp->mni2vox[i][j];
		}
	}
	lattice_random(&cs->fields, 7, &r);
	cs->texamp = uniform(&r, 0.01, 0.04);
	/* contrasts */
	for (mod = 0; mod < NMOD; mod++) {
		double mx = 0;
		for (c = 0; c < NCLASS; c++) {
			cs->mu[mod][c] = base_mu[mod][c] * (c == C_WM ? 1 : exp(0.06 * gauss(&r)));
			if (c <= C_WM && cs->mu[mod][c] > mx)
				mx = cs->mu[mod][c];
		}
		/* the healthy brain's maximum: 400 to 5000 (tumour and vessels go above) */
		cs->level[mod] = loguniform(&r, 400, 5000) / (mx * 1.15);
		cs->sigma[mod] = uniform(&r, 0.015, 0.035) * cs->level[mod];
	}
	cs->mu[M_T1CE][C_ET] = base_mu[M_T1CE][C_ET] * uniform(&r, 0.85, 1.25);
	cs->tex[C_ED] = 0.06;
	cs->tex[C_NCR] = 0.15;
	cs->tex[C_ET] = 0.12;
	cs->tex[C_NET] = 0.10;
	/* tumours */
	ntum = tmin + (int)(urand(&r) * (tmax - tmin + 1));
	if (ntum > tmax)
		ntum = tmax;
	hemi = urand(&r) < 0.5 ? -1 : 1;
	/* which parts the tumours have (necrosis, enhancement, edema): mostly
	 * the same within a case, so that every combination of labels occurs */
	kind = random_kind(&r);
	for (i = 0; i < ntum; i++) {
		double vol = i == 0 ? loguniform(&r, 12, 170) : loguniform(&r, 4, 40);
		int h = urand(&r) < 0.85 ? (int)hemi : 0;
		for (tries = 0; tries < 4; tries++, vol *= 0.6) {
			int rc = tumour_place(cs, tp, &r, &cs->t[cs->ntum], vol, h, urand(&r) < 0.8 ? kind : random_kind(&r));
			if (rc == 0)
				break;
			free(cs->t[cs->ntum].noise.v);
			cs->t[cs->ntum].noise.v = NULL;
		}
		if (tries < 4) {
			const tumour *t = &cs->t[cs->ntum];
			br_msg(3, "case %ld tumour %d: kind %d, centre %.0f %.0f %.0f, radii %.1f %.1f %.1f mm, mass %.1f",
			       num, cs->ntum, t->kind, t->c[0][0], t->c[0][1], t->c[0][2], t->rmean[0], t->rmean[1],
			       t->rmean[2], t->mass);
			cs->ntum++;
		}
	}
	if (cs->ntum < tmin)
		return br_set_error("no place for a tumour in this brain");
	return 0;
}

/* Per-voxel tumour fractions at p (voxels, before the mass effect). */
typedef struct {
	float ncr, net, et, ed, tex, depth;
} tumour_frac;

static inline void tumour_at(const case_t *cs, const double p[3], const float tis[3], tumour_frac *tf)
{
	int n;

	memset(tf, 0, sizeof *tf);
	for (n = 0; n < cs->ntum; n++) {
		const tumour *t = &cs->t[n];
		float nz[4];
		double rw, rt, rn, sw, st, sn, tw, w = 1.2;
		if (p[0] < t->lo[0] || p[0] > t->hi[0] || p[1] < t->lo[1] || p[1] > t->hi[1] || p[2] < t->lo[2] ||
		    p[2] > t->hi[2])
			continue;
		lattice_at(&t->noise, p[0], p[1], p[2], nz);
		rw = layer_rho(t, 0, p, nz[0]);
		rt = layer_rho(t, 1, p, nz[1]);
		rn = layer_rho(t, 2, p, nz[2]);
		/* edema follows white matter: shorter reach in grey matter, none in CSF */
		tw = 1 - 0.35 * tis[1] - 1.0 * tis[0];
		st = t->kind == K_EDEMA ? 0 : 0.5 + (1 - rt) * t->rmean[1] / w;
		sn = 0.5 + (1 - rn) * t->rmean[2] / w;
		sw = 0.5 + (tw - rw) * t->rmean[0] / w;
		st = st < 0 ? 0 : st > 1 ? 1 : st;
		sn = sn < 0 ? 0 : sn > 1 ? 1 : sn;
		sw = sw < 0 ? 0 : sw > 1 ? 1 : sw;
		if (t->kind == K_SOLID)
			sn = 0;
		if (t->kind == K_NONENH)
			sn = st;
		if (sn > st)
			sn = st;
		if (t->kind == K_NOEDEMA)
			sw = st;
		if (sw < st)
			sw = st;
		if (sw <= 0)
			continue;
		if (t->kind == K_NONENH) {
			if (sn > tf->net) tf->net = (float)sn;
		} else if (sn > tf->ncr) {
			tf->ncr = (float)sn;
		}
		if (st - sn > tf->et) tf->et = (float)(st - sn);
		if (sw - st > tf->ed) tf->ed = (float)(sw - st);
		tf->tex = nz[3];
		{
			double dp = (tw - rw) / 0.25;
			dp = dp < 0 ? 0 : dp > 1 ? 1 : dp;
			if (dp > tf->depth) tf->depth = (float)dp;
		}
	}
}

/* The voxels of slices z0 .. z0+nz-1: images (4 int16 volumes) and labels. */
static void case_render(const case_t *cs, const template_t *tp, int z0, int nz, int16_t *img[NMOD], uint8_t *seg,
			int et_label)
{
	const size_t plane = (size_t)NX * NY;
	int k;
	/* conservative box of the brain in the output grid is not needed: a
	 * cheap affine-only test with a margin skips most background voxels */
	const double margin = 14;

#pragma omp parallel for schedule(dynamic, 1)
	for (k = z0; k < z0 + nz; k++) {
		int i, j, mod, n;
		for (j = 0; j < NY; j++)
			for (i = 0; i < NX; i++) {
				size_t o = (size_t)(k - z0) * plane + (size_t)j * NX + i;
				size_t gidx = (size_t)k * plane + (size_t)j * NX + i;
				double p[3], q[3], t0[3], tx, ty, tz, mix[NMOD], tot;
				int moved;
				float fl[8], f[4], tis[3], sum, ves, edge;
				tumour_frac tf;
				uint64_t h1, h2;
				uint8_t lab = 0;

				for (mod = 0; mod < NMOD; mod++)
					img[mod][o] = 0;
				seg[o] = 0;
				tx = cs->a[0][0] * i + cs->a[0][1] * j + cs->a[0][2] * k + cs->a[0][3];
				ty = cs->a[1][0] * i + cs->a[1][1] * j + cs->a[1][2] * k + cs->a[1][3];
				tz = cs->a[2][0] * i + cs->a[2][1] * j + cs->a[2][2] * k + cs->a[2][3];
				if (tx < tp->lo[0] - margin || tx > tp->hi[0] + margin || ty < tp->lo[1] - margin ||
				    ty > tp->hi[1] + margin || tz < tp->lo[2] - margin || tz > tp->hi[2] + margin)
					continue;
				p[0] = q[0] = i;
				p[1] = q[1] = j;
				p[2] = q[2] = k;
				moved = 0;
				for (n = 0; n < cs->ntum; n++)
					moved |= mass_effect(&cs->t[n], q);
				/* displacement and bias at the voxel (smooth: the mass
				 * effect's few mm do not matter to them) */
				lattice_at(&cs->fields, p[0], p[1], p[2], fl);
				to_template(cs, fl, p[0], p[1], p[2], t0);
				template_at(tp, t0[0], t0[1], t0[2], f);
				/* the brain's outline does not move; the tissue inside does */
				edge = f[0] + f[1] + f[2];
				if (edge < 0.5f)
					continue;
				/* the outermost voxels are dimmer, as after skull stripping */
				edge = (float)(0.4 + 0.6 * smoothstep(0.5, 0.95, edge));
				if (moved) {
					to_template(cs, fl, q[0], q[1], q[2], t0);
					template_at(tp, t0[0], t0[1], t0[2], f);
				}
				sum = f[0] + f[1] + f[2];
				if (sum < 0.05f) {
					f[0] = sum = 1;
					f[1] = f[2] = f[3] = 0;
				}
				tis[0] = f[0] / sum;
				tis[1] = f[1] / sum;
				tis[2] = f[2] / sum;
				ves = f[3] / sum;
				tumour_at(cs, p, tis, &tf);
				tot = tf.ncr + tf.net + tf.et + tf.ed;
				if (tot > 1) {
					tf.ncr /= tot;
					tf.net /= tot;
					tf.et /= tot;
					tf.ed /= tot;
					tot = 1;
				}
				if (tf.ncr + tf.net >= 0.5f)
					lab = 1;
				else if (tf.ncr + tf.net + tf.et >= 0.5f)
					lab = (uint8_t)(tf.et > 0 ? et_label : 1);
				else if (tot >= 0.5)
					lab = 2;
				seg[o] = lab;
				for (mod = 0; mod < NMOD; mod++) {
					const double *mu = cs->mu[mod];
					double ed = mu[C_WM] + (mu[C_ED] - mu[C_WM]) * (0.7 + 0.3 * tf.depth);
					double tx1 = tf.tex;
					mix[mod] = (1 - tot) * ((tis[0] - ves) * mu[C_CSF] + ves * mu[C_VES] + tis[1] * mu[C_GM] +
							      tis[2] * mu[C_WM]) +
						   tf.ed * ed * (1 + cs->tex[C_ED] * tx1) +
						   tf.ncr * mu[C_NCR] * (1 + cs->tex[C_NCR] * tx1) +
						   tf.net * mu[C_NET] * (1 + cs->tex[C_NET] * tx1) +
						   tf.et * mu[C_ET] * (1 - cs->tex[C_ET] * tx1);
					mix[mod] *= cs->level[mod] * edge * exp(fl[3 + mod]) * (1 + cs->texamp * fl[7]);
				}
				/* Rician noise: |s + n1 + i n2|, deviates from a hash of (case, voxel) */
				h1 = mix64(cs->key ^ (gidx * 2 + 0) * 0x9e3779b97f4a7c15ull);
				h2 = mix64(cs->key ^ (gidx * 2 + 1) * 0x9e3779b97f4a7c15ull);
				for (mod = 0; mod < NMOD; mod++) {
					uint64_t h = mod < 2 ? h1 >> (32 * mod) : h2 >> (32 * (mod - 2));
					double g1 = gauss_table[h & 0xffff], g2 = gauss_table[(h >> 16) & 0xffff];
					double re = mix[mod] + cs->sigma[mod] * g1, im = cs->sigma[mod] * g2;
					long v = lround(sqrt(re * re + im * im));
					img[mod][o] = (int16_t)(v < 1 ? 1 : v > 32767 ? 32767 : v);
				}
			}
	}
}

/* ---- output -------------------------------------------------------------- */


struct layout {
	int y2023, noseg, small;
};

static void case_name(char *buf, size_t n, const struct layout *L, long num)
{
	if (L->y2023)
		snprintf(buf, n, "BraTS-GLI-%05ld-000", num);
	else
		snprintf(buf, n, "BraTS20_%s_%03ld", L->noseg ? "Validation" : "Training", num);
}

static const char *suffix_2020[] = {"t1", "t1ce", "t2", "flair", "seg"};
static const char *suffix_2023[] = {"t1n", "t1c", "t2w", "t2f", "seg"};

static void set_geometry(br_vol *v, int z0, const char *name, const char *content)
{
	memset(v->affine, 0, sizeof v->affine);
	v->affine[0][0] = -1;
	v->affine[1][1] = -1;
	v->affine[1][3] = 239;
	v->affine[2][2] = 1;
	v->affine[2][3] = z0;
	v->affine[3][3] = 1;
	if (br_meta_set(v, BR_KEY_QFORM_CODE, "1") < 0 || br_meta_set(v, BR_KEY_SFORM_CODE, "1") < 0 ||
	    br_meta_set(v, BR_KEY_CASE, name) < 0 || br_meta_set(v, BR_KEY_CONTENT, content) < 0)
		br_die(NULL, "%s", br_error());
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char *p = strdup(path), *s;
	struct stat st;
	int rc = 0;

	if (p == NULL)
		return br_set_error("out of memory");
	for (s = p + (p[0] != '\0'); rc == 0; s++) { /* an empty path: one mkdir(""), which fails */
		if (*s != '/' && *s != '\0')
			continue;
		{
			char ch = *s;
			*s = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST)
				rc = br_set_error("cannot create %s: %s", p, strerror(errno));
			else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
				rc = br_set_error("%s is not a directory", p);
			*s = ch;
			if (ch == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

/* Write the files of one case; on failure remove what was written and the
 * folder when this call created it, and die. */
static void case_write(const char *dir, const char *name, const struct layout *L, br_vol *vols[5])
{
	char *cdir, *paths[5], errs[5][512];
	const char **suf = L->y2023 ? suffix_2023 : suffix_2020;
	int nfiles = L->noseg ? 4 : 5, created = 0, f, bad = -1;
	size_t len = strlen(dir) + 2 * strlen(name) + 32;

	cdir = malloc(len);
	if (cdir == NULL)
		br_die(NULL, "out of memory");
	snprintf(cdir, len, "%s/%s", dir, name);
	if (mkdir(cdir, 0777) == 0) {
		created = 1;
	} else {
		struct stat st;
		if (errno != EEXIST)
			br_die(cdir, "cannot create the case folder: %s", strerror(errno));
		if (stat(cdir, &st) != 0 || !S_ISDIR(st.st_mode))
			br_die(cdir, "exists and is not a folder");
	}
	for (f = 0; f < nfiles; f++) {
		paths[f] = malloc(len);
		if (paths[f] == NULL)
			br_die(NULL, "out of memory");
		/* BraTS 2023 joins name and suffix with a dash */
		snprintf(paths[f], len, "%s/%s%c%s.nii.gz", cdir, name, L->y2023 ? '-' : '_', suf[f]);
		errs[f][0] = '\0';
	}
	/* one file per thread: gzip is the slow part */
#pragma omp parallel for schedule(dynamic, 1)
	for (f = 0; f < nfiles; f++) {
		br_writer *w = br_writer_open(paths[f], 1);
		int rc = -1;
		if (w != NULL && br_writer_put(w, vols[f]) == 0)
			rc = br_writer_close(w);
		else if (w != NULL)
			br_writer_abort(w);
		if (rc < 0)
			snprintf(errs[f], sizeof errs[f], "%s", br_error());
	}
	for (f = 0; f < nfiles; f++)
		if (errs[f][0] != '\0' && bad < 0)
			bad = f;
	if (bad >= 0) {
		for (f = 0; f < nfiles; f++)
			if (errs[f][0] == '\0')
				unlink(paths[f]);
		if (created)
			rmdir(cdir);
		br_die(paths[bad], "%s", errs[bad]);
	}
	for (f = 0; f < nfiles; f++)
		free(paths[f]);
	free(cdir);
}

static void parse_tumours(const char *s, int *a, int *b)
{
	char *end;
	long x, y;

	errno = 0;
	x = strtol(s, &end, 10);
	y = x;
	if (end != s && *end == '-') {
		const char *s2 = end + 1;
		y = strtol(s2, &end, 10);
		if (end == s2)
			end = (char *)s; /* bad */
	}
	if (end == s || *end != '\0' || errno != 0 || x < 0 || y < x || y > MAXTUM)
		br_usage_error("--tumours: '%s' is not A or A-B with 0 <= A <= B <= %d", s, MAXTUM);
	*a = (int)x;
	*b = (int)y;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"seed", required_argument, 0, OPT_SEED},
		{"layout", required_argument, 0, OPT_LAYOUT},
		{"first", required_argument, 0, OPT_FIRST},
		{"size", required_argument, 0, OPT_SIZE},
		{"tumours", required_argument, 0, OPT_TUMOURS},
		{"no-seg", no_argument, 0, OPT_NOSEG},
		{0, 0, 0, 0},
	};
	const char *dir = NULL;
	long n = 1, first = 1, seed = 1, c, maxnum;
	int opt, tmin = 1, tmax = 3, z0 = 0, nz = NZ, mod;
	struct layout L = {0, 0, 0};
	template_t tp;
	br_vol *vols[5];
	int16_t *img[NMOD];
	double t0;

	br_tool_init("brats-phantom", usage);
	while ((opt = getopt_long(argc, argv, BR_COMMON_SHORT "n:o:", longopts, NULL)) != -1) {
		if (opt != '?' && opt != ':' && br_common_option(opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			n = br_parse_long(optarg, "-n", 1, 99999);
			break;
		case 'o':
			dir = optarg;
			break;
		case OPT_SEED:
			seed = br_parse_long(optarg, "--seed", 0, INT64_MAX);
			break;
		case OPT_LAYOUT:
			L.y2023 = br_parse_choice(optarg, "--layout", (const char *const[]){"brats2020", "brats2023", NULL});
			break;
		case OPT_FIRST:
			first = br_parse_long(optarg, "--first", 0, 99999);
			break;
		case OPT_SIZE:
			L.small = br_parse_choice(optarg, "--size", (const char *const[]){"full", "small", NULL});
			break;
		case OPT_TUMOURS:
			parse_tumours(optarg, &tmin, &tmax);
			break;
		case OPT_NOSEG:
			L.noseg = 1;
			break;
		default:
			if (optopt != 0 && optopt < 256)
				br_usage_error("option -%c: %s", optopt,
					       strchr(BR_COMMON_SHORT "n:o:", optopt) ? "needs a value" : "unknown option");
			br_usage_error("%s: unknown option or missing value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		br_usage_error("unexpected argument '%s'", argv[optind]);
	if (dir == NULL || dir[0] == '\0')
		br_usage_error("no output folder (-o DIR)");
	maxnum = L.y2023 ? 99999 : 999;
	if (first + n - 1 > maxnum)
		br_usage_error("cases %ld to %ld do not fit %d digits", first, first + n - 1, L.y2023 ? 5 : 3);
#ifdef _OPENMP
	if (br_opt.threads > 0)
		omp_set_num_threads(br_opt.threads);
#endif
	if (L.small) {
		z0 = SMALL_Z0;
		nz = SMALL_NZ;
	}
	if (make_dirs(dir) < 0)
		br_die(dir, "%s", br_error());
	if (access(dir, W_OK) != 0)
		br_die(dir, "not writable: %s", strerror(errno));
	gauss_table_init();
	template_load(&tp);
	for (mod = 0; mod < 5; mod++) {
		vols[mod] = br_vol_new(mod < NMOD ? BR_I16 : BR_U8, NX, NY, nz, 1);
		if (vols[mod] == NULL)
			br_die(NULL, "%s", br_error());
	}
	for (mod = 0; mod < NMOD; mod++)
		img[mod] = vols[mod]->data;
	for (c = 0; c < n; c++) {
		long num = first + c;
		char name[64];
		case_t cs;
		double wt = 0;

		t0 = br_now();
		case_name(name, sizeof name, &L, num);
		br_progress("%s (%ld/%ld)", name, c + 1, n);
		if (case_make(&cs, &tp, (uint64_t)seed, num, tmin, tmax) < 0)
			br_die(name, "%s", br_error());
		case_render(&cs, &tp, z0, nz, img, vols[4]->data, L.y2023 ? 3 : 4);
		for (mod = 0; mod < 5; mod++)
			set_geometry(vols[mod], z0, name, mod < NMOD ? "image" : "labels");
		case_write(dir, name, &L, vols);
		if (br_opt.verbose >= 2) {
			const uint8_t *s = vols[4]->data;
			size_t i, nv = br_vol_nvox(vols[4]);
			for (i = 0; i < nv; i++)
				wt += s[i] != 0;
			br_progress_end();
			br_msg(2, "%s: %d tumour%s, whole tumour %.1f cm3, %.2f s", name, cs.ntum,
			       cs.ntum == 1 ? "" : "s", wt / 1000, br_now() - t0);
		}
		case_free(&cs);
	}
	br_progress_end();
	for (mod = 0; mod < 5; mod++)
		br_vol_free(vols[mod]);
	template_free(&tp);
	return 0;
}
