/*
 * predict.c - whole-case prediction (batches of axial slices, ensembles,
 * flip averaging) and the label map, in backend memory (predict.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

/* A recorded forward pass of one model at one batch size (CUDA graphs). */
struct rec_pass {
	int model, nb;
	int state;      /* 0: ran once without recording; 1: recorded (g); -1: recording failed, never again */
	br_graph *g;
	const void *x;  /* the input tensor's memory when recorded */
};

struct r2u_predictor {
	int graphs;             /* record the forward passes (r2u_predictor_graphs) */
	struct rec_pass rp[32];
	int nrp;
	r2u **models;
	int nmodels, tta, batch;
	br_ctx *ctx;
	int on_host;     /* CPU backend: backend memory is host memory */
	size_t cap;      /* voxels the device buffers hold */
	float *rec;      /* the case, (4, nvox) planar (device) */
	float *probs;    /* the summed probabilities, (4, nvox) (device; host when on_host) */
	uint8_t *labels; /* the label map (device) */
};

r2u_predictor *r2u_predictor_new(r2u **models, int nmodels, int tta, int batch, char *msg, size_t msglen)
{
	r2u_predictor *p;
	int k;

	if (nmodels < 1) {
		snprintf(msg, msglen, "no model");
		return NULL;
	}
	for (k = 1; k < nmodels; k++)
		if (r2u_ctx(models[k]) != r2u_ctx(models[0])) {
			snprintf(msg, msglen, "the models of an ensemble must share one device context");
			return NULL;
		}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	p->models = models;
	p->nmodels = nmodels;
	p->tta = tta;
	p->batch = batch < 1 ? 1 : batch;
	p->ctx = r2u_ctx(models[0]);
	p->on_host = br_ctx_device(p->ctx) == BR_DEV_CPU;
	return p;
}

void r2u_predictor_graphs(r2u_predictor *p, int on) { p->graphs = on && !p->on_host; }

void r2u_predictor_free(r2u_predictor *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nrp; i++)
		br_graph_free(p->ctx, p->rp[i].g);
	br_free(p->ctx, p->rec);
	br_free(p->ctx, p->probs);
	br_free(p->ctx, p->labels);
	free(p);
}

/* device buffers for nvox voxels */
static int reserve(r2u_predictor *p, size_t nvox, char *msg, size_t msglen)
{
	if (nvox <= p->cap)
		return 0;
	br_free(p->ctx, p->rec);
	br_free(p->ctx, p->probs);
	br_free(p->ctx, p->labels);
	p->rec = p->probs = NULL;
	p->labels = NULL;
	p->cap = 0;
	p->probs = br_malloc(p->ctx, 4 * nvox * sizeof(float));
	if (!p->on_host) {
		p->rec = br_malloc(p->ctx, 4 * nvox * sizeof(float));
		p->labels = br_malloc(p->ctx, nvox);
	}
	if (p->probs == NULL || (!p->on_host && (p->rec == NULL || p->labels == NULL))) {
		snprintf(msg, msglen, "out of %s memory for a case of %zu voxels", p->on_host ? "host" : "device", nvox);
		return -1;
	}
	p->cap = nvox;
	return 0;
}

/* The forward pass of model k on its input (filled): without graphs as it
 * comes; with graphs, the first pass of a batch size runs as it comes (cuDNN
 * plans chosen, scratch memory sized), the second is recorded and launched,
 * the later ones launched.  A recording that fails, or a graph gone stale,
 * falls back to running the calls. */
