/*
 * crop.h - crop boxes: cutting a record out of its grid and putting it back.
 *
 * A crop keeps every voxel's world position: the cropped record's affine is
 * the source affine with its origin moved to the box corner, and the record
 * carries the box and the source grid in its metadata ("crop",
 * "source_sizes", "source_affine"), so that brats-uncrop and brats-metrics
 * can restore it exactly.
 */
#ifndef BR_CROP_H
#define BR_CROP_H

#include <stdint.h>

#include "volume.h"

typedef struct {
	int64_t x0, y0, z0; /* corner in the source grid (may be negative) */
	int64_t nx, ny, nz; /* size */
} br_box;

/* The box of size nx x ny centred in the grid (BraTS: 144x176 -> x0 48, y0 32)
 * or, with brain != NULL, centred on the bounding box of brain's nonzero
 * voxels (any channel).  z covers the whole grid. */
br_box br_box_centred(const br_vol *grid, int64_t nx, int64_t ny, const br_vol *brain);

/* Cut box out of v (all channels) into a new record of dtype (values
 * converted; zeros where the box leaves the grid).  The affine is shifted
 * and the crop metadata set; a record that was itself cropped keeps its
 * original source grid and the boxes compose. */
br_vol *br_crop(const br_vol *v, br_box box, int dtype);

/* br_crop in two steps, for a record assembled from several sources: the
 * header of the box cut from v (sizes, shifted affine, v's metadata and the
 * crop's; nc channels of dtype; no data: br_vol_alloc gives it zeros), then
 * channel vc of v into channel c of it (o's type is v's or float32). */
br_vol *br_crop_header(const br_vol *v, br_box box, int dtype, int64_t nc);
int br_crop_into(br_vol *o, int64_t c, const br_vol *v, int64_t vc, br_box box);

/* The crop box of a cropped record relative to its source grid, from its
 * metadata; -1 with a reason when it has none. */
int br_box_from_meta(const br_vol *v, br_box *box, int64_t src_sizes[3], double src_affine[4][4]);

/* Put a cropped record back on the grid of ref (sizes and affine from ref,
 * NIfTI codes from ref), zeros outside the box, same dtype and channels as
 * rec.  The box comes from the metadata, or, without it, from the affines
 * (which must then differ by a whole-voxel shift).  Fails when rec was not
 * cropped from ref's grid. */
br_vol *br_uncrop(const br_vol *rec, const br_vol *ref);

#endif /* BR_CROP_H */
