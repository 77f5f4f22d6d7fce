/*
 * comm.c - collectives between training processes (comm.h): none, MPI on
 * host buffers, NCCL on device buffers (kernels/cuda/nccl.cu).  MPI code is
 * compiled where the build found MPI (BR_WITH_MPI), NCCL code where it also
 * found NCCL and CUDA (BR_WITH_NCCL).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "comm.h"
#ifdef BR_WITH_MPI
#include <mpi.h>
#endif
#ifdef BR_WITH_NCCL
#include "comm_nccl.h"
#endif

struct br_comm {
	int kind, rank, size, local_rank;
	int started_mpi; /* MPI_Finalize on free */
	int have_comm;   /* comm to free */
	br_ctx *ctx;
	char err[512];
	float *hbuf, *send, *recv; /* host: (n), (N*chunk), (N*chunk) */
	size_t hcap, ccap;
	double *dtmp; /* (N*n) */
	size_t dcap;
#ifdef BR_WITH_MPI
	MPI_Comm comm;
#endif
#ifdef BR_WITH_NCCL
	struct br_nccl *nccl;
#endif
};

static int comm_fail(br_comm *c, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
static int comm_fail(br_comm *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

int br_comm_built(int kind)
{
	switch (kind) {
	case BR_COMM_NONE: return 1;
#ifdef BR_WITH_MPI
	case BR_COMM_MPI: return 1;
#endif
#ifdef BR_WITH_NCCL
	case BR_COMM_NCCL: return 1;
#endif
	default: return 0;
	}
}

static const char *const kind_names[] = {"none", "mpi", "nccl"};

int br_comm_kind_from_name(const char *name)
{
	for (int k = 0; k < 3; k++)
		if (name != NULL && strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *br_comm_kind_name(int kind) { return kind >= 0 && kind < 3 ? kind_names[kind] : "?"; }

static int env_int(const char *name, int *v)
{
	const char *s = getenv(name);
	char *end;
	long x;

	if (s == NULL || *s == '\0')
		return 0;
	x = strtol(s, &end, 10);
	if (*end != '\0' || x < 0 || x > 1 << 24)
		return 0;
	*v = (int)x;
	return 1;
}

int br_comm_env(int *rank, int *size, int *local_rank)
{
	static const char *const vars[][3] = {
		{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
		{"SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"},
		{"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
	};
	int r, s, l;

	*rank = 0;
	*size = 1;
	*local_rank = 0;
	for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
		if (!env_int(vars[k][0], &r) || !env_int(vars[k][1], &s) || s < 1 || r >= s)
			continue;
		if (!env_int(vars[k][2], &l))
			l = r;
		*rank = r;
		*size = s;
		*local_rank = l;
		return 1;
	}
	return 0;
}

int br_comm_kind(const br_comm *c) { return c->kind; }
int br_comm_rank(const br_comm *c) { return c->rank; }
int br_comm_size(const br_comm *c) { return c->size; }
int br_comm_local_rank(const br_comm *c) { return c->local_rank; }
const char *br_comm_error(const br_comm *c) { return c->err; }

#ifdef BR_WITH_MPI
static int mpi_fail(br_comm *c, const char *what, int rc)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error %d", rc);
	return comm_fail(c, "%s: %s", what, s);
}
#define MPI_TRY(c, call)                                              \
	do {                                                          \
		int rc_ = (call);                                     \
		if (rc_ != MPI_SUCCESS)                               \
			return mpi_fail((c), #call, rc_);             \
	} while (0)

static int mpi_open(br_comm *c)
{
	int inited = 0;
	MPI_Comm node;

	MPI_TRY(c, MPI_Initialized(&inited));
	if (!inited) {
		MPI_TRY(c, MPI_Init(NULL, NULL));
		c->started_mpi = 1;
	}
	MPI_TRY(c, MPI_Comm_dup(MPI_COMM_WORLD, &c->comm));
	c->have_comm = 1;
	/* errors come back as codes (a lost peer still ends the job through the launcher) */
	MPI_TRY(c, MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN));
	MPI_TRY(c, MPI_Comm_rank(c->comm, &c->rank));
	MPI_TRY(c, MPI_Comm_size(c->comm, &c->size));
	MPI_TRY(c, MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node));
	MPI_TRY(c, MPI_Comm_rank(node, &c->local_rank));
	MPI_Comm_free(&node);
	return 0;
}
#endif

#ifdef BR_WITH_NCCL
static int nccl_open(br_comm *c)
{
	char id[512];
	size_t nb = br_nccl_id_bytes();

	if (br_ctx_device(c->ctx) != BR_DEV_CUDA)
		return comm_fail(c, "nccl: the device is not a GPU (%s)", br_ctx_describe(c->ctx));
	if (nb > sizeof id)
		return comm_fail(c, "nccl: unique id of %zu bytes", nb);
	if (c->rank == 0 && br_nccl_get_id(id, c->err, sizeof c->err) < 0)
		return -1;
	MPI_TRY(c, MPI_Bcast(id, (int)nb, MPI_BYTE, 0, c->comm));
	c->nccl = br_nccl_new(id, c->size, c->rank, c->ctx->device_index, c->err, sizeof c->err);
	return c->nccl == NULL ? -1 : 0;
}
#endif

br_comm *br_comm_new(int kind, br_ctx *ctx, char *err, size_t errlen)
{
	br_comm *c;

	if (!br_comm_built(kind)) {
		snprintf(err, errlen, "built without %s", kind == BR_COMM_NCCL ? "NCCL" : "MPI");
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->kind = kind;
	c->ctx = ctx;
	c->size = 1;
#ifdef BR_WITH_MPI
	if (kind != BR_COMM_NONE && mpi_open(c) < 0) {
		snprintf(err, errlen, "%s", c->err);
		br_comm_free(c);
		return NULL;
	}
#endif
#ifdef BR_WITH_NCCL
	if (kind == BR_COMM_NCCL && nccl_open(c) < 0) {
		snprintf(err, errlen, "%s", c->err);
		br_comm_free(c);
		return NULL;
	}
#endif
	return c;
}

void br_comm_free(br_comm *c)
{
	if (c == NULL)
		return;
#ifdef BR_WITH_NCCL
	br_nccl_free(c->nccl);
#endif
#ifdef BR_WITH_MPI
	if (c->have_comm)
		MPI_Comm_free(&c->comm);
	if (c->started_mpi)
		MPI_Finalize();
#endif
	free(c->hbuf);
	free(c->send);
	free(c->recv);
	free(c->dtmp);
	free(c);
}

void br_comm_abort(br_comm *c, int code)
{
#ifdef BR_WITH_MPI
	if (c != NULL && c->kind != BR_COMM_NONE)
		MPI_Abort(MPI_COMM_WORLD, code);
#endif
	(void)c;
	(void)code;
}

#ifdef BR_WITH_MPI
/* host (n floats): each rank sums chunk r of every rank in rank order (an
 * all-to-all, then a local sum), then every chunk goes to every rank */
static int mpi_allreduce_host(br_comm *c, float *host, size_t n, double scale)
{
	const int N = c->size;
	const size_t chunk = (n + (size_t)N - 1) / (size_t)N;
	float *red;

	if (chunk > (size_t)1 << 30)
		return comm_fail(c, "all-reduce of %zu values: too large", n);
	if (chunk > c->ccap) {
		free(c->send);
		free(c->recv);
		c->send = malloc(chunk * N * sizeof(float));
		c->recv = malloc(chunk * (N + 1) * sizeof(float));
		c->ccap = c->send && c->recv ? chunk : 0;
		if (c->ccap == 0)
			return comm_fail(c, "out of memory");
	}
	red = c->recv + chunk * N;
	memcpy(c->send, host, n * sizeof(float));
	memset(c->send + n, 0, (chunk * N - n) * sizeof(float));
	MPI_TRY(c, MPI_Alltoall(c->send, (int)chunk, MPI_FLOAT, c->recv, (int)chunk, MPI_FLOAT, c->comm));
	for (size_t i = 0; i < chunk; i++) {
		double s = 0.0;
		for (int r = 0; r < N; r++)
			s += (double)c->recv[(size_t)r * chunk + i];
		red[i] = (float)(s * scale);
	}
	MPI_TRY(c, MPI_Allgather(red, (int)chunk, MPI_FLOAT, c->send, (int)chunk, MPI_FLOAT, c->comm));
	memcpy(host, c->send, n * sizeof(float));
	return 0;
}
#endif

int br_comm_allreduce_f(br_comm *c, float *buf, size_t n, double scale)
{
	int gpu = br_ctx_device(c->ctx) != BR_DEV_CPU;
	float *host = buf;

	if (n == 0)
		return 0;
#ifdef BR_WITH_NCCL
	if (c->kind == BR_COMM_NCCL) {
		if (br_sync(c->ctx) < 0)
			return comm_fail(c, "%s", br_ctx_error(c->ctx));
		return br_nccl_allreduce_f(c->nccl, buf, n, scale, c->err, sizeof c->err);
	}
#endif
	if (gpu) {
		if (n > c->hcap) {
			free(c->hbuf);
			c->hbuf = malloc(n * sizeof(float));
			c->hcap = c->hbuf ? n : 0;
			if (c->hbuf == NULL)
				return comm_fail(c, "out of memory");
		}
		host = c->hbuf;
		if (br_memcpy_d2h(c->ctx, host, buf, n * sizeof(float)) < 0)
			return comm_fail(c, "%s", br_ctx_error(c->ctx));
	}
#ifdef BR_WITH_MPI
	if (c->kind != BR_COMM_NONE) {
		if (mpi_allreduce_host(c, host, n, scale) < 0)
			return -1;
	} else
#endif
	if (scale != 1.0) {
		for (size_t i = 0; i < n; i++)
			host[i] = (float)((double)host[i] * scale);
	}
	if (gpu && br_memcpy_h2d(c->ctx, buf, host, n * sizeof(float)) < 0)
		return comm_fail(c, "%s", br_ctx_error(c->ctx));
	return 0;
}

int br_comm_allreduce_d(br_comm *c, double *buf, size_t n)
{
#ifdef BR_WITH_MPI
	const int N = c->size;

	if (c->kind == BR_COMM_NONE || n == 0)
		return 0;
	if (n > (size_t)1 << 28)
		return comm_fail(c, "all-reduce of %zu values: too large", n);
	if (n * N > c->dcap) {
		free(c->dtmp);
		c->dtmp = malloc(n * N * sizeof(double));
		c->dcap = c->dtmp ? n * N : 0;
		if (c->dtmp == NULL)
			return comm_fail(c, "out of memory");
	}
	MPI_TRY(c, MPI_Allgather(buf, (int)n, MPI_DOUBLE, c->dtmp, (int)n, MPI_DOUBLE, c->comm));
	for (size_t i = 0; i < n; i++) {
		double s = 0.0;
		for (int r = 0; r < N; r++)
			s += c->dtmp[(size_t)r * n + i];
		buf[i] = s;
	}
#endif
	(void)c;
	(void)buf;
	(void)n;
	return 0;
}

int br_comm_allgather_u64(br_comm *c, uint64_t *out, uint64_t v)
{
#ifdef BR_WITH_MPI
	if (c->kind != BR_COMM_NONE) {
		MPI_TRY(c, MPI_Allgather(&v, 1, MPI_UINT64_T, out, 1, MPI_UINT64_T, c->comm));
		return 0;
	}
#endif
	out[0] = v;
	return 0;
}

int br_comm_barrier(br_comm *c)
{
#ifdef BR_WITH_MPI
	if (c->kind != BR_COMM_NONE)
		MPI_TRY(c, MPI_Barrier(c->comm));
#endif
	(void)c;
	return 0;
}
