/*
 * render.c - slices of records as pictures: orientation from the affine,
 * resampling to square pixels, windows, label colours, contours.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

int br_affine_axes(const double a[4][4], int world[3], int sign[3])
{
	double m[3][3], len;
	int used_v[3] = {0, 0, 0}, used_w[3] = {0, 0, 0};
	int i, j, k, bi, bj;

	/* direction cosines: the columns of the 3x3 part, normalised */
	for (j = 0; j < 3; j++) {
		len = sqrt(a[0][j] * a[0][j] + a[1][j] * a[1][j] + a[2][j] * a[2][j]);
		if (!(len > 0) || !isfinite(len))
			return br_set_error("the affine's voxel axis %c has no direction", "ijk"[j]);
		for (i = 0; i < 3; i++)
			m[i][j] = a[i][j] / len;
	}
	/* the largest cosine first, each voxel and world axis once */
	for (k = 0; k < 3; k++) {
		double best = -1;
		bi = bj = -1;
		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				if (!used_w[i] && !used_v[j] && fabs(m[i][j]) > best) {
					best = fabs(m[i][j]);
					bi = i;
					bj = j;
				}
		if (best <= 1e-6)
			return br_set_error("the affine is singular");
		used_w[bi] = used_v[bj] = 1;
		world[bj] = bi;
		sign[bj] = m[bi][bj] > 0 ? 1 : -1;
	}
	return 0;
}

int br_view_init(br_view *vw, const br_vol *v, int plane, int neurological, double zoom)
{
	/* per plane: the world axes across, along the columns and along the
	 * rows, and the world direction the columns and rows go (radiological) */
	static const int wn[3] = {2, 1, 0}, wh[3] = {0, 0, 1}, wv[3] = {1, 2, 2};
	static const int dh[3] = {-1, -1, -1}, dv[3] = {-1, -1, -1};
	int world[3], sign[3], vox_of[3], a, dir_h;
	double sp[3], pix, w, h;

	memset(vw, 0, sizeof *vw);
	if (plane < BR_AXIAL || plane > BR_SAGITTAL)
		return br_set_error("no such plane");
	if (br_affine_axes(v->affine, world, sign) < 0)
		return -1;
	for (a = 0; a < 3; a++)
		vox_of[world[a]] = a;
	br_affine_spacing(v->affine, sp);
	vw->plane = plane;
	vw->axis_n = vox_of[wn[plane]];
	vw->axis_h = vox_of[wh[plane]];
	vw->axis_v = vox_of[wv[plane]];
	/* columns run towards the patient's left (radiological) or right
	 * (neurological); in sagittal views towards posterior either way */
	dir_h = dh[plane];
	if (neurological && plane != BR_SAGITTAL)
		dir_h = -dir_h;
	vw->flip_h = sign[vw->axis_h] != dir_h;
	vw->flip_v = sign[vw->axis_v] != dv[plane];
	vw->sign_n = sign[vw->axis_n];
	vw->stride[0] = 1;
	vw->stride[1] = v->dim[0];
	vw->stride[2] = v->dim[0] * v->dim[1];
	vw->n_h = v->dim[vw->axis_h];
	vw->n_v = v->dim[vw->axis_v];
	vw->n_n = v->dim[vw->axis_n];
	pix = fmin(sp[vw->axis_h], sp[vw->axis_v]) / zoom;
	if (!(pix > 0))
		return br_set_error("the voxel spacing is zero");
	w = round((double)vw->n_h * sp[vw->axis_h] / pix);
	h = round((double)vw->n_v * sp[vw->axis_v] / pix);
	if (w > 32768 || h > 32768)
		return br_set_error("a %.0f x %.0f pixel slice is too large (spacing %g x %g mm)", w, h,
				    sp[vw->axis_h], sp[vw->axis_v]);
	vw->w = w < 1 ? 1 : (int)w;
	vw->h = h < 1 ? 1 : (int)h;
	return 0;
}

/* Voxel coordinate (continuous) along an axis of n voxels at pixel p of m. */
static double pixel_to_voxel(int p, int m, int64_t n, int flip)
{
	double u = ((double)p + 0.5) * (double)n / m - 0.5;

	if (u < 0)
		u = 0;
	if (u > (double)(n - 1))
		u = (double)(n - 1);
	return flip ? (double)(n - 1) - u : u;
}

static int64_t pixel_to_nearest(int p, int m, int64_t n, int flip)
{
	int64_t i = (int64_t)floor(((double)p + 0.5) * (double)n / m);

	if (i > n - 1)
		i = n - 1;
	return flip ? n - 1 - i : i;
}

