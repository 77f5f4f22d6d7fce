/* loss.c - deep-supervision head loss: BCE with logits (mean) + soft Dice. */
#include "cpu.h"

/* loss: 1 float  dlogit, logit: (N,1,H,W)  labels: N*H*W uint8
 * L = mean(max(z,0) - z t + log1p(exp(-|z|))) + 1 - (2 sum(p t) + 1) / (sum(p p) + sum(t t) + 1)
 * Chunk partial sums in double, added in chunk order: the sums and the
 * gradient from them of loss_sums.c, with the batch as the whole. */
int cpu_loss_bce_dice(br_ctx *ctx, float *loss, br_tensor *dlogit, const br_tensor *logit, const uint8_t *labels,
		      int target, float weight)
{
	double sums[4];

	/* one batch: its own sums are the whole batch's (loss_sums.c) */
	if (cpu_loss_sums(ctx, sums, logit, labels, target) < 0)
		return -1;
	return cpu_loss_from_sums(ctx, loss, dlogit, logit, labels, sums, (double)cpu_numel(logit), target, weight);
}
