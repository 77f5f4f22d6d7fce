/*
 * predict.h - whole-case prediction with one or several networks
 * (ensemble), optionally averaged with the left-right flipped input (TTA),
 * and the label map of MODEL.md assembled from the four probabilities.
 */
#ifndef BR_PREDICT_H
#define BR_PREDICT_H

#include <stdint.h>

#include "r2u.h"
#include "volume.h"

/* img: float32 record (W, H, Z, 4) with channels t1, t1ce, t2, flair.
 * probs: (W, H, Z, 4) float32 output, channels wt, ncr, ed, et: the mean
 * of the sigmoid probabilities over the models (and the flip when tta).
 * Slices are run in batches of up to batch.  -1 with msg set on failure. */
int r2u_predict(r2u **models, int nmodels, const br_vol *img, int tta, int batch, float *probs, char *msg,
		size_t msglen);

/* MODEL.md: tumour when p_wt >= 0.5; then 4 if p_et >= 0.5, else 1 if
 * p_ncr >= 0.5, else 2; 0 elsewhere.  wt_only: 1 for tumour, else 0.
 * probs: (nvox, 4) planar as written by r2u_predict. */
void r2u_assemble(uint8_t *labels, const float *probs, size_t nvox, int wt_only);

#endif /* BR_PREDICT_H */
