/*
 * predict.h - whole-case prediction with one or several networks
 * (ensemble), optionally averaged with the left-right flipped input (TTA),
 * and the label map of doc/MODEL.md assembled from the four probabilities.
 *
 * A case stays in backend memory from its upload to its label map: the
 * record goes up once, each batch of slices is cut out of it on the device
 * (br_slices_gather), the heads' probabilities are summed into a device
 * record (br_slices_scatter_sigmoid), the label map is made there
 * (br_labels_assemble), and only what was asked for comes down: 1 byte per
 * voxel for the labels, 16 for the probabilities.  On the CPU backend the
 * same ops run on the host record itself, without copies.
 */
#ifndef BR_PREDICT_H
#define BR_PREDICT_H

#include <stdint.h>

#include "r2u.h"
#include "volume.h"

typedef struct r2u_predictor r2u_predictor;

/* models: all made on one context, kept by the caller; slices run in
 * batches of up to batch.  Its buffers grow to the largest case seen and
 * are kept for the next (a cohort in one process).  NULL with msg set. */
r2u_predictor *r2u_predictor_new(r2u **models, int nmodels, int tta, int batch, char *msg, size_t msglen);
void r2u_predictor_free(r2u_predictor *p);
/* on: record each model's forward pass at each batch size once and launch
 * the recording from then on (CUDA graphs: one launch instead of hundreds);
 * nothing on the CPU backend.  Falls back to running the calls where a
 * pass cannot be recorded. */
void r2u_predictor_graphs(r2u_predictor *p, int on);

/* img: float32 record (W, H, Z, 4), channels t1, t1ce, t2, flair.
 * probs (host, (W, H, Z, 4) float32, channels wt, ncr, ed, et; or NULL):
 * the mean of the sigmoid probabilities over the models (and the flip with
 * tta).  labels (host, (W, H, Z) uint8; or NULL): the label map of
 * doc/MODEL.md (wt_only: 1 for tumour, else 0).  -1 with msg set. */
int r2u_predictor_run(r2u_predictor *p, const br_vol *img, float *probs, uint8_t *labels, int wt_only, char *msg,
		      size_t msglen);

#endif /* BR_PREDICT_H */
