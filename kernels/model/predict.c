/*
 * predict.c - whole-case prediction (batches of axial slices, ensembles,
 * flip averaging) and the label map assembled from the heads.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

/* mirror each row of n planes of h x w floats in place */
static void flip_rows(float *p, size_t planes, int h, int w)
{
	size_t r;
	int x;
	float t;

	for (r = 0; r < planes * (size_t)h; r++) {
		float *row = p + r * (size_t)w;
		for (x = 0; x < w / 2; x++) {
			t = row[x];
			row[x] = row[w - 1 - x];
			row[w - 1 - x] = t;
		}
	}
}

int r2u_predict(r2u **models, int nmodels, const br_vol *img, int tta, int batch, float *probs, char *msg,
		size_t msglen)
{
	int w = (int)img->dim[0], h = (int)img->dim[1], nz = (int)img->dim[2];
	size_t hw = (size_t)h * w, nvox = hw * (size_t)nz;
	const float *src = img->data;
	float *x = NULL, *out = NULL;
	int z0, k, f, i, c, nb, rc = -1;
	double scale = 1.0 / (nmodels * (tta ? 2 : 1));

	if (img->dtype != BR_F32 || img->dim[3] != 4) {
		snprintf(msg, msglen, "expected a float32 record with 4 channels (t1, t1ce, t2, flair)");
		return -1;
	}
	if (h % 8 != 0 || w % 8 != 0) {
		snprintf(msg, msglen, "slices of %d x %d: height and width must be multiples of 8", h, w);
		return -1;
	}
	if (batch < 1)
		batch = 1;
	if (batch > nz)
		batch = nz;
	/* staging memory of the first model's device (pinned on a GPU) */
	x = br_host_alloc(r2u_ctx(models[0]), (size_t)batch * 4 * hw * sizeof *x);
	out = malloc((size_t)batch * 4 * hw * sizeof *out);
	if (x == NULL || out == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto done;
	}
	memset(probs, 0, nvox * 4 * sizeof *probs);
	for (z0 = 0; z0 < nz; z0 += batch) {
		nb = nz - z0 < batch ? nz - z0 : batch;
		for (f = 0; f < (tta ? 2 : 1); f++) {
			/* (nb, 4, h, w) from the planar record */
			for (i = 0; i < nb; i++)
				for (c = 0; c < 4; c++)
					memcpy(x + ((size_t)i * 4 + c) * hw, src + (size_t)c * nvox + (size_t)(z0 + i) * hw,
					       hw * sizeof *x);
			if (f == 1)
				flip_rows(x, (size_t)nb * 4, h, w);
			for (k = 0; k < nmodels; k++) {
				if (r2u_forward(models[k], x, nb, h, w, 0, 0.0f, 0) < 0 || r2u_download(models[k], out, 1) < 0) {
					snprintf(msg, msglen, "%s", r2u_error(models[k]));
					goto done;
				}
				if (f == 1)
					flip_rows(out, (size_t)nb * 4, h, w);
				for (i = 0; i < nb; i++)
					for (c = 0; c < 4; c++) {
						float *d = probs + (size_t)c * nvox + (size_t)(z0 + i) * hw;
						const float *s = out + ((size_t)i * 4 + c) * hw;
						size_t j;
						for (j = 0; j < hw; j++)
							d[j] += (float)(s[j] * scale);
					}
			}
		}
	}
	rc = 0;
done:
	br_host_free(r2u_ctx(models[0]), x);
	free(out);
	return rc;
}

void r2u_assemble(uint8_t *labels, const float *probs, size_t nvox, int wt_only)
{
	const float *wt = probs, *ncr = probs + nvox, *et = probs + 3 * nvox;
	size_t i;

	for (i = 0; i < nvox; i++) {
		if (!(wt[i] >= 0.5f))
			labels[i] = 0;
		else if (wt_only)
			labels[i] = 1;
		else if (et[i] >= 0.5f)
			labels[i] = 4;
		else if (ncr[i] >= 0.5f)
			labels[i] = 1;
		else
			labels[i] = 2;
	}
}
