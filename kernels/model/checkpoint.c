/*
 * checkpoint.c - R2U-MTDS weights as safetensors (MODEL.md), with Adam's
 * moments and the training state for resuming.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2u.h"
#include "r2u_internal.h"
#include "safetensors.h"
#include "volume.h"

static void shape_str(char *buf, size_t n, int ndim, const int64_t *s)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < ndim && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "x" : "", (long long)s[i]);
	if (ndim == 0)
		snprintf(buf, n, "scalar");
}

/* one of names (NULL-terminated) or -1 */
static int lookup(const char *s, const char *const *names)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* The variant from the metadata: a missing key is the paper's value, an
 * unknown value is refused, naming the values known. */
static int meta_variant(const br_st *st, r2u_variant *v, char *err, size_t errlen)
{
	const char *s;

	r2u_variant_paper(v);
	if ((s = br_st_meta(st, "block")) != NULL && (v->block = lookup(s, r2u_block_names)) < 0) {
		snprintf(err, errlen, "unknown network variant: block '%.64s' (known: apr, pre-res, pre-res-gated-skip)", s);
		return -1;
	}
	if ((s = br_st_meta(st, "supervision")) != NULL && (v->supervision = lookup(s, r2u_supervision_names)) < 0) {
		snprintf(err, errlen, "unknown network variant: supervision '%.64s' (known: multi, single, none)", s);
		return -1;
	}
	if ((s = br_st_meta(st, "se")) != NULL) {
		if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
			snprintf(err, errlen, "unknown network variant: se '%.64s' (known: 1, 0)", s);
			return -1;
		}
		v->se = s[0] == '1';
	}
	return 0;
}

/* a width written in the metadata: decimal digits only */
static int parse_width(const char *s, int *base)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*base = (int)v;
	return 0;
}

static int check_tensors(r2u *m, const br_st *st);

int r2u_peek(const char *path, int *base, r2u_variant *v, char *err, size_t errlen)
{
	br_st *st = br_st_read(path);
	const char *b, *arch;
	const br_st_tensor *t;
	r2u_variant tmp;
	r2u *chk;
	int rc = -1;

	if (v == NULL)
		v = &tmp;
	if (st == NULL) {
		snprintf(err, errlen, "%s", br_error());
		return -1;
	}
	arch = br_st_meta(st, "arch");
	if (arch != NULL && strcmp(arch, "r2u-mtds") != 0) {
		snprintf(err, errlen, "architecture '%s', not r2u-mtds", arch);
		br_st_free(st);
		return -1;
	}
	if (meta_variant(st, v, err, errlen) < 0) {
		br_st_free(st);
		return -1;
	}
	b = br_st_meta(st, "base");
	/* the first convolution: in an APR block, or a plain one (pre-res) */
	if ((t = br_st_find(st, "enc1.block.unit.conv1.weight")) == NULL)
		t = br_st_find(st, "enc1.block.conv1.weight");
	if (b != NULL) {
		if (parse_width(b, base) < 0) {
			snprintf(err, errlen, "bad base width '%.32s' in the checkpoint", b);
			br_st_free(st);
			return -1;
		}
	} else if (t != NULL && t->ndim == 4) {
		*base = t->shape[0] > 0 && t->shape[0] <= 4096 ? (int)t->shape[0] : 0;
	} else {
		snprintf(err, errlen, "not an R2U-MTDS checkpoint (no enc1.block.unit.conv1.weight)");
		br_st_free(st);
		return -1;
	}
	if (*base < 8 || *base % 8 != 0 || *base > 512) {
		snprintf(err, errlen, "bad base width %d in the checkpoint", *base);
		br_st_free(st);
		return -1;
	}
	/* every tensor against the width and variant, before anything of that
	 * size is built (the table alone allocates nothing) */
	chk = calloc(1, sizeof *chk);
	if (chk == NULL) {
		snprintf(err, errlen, "out of memory");
	} else {
		chk->base = *base;
		chk->var = *v;
		r2u_build_table(chk);
		if (check_tensors(chk, st) < 0)
			snprintf(err, errlen, "%s", chk->err);
		else
			rc = 0;
	}
	free(chk);
	br_st_free(st);
	return rc;
}

