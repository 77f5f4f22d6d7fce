/*
 * r2u_split.c - R2U-MTDS over a batch split across processes (data
 * parallelism): the loss from sums added up over the processes and, with
 * sync-BN, BatchNorm statistics and backward from such sums.  The model
 * calls these only after r2u_set_split; one process keeps the one-piece ops
 * of r2u.c, bit for bit.  Parameter access and checksums for the trainer's
 * all-reduce and its agreement checks are here too.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2u.h"
#include "r2u_internal.h"

int r2u_set_split(r2u *m, r2u_sum_fn sum, void *arg, int sync_bn)
{
	size_t n = 2 * (size_t)8 * m->base + 32; /* the widest BatchNorm (8b channels), or 4 heads x 4 */
	r2u_variant paper;

	/* the split loss and BatchNorm cover the paper's network only */
	r2u_variant_paper(&paper);
	if (sum != NULL && memcmp(&paper, &m->var, sizeof paper) != 0)
		return r2u_fail(m, "data parallelism covers the paper's network only (no --block, --supervision "
				   "or --no-se ablation)");
	m->split_sum = sum;
	m->split_arg = arg;
	m->sync_bn = sum != NULL && sync_bn;
	if (sum == NULL || m->dsum != NULL)
		return 0;
	m->dsum = br_malloc(m->ctx, n * sizeof(double));
	m->hsum = malloc(n * sizeof(double));
	if (m->dsum == NULL || m->hsum == NULL)
		return r2u_fail(m, "cannot allocate the sums of a split batch: %s", br_ctx_error(m->ctx));
	m->nsum = n;
	return 0;
}

void r2u_split_free(r2u *m)
{
	br_free(m->ctx, m->dsum);
	free(m->hsum);
	m->dsum = NULL;
	m->hsum = NULL;
}

/* the first n doubles of dsum, and count after them, added up over the
 * processes; the totals back in dsum, the count returned in *count */
static int add_up(r2u *m, size_t n, double count, double *total)
{
	if (n + 1 > m->nsum)
		return r2u_fail(m, "%s: internal error: %zu sums", m->where, n);
	R2U_TRY(br_memcpy_d2h(m->ctx, m->hsum, m->dsum, n * sizeof(double)));
	m->hsum[n] = count;
	if (m->split_sum(m->split_arg, m->hsum, n + 1) < 0)
		return r2u_fail(m, "%s: adding up the sums of the processes failed", m->where);
	R2U_TRY(br_memcpy_h2d(m->ctx, m->dsum, m->hsum, n * sizeof(double)));
	*total = m->hsum[n];
	return 0;
}

int r2u_split_bn_stats(r2u *m, struct bnorm *bn, const br_tensor *x, float eps, float momentum)
{
	double count;

	R2U_TRY(br_bn_sums(m->ctx, m->dsum, x));
	if (add_up(m, 2 * (size_t)x->c, (double)x->n * x->h * x->w, &count) < 0)
		return -1;
	R2U_TRY(br_bn_stats_from_sums(m->ctx, bn->mean, bn->var, bn->scale, bn->shift, r2u_P(m, bn->rm), r2u_P(m, bn->rv),
				m->dsum, count, r2u_P(m, bn->w), r2u_P(m, bn->b), x->c, eps, momentum));
	return 0;
}

/* dgamma and dbeta get this process's share (the trainer adds the shares
 * up with the other gradients); dx needs the sums of the whole batch */
int r2u_split_bn_backward(r2u *m, struct bnorm *bn, br_tensor *dx, const br_tensor *da, const br_tensor *x, float eps,
			  int accum)
{
	double count;

	R2U_TRY(br_bn_relu_backward_sums(m->ctx, m->dsum, r2u_G(m, bn->w), r2u_G(m, bn->b), da, x, bn->mean, bn->var,
				   r2u_P(m, bn->w), r2u_P(m, bn->b), eps));
	if (dx == NULL) /* the same in every process: the network's input needs no gradient */
		return 0;
	if (add_up(m, 2 * (size_t)x->c, (double)x->n * x->h * x->w, &count) < 0)
		return -1;
	R2U_TRY(br_bn_relu_backward_from_sums(m->ctx, dx, da, x, m->dsum, count, bn->mean, bn->var, r2u_P(m, bn->w),
					r2u_P(m, bn->b), eps, accum));
	return 0;
}

int r2u_split_loss(r2u *m, const int *targets, float lambda)
{
	double count;
	int k;

	for (k = 0; k < R2U_NHEAD; k++)
		R2U_TRY(br_loss_sums(m->ctx, m->dsum + 4 * k, &m->logit[k], m->labels, targets[k]));
	if (add_up(m, 4 * R2U_NHEAD, (double)m->x.n * m->x.h * m->x.w, &count) < 0)
		return -1;
	for (k = 0; k < R2U_NHEAD; k++)
		R2U_TRY(br_loss_from_sums(m->ctx, m->loss + 1 + k, &m->dlogit[k], &m->logit[k], m->labels, m->dsum + 4 * k,
				    count, targets[k], k == R2U_WT ? 1.0f : lambda));
	return 0;
}

float *r2u_grad_buffer(r2u *m) { return m->grads; }

float *r2u_running_buffer(r2u *m, size_t *n)
{
	*n = m->nrun;
	return m->run;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001B3ULL;
	}
	return h;
}

int r2u_checksum(r2u *m, uint64_t *sum)
{
	const float *bufs[4] = {m->params, m->run, m->adam_m, m->adam_v};
	size_t lens[4] = {m->ntrain, m->nrun, m->ntrain, m->ntrain};
	float *h = malloc(m->ntrain * sizeof *h + m->nrun * sizeof *h);
	uint64_t s = 0xCBF29CE484222325ULL;

	if (h == NULL)
		return r2u_fail(m, "out of memory");
	snprintf(m->where, sizeof m->where, "checksum");
	for (int k = 0; k < 4; k++) {
		if (br_memcpy_d2h(m->ctx, h, bufs[k], lens[k] * sizeof *h) < 0) {
			free(h);
			return r2u_fail(m, "checksum: %s", br_ctx_error(m->ctx));
		}
		s = fnv1a(s, h, lens[k] * sizeof *h);
	}
	free(h);
	*sum = s;
	return 0;
}
