/*
 * phantom.c - one synthetic BraTS case: its geometry, tumours and contrasts
 * drawn from the case's stream, then every voxel rendered from the template.
 */
#include <stdlib.h>
#include <string.h>

#include "phantom_internal.h"

/* rotation matrix from a random axis and an angle */
static void rotation(double m[3][3], const double ax[3], double ang)
{
	double c = cos(ang), s = sin(ang), t = 1 - c, x = ax[0], y = ax[1], z = ax[2];

	m[0][0] = t * x * x + c;     m[0][1] = t * x * y - s * z; m[0][2] = t * x * z + s * y;
	m[1][0] = t * x * y + s * z; m[1][1] = t * y * y + c;     m[1][2] = t * y * z - s * x;
	m[2][0] = t * x * z - s * y; m[2][1] = t * y * z + s * x; m[2][2] = t * z * z + c;
}

/* ---- smooth fields on a lattice -------------------------------------------- */

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
static int lattice_random(lattice *g, int c, rng *r)
{
	size_t n = (size_t)g->nx * g->ny * g->nz, i, st[3];
	float *a = malloc(n * sizeof *a);
	double ss = 0;
	int ax, x, y, z;

	if (a == NULL)
		return br_set_error("out of memory");
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
	return 0;
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
	for (c = 0; c < g->nc; c++)
		out[c] = trilerp(p[c], p[c + sx], p[c + sy], p[c + sy + sx], p[c + sz], p[c + sz + sx], p[c + sz + sy],
				 p[c + sz + sy + sx], wx, wy, wz);
}

/* ---- a case -------------------------------------------------------------- */

enum { C_CSF, C_GM, C_WM, C_ED, C_NCR, C_ET, C_NET, C_VES, NCLASS };
enum { M_T1 = BR_PHANTOM_T1, M_T1CE = BR_PHANTOM_T1CE, M_T2 = BR_PHANTOM_T2, M_FLAIR = BR_PHANTOM_FLAIR,
       NMOD = BR_PHANTOM_NMOD };
/* tumour kinds: which parts it has */
enum { K_FULL = BR_PHANTOM_FULL, K_SOLID = BR_PHANTOM_SOLID, K_NONENH = BR_PHANTOM_NONENH,
       K_NOEDEMA = BR_PHANTOM_NOEDEMA, K_EDEMA = BR_PHANTOM_EDEMA };

/* mean intensities relative to white matter */
static const double base_mu[NMOD][NCLASS] = {
	/*          CSF   GM    WM   ED    NCR   ET    NET   vessel */
	[M_T1] = {0.36, 0.82, 1.0, 0.72, 0.45, 0.84, 0.64, 0.70},
	[M_T1CE] = {0.38, 0.86, 1.0, 0.76, 0.42, 1.85, 0.70, 2.80},
	[M_T2] = {3.80, 1.35, 1.0, 2.30, 2.90, 1.90, 2.40, 0.50},
	[M_FLAIR] = {0.24, 1.18, 1.0, 2.00, 1.10, 1.60, 1.80, 0.60},
};

#define MAXTUM BR_PHANTOM_MAX_TUMOURS
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
static void tissue_at(const case_t *cs, const br_phantom_template *tp, double i, double j, double k, float f[4])
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

static int random_kind(rng *r)
{
	double k = urand(r);

	return k < 0.50 ? K_FULL : k < 0.66 ? K_SOLID : k < 0.84 ? K_NONENH : k < 0.93 ? K_NOEDEMA : K_EDEMA;
}

/* Draw one tumour of whole-tumour volume vol (cm^3) centred in white
 * matter of hemisphere hemi (+1 right, -1 left, 0 any), away from the
 * others.  Returns 0, 1 when no place was found, -1 on error. */
static int tumour_place(case_t *cs, const br_phantom_template *tp, rng *r, tumour *t, double vol, int hemi, int kind)
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
		return 1;
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
	return lattice_random(&t->noise, 3, r);
}

/* Everything about case number num but the voxels; on failure the caller
 * still frees cs with case_free. */