int r2u_peek_base(const char *path, int *base, char *err, size_t errlen)
{
	return r2u_peek(path, base, NULL, err, errlen);
}

static int find_param(const r2u *m, const char *name)
{
	int i;

	for (i = 0; i < m->np; i++)
		if (strcmp(m->p[i].name, name) == 0)
			return i;
	return -1;
}

/* a float32 tensor of the expected shape, or a message */
static const br_st_tensor *want(r2u *m, const br_st *st, const char *name, const r2u_param *p)
{
	const br_st_tensor *t = br_st_find(st, name);
	char a[64], b[64];
	int d, ok;

	if (t == NULL) {
		r2u_fail(m, "missing tensor '%s'", name);
		return NULL;
	}
	if (strcmp(t->dtype, "F32") != 0) {
		r2u_fail(m, "tensor '%s' has dtype %s, expected F32", name, t->dtype);
		return NULL;
	}
	ok = t->ndim == p->ndim;
	for (d = 0; ok && d < p->ndim; d++)
		ok = t->shape[d] == p->shape[d];
	if (!ok) {
		shape_str(a, sizeof a, t->ndim, t->shape);
		shape_str(b, sizeof b, p->ndim, p->shape);
		r2u_fail(m, "tensor '%s' has shape %s, expected %s for width %d", name, a, b, m->base);
		return NULL;
	}
	return t;
}

/* Every tensor of st against m's parameter table (only the table is
 * needed): no unknown names outside "optim.", every parameter present as
 * float32 of its shape, Adam's moments of a parameter of its shape. */
static int check_tensors(r2u *m, const br_st *st)
{
	int i, k;

	for (i = 0; i < st->n; i++) {
		const char *nm = st->t[i].name;
		if (strncmp(nm, "optim.", 6) == 0 || find_param(m, nm) >= 0)
			continue;
		return r2u_fail(m, "unexpected tensor '%s'%s", nm,
				strstr(nm, "num_batches_tracked") ? " (leave num_batches_tracked out of the state_dict)" : "");
	}
	for (i = 0; i < m->np; i++)
		if (want(m, st, m->p[i].name, &m->p[i]) == NULL)
			return -1;
	for (i = 0; i < st->n; i++) {
		const char *nm = st->t[i].name;
		if ((strncmp(nm, "optim.m.", 8) == 0 || strncmp(nm, "optim.v.", 8) == 0) &&
		    (k = find_param(m, nm + 8)) >= 0 && !m->p[k].running && want(m, st, nm, &m->p[k]) == NULL)
			return -1;
	}
	return 0;
}

