/*
 * fuzz_safetensors - the safetensors reader and the checkpoint loader: every
 * tensor and metadata key handed out, the width check of r2u_peek_base, and
 * for a file that passes it at width 8, r2u_load into a network (weights
 * only, then with the training state).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "kernels.h"
#include "r2u.h"
#include "safetensors.h"
#include "volume.h"

static br_ctx *ctx;
static r2u *net;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = fz_file("in.safetensors", data, size);
	char err[512], notice[640];
	volatile unsigned sum = 0;
	br_st *st;
	r2u_state state;
	int i, base;

	if (p == NULL)
		return 0;
	st = br_st_read(p);
	if (st == NULL)
		return 0;
	for (i = 0; i < st->n; i++) {
		const br_st_tensor *t = &st->t[i];
		const unsigned char *b = t->data;
		if (t->end > t->begin)
			sum += b[0] + b[t->end - t->begin - 1];
		if (br_st_find(st, t->name) == NULL)
			abort();
	}
	for (i = 0; i < st->nmeta; i++)
		if (br_st_meta(st, st->meta_key[i]) == NULL)
			abort();
	br_st_free(st);
	if (r2u_peek_base(p, &base, err, sizeof err) < 0 || base != 8)
		return 0;
	if (net == NULL) {
		ctx = br_ctx_open("cpu", 1, BR_PREC_DEFAULT, notice, sizeof notice, err, sizeof err);
		if (ctx == NULL || (net = r2u_new(ctx, 8, 1, err, sizeof err)) == NULL) {
			fprintf(stderr, "fuzz_safetensors: %s\n", err);
			abort();
		}
	}
	(void)r2u_load(net, p, NULL);
	(void)r2u_load(net, p, &state);
	return 0;
}
