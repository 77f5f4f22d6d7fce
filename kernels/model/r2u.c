/*
 * r2u.c - R2U-MTDS: parameters, activations, forward and backward passes.
 *
 * Stage(cin, cout, attention) on x:
 *   r1 = conv3x3(relu(bn1(x)));  y = proj(x) + conv3x3(relu(bn2(r1)))
 *   attention: ya = y * sigmoid(gate(relu(y)))            else ya = y
 *   out = ya * dropout(sigmoid(fc2(relu(fc1(mean_hw(ya))))))
 * BatchNorm and ReLU are never materialised: each convolution applies its
 * input's BN+ReLU on the fly (br_preact) and the backward pass recomputes it.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2u.h"
#include "r2u_internal.h"
#include "rng.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* ---- errors ---- */

int r2u_fail(r2u *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof m->err, fmt, ap);
	va_end(ap);
	return -1;
}

const char *r2u_error(const r2u *m) { return m->err; }
br_ctx *r2u_ctx(const r2u *m) { return m->ctx; }
int r2u_base(const r2u *m) { return m->base; }
int r2u_nparams(const r2u *m) { return m->np; }
const r2u_param *r2u_param_info(const r2u *m, int i) { return &m->p[i]; }
size_t r2u_ntrainable(const r2u *m) { return m->ntrain; }

/* ---- the parameter table ---- */

static int add_param(r2u *m, const char *prefix, const char *name, int running, int ndim, int64_t a, int64_t b,
		     int64_t c, int64_t d)
{
	r2u_param *p;
	int64_t s[4] = {a, b, c, d};
	int i;

	if (m->np == R2U_MAXPARAM)
		return -1;
	p = &m->p[m->np];
	snprintf(p->name, sizeof p->name, "%.56s%.20s", prefix, name);
	p->ndim = ndim;
	p->numel = 1;
	for (i = 0; i < ndim; i++) {
		p->shape[i] = s[i];
		p->numel *= (size_t)s[i];
	}
	p->running = running;
	if (running) {
		p->off = m->nrun;
		m->nrun += p->numel;
	} else {
		p->off = m->ntrain;
		m->ntrain += p->numel;
	}
	return m->np++;
}

static void add_bn(r2u *m, struct bnorm *bn, const char *prefix, int c)
{
	char pre[96];

	bn->c = c;
	snprintf(pre, sizeof pre, "%s", prefix);
	bn->w = add_param(m, pre, ".weight", 0, 1, c, 0, 0, 0);
	bn->b = add_param(m, pre, ".bias", 0, 1, c, 0, 0, 0);
	bn->rm = add_param(m, pre, ".running_mean", 1, 1, c, 0, 0, 0);
	bn->rv = add_param(m, pre, ".running_var", 1, 1, c, 0, 0, 0);
}

static void add_conv(r2u *m, int *w, int *b, const char *prefix, int cout, int cin, int k)
{
	char pre[96];

	snprintf(pre, sizeof pre, "%s", prefix);
	*w = add_param(m, pre, ".weight", 0, 4, cout, cin, k, k);
	*b = add_param(m, pre, ".bias", 0, 1, cout, 0, 0, 0);
}

static void add_stage(r2u *m, struct stage *s, const char *name, int cin, int cout, int attention, int se)
{
	char pre[96], unit[96];

	s->cin = cin;
	s->c = cout;
	s->attention = attention;
	s->se = se;
	/* PyTorch's names: an APR block holds the unit, a plain block is the unit */
	snprintf(unit, sizeof unit, attention ? "%.32s.block.unit" : "%.32s.block", name);
	snprintf(pre, sizeof pre, "%.48s.bn1", unit);
	add_bn(m, &s->bn1, pre, cin);
	snprintf(pre, sizeof pre, "%.48s.conv1", unit);
	add_conv(m, &s->conv1_w, &s->conv1_b, pre, cout, cin, 3);
	snprintf(pre, sizeof pre, "%.48s.bn2", unit);
	add_bn(m, &s->bn2, pre, cout);
	snprintf(pre, sizeof pre, "%.48s.conv2", unit);
	add_conv(m, &s->conv2_w, &s->conv2_b, pre, cout, cout, 3);
	s->proj_w = s->proj_b = -1;
	if (cin != cout) {
		snprintf(pre, sizeof pre, "%.48s.proj", unit);
		add_conv(m, &s->proj_w, &s->proj_b, pre, cout, cin, 1);
	}
	s->gate_w = s->gate_b = -1;
	if (attention) {
		snprintf(pre, sizeof pre, "%.32s.block.gate", name);
		add_conv(m, &s->gate_w, &s->gate_b, pre, 1, cout, 1);
	}
	s->fc1_w = s->fc1_b = s->fc2_w = s->fc2_b = -1;
	if (!se)
		return;
	snprintf(pre, sizeof pre, "%.32s.se.fc1", name);
	s->fc1_w = add_param(m, pre, ".weight", 0, 2, cout / 8, cout, 0, 0);
	s->fc1_b = add_param(m, pre, ".bias", 0, 1, cout / 8, 0, 0, 0);
	snprintf(pre, sizeof pre, "%.32s.se.fc2", name);
	s->fc2_w = add_param(m, pre, ".weight", 0, 2, cout, cout / 8, 0, 0);
	s->fc2_b = add_param(m, pre, ".bias", 0, 1, cout, 0, 0, 0);
}

/* The table in the order of the PyTorch module's state_dict (MODEL.md):
 * the variant decides which tensors exist and the shapes of two heads. */