static int case_draw(case_t *cs, const br_phantom_template *tp, uint64_t seed, long num, int tmin, int tmax)
{
	rng r;
	uint64_t s = seed ^ br_mix64((uint64_t)num * 0x2545f4914f6cdd1dull + 0x1234567ull);
	double rot[3][3], u[3], sc[3], tr[3], cmni[3], wc[3], m[3][3], lo[3], hi[3], hemi;
	int i, j, mod, c, ntum, tries, pass, kind;
	waves w;

	memset(cs, 0, sizeof *cs);
	br_xoshiro256_seed(r.s, s);
	cs->key = br_xoshiro256_next(r.s);
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
	if (lattice_random(&cs->fields, 7, &r) < 0)
		return -1;
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
			if (rc < 0)
				return -1;
		}
		if (tries < 4)
			cs->ntum++;
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
static void case_render(const case_t *cs, const br_phantom_template *tp, int z0, int nz, int16_t *img[NMOD], uint8_t *seg,
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
				h1 = br_mix64(cs->key ^ (gidx * 2 + 0) * BR_RNG_GAMMA);
				h2 = br_mix64(cs->key ^ (gidx * 2 + 1) * BR_RNG_GAMMA);
				for (mod = 0; mod < NMOD; mod++) {
					uint64_t h = mod < 2 ? h1 >> (32 * mod) : h2 >> (32 * (mod - 2));
					double g1 = tp->gauss[h & 0xffff], g2 = tp->gauss[(h >> 16) & 0xffff];
					double re = mix[mod] + cs->sigma[mod] * g1, im = cs->sigma[mod] * g2;
					long v = lround(sqrt(re * re + im * im));
					img[mod][o] = (int16_t)(v < 1 ? 1 : v > 32767 ? 32767 : v);
				}
			}
	}
}

static int set_geometry(br_vol *v, int z0, const char *name, const char *content)
{
	memset(v->affine, 0, sizeof v->affine);
	v->affine[0][0] = -1;
	v->affine[1][1] = -1;
	v->affine[1][3] = 239;
	v->affine[2][2] = 1;
	v->affine[2][3] = z0;
	v->affine[3][3] = 1;
	if (br_meta_set(v, BR_KEY_QFORM_CODE, "1") < 0 || br_meta_set(v, BR_KEY_SFORM_CODE, "1") < 0 ||
	    (name != NULL && br_meta_set(v, BR_KEY_CASE, name) < 0) || br_meta_set(v, BR_KEY_CONTENT, content) < 0)
		return -1;
	return 0;
}

/* ---- the public functions ------------------------------------------------- */

void br_phantom_params_default(br_phantom_params *p)
{
	memset(p, 0, sizeof *p);
	p->seed = 1;
	p->number = 1;
	p->tumours_min = 1;
	p->tumours_max = 3;
	p->z0 = 0;
	p->nz = NZ;
	p->et_label = 4;
	p->name = NULL;
}

void br_phantom_case_free(br_phantom_case *c)
{
	int m;

	if (c == NULL)
		return;
	for (m = 0; m < NMOD; m++)
		br_vol_free(c->img[m]);
	br_vol_free(c->seg);
	free(c);
}

br_phantom_case *br_phantom_case_make(const br_phantom_template *tp, const br_phantom_params *p)
{
	br_phantom_case *c;
	case_t *cs;
	int16_t *img[NMOD];
	int m, n;

	if (p->tumours_min < 0 || p->tumours_max < p->tumours_min || p->tumours_max > MAXTUM) {
		br_set_error("between %d and %d tumours: not 0 <= A <= B <= %d", p->tumours_min, p->tumours_max, MAXTUM);
		return NULL;
	}
	if (p->z0 < 0 || p->nz < 1 || p->z0 > NZ - p->nz) {
		br_set_error("slices %d to %d: outside 0 to %d", p->z0, p->z0 + p->nz - 1, NZ - 1);
		return NULL;
	}
	if (p->et_label != 3 && p->et_label != 4) {
		br_set_error("enhancing tumour labelled %d: not 3 or 4", p->et_label);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	cs = calloc(1, sizeof *cs);
	if (c == NULL || cs == NULL) {
		free(c);
		free(cs);
		br_set_error("out of memory");
		return NULL;
	}
	for (m = 0; m < NMOD; m++)
		c->img[m] = br_vol_new(BR_I16, NX, NY, p->nz, 1);
	c->seg = br_vol_new(BR_U8, NX, NY, p->nz, 1);
	for (m = 0; m < NMOD; m++)
		if (c->img[m] == NULL)
			break;
	if (m < NMOD || c->seg == NULL || case_draw(cs, tp, p->seed, p->number, p->tumours_min, p->tumours_max) < 0) {
		case_free(cs);
		free(cs);
		br_phantom_case_free(c);
		return NULL;
	}
	for (m = 0; m < NMOD; m++)
		img[m] = c->img[m]->data;
	case_render(cs, tp, p->z0, p->nz, img, c->seg->data, p->et_label);
	c->ntumours = cs->ntum;
	for (n = 0; n < cs->ntum; n++) {
		const tumour *t = &cs->t[n];
		br_phantom_tumour *o = &c->tumour[n];
		o->kind = t->kind;
		memcpy(o->centre, t->c[0], sizeof o->centre);
		memcpy(o->radius, t->rmean, sizeof o->radius);
		o->mass = t->mass;
	}
	case_free(cs);
	free(cs);
	for (m = 0; m <= NMOD; m++)
		if (set_geometry(m < NMOD ? c->img[m] : c->seg, p->z0, p->name, m < NMOD ? "image" : "labels") < 0) {
			br_phantom_case_free(c);
			return NULL;
		}
	return c;
}
