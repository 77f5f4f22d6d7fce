/*
 * brats_labels.h - the BraTS labels and the four heads of the network, one
 * definition for the host and the device (internal to the kernel library:
 * kernels/cpu/ and kernels/cuda/ include it; llm.c's shared .cuh style).
 *
 * Labels (doc/MODEL.md): 0 background, 1 necrotic core (NCR), 2 oedema
 * (ED), 4 enhancing tumour (ET).  Heads (enum br_target): WT = label > 0,
 * NCR = label 1, ED = label 2, ET = label 4.
 */
#ifndef BR_BRATS_LABELS_H
#define BR_BRATS_LABELS_H

#include <stdint.h>

#include "kernels.h"

/* static inline on the host; also a device function under nvcc */
#ifdef __CUDACC__
#define BR_LABELS_FN static __host__ __device__ __forceinline__
#else
#define BR_LABELS_FN static inline
#endif

/* The binary target of head target (enum br_target) for the label lab. */
BR_LABELS_FN float br_target_of(uint8_t lab, int target)
{
	switch (target) {
	case BR_TARGET_WT:
		return lab > 0 ? 1.0f : 0.0f;
	case BR_TARGET_NCR:
		return lab == 1 ? 1.0f : 0.0f;
	case BR_TARGET_ED:
		return lab == 2 ? 1.0f : 0.0f;
	default:
		return lab == 4 ? 1.0f : 0.0f;
	}
}

/* The label of a voxel from its head probabilities (doc/MODEL.md): tumour
 * where p_wt >= 0.5; then 4 where p_et >= 0.5, else 1 where p_ncr >= 0.5,
 * else 2; 0 elsewhere (and where p_wt is NaN).  wt_only: 1 for tumour. */
BR_LABELS_FN uint8_t br_label_of(float wt, float ncr, float et, int wt_only)
{
	if (!(wt >= 0.5f))
		return 0;
	if (wt_only)
		return 1;
	if (et >= 0.5f)
		return 4;
	return ncr >= 0.5f ? 1 : 2;
}

#endif /* BR_BRATS_LABELS_H */
