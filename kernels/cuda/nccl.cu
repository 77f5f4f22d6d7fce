/*
 * nccl.cu - the nccl kind of kernels/comm.c: an NCCL communicator on one
 * GPU and a deterministic all-reduce on a stream of its own.
 *
 * All-reduce of n floats over N ranks: the buffer is cut into N chunks;
 * one grouped round of ncclSend/ncclRecv hands chunk j of every rank to
 * rank j (an all-to-all), rank j adds its N copies in rank order in double,
 * and ncclAllGather hands every reduced chunk to every rank.  The traffic
 * is that of a ring all-reduce, 2 (N-1)/N n floats per rank, and the sum
 * of each element is done once, in a fixed order: identical bits everywhere.
 * Built where NCCL is found (BR_WITH_NCCL); compiled to nothing elsewhere.
 */
#ifdef BR_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_nccl.h"

struct br_nccl {
	ncclComm_t comm;
	cudaStream_t stream;
	int rank, size, device;
	float *d_send, *d_recv, *d_red; /* (N*chunk), (N*chunk), (chunk) */
	size_t cap;                     /* chunk capacity in floats */
};

#define NC_FAIL(err, len, ...) (snprintf((err), (len), __VA_ARGS__), -1)
#define NC_CUDA(call, err, len)                                                                              \
	do {                                                                                                 \
		cudaError_t e_ = (call);                                                                     \
		if (e_ != cudaSuccess)                                                                       \
			return NC_FAIL(err, len, "%s: %s (%s:%d)", #call, cudaGetErrorString(e_), __FILE__, __LINE__); \
	} while (0)
#define NC_NCCL(call, err, len)                                                                              \
	do {                                                                                                 \
		ncclResult_t r_ = (call);                                                                    \
		if (r_ != ncclSuccess)                                                                       \
			return NC_FAIL(err, len, "%s: %s (%s:%d)", #call, ncclGetErrorString(r_), __FILE__, __LINE__); \
	} while (0)

extern "C" size_t br_nccl_id_bytes(void) { return sizeof(ncclUniqueId); }

extern "C" int br_nccl_get_id(void *id, char *err, size_t errlen)
{
	NC_NCCL(ncclGetUniqueId(static_cast<ncclUniqueId *>(id)), err, errlen);
	return 0;
}

extern "C" struct br_nccl *br_nccl_new(const void *id, int size, int rank, int device, char *err, size_t errlen)
{
	struct br_nccl *c = static_cast<struct br_nccl *>(calloc(1, sizeof *c));
	ncclUniqueId uid;
	cudaError_t e;
	ncclResult_t r;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(&uid, id, sizeof uid);
	c->rank = rank;
	c->size = size;
	c->device = device;
	if ((e = cudaSetDevice(device)) != cudaSuccess ||
	    (e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) != cudaSuccess) {
		snprintf(err, errlen, "cuda:%d: %s", device, cudaGetErrorString(e));
		free(c);
		return NULL;
	}
	if ((r = ncclCommInitRank(&c->comm, size, uid, rank)) != ncclSuccess) {
		snprintf(err, errlen, "ncclCommInitRank (rank %d of %d, cuda:%d): %s", rank, size, device,
			 ncclGetErrorString(r));
		cudaStreamDestroy(c->stream);
		free(c);
		return NULL;
	}
	return c;
}

extern "C" void br_nccl_free(struct br_nccl *c)
{
	if (c == NULL)
		return;
	cudaSetDevice(c->device);
	ncclCommDestroy(c->comm);
	cudaFree(c->d_send);
	cudaFree(c->d_recv);
	cudaFree(c->d_red);
	cudaStreamDestroy(c->stream);
	free(c);
}

__global__ void k_rank_sum(float *d_red, const float *d_recv, long long chunk, int nranks, double scale)
/* d_red: (chunk)  d_recv: (nranks, chunk); each element added in rank order in double */
{
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < chunk;
	     i += (long long)gridDim.x * blockDim.x) {
		double s = 0.0;
		for (int r = 0; r < nranks; r++)
			s += (double)d_recv[(long long)r * chunk + i];
		d_red[i] = (float)(s * scale);
	}
}

/* d_buf: (n) float32 on this rank's GPU; the caller has synchronised the
 * stream that wrote it.  Synchronous on return. */
extern "C" int br_nccl_allreduce_f(struct br_nccl *c, float *d_buf, size_t n, double scale, char *err, size_t errlen)
{
	const int N = c->size;
	const size_t chunk = (n + (size_t)N - 1) / (size_t)N;
	unsigned blocks;

	if (n == 0)
		return 0;
	NC_CUDA(cudaSetDevice(c->device), err, errlen);
	if (chunk > c->cap) {
		cudaFree(c->d_send);
		cudaFree(c->d_recv);
		cudaFree(c->d_red);
		c->d_send = c->d_recv = c->d_red = NULL;
		c->cap = 0;
		NC_CUDA(cudaMalloc(&c->d_send, chunk * N * sizeof(float)), err, errlen);
		NC_CUDA(cudaMalloc(&c->d_recv, chunk * N * sizeof(float)), err, errlen);
		NC_CUDA(cudaMalloc(&c->d_red, chunk * sizeof(float)), err, errlen);
		c->cap = chunk;
	}
	/* the padded copy: chunk N-1 may be short */
	NC_CUDA(cudaMemsetAsync(c->d_send, 0, chunk * N * sizeof(float), c->stream), err, errlen);
	NC_CUDA(cudaMemcpyAsync(c->d_send, d_buf, n * sizeof(float), cudaMemcpyDeviceToDevice, c->stream), err, errlen);
	NC_NCCL(ncclGroupStart(), err, errlen);
	for (int r = 0; r < N; r++) {
		NC_NCCL(ncclSend(c->d_send + (size_t)r * chunk, chunk, ncclFloat, r, c->comm, c->stream), err, errlen);
		NC_NCCL(ncclRecv(c->d_recv + (size_t)r * chunk, chunk, ncclFloat, r, c->comm, c->stream), err, errlen);
	}
	NC_NCCL(ncclGroupEnd(), err, errlen);
	blocks = (unsigned)((chunk + 255) / 256 < 4096 ? (chunk + 255) / 256 : 4096);
	k_rank_sum<<<blocks, 256, 0, c->stream>>>(c->d_red, c->d_recv, (long long)chunk, N, scale);
	NC_CUDA(cudaGetLastError(), err, errlen);
	NC_NCCL(ncclAllGather(c->d_red, c->d_send, chunk, ncclFloat, c->comm, c->stream), err, errlen);
	NC_CUDA(cudaMemcpyAsync(d_buf, c->d_send, n * sizeof(float), cudaMemcpyDeviceToDevice, c->stream), err, errlen);
	NC_CUDA(cudaStreamSynchronize(c->stream), err, errlen);
	return 0;
}
#endif /* BR_WITH_NCCL */