int r2u_load(r2u *m, const char *path, r2u_state *state)
{
	br_st *st = br_st_read(path);
	const char *arch, *base, *s;
	float *hp = NULL, *hr = NULL, *hm = NULL, *hv = NULL;
	char name[128];
	int i, rc = -1;

	if (st == NULL)
		return r2u_fail(m, "%s", br_error());
	arch = br_st_meta(st, "arch");
	base = br_st_meta(st, "base");
	if (arch != NULL && strcmp(arch, "r2u-mtds") != 0) {
		r2u_fail(m, "architecture '%s', not r2u-mtds", arch);
		goto done;
	}
	if (base != NULL && (parse_width(base, &i) < 0 || i != m->base)) {
		r2u_fail(m, "width %.32s, the network has width %d", base, m->base);
		goto done;
	}
	{
		r2u_variant fv;
		char a[96], b[96], why[256];
		if (meta_variant(st, &fv, why, sizeof why) < 0) {
			r2u_fail(m, "%s", why);
			goto done;
		}
		if (memcmp(&fv, &m->var, sizeof fv) != 0) {
			r2u_variant_describe(&fv, a, sizeof a);
			r2u_variant_describe(&m->var, b, sizeof b);
			r2u_fail(m, "the checkpoint's network is %s; this one is %s", a, b);
			goto done;
		}
	}
	if (check_tensors(m, st) < 0)
		goto done;
	hp = malloc(m->ntrain * sizeof *hp);
	hr = malloc(m->nrun * sizeof *hr);
	if (state != NULL) {
		hm = malloc(m->ntrain * sizeof *hm);
		hv = malloc(m->ntrain * sizeof *hv);
	}
	if (hp == NULL || hr == NULL || (state != NULL && (hm == NULL || hv == NULL))) {
		r2u_fail(m, "out of memory");
		goto done;
	}
	for (i = 0; i < m->np; i++) {
		const r2u_param *p = &m->p[i];
		const br_st_tensor *t = want(m, st, p->name, p);
		if (t == NULL)
			goto done;
		memcpy((p->running ? hr : hp) + p->off, t->data, p->numel * sizeof(float));
		if (state == NULL || p->running)
			continue;
		snprintf(name, sizeof name, "optim.m.%s", p->name);
		if ((t = want(m, st, name, p)) == NULL)
			goto resume_missing;
		memcpy(hm + p->off, t->data, p->numel * sizeof(float));
		snprintf(name, sizeof name, "optim.v.%s", p->name);
		if ((t = want(m, st, name, p)) == NULL)
			goto resume_missing;
		memcpy(hv + p->off, t->data, p->numel * sizeof(float));
	}
	if (state != NULL) {
		memset(state, 0, sizeof *state);
		if ((s = br_st_meta(st, "epoch")) == NULL)
			goto resume_missing;
		state->epoch = strtoll(s, NULL, 10);
		if ((s = br_st_meta(st, "step")) == NULL)
			goto resume_missing;
		state->step = strtoll(s, NULL, 10);
		if ((s = br_st_meta(st, "pos")) != NULL)
			state->pos = strtoll(s, NULL, 10);
		state->best = (s = br_st_meta(st, "best")) != NULL ? strtod(s, NULL) : -1;
		if ((s = br_st_meta(st, "rng")) == NULL ||
		    sscanf(s, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &state->rng[0], &state->rng[1],
			   &state->rng[2], &state->rng[3]) != 4)
			goto resume_missing;
	}
	if (r2u_freeze(m, 0) < 0 || br_memcpy_h2d(m->ctx, m->params, hp, m->ntrain * sizeof *hp) < 0 ||
	    br_memcpy_h2d(m->ctx, m->run, hr, m->nrun * sizeof *hr) < 0 ||
	    (state != NULL && (br_memcpy_h2d(m->ctx, m->adam_m, hm, m->ntrain * sizeof *hm) < 0 ||
			       br_memcpy_h2d(m->ctx, m->adam_v, hv, m->ntrain * sizeof *hv) < 0)) ||
	    br_sync(m->ctx) < 0) {
		r2u_fail(m, "uploading the weights: %s", br_ctx_error(m->ctx));
		goto done;
	}
	rc = 0;
	goto done;
resume_missing:
	{
		char why[512];
		snprintf(why, sizeof why, "%s", m->err);
		r2u_fail(m, "no training state to resume from (a weights-only checkpoint?)%s%s", why[0] ? ": " : "", why);
	}
done:
	free(hp);
	free(hr);
	free(hm);
	free(hv);
	br_st_free(st);
	return rc;
}