void br_view_sample_f32(const br_view *vw, float *out, const float *vol, int64_t s)
{
	int64_t sh = vw->stride[vw->axis_h], sv = vw->stride[vw->axis_v];
	const float *base = vol + s * vw->stride[vw->axis_n];
	int x, y;

	for (y = 0; y < vw->h; y++) {
		double v = pixel_to_voxel(y, vw->h, vw->n_v, vw->flip_v), fv;
		int64_t v0 = (int64_t)floor(v), v1 = v0 + 1 < vw->n_v ? v0 + 1 : v0;
		fv = v - (double)v0;
		for (x = 0; x < vw->w; x++) {
			double u = pixel_to_voxel(x, vw->w, vw->n_h, vw->flip_h), fu;
			int64_t u0 = (int64_t)floor(u), u1 = u0 + 1 < vw->n_h ? u0 + 1 : u0;
			double a, b;
			fu = u - (double)u0;
			a = base[u0 * sh + v0 * sv] * (1 - fu) + base[u1 * sh + v0 * sv] * fu;
			b = base[u0 * sh + v1 * sv] * (1 - fu) + base[u1 * sh + v1 * sv] * fu;
			out[(size_t)y * vw->w + x] = (float)(a * (1 - fv) + b * fv);
		}
	}
}

void br_view_sample_u8(const br_view *vw, uint8_t *out, const uint8_t *lab, int64_t s)
{
	int64_t sh = vw->stride[vw->axis_h], sv = vw->stride[vw->axis_v];
	const uint8_t *base = lab + s * vw->stride[vw->axis_n];
	int x, y;

	for (y = 0; y < vw->h; y++) {
		int64_t v = pixel_to_nearest(y, vw->h, vw->n_v, vw->flip_v);
		for (x = 0; x < vw->w; x++)
			out[(size_t)y * vw->w + x] = base[pixel_to_nearest(x, vw->w, vw->n_h, vw->flip_h) * sh + v * sv];
	}
}

int br_view_extent(const br_view *vw, const uint8_t *nz, int64_t *first, int64_t *last)
{
	int64_t k, i, j, st = vw->stride[vw->axis_n];
	int64_t sa = vw->stride[vw->axis_h], sb = vw->stride[vw->axis_v];
	int found = 0;

	for (k = 0; k < vw->n_n; k++) {
		const uint8_t *p = nz + k * st;
		int any = 0;
		for (j = 0; j < vw->n_v && !any; j++)
			for (i = 0; i < vw->n_h; i++)
				if (p[i * sa + j * sb]) {
					any = 1;
					break;
				}
		if (any) {
			if (!found)
				*first = k;
			*last = k;
			found = 1;
		}
	}
	return found;
}

void br_label_colour(int label, uint8_t rgb[3])
{
	switch (label) {
	case 1: /* necrotic and non-enhancing tumour core */
		rgb[0] = 255, rgb[1] = 0, rgb[2] = 0;
		break;
	case 2: /* peritumoral oedema */
		rgb[0] = 0, rgb[1] = 255, rgb[2] = 0;
		break;
	case 3: /* enhancing tumour, BraTS 2023 */
	case 4: /* enhancing tumour, BraTS 2018-2021 */
		rgb[0] = 255, rgb[1] = 255, rgb[2] = 0;
		break;
	default:
		rgb[0] = rgb[1] = rgb[2] = 0;
	}
}

void br_draw_grey(uint8_t *rgb, const float *x, size_t n, double lo, double hi)
{
	double scale = hi > lo ? 255.0 / (hi - lo) : 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double g;
		if (hi > lo) {
			g = ((double)x[i] - lo) * scale + 0.5;
			g = g < 0 ? 0 : g > 255 ? 255 : g;
		} else {
			g = x[i] != 0 && x[i] >= hi ? 255 : 0;
		}
		rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (uint8_t)g;
	}
}

void br_draw_labels(uint8_t *rgb, const uint8_t *lab, size_t n, double alpha)
{
	size_t i;
	int c;
	uint8_t col[3];

	for (i = 0; i < n; i++) {
		if (lab[i] == 0)
			continue;
		br_label_colour(lab[i], col);
		for (c = 0; c < 3; c++)
			rgb[3 * i + c] = (uint8_t)lround((1 - alpha) * rgb[3 * i + c] + alpha * col[c]);
	}
}

static int is_edge(const uint8_t *lab, int w, int h, int x, int y)
{
	uint8_t l = lab[(size_t)y * w + x];

	if (l == 0)
		return 0;
	if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
		return 1;
	return lab[(size_t)y * w + x - 1] != l || lab[(size_t)y * w + x + 1] != l || lab[(size_t)(y - 1) * w + x] != l ||
	       lab[(size_t)(y + 1) * w + x] != l;
}

void br_label_edges(uint8_t *edge, const uint8_t *lab, int w, int h)
{
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			edge[(size_t)y * w + x] = (uint8_t)is_edge(lab, w, h, x, y);
}

void br_draw_contours(uint8_t *rgb, const uint8_t *lab, int w, int h, const uint8_t *colour)
{
	int x, y;
	uint8_t col[3];

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (!is_edge(lab, w, h, x, y))
				continue;
			if (colour != NULL)
				memcpy(col, colour, 3);
			else
				br_label_colour(lab[i], col);
			memcpy(rgb + 3 * i, col, 3);
		}
}

void br_blit(uint8_t *dst, int dw, int dx, int dy, const uint8_t *src, int sw, int sh)
{
	int y;

	for (y = 0; y < sh; y++)
		memcpy(dst + ((size_t)(dy + y) * dw + dx) * 3, src + (size_t)y * sw * 3, (size_t)sw * 3);
}