void r2u_build_table(r2u *m)
{
	int b = m->base, i, apr = m->var.block == R2U_BLOCK_APR, se = m->var.se;
	int multi = m->var.supervision == R2U_SUP_MULTI;
	char name[32];

	add_stage(m, &m->enc[0], "enc1", 4, b, apr, se);
	add_stage(m, &m->enc[1], "enc2", b, 2 * b, apr, se);
	add_stage(m, &m->enc[2], "enc3", 2 * b, 4 * b, apr, se);
	add_stage(m, &m->enc[3], "enc4", 4 * b, 8 * b, apr, se);
	/* dec[0] = dec3 (8b -> 4b), dec[1] = dec2, dec[2] = dec1 */
	for (i = 0; i < 3; i++) {
		int cin = b << (3 - i), cout = b << (2 - i);
		struct up *u = &m->dec[i];
		snprintf(name, sizeof name, "dec%d.up", 3 - i);
		u->cin = cin;
		u->cout = cout;
		u->w = add_param(m, name, ".weight", 0, 4, cin, cout, 2, 2);
		u->b = add_param(m, name, ".bias", 0, 1, cout, 0, 0, 0);
		u->gate_w = u->gate_b = -1;
		if (m->var.block == R2U_BLOCK_GATED_SKIP) {
			snprintf(name, sizeof name, "dec%d.gate", 3 - i);
			add_conv(m, &u->gate_w, &u->gate_b, name, 1, cout, 1);
		}
		snprintf(name, sizeof name, "dec%d.stage", 3 - i);
		add_stage(m, &u->st, name, 2 * cout, cout, 0, se);
	}
	/* multi-task deep supervision: ed on d3, ncr on d2; else all on d1 */
	add_conv(m, &m->head_w[R2U_WT], &m->head_b[R2U_WT], "head_wt", 1, b, 1);
	add_conv(m, &m->head_w[R2U_ED], &m->head_b[R2U_ED], "head_ed", 1, multi ? 4 * b : b, 1);
	add_conv(m, &m->head_w[R2U_NCR], &m->head_b[R2U_NCR], "head_ncr", 1, multi ? 2 * b : b, 1);
	add_conv(m, &m->head_w[R2U_ET], &m->head_b[R2U_ET], "head_et", 1, b, 1);
	m->side_w[0] = m->side_b[0] = m->side_w[1] = m->side_b[1] = -1;
	if (m->var.supervision == R2U_SUP_SINGLE) {
		add_conv(m, &m->side_w[0], &m->side_b[0], "head_wt2", 1, 2 * b, 1);
		add_conv(m, &m->side_w[1], &m->side_b[1], "head_wt3", 1, 4 * b, 1);
	}
}

const char *const r2u_block_names[] = {"apr", "pre-res", "pre-res-gated-skip", NULL};
const char *const r2u_supervision_names[] = {"multi", "single", "none", NULL};

void r2u_variant_paper(r2u_variant *v)
{
	v->block = R2U_BLOCK_APR;
	v->supervision = R2U_SUP_MULTI;
	v->se = 1;
}

void r2u_variant_describe(const r2u_variant *v, char *buf, size_t n)
{
	snprintf(buf, n, "block %s, supervision %s, %s", r2u_block_names[v->block],
		 r2u_supervision_names[v->supervision], v->se ? "SE" : "no SE");
}

const r2u_variant *r2u_variant_of(const r2u *m) { return &m->var; }

float *r2u_P(r2u *m, int i) { return (m->p[i].running ? m->run : m->params) + m->p[i].off; }
float *r2u_G(r2u *m, int i) { return m->grads + m->p[i].off; }
/* a parameter (or running statistic) and its gradient, by index in m->p */
#define PARAM(i) r2u_P(m, (i))
#define GRAD(i) r2u_G(m, (i))

/* splitmix64 stream for initialisation */
static double uniform(uint64_t *s) { return br_unit_double(br_splitmix64(s)); }

/* PyTorch's defaults: conv and linear weights and biases uniform in
 * +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)); the fan-in of a
 * transposed conv weight (C,K,2,2) is K*4; BatchNorm weight 1, bias 0,
 * running mean 0, running variance 1. */
static int init_params(r2u *m, uint64_t seed)
{
	float *hp = malloc(m->ntrain * sizeof *hp), *hr = malloc(m->nrun * sizeof *hr);
	uint64_t s = seed;
	int i, rc = 0;

	if (hp == NULL || hr == NULL) {
		free(hp);
		free(hr);
		return r2u_fail(m, "out of memory");
	}
	for (i = 0; i < m->np; i++) {
		r2u_param *p = &m->p[i];
		float *d = (p->running ? hr : hp) + p->off;
		const char *suffix = strrchr(p->name, '.');
		int is_bn = strstr(p->name, ".bn") != NULL;
		size_t j;
		double fan_in = 1, bound;

		if (is_bn) {
			float v = (strcmp(suffix, ".weight") == 0 || strcmp(suffix, ".running_var") == 0) ? 1.0f : 0.0f;
			for (j = 0; j < p->numel; j++)
				d[j] = v;
			continue;
		}
		if (strcmp(suffix, ".weight") == 0) {
			const r2u_param *w = p;
			if (strstr(p->name, ".up.") != NULL)
				fan_in = (double)w->shape[1] * 4;
			else
				fan_in = (double)w->numel / (double)w->shape[0];
		} else { /* bias: the weight before it gives the fan-in */
			const r2u_param *w = &m->p[i - 1];
			if (strstr(w->name, ".up.") != NULL)
				fan_in = (double)w->shape[1] * 4;
			else
				fan_in = (double)w->numel / (double)w->shape[0];
		}
		bound = 1.0 / sqrt(fan_in);
		for (j = 0; j < p->numel; j++)
			d[j] = (float)((2 * uniform(&s) - 1) * bound);
	}
	if (br_memcpy_h2d(m->ctx, m->params, hp, m->ntrain * sizeof *hp) < 0 ||
	    br_memcpy_h2d(m->ctx, m->run, hr, m->nrun * sizeof *hr) < 0 || br_sync(m->ctx) < 0)
		rc = r2u_fail(m, "initialising the parameters: %s", br_ctx_error(m->ctx));
	free(hp);
	free(hr);
	return rc;
}

r2u *r2u_new(br_ctx *ctx, int base, uint64_t seed, char *err, size_t errlen)
{
	return r2u_new_variant(ctx, base, NULL, seed, err, errlen);
}

