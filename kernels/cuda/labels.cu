/*
 * labels.cu - the label map assembled from the four head probabilities,
 * one thread per voxel, the rule of brats_labels.h.
 */
#include "common.cuh"

#include "brats_labels.h"

__global__ void k_labels_assemble(uint8_t *d_labels, const float *d_probs, long long n, int wt_only)
/* d_labels: (n)  d_probs: (4, n) planar: wt, ncr, ed, et */
{
	CU_GRID_LOOP(i, n)
	d_labels[i] = br_label_of(d_probs[i], d_probs[n + i], d_probs[3 * n + i], wt_only);
}

int cu_labels_assemble(br_ctx *ctx, uint8_t *labels, const float *probs, size_t n, int wt_only)
{
	const long long m = (long long)n;

	if (m == 0)
		return 0;
	k_labels_assemble<<<cu_blocks(m, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(labels, probs, m, wt_only);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}
