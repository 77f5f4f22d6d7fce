/*
 * edt.h - exact Euclidean distance transform in linear time.
 *
 * Felzenszwalb & Huttenlocher, "Distance transforms of sampled functions"
 * (Theory of Computing 8, 2012): the squared distance is separable, so one
 * pass along x (nearest feature in the row) and one lower envelope of
 * parabolas along y and then z give, for every voxel, the squared distance
 * to the nearest feature voxel, exactly, in O(voxels).  Anisotropic voxels
 * are handled by scaling each axis by its spacing, as
 * scipy.ndimage.distance_transform_edt(..., sampling=spacing) does.
 */
#ifndef BR_EDT_H
#define BR_EDT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* feature: (nz, ny, nx) bytes, nonzero = feature voxel.
 * d: (nz, ny, nx) squared distances in spacing units squared (mm^2) from
 * each voxel to the nearest feature voxel; 0 on features; INFINITY
 * everywhere when there is no feature voxel.
 * sp: spacing along x, y, z.  Returns 0, or -1 when memory runs out. */
int br_edt_sq(double *d, const uint8_t *feature, int64_t nx, int64_t ny, int64_t nz, const double sp[3]);

/* The same squared distances, at query voxels only, for sparse sets such
 * as surfaces: feature and query voxels are given as raster indexes
 * x + nx*(y + ny*z) in increasing order; out[k] is the squared distance
 * from query[k] to the nearest feature (INFINITY when there is none).
 * The work grows with the feature rows and slices and the query columns,
 * not with the box volume: O(nx*ny + nfeature + nquery + S*(X*R + C)) for
 * S feature slices of at most R feature rows, X query xs, C query columns.
 * Returns 0, or -1 when memory runs out. */
int br_edt_sq_points(double *out, const int64_t *feature, int64_t nfeature, const int64_t *query, int64_t nquery,
		     int64_t nx, int64_t ny, int64_t nz, const double sp[3]);

/* One line of the transform: out[q] = min_p (sp*(q-p))^2 + f[p] over the
 * n samples of f (INFINITY entries are not sites).  v: n ints, z: n+1
 * doubles of scratch.  out and f must not overlap. */
void br_edt_line(double *out, const double *f, int64_t n, double sp, int64_t *v, double *z);

#ifdef __cplusplus
}
#endif

#endif /* BR_EDT_H */