r2u *r2u_new_variant(br_ctx *ctx, int base, const r2u_variant *v, uint64_t seed, char *err, size_t errlen)
{
	r2u *m;

	if (base < 8 || base % 8 != 0 || base > 512) {
		snprintf(err, errlen, "width %d: must be a multiple of 8 from 8 to 512", base);
		return NULL;
	}
	if (v != NULL && (v->block < 0 || v->block > R2U_BLOCK_GATED_SKIP || v->supervision < 0 ||
			  v->supervision > R2U_SUP_NONE || (v->se != 0 && v->se != 1))) {
		snprintf(err, errlen, "unknown network variant");
		return NULL;
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->ctx = ctx;
	m->base = base;
	if (v != NULL)
		m->var = *v;
	else
		r2u_variant_paper(&m->var);
	snprintf(m->where, sizeof m->where, "setup");
	r2u_build_table(m);
	m->params = br_malloc(ctx, m->ntrain * sizeof(float));
	m->grads = br_malloc(ctx, m->ntrain * sizeof(float));
	m->run = br_malloc(ctx, m->nrun * sizeof(float));
	m->adam_m = br_malloc(ctx, m->ntrain * sizeof(float));
	m->adam_v = br_malloc(ctx, m->ntrain * sizeof(float));
	m->loss = br_malloc(ctx, 8 * sizeof(float));
	if (m->params == NULL || m->grads == NULL || m->run == NULL || m->adam_m == NULL || m->adam_v == NULL ||
	    m->loss == NULL) {
		snprintf(err, errlen, "cannot allocate the parameters: %s", br_ctx_error(ctx));
		r2u_free(m);
		return NULL;
	}
	if (init_params(m, seed) < 0 || br_memset0(ctx, m->grads, m->ntrain * sizeof(float)) < 0 ||
	    br_memset0(ctx, m->adam_m, m->ntrain * sizeof(float)) < 0 ||
	    br_memset0(ctx, m->adam_v, m->ntrain * sizeof(float)) < 0 || br_memset0(ctx, m->loss, 8 * sizeof(float)) < 0) {
		snprintf(err, errlen, "%s", m->err[0] ? m->err : br_ctx_error(ctx));
		r2u_free(m);
		return NULL;
	}
	return m;
}

int r2u_freeze(r2u *m, int on)
{
	on = on != 0;
	if (on == m->frozen)
		return 0;
	if (br_hint_const(m->ctx, m->params, m->ntrain * sizeof(float), on) < 0)
		return r2u_fail(m, "%s", br_ctx_error(m->ctx));
	m->frozen = on;
	return 0;
}

void r2u_free(r2u *m)
{
	if (m == NULL)
		return;
	r2u_freeze(m, 0);
	br_free(m->ctx, m->arena);
	br_free(m->ctx, m->labels);
	br_host_free(m->ctx, m->stage);
	br_free(m->ctx, m->params);
	br_free(m->ctx, m->grads);
	br_free(m->ctx, m->run);
	br_free(m->ctx, m->adam_m);
	br_free(m->ctx, m->adam_v);
	br_free(m->ctx, m->loss);
	r2u_split_free(m);
	free(m);
}

int r2u_param_get(r2u *m, int i, float *host)
{
	if (br_memcpy_d2h(m->ctx, host, PARAM(i), m->p[i].numel * sizeof(float)) < 0)
		return r2u_fail(m, "%s: %s", m->p[i].name, br_ctx_error(m->ctx));
	return 0;
}

int r2u_param_set(r2u *m, int i, const float *host)
{
	if (r2u_freeze(m, 0) < 0)
		return -1;
	if (br_memcpy_h2d(m->ctx, PARAM(i), host, m->p[i].numel * sizeof(float)) < 0 || br_sync(m->ctx) < 0)
		return r2u_fail(m, "%s: %s", m->p[i].name, br_ctx_error(m->ctx));
	return 0;
}

int r2u_grad_get(r2u *m, int i, float *host)
{
	if (m->p[i].running)
		return r2u_fail(m, "%s has no gradient", m->p[i].name);
	if (br_memcpy_d2h(m->ctx, host, GRAD(i), m->p[i].numel * sizeof(float)) < 0)
		return r2u_fail(m, "%s: %s", m->p[i].name, br_ctx_error(m->ctx));
	return 0;
}

/* ---- activation planning ----
 * place() is called twice over the same walk: first to size the arena,
 * then to hand out pointers.  Tensors needed by the backward pass are
 * persistent; the others live in scratch slots shared by every stage. */

enum { PERSIST = -1 };

static void place(r2u *m, br_tensor *t, int n, int c, int h, int w, int slot)
{
	size_t bytes = br_tensor_bytes(m->ctx, n, c, h, w);

	t->n = n;
	t->c = c;
	t->h = h;
	t->w = w;
	if (slot == PERSIST) {
		t->data = m->arena ? (char *)m->arena + m->persist_used : NULL;
		m->persist_used += bytes;
	} else {
		if (bytes > m->slot_bytes[slot])
			m->slot_bytes[slot] = bytes;
		t->data = m->arena ? (char *)m->arena + m->slot_off[slot] : NULL;
	}
}

static void place_vec(r2u *m, float **v, size_t count)
{
	size_t bytes = (count * sizeof(float) + 255) / 256 * 256;

	*v = m->arena ? (float *)((char *)m->arena + m->persist_used) : NULL;
	m->persist_used += bytes;
}

/* slots */
enum {
	S_R1, S_R2, S_Y, S_G, S_YA, S_XIN, S_U,                              /* forward (inference) */
	S_DYA, S_DY, S_DGR, S_DG, S_DR1A, S_DR1, S_DXA, S_DU, S_DHEAD, S_DLOW, /* backward */
	S_SKIP, S_SG, S_DSKIP, S_DSG, S_DSGR, /* the gate on the skips (pre-res-gated-skip) */
	S_COUNT
};

static void plan_bn(r2u *m, struct bnorm *bn)
{
	place_vec(m, &bn->mean, (size_t)bn->c);
	place_vec(m, &bn->var, (size_t)bn->c);
	place_vec(m, &bn->scale, (size_t)bn->c);
	place_vec(m, &bn->shift, (size_t)bn->c);
}

static void plan_stage(r2u *m, struct stage *s, int n, int h, int w, int tr)
{
	int c = s->c;

	plan_bn(m, &s->bn1);
	plan_bn(m, &s->bn2);
	place(m, &s->r1, n, c, h, w, tr ? PERSIST : S_R1);
	place(m, &s->r2, n, c, h, w, S_R2);
	place(m, &s->y, n, c, h, w, tr ? PERSIST : S_Y);
	if (s->attention) {
		place(m, &s->g, n, 1, h, w, tr ? PERSIST : S_G);
		place(m, &s->ya, n, c, h, w, tr ? PERSIST : S_YA);
	}
	if (s->se) {
		place_vec(m, &s->z, (size_t)n * c);
		place_vec(m, &s->h, (size_t)n * (c / 8));
		place_vec(m, &s->hr, (size_t)n * (c / 8));
		place_vec(m, &s->q, (size_t)n * c);
		place_vec(m, &s->s, (size_t)n * c);
		place_vec(m, &s->sd, (size_t)n * c);
	}
	if (tr) {
		if (s->se)
			place(m, &s->dya, n, c, h, w, S_DYA);
		place(m, &s->dy, n, c, h, w, S_DY);
		if (s->attention) {
			place(m, &s->dgr, n, c, h, w, S_DGR);
			place(m, &s->dg, n, 1, h, w, S_DG);
		}
		place(m, &s->dr1a, n, c, h, w, S_DR1A);
		place(m, &s->dr1, n, c, h, w, S_DR1);
		place(m, &s->dxa, n, s->cin, h, w, S_DXA);
		if (s->se) {
			place_vec(m, &s->dsd, (size_t)n * c);
			place_vec(m, &s->ds, (size_t)n * c);
			place_vec(m, &s->dq, (size_t)n * c);
			place_vec(m, &s->dhr, (size_t)n * (c / 8));
			place_vec(m, &s->dh, (size_t)n * (c / 8));
			place_vec(m, &s->dz, (size_t)n * c);
		}
	}
}

/* Without SE the block's output is the stage's: it is written straight into
 * the persistent out tensor. */
static void alias_out(struct stage *s)
{
	if (s->se)
		return;
	if (s->attention)
		s->ya.data = s->out.data;
	else
		s->y.data = s->out.data;
}

static void plan_walk(r2u *m, int n, int h, int w, int tr)
{
	int i, k, lh, lw;

	m->persist_used = 0;
	memset(m->slot_bytes, 0, sizeof m->slot_bytes);
	place(m, &m->x, n, 4, h, w, PERSIST);
	for (i = 0; i < 4; i++) {
		lh = h >> i;
		lw = w >> i;
		if (i > 0)
			place(m, &m->pool[i - 1], n, m->enc[i].cin, lh, lw, tr ? PERSIST : S_XIN);
		plan_stage(m, &m->enc[i], n, lh, lw, tr);
		/* skips and e4 stay until the decoder has used them */
		place(m, &m->enc[i].out, n, m->enc[i].c, lh, lw, PERSIST);
		alias_out(&m->enc[i]);
		if (tr)
			place(m, &m->enc[i].dout, n, m->enc[i].c, lh, lw, PERSIST);
		if (tr && i > 0)
			place(m, &m->dpool[i - 1], n, m->enc[i].cin, lh, lw, PERSIST);
	}
	for (k = 0; k < 3; k++) {
		struct up *u = &m->dec[k];
		lh = h >> (2 - k);
		lw = w >> (2 - k);
		place(m, &u->u, n, u->cout, lh, lw, S_U);
		if (u->gate_w >= 0) {
			place(m, &u->g, n, 1, lh, lw, tr ? PERSIST : S_SG);
			place(m, &u->skip, n, u->cout, lh, lw, S_SKIP);
			if (tr) {
				place(m, &u->dskip, n, u->cout, lh, lw, S_DSKIP);
				place(m, &u->dg, n, 1, lh, lw, S_DSG);
				place(m, &u->dgr, n, u->cout, lh, lw, S_DSGR);
			}
		}
		place(m, &u->cat, n, 2 * u->cout, lh, lw, tr ? PERSIST : S_XIN);
		plan_stage(m, &u->st, n, lh, lw, tr);
		place(m, &u->st.out, n, u->cout, lh, lw, PERSIST);
		alias_out(&u->st);
		if (tr) {
			place(m, &u->st.dout, n, u->cout, lh, lw, PERSIST);
			place(m, &u->dcat, n, 2 * u->cout, lh, lw, PERSIST);
			place(m, &u->du, n, u->cout, lh, lw, S_DU);
		}
	}
	/* heads: logits at full size, ncr and ed also at their own level */
	for (k = 0; k < R2U_NHEAD; k++)
		place(m, &m->logit[k], n, 1, h, w, PERSIST);
	if (m->var.supervision == R2U_SUP_MULTI) {
		place(m, &m->low[R2U_NCR], n, 1, h / 2, w / 2, PERSIST);
		place(m, &m->low[R2U_ED], n, 1, h / 4, w / 4, PERSIST);
	}
	if (m->var.supervision == R2U_SUP_SINGLE) /* whole-tumour side outputs of d2 and d3 */
		for (k = 0; k < 2; k++) {
			place(m, &m->side[k], n, 1, h, w, PERSIST);
			place(m, &m->side_low[k], n, 1, h >> (k + 1), w >> (k + 1), PERSIST);
		}
	if (tr) {
		for (k = 0; k < R2U_NHEAD; k++)
			place(m, &m->dlogit[k], n, 1, h, w, PERSIST);
		if (m->var.supervision == R2U_SUP_MULTI) {
			place(m, &m->dlow[R2U_NCR], n, 1, h / 2, w / 2, S_DLOW);
			place(m, &m->dlow[R2U_ED], n, 1, h / 4, w / 4, S_DHEAD);
		}
		if (m->var.supervision == R2U_SUP_SINGLE) {
			place(m, &m->dside[0], n, 1, h, w, PERSIST);
			place(m, &m->dside[1], n, 1, h, w, PERSIST);
			place(m, &m->dside_low[0], n, 1, h / 2, w / 2, S_DLOW);
			place(m, &m->dside_low[1], n, 1, h / 4, w / 4, S_DHEAD);
		}
	}
	/* slot offsets after the persistent part */
	{
		size_t off = m->persist_used;
		for (k = 0; k < S_COUNT; k++) {
			m->slot_off[k] = off;
			off += m->slot_bytes[k];
		}
		m->arena_bytes = off;
	}
}

int r2u_plan(r2u *m, int n, int h, int w, int training)
{
	if (n < 1 || h < 8 || w < 8 || h % 8 != 0 || w % 8 != 0)
		return r2u_fail(m, "slices of %d x %d: height and width must be multiples of 8", h, w);
	if (m->arena != NULL && n <= m->plan_n && h == m->plan_h && w == m->plan_w && training <= m->plan_tr) {
		if (n == m->cur_n)
			return 0;
		/* a smaller batch in the same arena: views with the new n */
		m->arena_keep = m->arena;
		m->arena = NULL;
		plan_walk(m, n, h, w, m->plan_tr);
		m->arena = m->arena_keep;
		plan_walk(m, n, h, w, m->plan_tr);
		m->cur_n = n;
		return 0;
	}
	br_free(m->ctx, m->arena);
	br_free(m->ctx, m->labels);
	br_host_free(m->ctx, m->stage);
	m->arena = NULL;
	m->labels = NULL;
	m->stage = NULL;
	plan_walk(m, n, h, w, training);
	m->arena = br_malloc(m->ctx, m->arena_bytes);
	if (m->arena == NULL)
		return r2u_fail(m, "cannot allocate %.0f MB of activations for %d slices of %d x %d: %s",
				m->arena_bytes / 1048576.0, n, h, w, br_ctx_error(m->ctx));
	/* the walk now hands out pointers; slots must not move */
	{
		size_t off[S_COUNT], total = m->arena_bytes;
		memcpy(off, m->slot_off, sizeof off);
		plan_walk(m, n, h, w, training);
		if (memcmp(off, m->slot_off, sizeof off) != 0 || total != m->arena_bytes)
			return r2u_fail(m, "internal error: activation plan changed");
	}
	m->labels = br_malloc(m->ctx, (size_t)n * h * w + 256);
	if (m->labels == NULL)
		return r2u_fail(m, "cannot allocate labels: %s", br_ctx_error(m->ctx));
	m->stage = br_host_alloc(m->ctx, (size_t)n * h * w * R2U_NHEAD * sizeof(float));
	if (m->stage == NULL)
		return r2u_fail(m, "cannot allocate the output staging buffer: %s", br_ctx_error(m->ctx));
	m->plan_n = m->cur_n = n;
	m->plan_h = h;
	m->plan_w = w;
	m->plan_tr = training;
	return 0;
}

/* ---- forward ---- */

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xD1B54A32D192ED03ULL);

	return br_splitmix64(&s);
}

