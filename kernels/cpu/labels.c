/* labels.c - the label map assembled from the four head probabilities. */
#include "cpu.h"

#include "brats_labels.h"

/* labels: (n) uint8  probs: (4, n) planar float32: wt, ncr, ed, et */
int cpu_labels_assemble(br_ctx *ctx, uint8_t *labels, const float *probs, size_t n, int wt_only)
{
	const float *wt = probs, *ncr = probs + n, *et = probs + 3 * n;

#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 16)) schedule(static)
	for (size_t i = 0; i < n; i++)
		labels[i] = br_label_of(wt[i], ncr[i], et[i], wt_only);
	return 0;
}
