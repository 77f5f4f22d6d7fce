/*
 * comm.h - collectives between the processes of one training run, for data
 * parallelism: MPI (Open MPI, MPICH) for host buffers and CPU ranks, NCCL
 * for GPU buffers, or nothing.  The only header of kernels/comm.c.
 *
 * Every reduction is deterministic: each element is added up in rank order,
 * in double, by one rank and the result sent to all, so that every rank
 * holds the same bits, run after run, whatever the network does.
 *
 * Buffers "in backend memory" belong to the br_ctx given to br_comm_new
 * (host memory for a CPU context, device memory for a CUDA one); the mpi
 * kind copies them through the host, the nccl kind reduces them on the
 * device on a stream of its own.
 */
#ifndef BR_COMM_H
#define BR_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct br_comm br_comm;

enum br_comm_kind {
	BR_COMM_NONE = 0, /* one process: the collectives copy */
	BR_COMM_MPI = 1,  /* MPI collectives on host buffers */
	BR_COMM_NCCL = 2  /* NCCL on device buffers (the id sent with MPI_Bcast), MPI for host buffers */
};

/* 1 when this build has the kind (none always). */
int br_comm_built(int kind);
/* "none", "mpi", "nccl" -> enum br_comm_kind; -1 for anything else. */
int br_comm_kind_from_name(const char *name);
const char *br_comm_kind_name(int kind);

/* The rank, number of ranks and rank within the node that a launcher put in
 * the environment (Open MPI's mpirun: OMPI_COMM_WORLD_*; Slurm's srun:
 * SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID; MPICH's Hydra: PMI_*).
 * Returns 1 when one did, else 0 with 0, 1, 0.  Needs no MPI: it serves to
 * choose the GPU before anything starts. */
int br_comm_env(int *rank, int *size, int *local_rank);

/* Join the run: MPI_Init (unless MPI is running already) and a communicator
 * of every rank; for nccl also an NCCL communicator on ctx's GPU.  ctx
 * stays the caller's and must outlive the comm.  NULL with a reason in err. */
br_comm *br_comm_new(int kind, br_ctx *ctx, char *err, size_t errlen);
/* Leave the run (MPI_Finalize when br_comm_new started MPI).  NULL safe. */
void br_comm_free(br_comm *c);
/* End every rank of the run now with status code (MPI_Abort); returns only
 * without MPI. */
void br_comm_abort(br_comm *c, int code);

int br_comm_kind(const br_comm *c);
int br_comm_rank(const br_comm *c);
int br_comm_size(const br_comm *c);
int br_comm_local_rank(const br_comm *c);
const char *br_comm_error(const br_comm *c);

/* buf (n floats in backend memory) = scale * the sum over ranks of every
 * rank's buf, added in rank order in double.  0 or -1 (br_comm_error). */
int br_comm_allreduce_f(br_comm *c, float *buf, size_t n, double scale);
/* The same for n doubles in host memory (scale 1). */
int br_comm_allreduce_d(br_comm *c, double *buf, size_t n);
/* out[r] = rank r's v (out: size values, host). */
int br_comm_allgather_u64(br_comm *c, uint64_t *out, uint64_t v);
/* Wait for every rank. */
int br_comm_barrier(br_comm *c);

#ifdef __cplusplus
}
#endif

#endif /* BR_COMM_H */