static int stage_forward(r2u *m, struct stage *s, const br_tensor *x, int tr, float p, uint64_t seed)
{
	br_preact pre1 = {s->bn1.scale, s->bn1.shift, 1}, pre2 = {s->bn2.scale, s->bn2.shift, 1};
	br_preact relu = {NULL, NULL, 1};
	br_tensor *ya = s->attention ? &s->ya : &s->y;
	int n = x->n, c = s->c;

	if (tr && m->sync_bn) {
		if (r2u_split_bn_stats(m, &s->bn1, x, BN_EPS, BN_MOMENTUM) < 0)
			return -1;
	} else if (tr) {
		R2U_TRY(br_bn_train_stats(m->ctx, s->bn1.mean, s->bn1.var, s->bn1.scale, s->bn1.shift, PARAM(s->bn1.rm),
				    PARAM(s->bn1.rv), x, PARAM(s->bn1.w), PARAM(s->bn1.b), BN_EPS, BN_MOMENTUM));
	} else {
		R2U_TRY(br_bn_infer_fold(m->ctx, s->bn1.scale, s->bn1.shift, PARAM(s->bn1.rm), PARAM(s->bn1.rv), PARAM(s->bn1.w),
				   PARAM(s->bn1.b), s->cin, BN_EPS));
	}
	R2U_TRY(br_conv2d_forward(m->ctx, &s->r1, x, PARAM(s->conv1_w), PARAM(s->conv1_b), 3, &pre1));
	if (tr && m->sync_bn) {
		if (r2u_split_bn_stats(m, &s->bn2, &s->r1, BN_EPS, BN_MOMENTUM) < 0)
			return -1;
	} else if (tr) {
		R2U_TRY(br_bn_train_stats(m->ctx, s->bn2.mean, s->bn2.var, s->bn2.scale, s->bn2.shift, PARAM(s->bn2.rm),
				    PARAM(s->bn2.rv), &s->r1, PARAM(s->bn2.w), PARAM(s->bn2.b), BN_EPS, BN_MOMENTUM));
	} else {
		R2U_TRY(br_bn_infer_fold(m->ctx, s->bn2.scale, s->bn2.shift, PARAM(s->bn2.rm), PARAM(s->bn2.rv), PARAM(s->bn2.w),
				   PARAM(s->bn2.b), c, BN_EPS));
	}
	R2U_TRY(br_conv2d_forward(m->ctx, &s->r2, &s->r1, PARAM(s->conv2_w), PARAM(s->conv2_b), 3, &pre2));
	if (s->proj_w >= 0) {
		R2U_TRY(br_conv2d_forward(m->ctx, &s->y, x, PARAM(s->proj_w), PARAM(s->proj_b), 1, NULL));
		R2U_TRY(br_acc(m->ctx, &s->y, &s->r2));
	} else {
		R2U_TRY(br_add(m->ctx, &s->y, x, &s->r2));
	}
	if (s->attention) {
		R2U_TRY(br_conv2d_forward(m->ctx, &s->g, &s->y, PARAM(s->gate_w), PARAM(s->gate_b), 1, &relu));
		R2U_TRY(br_gate_forward(m->ctx, &s->ya, &s->y, &s->g));
	}
	s->drop_p = 0;
	if (!s->se) /* ya is out */
		return 0;
	/* squeeze and excitation */
	R2U_TRY(br_avgpool_forward(m->ctx, s->z, ya));
	R2U_TRY(br_linear_forward(m->ctx, s->h, s->z, PARAM(s->fc1_w), PARAM(s->fc1_b), n, c, c / 8));
	R2U_TRY(br_vec_relu_forward(m->ctx, s->hr, s->h, (size_t)n * (c / 8)));
	R2U_TRY(br_linear_forward(m->ctx, s->q, s->hr, PARAM(s->fc2_w), PARAM(s->fc2_b), n, c / 8, c));
	R2U_TRY(br_vec_sigmoid_forward(m->ctx, s->s, s->q, (size_t)n * c));
	s->drop_p = tr ? p : 0;
	s->drop_seed = seed;
	if (s->drop_p > 0)
		R2U_TRY(br_dropout_forward(m->ctx, s->sd, s->s, (size_t)n * c, s->drop_p, seed));
	R2U_TRY(br_scale_forward(m->ctx, &s->out, ya, s->drop_p > 0 ? s->sd : s->s));
	return 0;
}

