/*
 * labelmap.h - label maps as the tools take them: one channel, every value
 * a BraTS label of the year (0,1,2,4; with the 2023 labels 0,1,2,3), as
 * bytes.
 */
#ifndef BR_LABELMAP_H
#define BR_LABELMAP_H

#include "volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Check that v is a label map (one channel; labels as br_vol_check_labels)
 * and give it as a uint8 record: v itself when it is uint8 already, else a
 * new record of the same grid, labels and metadata that the caller frees
 * (v is left as it is).  NULL, with a reason in br_error(), when v is not a
 * label map or memory runs out. */
br_vol *br_vol_labels_u8(br_vol *v, int labels2023);

#ifdef __cplusplus
}
#endif

#endif /* BR_LABELMAP_H */