int r2u_save(r2u *m, const char *path, const r2u_state *state, const char *const *kv)
{
	br_st_writer *w = br_st_writer_new();
	float *hp = NULL, *hr = NULL, *hm = NULL, *hv = NULL;
	char name[128], buf[160];
	int i, rc = -1;

	if (w == NULL)
		return r2u_fail(m, "out of memory");
	hp = malloc(m->ntrain * sizeof *hp);
	hr = malloc(m->nrun * sizeof *hr);
	if (state != NULL) {
		hm = malloc(m->ntrain * sizeof *hm);
		hv = malloc(m->ntrain * sizeof *hv);
	}
	if (hp == NULL || hr == NULL || (state != NULL && (hm == NULL || hv == NULL))) {
		r2u_fail(m, "out of memory");
		goto done;
	}
	if (br_memcpy_d2h(m->ctx, hp, m->params, m->ntrain * sizeof *hp) < 0 ||
	    br_memcpy_d2h(m->ctx, hr, m->run, m->nrun * sizeof *hr) < 0 ||
	    (state != NULL && (br_memcpy_d2h(m->ctx, hm, m->adam_m, m->ntrain * sizeof *hm) < 0 ||
			       br_memcpy_d2h(m->ctx, hv, m->adam_v, m->ntrain * sizeof *hv) < 0))) {
		r2u_fail(m, "downloading the weights: %s", br_ctx_error(m->ctx));
		goto done;
	}
	snprintf(buf, sizeof buf, "%d", m->base);
	if (br_st_add_meta(w, "arch", "r2u-mtds") < 0 || br_st_add_meta(w, "version", "1") < 0 ||
	    br_st_add_meta(w, "base", buf) < 0)
		goto st_fail;
	/* the variant, where it is not the paper's network */
	if ((m->var.block != R2U_BLOCK_APR && br_st_add_meta(w, "block", r2u_block_names[m->var.block]) < 0) ||
	    (m->var.supervision != R2U_SUP_MULTI &&
	     br_st_add_meta(w, "supervision", r2u_supervision_names[m->var.supervision]) < 0) ||
	    (!m->var.se && br_st_add_meta(w, "se", "0") < 0))
		goto st_fail;
	for (i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		if (br_st_add_meta(w, kv[i], kv[i + 1]) < 0)
			goto st_fail;
	for (i = 0; i < m->np; i++) {
		const r2u_param *p = &m->p[i];
		if (br_st_add_f32(w, p->name, (p->running ? hr : hp) + p->off, p->ndim, p->shape) < 0)
			goto st_fail;
	}
	if (state != NULL) {
		for (i = 0; i < m->np; i++) {
			const r2u_param *p = &m->p[i];
			if (p->running)
				continue;
			snprintf(name, sizeof name, "optim.m.%s", p->name);
			if (br_st_add_f32(w, name, hm + p->off, p->ndim, p->shape) < 0)
				goto st_fail;
			snprintf(name, sizeof name, "optim.v.%s", p->name);
			if (br_st_add_f32(w, name, hv + p->off, p->ndim, p->shape) < 0)
				goto st_fail;
		}
		snprintf(buf, sizeof buf, "%lld", (long long)state->epoch);
		if (br_st_add_meta(w, "epoch", buf) < 0)
			goto st_fail;
		snprintf(buf, sizeof buf, "%lld", (long long)state->step);
		if (br_st_add_meta(w, "step", buf) < 0)
			goto st_fail;
		snprintf(buf, sizeof buf, "%lld", (long long)state->pos);
		if (br_st_add_meta(w, "pos", buf) < 0)
			goto st_fail;
		snprintf(buf, sizeof buf, "%.17g", state->best);
		if (br_st_add_meta(w, "best", buf) < 0)
			goto st_fail;
		snprintf(buf, sizeof buf, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64, state->rng[0],
			 state->rng[1], state->rng[2], state->rng[3]);
		if (br_st_add_meta(w, "rng", buf) < 0)
			goto st_fail;
	}
	if (br_st_write(w, path) < 0)
		goto st_fail;
	rc = 0;
	goto done;
st_fail:
	r2u_fail(m, "%s", br_error());
done:
	free(hp);
	free(hr);
	free(hm);
	free(hv);
	br_st_writer_free(w);
	return rc;
}