int r2u_forward(r2u *m, const float *x, int n, int h, int w, int training, float dropout, uint64_t seed)
{
	br_preact relu = {NULL, NULL, 1};
	int i, k;

	if (r2u_plan(m, n, h, w, training) < 0)
		return -1;
	if (training && !m->plan_tr)
		return r2u_fail(m, "internal error: training pass in an inference plan");
	snprintf(m->where, sizeof m->where, "input");
	if (x != NULL) /* else r2u_input was filled on the device */
		R2U_TRY(br_tensor_upload(m->ctx, &m->x, x));
	for (i = 0; i < 4; i++) {
		const br_tensor *in = &m->x;
		snprintf(m->where, sizeof m->where, "enc%d", i + 1);
		if (i > 0) {
			R2U_TRY(br_maxpool2_forward(m->ctx, &m->pool[i - 1], &m->enc[i - 1].out));
			in = &m->pool[i - 1];
		}
		if (stage_forward(m, &m->enc[i], in, training, dropout, mix(seed, (uint64_t)i + 1)) < 0)
			return -1;
	}
	for (k = 0; k < 3; k++) {
		struct up *u = &m->dec[k];
		const br_tensor *below = k == 0 ? &m->enc[3].out : &m->dec[k - 1].st.out;
		const br_tensor *skip = &m->enc[2 - k].out;
		snprintf(m->where, sizeof m->where, "dec%d", 3 - k);
		R2U_TRY(br_convt2x2_forward(m->ctx, &u->u, below, PARAM(u->w), PARAM(u->b)));
		if (u->gate_w >= 0) { /* skip * sigmoid(gate(relu(skip))) */
			R2U_TRY(br_conv2d_forward(m->ctx, &u->g, skip, PARAM(u->gate_w), PARAM(u->gate_b), 1, &relu));
			R2U_TRY(br_gate_forward(m->ctx, &u->skip, skip, &u->g));
			skip = &u->skip;
		}
		R2U_TRY(br_concat_forward(m->ctx, &u->cat, &u->u, skip));
		if (stage_forward(m, &u->st, &u->cat, training, dropout, mix(seed, (uint64_t)k + 11)) < 0)
			return -1;
	}
	snprintf(m->where, sizeof m->where, "heads");
	R2U_TRY(br_conv2d_forward(m->ctx, &m->logit[R2U_WT], &m->dec[2].st.out, PARAM(m->head_w[R2U_WT]), PARAM(m->head_b[R2U_WT]), 1,
			    NULL));
	R2U_TRY(br_conv2d_forward(m->ctx, &m->logit[R2U_ET], &m->dec[2].st.out, PARAM(m->head_w[R2U_ET]), PARAM(m->head_b[R2U_ET]), 1,
			    NULL));
	if (m->var.supervision == R2U_SUP_MULTI) {
		R2U_TRY(br_conv2d_forward(m->ctx, &m->low[R2U_NCR], &m->dec[1].st.out, PARAM(m->head_w[R2U_NCR]),
				    PARAM(m->head_b[R2U_NCR]), 1, NULL));
		R2U_TRY(br_upsample_forward(m->ctx, &m->logit[R2U_NCR], &m->low[R2U_NCR], 2));
		R2U_TRY(br_conv2d_forward(m->ctx, &m->low[R2U_ED], &m->dec[0].st.out, PARAM(m->head_w[R2U_ED]),
				    PARAM(m->head_b[R2U_ED]), 1, NULL));
		R2U_TRY(br_upsample_forward(m->ctx, &m->logit[R2U_ED], &m->low[R2U_ED], 4));
	} else { /* every head on d1 */
		R2U_TRY(br_conv2d_forward(m->ctx, &m->logit[R2U_NCR], &m->dec[2].st.out, PARAM(m->head_w[R2U_NCR]),
				    PARAM(m->head_b[R2U_NCR]), 1, NULL));
		R2U_TRY(br_conv2d_forward(m->ctx, &m->logit[R2U_ED], &m->dec[2].st.out, PARAM(m->head_w[R2U_ED]),
				    PARAM(m->head_b[R2U_ED]), 1, NULL));
	}
	/* single-task deep supervision: whole tumour from d2 (k = 0) and d3 (k = 1),
	 * needed by the loss only */
	if (m->var.supervision == R2U_SUP_SINGLE && training)
		for (k = 0; k < 2; k++) {
			R2U_TRY(br_conv2d_forward(m->ctx, &m->side_low[k], &m->dec[1 - k].st.out, PARAM(m->side_w[k]),
					    PARAM(m->side_b[k]), 1, NULL));
			R2U_TRY(br_upsample_forward(m->ctx, &m->side[k], &m->side_low[k], 2 << k));
		}
	m->fwd_training = training;
	return 0;
}

