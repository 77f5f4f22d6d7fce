/*
 * comm_nccl.h - what kernels/cuda/nccl.cu gives kernels/comm.c (internal;
 * present in builds with BR_WITH_NCCL).
 */
#ifndef BR_COMM_NCCL_H
#define BR_COMM_NCCL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct br_nccl;
size_t br_nccl_id_bytes(void);
int br_nccl_get_id(void *id, char *err, size_t errlen);
struct br_nccl *br_nccl_new(const void *id, int size, int rank, int device, char *err, size_t errlen);
void br_nccl_free(struct br_nccl *c);
int br_nccl_allreduce_f(struct br_nccl *c, float *d_buf, size_t n, double scale, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* BR_COMM_NCCL_H */
