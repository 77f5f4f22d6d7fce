/*
 * phantom_internal.h - what phantom.c (the cases) and phantom_template.c
 * (the brain template) share: the template's layout, the random draws built
 * on rng.h, and smooth random fields made of plane waves.
 */
#ifndef BR_PHANTOM_INTERNAL_H
#define BR_PHANTOM_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "phantom.h"
#include "rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The BraTS grid. */
#define NX BR_PHANTOM_NX
#define NY BR_PHANTOM_NY
#define NZ BR_PHANTOM_NZ

/* Partial-volume fractions CSF, GM, WM (sum 255 inside the brain, 0 outside)
 * and the part of the CSF that is vessels, four bytes per voxel, on a grid in
 * MNI space; and the table of normal deviates behind the voxel noise. */
struct br_phantom_template {
	int nx, ny, nz;
	uint8_t *f;           /* (z, y, x, 4) */
	double mni2vox[3][4]; /* MNI mm -> template voxel */
	double lo[3], hi[3];  /* brain bounding box, template voxels */
	float *pts;           /* a sample of brain voxels, MNI mm (x y z) */
	size_t npts;
	int procedural;
	/* Standard normal deviates indexed by 16 random bits (inverse CDF at
	 * bin centres). */
	float gauss[65536];
};

static inline double sq(double x)
{
	return x * x;
}

/* ---- random draws from one xoshiro256** stream ---------------------------- */

typedef struct {
	uint64_t s[4];
} rng;

/* uniform in [0, 1) */
static inline double urand(rng *r)
{
	return br_unit_double(br_xoshiro256_next(r->s));
}

static inline double uniform(rng *r, double a, double b)
{
	return a + (b - a) * urand(r);
}

static inline double loguniform(rng *r, double a, double b)
{
	return exp(uniform(r, log(a), log(b)));
}

static inline double gauss(rng *r)
{
	double u = urand(r), v = urand(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* random unit vector */
static inline void unit_vector(rng *r, double v[3])
{
	double z = uniform(r, -1, 1), a = uniform(r, 0, 2 * M_PI), s = sqrt(1 - z * z);

	v[0] = s * cos(a);
	v[1] = s * sin(a);
	v[2] = z;
}

/* ---- smooth random fields ------------------------------------------------- */

/* A sum of random plane waves, normalised to unit variance. */
#define MAXMODES 8
typedef struct {
	int n;
	double w[MAXMODES][3], phase[MAXMODES], amp[MAXMODES];
} waves;

static inline void waves_init(waves *f, rng *r, int n, double lmin, double lmax)
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

static inline double waves_eval(const waves *f, double x, double y, double z)
{
	double s = 0;
	int k;

	for (k = 0; k < f->n; k++)
		s += f->amp[k] * sin(f->w[k][0] * x + f->w[k][1] * y + f->w[k][2] * z + f->phase[k]);
	return s;
}

/* Trilinear interpolation between the corners vZYX of a cell at weights
 * (wx, wy, wz) in [0, 1]. */
static inline float trilerp(float v000, float v001, float v010, float v011, float v100, float v101, float v110,
			    float v111, float wx, float wy, float wz)
{
	float a = v000 + wx * (v001 - v000);
	float b = v010 + wx * (v011 - v010);
	float d = v100 + wx * (v101 - v100);
	float e = v110 + wx * (v111 - v110);

	a += wy * (b - a);
	d += wy * (e - d);
	return a + wz * (d - a);
}

/* Trilinear sample of the four template channels at template voxel (x,y,z);
 * 0 outside the grid. */
static inline void template_at(const br_phantom_template *t, double x, double y, double z, float out[4])
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
	for (c = 0; c < 4; c++)
		out[c] = trilerp(p[c], p[c + sx], p[c + sy], p[c + sy + sx], p[c + sz], p[c + sz + sx], p[c + sz + sy],
				 p[c + sz + sy + sx], wx, wy, wz) *
			 (1.0f / 255);
}

#endif /* BR_PHANTOM_INTERNAL_H */