static int forward(r2u_predictor *p, int k, const br_tensor *x, int nb, int h, int w)
{
	r2u *m = p->models[k];
	struct rec_pass *r = NULL;
	int i;

	if (p->graphs) {
		for (i = 0; i < p->nrp; i++)
			if (p->rp[i].model == k && p->rp[i].nb == nb)
				r = &p->rp[i];
		if (r == NULL && p->nrp < (int)(sizeof p->rp / sizeof p->rp[0])) {
			r = &p->rp[p->nrp++];
			memset(r, 0, sizeof *r);
			r->model = k;
			r->nb = nb;
			return r2u_forward(m, NULL, nb, h, w, 0, 0.0f, 0); /* state 0: ran once */
		}
		if (r != NULL && r->state == 1) {
			if (r->x == x->data && br_graph_launch(p->ctx, r->g) == 0)
				return 0;
			br_graph_free(p->ctx, r->g); /* stale: record again next time */
			r->g = NULL;
			r->state = 0;
		} else if (r != NULL && r->state == 0) {
			br_graph *g = NULL;
			if (br_graph_begin(p->ctx) == 0) {
				int rc = r2u_forward(m, NULL, nb, h, w, 0, 0.0f, 0);
				if (br_graph_end(p->ctx, &g) == 0 && rc == 0) {
					r->g = g;
					r->x = x->data;
					r->state = 1;
					if (br_graph_launch(p->ctx, g) == 0)
						return 0;
				}
				br_graph_free(p->ctx, g);
				r->g = NULL;
			}
			r->state = -1; /* this pass cannot be recorded: as it comes from now on */
		}
	}
	return r2u_forward(m, NULL, nb, h, w, 0, 0.0f, 0);
}

#define TRY(ctx, call)                                                           \
	do {                                                                     \
		if ((call) < 0) {                                                \
			snprintf(msg, msglen, "%s", br_ctx_error(ctx));          \
			return -1;                                               \
		}                                                                \
	} while (0)

int r2u_predictor_run(r2u_predictor *p, const br_vol *img, float *probs, uint8_t *labels, int wt_only, char *msg,
		      size_t msglen)
{
	int w = (int)img->dim[0], h = (int)img->dim[1], nz = (int)img->dim[2];
	size_t nvox = (size_t)h * w * (size_t)nz;
	double scale = 1.0 / (p->nmodels * (p->tta ? 2 : 1));
	const float *rec;
	float *sum;
	int z0, f, k, head, batch = p->batch < nz ? p->batch : nz;
	br_ctx *ctx = p->ctx;

	if (img->dtype != BR_F32 || img->dim[3] != 4) {
		snprintf(msg, msglen, "expected a float32 record with 4 channels (t1, t1ce, t2, flair)");
		return -1;
	}
	if (h % 8 != 0 || w % 8 != 0) {
		snprintf(msg, msglen, "slices of %d x %d: height and width must be multiples of 8", h, w);
		return -1;
	}
	if (nz < 1)
		return 0;
	if (reserve(p, p->on_host && probs != NULL ? 0 : nvox, msg, msglen) < 0)
		return -1;
	if (p->on_host) {
		rec = img->data;
		sum = probs != NULL ? probs : p->probs;
	} else {
		TRY(ctx, br_memcpy_h2d(ctx, p->rec, img->data, 4 * nvox * sizeof(float)));
		rec = p->rec;
		sum = p->probs;
	}
	for (z0 = 0; z0 < nz; z0 += batch) {
		int nb = nz - z0 < batch ? nz - z0 : batch;
		for (f = 0; f < (p->tta ? 2 : 1); f++)
			for (k = 0; k < p->nmodels; k++) {
				r2u *m = p->models[k];
				br_tensor *x = r2u_input(m, nb, h, w);
				if (x == NULL) {
					snprintf(msg, msglen, "%s", r2u_error(m));
					return -1;
				}
				TRY(ctx, br_slices_gather(ctx, x, rec, nz, z0, f));
				if (forward(p, k, x, nb, h, w) < 0) {
					snprintf(msg, msglen, "%s", r2u_error(m));
					return -1;
				}
				for (head = 0; head < R2U_NHEAD; head++)
					/* the first pass writes: no zeroing pass over the sums */
					TRY(ctx, br_slices_scatter_sigmoid(ctx, sum, head, R2U_NHEAD, nz, r2u_logits(m, head), z0,
									   f, scale, f > 0 || k > 0));
			}
	}
	if (labels != NULL) {
		if (p->on_host) {
			TRY(ctx, br_labels_assemble(ctx, labels, sum, nvox, wt_only));
		} else {
			TRY(ctx, br_labels_assemble(ctx, p->labels, sum, nvox, wt_only));
			TRY(ctx, br_memcpy_d2h(ctx, labels, p->labels, nvox));
		}
	}
	if (probs != NULL && !p->on_host)
		TRY(ctx, br_memcpy_d2h(ctx, probs, sum, 4 * nvox * sizeof(float)));
	return br_sync(ctx) < 0 ? (snprintf(msg, msglen, "%s", br_ctx_error(ctx)), -1) : 0;
}