br_tensor *r2u_input(r2u *m, int n, int h, int w)
{
	return r2u_plan(m, n, h, w, 0) < 0 ? NULL : &m->x;
}

const br_tensor *r2u_logits(const r2u *m, int head) { return head >= 0 && head < R2U_NHEAD ? &m->logit[head] : NULL; }

int r2u_download(r2u *m, float *out, int probabilities)
{
	int k, n = m->x.n, hw = m->x.h * m->x.w;
	size_t plane = (size_t)n * hw;
	long i, total = (long)plane * R2U_NHEAD;

	/* the four heads into one staging buffer (pinned on a GPU), then one
	 * threaded pass: the sigmoid of 4 x 155 slices is not negligible */
	for (k = 0; k < R2U_NHEAD; k++)
		if (br_tensor_download(m->ctx, m->stage + (size_t)k * plane, &m->logit[k]) < 0)
			return r2u_fail(m, "downloading the outputs: %s", br_ctx_error(m->ctx));
#pragma omp parallel for num_threads(br_ctx_threads(m->ctx)) schedule(static)
	for (i = 0; i < total; i++) {
		long k2 = i / (long)plane, r = i % (long)plane, slice = r / hw, j = r % hw;
		float z = m->stage[i];
		out[((size_t)slice * R2U_NHEAD + (size_t)k2) * hw + (size_t)j] = probabilities ? 1.0f / (1.0f + expf(-z)) : z;
	}
	return 0;
}

/* ---- backward ---- */

/* backward of relu(bn(x)): the one-piece op, or the split-batch form (sync-BN) */
static int bn_back(r2u *m, struct bnorm *bn, br_tensor *dx, const br_tensor *da, const br_tensor *x, int accum)
{
	if (m->sync_bn)
		return r2u_split_bn_backward(m, bn, dx, da, x, BN_EPS, accum);
	R2U_TRY(br_bn_relu_backward(m->ctx, dx, GRAD(bn->w), GRAD(bn->b), da, x, bn->mean, bn->var, PARAM(bn->w), PARAM(bn->b), BN_EPS,
			      accum));
	return 0;
}

