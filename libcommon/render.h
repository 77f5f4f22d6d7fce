/*
 * render.h - pictures of slices: where a record's voxel axes point (from
 * its affine), slices resampled to square pixels in the radiological or
 * neurological convention, grey-level windows, label colours and contours.
 *
 * Pictures are 8-bit RGB, (h, w, 3) bytes with rows from the top, as
 * br_png_write takes them.  Views follow ITK-SNAP: axial with anterior up,
 * coronal and sagittal with superior up, sagittal with anterior on the
 * left; radiological axial and coronal views put the patient's left on the
 * picture's right, neurological ones on its left.
 */
#ifndef BR_RENDER_H
#define BR_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "volume.h"

#ifdef __cplusplus
extern "C" {
#endif

enum br_plane { BR_AXIAL = 0, BR_CORONAL = 1, BR_SAGITTAL = 2 };

/* For each voxel axis a: world[a], the world axis (0 R, 1 A, 2 S) it is
 * closest to, and sign[a], +1 when the index increasing goes towards R, A
 * or S, -1 towards L, P or I.  Each world axis is taken once (the largest
 * direction cosines first, as nibabel's io_orientation).  -1 when the 3x3
 * part of the affine is singular. */
int br_affine_axes(const double a[4][4], int world[3], int sign[3]);

/* The geometry of the picture of one plane of a record. */
typedef struct {
	int plane;                  /* enum br_plane */
	int axis_n, axis_h, axis_v; /* voxel axes across the plane, along the columns, along the rows */
	int flip_h, flip_v;         /* 1: the voxel index decreases left to right / top to bottom */
	int sign_n;                 /* +1: the index along axis_n increases towards R, A or S */
	int64_t stride[3];          /* of the voxel axes x, y, z in a volume */
	int64_t n_h, n_v, n_n;      /* voxels along the columns, the rows, across */
	int w, h;                   /* picture size, square pixels */
} br_view;

/* The view of plane of v, scaled so that a pixel is zoom times smaller than
 * v's smallest in-plane spacing (zoom 1: one pixel per voxel along the
 * finer axis).  -1 with a reason for a singular affine or a picture larger
 * than 32768 pixels a side. */
int br_view_init(br_view *vw, const br_vol *v, int plane, int neurological, double zoom);

/* out: (h, w) values of slice s (index along axis_n) of vol, a volume of
 * x*y*z floats, sampled bilinearly at the pixel centres. */
void br_view_sample_f32(const br_view *vw, float *out, const float *vol, int64_t s);
/* out: (h, w) labels of slice s of lab (x*y*z bytes), nearest voxel. */
void br_view_sample_u8(const br_view *vw, uint8_t *out, const uint8_t *lab, int64_t s);

/* The first and last slice index along axis_n where nz (x*y*z bytes) is
 * nonzero; 0 when it is zero everywhere. */
int br_view_extent(const br_view *vw, const uint8_t *nz, int64_t *first, int64_t *last);

/* Label colours, the usual BraTS convention: 1 (necrotic and non-enhancing
 * core) red, 2 (oedema) green, 4 (enhancing tumour; 3 in BraTS 2023)
 * yellow; anything else black. */
void br_label_colour(int label, uint8_t rgb[3]);

/* rgb: (n, 3) grey levels, lo and below black, hi and above white, linear
 * between; when hi <= lo, nonzero values of at least hi are white, the
 * rest black. */
void br_draw_grey(uint8_t *rgb, const float *x, size_t n, double lo, double hi);
/* Blend the colour of each nonzero label over rgb: (1-alpha)*rgb + alpha*colour. */
void br_draw_labels(uint8_t *rgb, const uint8_t *lab, size_t n, double alpha);
/* edge: (h, w) 1 where lab is nonzero and one of the 4 neighbours (outside
 * the picture counting as 0) has another label, else 0: the boundaries of
 * every label's regions, one pixel wide, inside the regions. */
void br_label_edges(uint8_t *edge, const uint8_t *lab, int w, int h);
/* Paint the edge pixels of lab: in colour, or in each label's colour when
 * colour is NULL. */
void br_draw_contours(uint8_t *rgb, const uint8_t *lab, int w, int h, const uint8_t *colour);

/* Copy a (sh, sw, 3) picture into dst (width dw) at column dx, row dy. */
void br_blit(uint8_t *dst, int dw, int dx, int dy, const uint8_t *src, int sw, int sh);

#ifdef __cplusplus
}
#endif

#endif /* BR_RENDER_H */
