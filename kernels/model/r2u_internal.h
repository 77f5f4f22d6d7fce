/*
 * r2u_internal.h - the model's layout, shared by r2u.c and checkpoint.c.
 */
#ifndef BR_R2U_INTERNAL_H
#define BR_R2U_INTERNAL_H

#include "kernels.h"
#include "r2u.h"

#define R2U_MAXPARAM 192

struct bnorm {
	int w, b, rm, rv; /* parameter indices */
	int c;
	float *mean, *var, *scale, *shift; /* batch statistics and folded affine */
};

struct stage {
	int cin, c, attention, se;
	struct bnorm bn1, bn2;
	int conv1_w, conv1_b, conv2_w, conv2_b, proj_w, proj_b, gate_w, gate_b;
	int fc1_w, fc1_b, fc2_w, fc2_b;
	/* activations */
	br_tensor r1, r2, y, g, ya, out;
	float *z, *h, *hr, *q, *s, *sd;
	float drop_p;
	uint64_t drop_seed;
	/* gradients */
	br_tensor dout, dya, dy, dgr, dg, dr1a, dr1, dxa;
	float *dsd, *ds, *dq, *dhr, *dh, *dz; /* SE backward: (n, c) and (n, c/8) vectors */
};

struct up {
	int w, b, cin, cout;
	int gate_w, gate_b; /* the gate on the skip (pre-res-gated-skip), else -1 */
	br_tensor u, cat, du, dcat;
	br_tensor g, skip, dskip, dg, dgr; /* gated skip: map, gated skip, gradients */
	struct stage st;
};

struct r2u {
	br_ctx *ctx;
	int base;
	r2u_variant var;
	char err[512];
	char where[32];
	r2u_param p[R2U_MAXPARAM];
	int np;
	size_t ntrain, nrun;
	float *params, *grads, *run, *adam_m, *adam_v, *loss;
	int frozen; /* r2u_freeze: params hinted constant (br_hint_const) */
	struct stage enc[4];
	struct up dec[3]; /* dec3, dec2, dec1 */
	int head_w[R2U_NHEAD], head_b[R2U_NHEAD];
	int side_w[2], side_b[2]; /* single-task deep supervision: whole tumour on d2, d3 */
	/* activations of the planned batch */
	void *arena, *arena_keep;
	size_t arena_bytes, persist_used, slot_bytes[32], slot_off[32];
	int plan_n, plan_h, plan_w, plan_tr, cur_n;
	uint8_t *labels;
	float *stage; /* host staging of the four heads' outputs */
	br_tensor x, pool[3], dpool[3];
	br_tensor logit[R2U_NHEAD], low[R2U_NHEAD], dlogit[R2U_NHEAD], dlow[R2U_NHEAD];
	br_tensor side[2], side_low[2], dside[2], dside_low[2];
	int fwd_training;
	float lambda;
	/* data parallelism (r2u_split.c): sums added up over processes */
	r2u_sum_fn split_sum;
	void *split_arg;
	int sync_bn;
	double *dsum, *hsum; /* backend and host, nsum doubles each */
	size_t nsum;
};

/* A kernel call inside a function of the network (m in scope): on failure
 * return -1 with the kernel's reason and where in the network it failed. */
#define R2U_TRY(call)                                                                    \
	do {                                                                             \
		if ((call) < 0)                                                          \
			return r2u_fail(m, "%s: %s", m->where, br_ctx_error(m->ctx));    \
	} while (0)

int r2u_fail(r2u *m, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* The parameter table of width m->base (names, shapes, offsets); no memory
 * is allocated, so a checkpoint can be checked before the network is built. */
void r2u_build_table(r2u *m);
float *r2u_P(r2u *m, int i);
/* r2u_split.c: the split-batch forms of BatchNorm and of the loss */
int r2u_split_bn_stats(r2u *m, struct bnorm *bn, const br_tensor *x, float eps, float momentum);
int r2u_split_bn_backward(r2u *m, struct bnorm *bn, br_tensor *dx, const br_tensor *da, const br_tensor *x, float eps,
			  int accum);
int r2u_split_loss(r2u *m, const int *targets, float lambda);
void r2u_split_free(r2u *m);
float *r2u_G(r2u *m, int i);

#endif /* BR_R2U_INTERNAL_H */