/* dx: gradient of the stage input, written (NULL: not needed) */
static int stage_backward(r2u *m, struct stage *s, br_tensor *dx, const br_tensor *x, const br_tensor *dout)
{
	br_preact pre1 = {s->bn1.scale, s->bn1.shift, 1}, pre2 = {s->bn2.scale, s->bn2.shift, 1};
	br_preact relu = {NULL, NULL, 1};
	const br_tensor *ya = s->attention ? &s->ya : &s->y;
	const br_tensor *dya = s->se ? &s->dya : dout; /* without SE, ya is out */
	const br_tensor *dy = s->attention ? &s->dy : dya; /* without a gate, dy is dya */
	int n = x->n, c = s->c;
	size_t nc = (size_t)n * c, nh = (size_t)n * (c / 8);
	float *dsd = s->dsd, *ds = s->ds, *dq = s->dq, *dhr = s->dhr, *dh = s->dh, *dz = s->dz;

	if (s->se) { /* squeeze and excitation */
		R2U_TRY(br_scale_backward(m->ctx, &s->dya, s->drop_p > 0 ? dsd : ds, dout, ya, s->drop_p > 0 ? s->sd : s->s, 0));
		if (s->drop_p > 0)
			R2U_TRY(br_dropout_backward(m->ctx, ds, dsd, nc, s->drop_p, s->drop_seed));
		R2U_TRY(br_vec_sigmoid_backward(m->ctx, dq, ds, s->s, nc));
		R2U_TRY(br_linear_backward(m->ctx, dhr, GRAD(s->fc2_w), GRAD(s->fc2_b), dq, s->hr, PARAM(s->fc2_w), n, c / 8, c));
		R2U_TRY(br_vec_relu_backward(m->ctx, dh, dhr, s->h, nh));
		R2U_TRY(br_linear_backward(m->ctx, dz, GRAD(s->fc1_w), GRAD(s->fc1_b), dh, s->z, PARAM(s->fc1_w), n, c, c / 8));
		R2U_TRY(br_avgpool_backward(m->ctx, &s->dya, dz, 1));
	}
	/* attention gate */
	if (s->attention) {
		R2U_TRY(br_gate_backward(m->ctx, &s->dy, &s->dg, dya, &s->y, &s->g, 0));
		R2U_TRY(br_conv2d_backward(m->ctx, &s->dgr, GRAD(s->gate_w), GRAD(s->gate_b), &s->dg, &s->y, PARAM(s->gate_w), 1, &relu,
				     0));
		R2U_TRY(br_relu_backward(m->ctx, &s->dy, &s->dgr, &s->y, 1));
	}
	/* residual: y = proj(x) + conv2(relu(bn2(r1))) */
	R2U_TRY(br_conv2d_backward(m->ctx, &s->dr1a, GRAD(s->conv2_w), GRAD(s->conv2_b), dy, &s->r1, PARAM(s->conv2_w), 3, &pre2, 0));
	if (bn_back(m, &s->bn2, &s->dr1, &s->dr1a, &s->r1, 0) < 0)
		return -1;
	R2U_TRY(br_conv2d_backward(m->ctx, &s->dxa, GRAD(s->conv1_w), GRAD(s->conv1_b), &s->dr1, x, PARAM(s->conv1_w), 3, &pre1, 0));
	if (s->proj_w >= 0) {
		R2U_TRY(br_conv2d_backward(m->ctx, dx, GRAD(s->proj_w), GRAD(s->proj_b), dy, x, PARAM(s->proj_w), 1, NULL, 0));
		if (bn_back(m, &s->bn1, dx, &s->dxa, x, dx != NULL) < 0)
			return -1;
	} else {
		if (bn_back(m, &s->bn1, dx, &s->dxa, x, 0) < 0)
			return -1;
		if (dx != NULL)
			R2U_TRY(br_acc(m->ctx, dx, dy));
	}
	return 0;
}

static const int head_target[R2U_NHEAD] = {BR_TARGET_WT, BR_TARGET_NCR, BR_TARGET_ED, BR_TARGET_ET};

int r2u_backward(r2u *m, const uint8_t *labels, float lambda)
{
	br_preact relu = {NULL, NULL, 1};
	int k, i, n = m->x.n;
	size_t npix = (size_t)n * m->x.h * m->x.w;

	if (!m->fwd_training)
		return r2u_fail(m, "backward without a training forward pass");
	snprintf(m->where, sizeof m->where, "loss");
	R2U_TRY(br_memcpy_h2d(m->ctx, m->labels, labels, npix));
	if (m->split_sum != NULL) {
		if (r2u_split_loss(m, head_target, lambda) < 0)
			return -1;
	} else {
		for (k = 0; k < R2U_NHEAD; k++)
			R2U_TRY(br_loss_bce_dice(m->ctx, m->loss + 1 + k, &m->dlogit[k], &m->logit[k], m->labels,
					   head_target[k], k == R2U_WT ? 1.0f : lambda));
		if (m->var.supervision == R2U_SUP_SINGLE)
			for (k = 0; k < 2; k++)
				R2U_TRY(br_loss_bce_dice(m->ctx, m->loss + 1 + R2U_NHEAD + k, &m->dside[k], &m->side[k],
						   m->labels, BR_TARGET_WT, lambda));
	}
	m->lambda = lambda;
	snprintf(m->where, sizeof m->where, "heads backward");
	if (m->var.supervision != R2U_SUP_MULTI) {
		struct stage *d1 = &m->dec[2].st;
		for (k = 0; k < R2U_NHEAD; k++)
			R2U_TRY(br_conv2d_backward(m->ctx, &d1->dout, GRAD(m->head_w[k]), GRAD(m->head_b[k]), &m->dlogit[k], &d1->out,
					     PARAM(m->head_w[k]), 1, NULL, k > 0));
	}
	if (m->var.supervision == R2U_SUP_SINGLE)
		for (k = 0; k < 2; k++) { /* k = 0: d2, k = 1: d3 */
			struct stage *d = &m->dec[1 - k].st;
			R2U_TRY(br_upsample_backward(m->ctx, &m->dside_low[k], &m->dside[k], 2 << k, 0));
			R2U_TRY(br_conv2d_backward(m->ctx, &d->dout, GRAD(m->side_w[k]), GRAD(m->side_b[k]), &m->dside_low[k], &d->out,
					     PARAM(m->side_w[k]), 1, NULL, 0));
		}
	if (m->var.supervision == R2U_SUP_MULTI) {
		struct stage *d1 = &m->dec[2].st, *d2 = &m->dec[1].st, *d3 = &m->dec[0].st;
		R2U_TRY(br_conv2d_backward(m->ctx, &d1->dout, GRAD(m->head_w[R2U_WT]), GRAD(m->head_b[R2U_WT]), &m->dlogit[R2U_WT],
				     &d1->out, PARAM(m->head_w[R2U_WT]), 1, NULL, 0));
		R2U_TRY(br_conv2d_backward(m->ctx, &d1->dout, GRAD(m->head_w[R2U_ET]), GRAD(m->head_b[R2U_ET]), &m->dlogit[R2U_ET],
				     &d1->out, PARAM(m->head_w[R2U_ET]), 1, NULL, 1));
		R2U_TRY(br_upsample_backward(m->ctx, &m->dlow[R2U_NCR], &m->dlogit[R2U_NCR], 2, 0));
		R2U_TRY(br_conv2d_backward(m->ctx, &d2->dout, GRAD(m->head_w[R2U_NCR]), GRAD(m->head_b[R2U_NCR]), &m->dlow[R2U_NCR],
				     &d2->out, PARAM(m->head_w[R2U_NCR]), 1, NULL, 0));
		R2U_TRY(br_upsample_backward(m->ctx, &m->dlow[R2U_ED], &m->dlogit[R2U_ED], 4, 0));
		R2U_TRY(br_conv2d_backward(m->ctx, &d3->dout, GRAD(m->head_w[R2U_ED]), GRAD(m->head_b[R2U_ED]), &m->dlow[R2U_ED],
				     &d3->out, PARAM(m->head_w[R2U_ED]), 1, NULL, 0));
	}
	/* decoder, top (dec1) down: dcat splits into the up path and the skip */
	for (k = 2; k >= 0; k--) {
		struct up *u = &m->dec[k];
		struct stage *e = &m->enc[2 - k];
		br_tensor *dbelow = k == 0 ? &m->enc[3].dout : &m->dec[k - 1].st.dout;
		const br_tensor *below = k == 0 ? &m->enc[3].out : &m->dec[k - 1].st.out;
		snprintf(m->where, sizeof m->where, "dec%d backward", 3 - k);
		if (stage_backward(m, &u->st, &u->dcat, &u->cat, &u->st.dout) < 0)
			return -1;
		if (u->gate_w < 0) {
			R2U_TRY(br_concat_backward(m->ctx, &u->du, &e->dout, &u->dcat, 0, 0));
		} else { /* the skip went through skip * sigmoid(gate(relu(skip))) */
			R2U_TRY(br_concat_backward(m->ctx, &u->du, &u->dskip, &u->dcat, 0, 0));
			R2U_TRY(br_gate_backward(m->ctx, &e->dout, &u->dg, &u->dskip, &e->out, &u->g, 0));
			R2U_TRY(br_conv2d_backward(m->ctx, &u->dgr, GRAD(u->gate_w), GRAD(u->gate_b), &u->dg, &e->out, PARAM(u->gate_w), 1,
					     &relu, 0));
			R2U_TRY(br_relu_backward(m->ctx, &e->dout, &u->dgr, &e->out, 1));
		}
		/* dec3's input e4 has no other consumer; d3 and d2 also feed heads
		 * (when the supervision puts heads there) */
		R2U_TRY(br_convt2x2_backward(m->ctx, dbelow, GRAD(u->w), GRAD(u->b), &u->du, below, PARAM(u->w),
				       k == 0 ? 0 : m->var.supervision != R2U_SUP_NONE));
	}
	/* encoder, bottom up: each pooled input's gradient adds into the skip's */
	for (i = 3; i >= 0; i--) {
		struct stage *s = &m->enc[i];
		snprintf(m->where, sizeof m->where, "enc%d backward", i + 1);
		if (stage_backward(m, s, i > 0 ? &m->dpool[i - 1] : NULL, i > 0 ? &m->pool[i - 1] : &m->x, &s->dout) < 0)
			return -1;
		if (i > 0)
			R2U_TRY(br_maxpool2_backward(m->ctx, &m->enc[i - 1].dout, &m->dpool[i - 1], &m->enc[i - 1].out, 1));
	}
	return 0;
}

int r2u_zero_grad(r2u *m)
{
	if (br_memset0(m->ctx, m->grads, m->ntrain * sizeof(float)) < 0)
		return r2u_fail(m, "zeroing gradients: %s", br_ctx_error(m->ctx));
	return 0;
}

int r2u_losses(r2u *m, float out[5])
{
	float l[8];

	if (br_memcpy_d2h(m->ctx, l, m->loss, 8 * sizeof(float)) < 0)
		return r2u_fail(m, "reading the loss: %s", br_ctx_error(m->ctx));
	out[1] = l[1 + R2U_WT];
	out[2] = l[1 + R2U_ED];
	out[3] = l[1 + R2U_NCR];
	out[4] = l[1 + R2U_ET];
	if (m->var.supervision == R2U_SUP_SINGLE)
		out[0] = out[1] + m->lambda * (out[2] + out[3] + out[4] + l[1 + R2U_NHEAD] + l[2 + R2U_NHEAD]);
	else
		out[0] = out[1] + m->lambda * (out[2] + out[3] + out[4]);
	return 0;
}

int r2u_adam(r2u *m, float lr, int t)
{
	snprintf(m->where, sizeof m->where, "adam");
	if (r2u_freeze(m, 0) < 0)
		return -1;
	R2U_TRY(br_adam_step(m->ctx, m->params, m->grads, m->adam_m, m->adam_v, m->ntrain, lr, 0.9f, 0.999f, 1e-8f, t));
	return 0;
}

int r2u_check_finite(r2u *m, size_t *bad_params, size_t *bad_grads)
{
	snprintf(m->where, sizeof m->where, "finite check");
	R2U_TRY(br_count_nonfinite(m->ctx, bad_params, m->params, m->ntrain));
	R2U_TRY(br_count_nonfinite(m->ctx, bad_grads, m->grads, m->ntrain));
	return 0;
}

double r2u_flops(int b, int h, int w)
{
	/* multiply-adds of every conv at its level, x2 */
	double hw = (double)h * w, f = 0;
	int i, cin, c;

	for (i = 0; i < 4; i++) {
		double p = hw / (double)(1 << (2 * i));
		cin = i == 0 ? 4 : b << (i - 1);
		c = b << i;
		f += p * (9.0 * cin * c + 9.0 * c * c + (double)cin * c + c); /* conv1, conv2, proj, gate */
	}
	for (i = 0; i < 3; i++) {
		double p = hw / (double)(1 << (2 * (2 - i)));
		cin = b << (3 - i);
		c = b << (2 - i);
		f += p * 4.0 * cin * c / 4.0 * 1.0; /* transposed conv: each output pixel sums cin */
		f += p * (9.0 * 2 * c * c + 9.0 * c * c + 2.0 * c * c);
	}
	f += hw * (2.0 * b) + hw / 4 * 2 * b + hw / 16 * 4 * b; /* heads */
	return 2 * f;
}
