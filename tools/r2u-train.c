/*
 * r2u-train - train R2U-MTDS on normalised 4-channel records and their
 * label maps, slice by slice, with the paper's defaults.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "comm.h"
#include "dataset.h"
#include "kernels.h"
#include "predict.h"
#include "r2u.h"
#include "volume.h"

static const char usage[] =
	"usage: r2u-train [-hqvf] [-d cpu|cuda[:N]] [-j N] -o MODEL [--epochs N] [--batch N] [--lr X]\n"
	"                 [--lambda X] [--flip | --no-flip] [--seed S] [--width B] [--val LIST] [--init FILE]\n"
	"                 [--resume FILE] [--checkpoint-every N] [--keep-empty F] [--dropout P] [--steps N]\n"
	"                 [--deterministic] [--log FILE] [--precision fp32|tf32|bf16]\n"
	"                 [--sync-bn] [--comm mpi|nccl]\n"
	"                 -l LIST | IMAGE LABEL [IMAGE LABEL ...]\n"
	"Train R2U-MTDS on axial slices of normalised images and their label maps.\n"
	"  -o MODEL             the checkpoint to write (.safetensors; weights and training state)\n"
	"  -l LIST              a file of 'IMAGE LABEL' lines instead of operands\n"
	"  --epochs N           epochs (default 50); lr of epoch e is lr * (1 - e/N)^0.9\n"
	"  --batch N            slices per optimiser step (default 32)\n"
	"  --lr X               Adam's learning rate (default 1e-4)\n"
	"  --lambda X           weight of the three sub-region heads (default 1)\n"
	"  --flip, --no-flip    random left-right flips (default on)\n"
	"  --seed S             seed of initialisation, order, flips and dropout (default 1)\n"
	"  --width B            base width (default 32; a multiple of 8)\n"
	"  --val LIST           'IMAGE LABEL' lines of held-out cases: whole-tumour Dice per epoch\n"
	"  --init FILE          start from these weights\n"
	"  --resume FILE        continue a run from its checkpoint (weights, Adam, position, generator)\n"
	"  --checkpoint-every N write MODEL every N steps too (and always at epoch ends)\n"
	"  --keep-empty F       fraction of tumour-free slices used per epoch (default 1)\n"
	"  --dropout P          dropout of the SE blocks (default 0.2)\n"
	"  --steps N            stop after N optimiser steps\n"
	"  --deterministic      slices in file order (cases as given, z ascending), no shuffling\n"
	"  --log FILE           a TSV row per step: epoch step lr loss loss_wt loss_ed loss_ncr loss_et\n"
	"                       slices_per_s val_dice\n"
	"  --precision P        GPU arithmetic: fp32, tf32 (default where supported) or bf16\n"
	"  --sync-bn            under mpirun or srun: BatchNorm statistics over every rank's slices\n"
	"                       (default: each rank normalises its own --batch slices)\n"
	"  --comm K             collectives between ranks: mpi, or nccl for GPUs (default: nccl on\n"
	"                       GPUs where built, else mpi); given, also with one rank\n"
	"  -d DEVICE            cpu, cuda or cuda:N (default: cuda when a GPU is present)\n"
	"  -j N                 CPU threads (default: all cores)\n"
	"  -q, -v               quieter, more verbose\n"
	"  -h                   this help\n";

enum {
	OPT_EPOCHS = 256, OPT_BATCH, OPT_LR, OPT_LAMBDA, OPT_FLIP, OPT_NOFLIP, OPT_SEED, OPT_WIDTH, OPT_VAL, OPT_INIT,
	OPT_RESUME, OPT_CKPT, OPT_KEEP, OPT_DROPOUT, OPT_STEPS, OPT_DET, OPT_LOG, OPT_PREC,
	OPT_SYNCBN, OPT_COMM
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	if (stop_signal) { /* a second signal: stop now */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop_signal = sig;
}

struct pairs {
	char **img, **lab;
	int n, cap;
};

static void pairs_add(struct pairs *p, const char *img, const char *lab)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->img = realloc(p->img, (size_t)p->cap * sizeof *p->img);
		p->lab = realloc(p->lab, (size_t)p->cap * sizeof *p->lab);
		if (p->img == NULL || p->lab == NULL)
			br_die(NULL, "out of memory");
	}
	p->img[p->n] = strdup(img);
	p->lab[p->n] = strdup(lab);
	p->n++;
}

/* 'IMAGE LABEL' per line; blank lines and '#' comments skipped */
static void read_list(struct pairs *p, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[8192], a[4096], b[4096], extra[8];
	int lineno = 0, k;

	if (f == NULL)
		br_die(path, "%s", strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		k = sscanf(line, "%4095s %4095s %7s", a, b, extra);
		if (k != 2)
			br_die(path, "line %d: expected 'IMAGE LABEL'", lineno);
		pairs_add(p, a, b);
	}
	fclose(f);
	if (p->n == 0)
		br_die(path, "no image/label pairs");
}

/* whole-tumour Dice averaged over the validation cases */
static double validate(r2u *m, const r2u_data *val, int batch)
{
	double sum = 0;
	int c;
	char msg[512];

	for (c = 0; c < val->ncases; c++) {
		const r2u_case *k = &val->cases[c];
		size_t nv = br_vol_nvox(k->img), i, tp = 0, np = 0, nt = 0;
		float *p = malloc(nv * 4 * sizeof *p);
		const uint8_t *l = k->lab->data;
		if (p == NULL)
			br_die(NULL, "out of memory");
		if (r2u_predict(&m, 1, k->img, 0, batch, p, msg, sizeof msg) < 0)
			br_die(k->img_path, "validation: %s", msg);
		for (i = 0; i < nv; i++) {
			int a = p[i] >= 0.5f, b = l[i] > 0;
			tp += a && b;
			np += a;
			nt += b;
		}
		sum += np + nt == 0 ? 1.0 : 2.0 * tp / (double)(np + nt);
		free(p);
	}
	return sum / val->ncases;
}

/* the dropout stream of one step: a pure function of the seed, the step and the rank */
static uint64_t step_seed(uint64_t seed, int64_t step, int rank)
{
	return (uint64_t)(r2u_hash_uniform(seed, 0xD12, (uint64_t)step, (uint64_t)rank) * 9007199254740992.0);
}

/* ---- data parallelism: a step of the run and this rank's part of it ---- */

struct shard {
	int nranks, rank;
	int off, n; /* this rank's slices: order[pos + off ..] of the step */
	size_t skip; /* slices skipped before the step (too few for the ranks) */
};

/* The slices of the step at order[from..]: as many as one process with
 * --batch nranks*batch takes, cut into nranks contiguous parts of sizes
 * differing by at most one.  A run of equal-size slices shorter than the
 * ranks (the tail of an epoch, or of a size) is skipped: every rank needs
 * one.  Returns the step's slices (0: the epoch is over). */
static int next_step(const r2u_data *d, const r2u_slice *order, size_t from, size_t n_epoch, long batch,
		     struct shard *sh)
{
	int g;

	sh->skip = 0;
	for (;;) {
		g = r2u_batch_len(d, order + from + sh->skip, n_epoch - from - sh->skip, (int)(batch * sh->nranks));
		if (g == 0 || g >= sh->nranks)
			break;
		sh->skip += (size_t)g;
	}
	sh->off = (int)((long)g * sh->rank / sh->nranks);
	sh->n = (int)((long)g * (sh->rank + 1) / sh->nranks) - sh->off;
	return g;
}

/* r2u_sum_fn over the ranks */
static int comm_sum(void *arg, double *sums, size_t n) { return br_comm_allreduce_d(arg, sums, n); }

/* Every rank's checksum of the parameters, running statistics and Adam
 * moments against rank 0's; a rank that differs says so and ends the job. */
static void ranks_agree(r2u *m, br_comm *comm, int64_t step)
{
	int n = br_comm_size(comm), me = br_comm_rank(comm), r;
	uint64_t sum, *all = malloc((size_t)n * sizeof *all);

	if (all == NULL)
		br_die(NULL, "out of memory");
	if (r2u_checksum(m, &sum) < 0)
		br_die(NULL, "%s", r2u_error(m));
	if (br_comm_allgather_u64(comm, all, sum) < 0)
		br_die(NULL, "checksums of the ranks: %s", br_comm_error(comm));
	if (br_opt.verbose >= 3)
		br_msg(3, "step %" PRId64 " checksum %016" PRIx64, step, sum);
	for (r = 1; r < n; r++)
		if (all[r] != all[0])
			break;
	if (r < n) {
		if (all[me] != all[0])
			fprintf(stderr, "%s: the parameters differ from rank 0's after step %" PRId64
					" (checksum %016" PRIx64 ", rank 0 %016" PRIx64 "); stopping the job\n",
				br_opt.prog, step, all[me], all[0]);
		else if (me == 0)
			fprintf(stderr, "%s: rank %d disagrees with rank 0 after step %" PRId64 "; stopping the job\n",
				br_opt.prog, r, step);
		fflush(stderr);
		br_comm_abort(comm, 3);
		exit(3);
	}
	free(all);
}

/* a checkpoint: the ranks agree, rank 0 writes */
static int save_ckpt(r2u *m, br_comm *comm, const char *out, const r2u_state *st, const char *const *kv)
{
	if (comm != NULL) {
		ranks_agree(m, comm, st->step);
		if (br_comm_rank(comm) != 0)
			return 0;
	}
	return r2u_save(m, out, st, kv);
}

/* whole-tumour Dice averaged over the validation cases, each rank
 * predicting every nranks-th case; the per-case Dice are added up exactly
 * (one non-zero term each) and averaged in case order, as one process does */
static double validate_split(r2u *m, const r2u_data *val, int batch, br_comm *comm)
{
	int n = br_comm_size(comm), me = br_comm_rank(comm), c;
	double *d = calloc((size_t)val->ncases, sizeof *d), sum = 0;
	char msg[512];

	if (d == NULL)
		br_die(NULL, "out of memory");
	for (c = me; c < val->ncases; c += n) {
		const r2u_case *k = &val->cases[c];
		size_t nv = br_vol_nvox(k->img), i, tp = 0, np = 0, nt = 0;
		float *p = malloc(nv * 4 * sizeof *p);
		const uint8_t *l = k->lab->data;
		if (p == NULL)
			br_die(NULL, "out of memory");
		if (r2u_predict(&m, 1, k->img, 0, batch, p, msg, sizeof msg) < 0)
			br_die(k->img_path, "validation: %s", msg);
		for (i = 0; i < nv; i++) {
			int a = p[i] >= 0.5f, b = l[i] > 0;
			tp += a && b;
			np += a;
			nt += b;
		}
		d[c] = np + nt == 0 ? 1.0 : 2.0 * tp / (double)(np + nt);
		free(p);
	}
	if (br_comm_allreduce_d(comm, d, (size_t)val->ncases) < 0)
		br_die(NULL, "validation: %s", br_comm_error(comm));
	for (c = 0; c < val->ncases; c++)
		sum += d[c];
	free(d);
	return sum / val->ncases;
}

/* After a step's backward: the gradients added up over the ranks (each
 * rank's is its share of the whole batch's), the running statistics
 * averaged (each rank saw its own batches; with --sync-bn they agree
 * already), and whether any rank was asked to stop: every rank stops after
 * the same step.  Returns the signal that stops the run, or 0. */
static int all_reduce_step(r2u *m, br_comm *comm, int sync_bn, int64_t step, int sig)
{
	size_t nrun;
	float *run = r2u_running_buffer(m, &nrun);
	double flag = sig;

	if (br_comm_allreduce_f(comm, r2u_grad_buffer(m), r2u_ntrainable(m), 1.0) < 0 ||
	    (!sync_bn && br_comm_allreduce_f(comm, run, nrun, 1.0 / br_comm_size(comm)) < 0) ||
	    br_comm_allreduce_d(comm, &flag, 1) < 0)
		br_die(NULL, "step %" PRId64 ": all-reduce: %s", step, br_comm_error(comm));
	return flag > 0 ? (sig ? sig : SIGTERM) : 0;
}

/* -v -v -v: one line per rank and step with its slices (case:z, f flipped) */
static void print_shard(const r2u_slice *sl, int n, int64_t epoch, int64_t step, int rank)
{
	char buf[8192];
	int len, k;

	len = snprintf(buf, sizeof buf, "r2u-train: rank %d epoch %" PRId64 " step %" PRId64 " slices", rank, epoch + 1,
		       step);
	for (k = 0; k < n && len < (int)sizeof buf - 32; k++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, " %d:%d%s", sl[k].c, sl[k].z, sl[k].flip ? "f" : "");
	buf[len++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)len) < 0)
		return;
}

static void fmt_eta(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 1e7)
		snprintf(buf, n, "--");
	else if (s >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else
		snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"epochs", required_argument, 0, OPT_EPOCHS},
		{"batch", required_argument, 0, OPT_BATCH},
		{"lr", required_argument, 0, OPT_LR},
		{"lambda", required_argument, 0, OPT_LAMBDA},
		{"flip", no_argument, 0, OPT_FLIP},
		{"no-flip", no_argument, 0, OPT_NOFLIP},
		{"seed", required_argument, 0, OPT_SEED},
		{"width", required_argument, 0, OPT_WIDTH},
		{"val", required_argument, 0, OPT_VAL},
		{"init", required_argument, 0, OPT_INIT},
		{"resume", required_argument, 0, OPT_RESUME},
		{"checkpoint-every", required_argument, 0, OPT_CKPT},
		{"keep-empty", required_argument, 0, OPT_KEEP},
		{"dropout", required_argument, 0, OPT_DROPOUT},
		{"steps", required_argument, 0, OPT_STEPS},
		{"deterministic", no_argument, 0, OPT_DET},
		{"log", required_argument, 0, OPT_LOG},
		{"precision", required_argument, 0, OPT_PREC},
		{"sync-bn", no_argument, 0, OPT_SYNCBN},
		{"comm", required_argument, 0, OPT_COMM},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *list = NULL, *vallist = NULL, *init = NULL, *resume = NULL, *logpath = NULL;
	long epochs = 50, batch = 32, width = 32, ckpt_every = 0, max_steps = 0;
	double lr = 1e-4, lambda = 1, keep_empty = 1, dropout = 0.2;
	uint64_t seed = 1;
	int c, flip = 1, det = 0, prec = BR_PREC_DEFAULT, base, cur = 0, k;
	int sync_bn = 0, comm_kind = -1, rank = 0, nranks = 1, local_rank = 0;
	br_comm *comm = NULL;
	char devbuf[32], progbuf[48];
	struct shard sh, nsh;
	struct pairs tr = {0}, va = {0};
	r2u_data data, val;
	r2u_slice *order;
	r2u_state st;
	br_ctx *ctx;
	r2u *m;
	char err[512], notice[640], eta[32], kvbuf[11][64];
	const char *kv[26];
	float *xb[2];
	uint8_t *lb[2];
	FILE *logf = NULL;
	size_t n_epoch, pos;
	int64_t epoch, step0;
	double t_start, steps_total;
	size_t npix;
	int h, w;

	br_tool_init("r2u-train", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:l:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'l': list = optarg; break;
		case OPT_EPOCHS: epochs = br_parse_long(optarg, "--epochs", 1, 100000); break;
		case OPT_BATCH: batch = br_parse_long(optarg, "--batch", 1, 4096); break;
		case OPT_LR: lr = br_parse_double(optarg, "--lr", 0, 10); break;
		case OPT_LAMBDA: lambda = br_parse_double(optarg, "--lambda", 0, 1000); break;
		case OPT_FLIP: flip = 1; break;
		case OPT_NOFLIP: flip = 0; break;
		case OPT_SEED: seed = (uint64_t)br_parse_long(optarg, "--seed", 0, 0x7fffffffL); break;
		case OPT_WIDTH: width = br_parse_long(optarg, "--width", 8, 512); break;
		case OPT_VAL: vallist = optarg; break;
		case OPT_INIT: init = optarg; break;
		case OPT_RESUME: resume = optarg; break;
		case OPT_CKPT: ckpt_every = br_parse_long(optarg, "--checkpoint-every", 1, 100000000L); break;
		case OPT_KEEP: keep_empty = br_parse_double(optarg, "--keep-empty", 0, 1); break;
		case OPT_DROPOUT: dropout = br_parse_double(optarg, "--dropout", 0, 0.95); break;
		case OPT_STEPS: max_steps = br_parse_long(optarg, "--steps", 1, 1000000000L); break;
		case OPT_DET: det = 1; break;
		case OPT_LOG: logpath = optarg; break;
		case OPT_PREC:
			br_parse_choice(optarg, "--precision", (const char *const[]){"fp32", "tf32", "bf16", NULL});
			prec = br_precision_from_name(optarg);
			break;
		case OPT_SYNCBN: sync_bn = 1; break;
		case OPT_COMM:
			br_parse_choice(optarg, "--comm", (const char *const[]){"mpi", "nccl", NULL});
			comm_kind = br_comm_kind_from_name(optarg);
			break;
		default: br_bad_option(argv);
		}
	}
	if (out == NULL)
		br_usage_error("-o MODEL is required");
	if (width % 8 != 0)
		br_usage_error("--width: %ld is not a multiple of 8", width);
	if (init != NULL && resume != NULL)
		br_usage_error("--init and --resume exclude each other");
	if (list != NULL) {
		if (optind != argc)
			br_usage_error("-l LIST and IMAGE LABEL operands exclude each other");
		read_list(&tr, list);
	} else {
		if (optind == argc || (argc - optind) % 2 != 0)
			br_usage_error("expected IMAGE LABEL pairs (or -l LIST)");
		for (k = optind; k < argc; k += 2)
			pairs_add(&tr, argv[k], argv[k + 1]);
	}
	if (vallist != NULL)
		read_list(&va, vallist);

	/* ranks: from the launcher's environment, before a GPU is chosen */
	br_comm_env(&rank, &nranks, &local_rank);
	if (nranks > 1 || comm_kind >= 0) {
		if (!br_comm_built(BR_COMM_MPI) && nranks > 1)
			br_die(NULL, "built without MPI: cannot train with %d ranks (rebuild where mpicc is found)", nranks);
		if (!br_comm_built(BR_COMM_MPI))
			br_die(NULL, "built without MPI: --comm %s needs it", br_comm_kind_name(comm_kind));
		if (nranks > 1) {
			snprintf(progbuf, sizeof progbuf, "r2u-train: rank %d", rank);
			br_opt.prog = progbuf;
		}
		/* one GPU per rank of a node, unless a device is named */
		if ((br_opt.device == NULL || strcmp(br_opt.device, "auto") == 0 || strcmp(br_opt.device, "cuda") == 0) &&
		    br_device_count(BR_DEV_CUDA) > 0) {
			snprintf(devbuf, sizeof devbuf, "cuda:%d", local_rank % br_device_count(BR_DEV_CUDA));
			br_opt.device = devbuf;
		}
	}
	ctx = br_ctx_open(br_opt.device, br_opt.threads, prec, notice, sizeof notice, err, sizeof err);
	if (ctx == NULL)
		br_die(NULL, "%s", err);
	if (notice[0] && rank == 0)
		br_msg(1, "%s", notice);
	if (nranks > 1 || comm_kind >= 0) {
		if (comm_kind < 0)
			comm_kind = br_ctx_device(ctx) == BR_DEV_CUDA && br_comm_built(BR_COMM_NCCL) ? BR_COMM_NCCL : BR_COMM_MPI;
		comm = br_comm_new(comm_kind, ctx, err, sizeof err);
		if (comm == NULL)
			br_die(NULL, "%s: %s", br_comm_kind_name(comm_kind), err);
		rank = br_comm_rank(comm);
		nranks = br_comm_size(comm);
		if (rank == 0)
			br_msg(2, "%d ranks, collectives over %s%s", nranks, br_comm_kind_name(comm_kind),
			       sync_bn ? ", synchronised BatchNorm" : "");
	} else if (sync_bn) {
		br_msg(2, "--sync-bn: one process, nothing to synchronise");
	}
	sh.nranks = nsh.nranks = nranks;
	sh.rank = nsh.rank = rank;
	base = (int)width;
	if ((init || resume) && r2u_peek_base(init ? init : resume, &base, err, sizeof err) < 0)
		br_die(init ? init : resume, "%s", err);
	m = r2u_new(ctx, base, seed, err, sizeof err);
	if (m == NULL)
		br_die(NULL, "%s", err);
	memset(&st, 0, sizeof st);
	st.best = -1;
	r2u_rng_seed(st.rng, seed);
	if (init != NULL && r2u_load(m, init, NULL) < 0)
		br_die(init, "%s", r2u_error(m));
	if (resume != NULL && r2u_load(m, resume, &st) < 0)
		br_die(resume, "%s", r2u_error(m));
	if (comm != NULL && r2u_set_split(m, comm_sum, comm, sync_bn) < 0)
		br_die(NULL, "%s", r2u_error(m));

	if (r2u_data_load(&data, tr.img, tr.lab, tr.n, err, sizeof err) < 0)
		br_die(NULL, "%s", err);
	memset(&val, 0, sizeof val);
	if (vallist != NULL && r2u_data_load(&val, va.img, va.lab, va.n, err, sizeof err) < 0)
		br_die(NULL, "%s", err);
	br_msg(2, "%s, width %d, %d cases, %zu slices (%zu with tumour)", br_ctx_describe(ctx), base, data.ncases,
	       data.nslices, data.ntumour);
	order = malloc(data.nslices * sizeof *order);
	if (order == NULL)
		br_die(NULL, "out of memory");
	/* the largest slice sets the staging buffers */
	h = w = 0;
	for (k = 0; k < data.ncases; k++) {
		if (data.cases[k].img->dim[1] > h)
			h = (int)data.cases[k].img->dim[1];
		if (data.cases[k].img->dim[0] > w)
			w = (int)data.cases[k].img->dim[0];
	}
	npix = (size_t)h * w;
	for (k = 0; k < 2; k++) {
		xb[k] = br_host_alloc(ctx, (size_t)batch * 4 * npix * sizeof(float));
		lb[k] = br_host_alloc(ctx, (size_t)batch * npix);
		if (xb[k] == NULL || lb[k] == NULL)
			br_die(NULL, "cannot allocate batch buffers: %s", br_ctx_error(ctx));
	}
	if (logpath != NULL && rank == 0) {
		int fresh = resume == NULL || access(logpath, F_OK) != 0;
		logf = fopen(logpath, fresh ? "w" : "a");
		if (logf == NULL)
			br_die(logpath, "%s", strerror(errno));
		if (fresh)
			fprintf(logf, "epoch\tstep\tlr\tloss\tloss_wt\tloss_ed\tloss_ncr\tloss_et\tslices_per_s\tval_dice\n");
	}
	/* metadata describing the run */
	snprintf(kvbuf[0], 64, "%ld", epochs);
	snprintf(kvbuf[1], 64, "%ld", batch);
	snprintf(kvbuf[2], 64, "%g", lr);
	snprintf(kvbuf[3], 64, "%g", lambda);
	snprintf(kvbuf[4], 64, "%" PRIu64, seed);
	snprintf(kvbuf[5], 64, "%d", flip);
	snprintf(kvbuf[6], 64, "%g", dropout);
	snprintf(kvbuf[7], 64, "%g", keep_empty);
	snprintf(kvbuf[8], 64, "%d", det);
	snprintf(kvbuf[9], 64, "%d", data.ncases);
	{
		static const char *const keys[10] = {"epochs", "batch_size", "lr", "lambda", "seed", "flip", "dropout",
						     "keep_empty", "deterministic", "cases"};
		for (k = 0; k < 10; k++) {
			kv[2 * k] = keys[k];
			kv[2 * k + 1] = kvbuf[k];
		}
		kv[20] = NULL;
	}
	if (comm != NULL) { /* a run over ranks says so; one process writes what it always wrote */
		snprintf(kvbuf[10], 64, "%d", nranks);
		kv[20] = "ranks";
		kv[21] = kvbuf[10];
		kv[22] = "sync_bn";
		kv[23] = sync_bn ? "1" : "0";
		kv[24] = NULL;
	}

	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	t_start = br_now();
	step0 = st.step;
	steps_total = 0;
	for (epoch = st.epoch; epoch < epochs; epoch++) {
		uint64_t rng_epoch[4];
		float lr_e = (float)(lr * pow(1.0 - (double)epoch / (double)epochs, 0.9));
		double vd = -1;
		int nb;
		float loss[5];

		memcpy(rng_epoch, st.rng, sizeof rng_epoch); /* kept in checkpoints: the epoch can be replayed */
		n_epoch = r2u_epoch_order(&data, order, st.rng, det, keep_empty, flip, seed, epoch);
		if (steps_total == 0)
			steps_total = (double)(epochs - epoch) * ((n_epoch + batch * nranks - 1) / (batch * nranks));
		pos = (size_t)st.pos; /* > 0 only when resuming inside this epoch */
		st.pos = 0;
		nb = next_step(&data, order, pos, n_epoch, batch, &sh);
		pos += sh.skip;
		if (nb > 0)
			r2u_batch(&data, order + pos + sh.off, sh.n, xb[cur], lb[cur]);
		while (nb > 0) {
			const r2u_case *cs = &data.cases[order[pos + sh.off].c];
			int bh = (int)cs->img->dim[1], bw = (int)cs->img->dim[0], next_nb, stop_now;
			double t0 = br_now(), rate;
			size_t bad_p = 0, bad_g = 0;

			/* the step runs (asynchronously on a GPU) while the next batch is assembled */
			if (r2u_zero_grad(m) < 0 ||
			    r2u_forward(m, xb[cur], sh.n, bh, bw, 1, (float)dropout, step_seed(seed, st.step, rank)) < 0 ||
			    r2u_backward(m, lb[cur], (float)lambda) < 0)
				br_die(NULL, "step %" PRId64 ": %s", st.step + 1, r2u_error(m));
			next_nb = next_step(&data, order, pos + nb, n_epoch, batch, &nsh);
			if (next_nb > 0)
				r2u_batch(&data, order + pos + nb + nsh.skip + nsh.off, nsh.n, xb[cur ^ 1], lb[cur ^ 1]);
			stop_now = comm != NULL ? all_reduce_step(m, comm, sync_bn, st.step + 1, stop_signal) : stop_signal;
			if (r2u_adam(m, lr_e, (int)(st.step + 1)) < 0)
				br_die(NULL, "step %" PRId64 ": %s", st.step + 1, r2u_error(m));
			if (br_opt.verbose >= 3)
				print_shard(order + pos + sh.off, sh.n, epoch, st.step + 1, rank);
			if (r2u_losses(m, loss) < 0)
				br_die(NULL, "step %" PRId64 ": %s", st.step + 1, r2u_error(m));
			if (!isfinite(loss[0]) || r2u_check_finite(m, &bad_p, &bad_g) < 0 || bad_p > 0) {
				br_progress_end();
				br_die(NULL, "the loss diverged (%g) at step %" PRId64 " of epoch %" PRId64
					     "; stopping - %s keeps the last good checkpoint",
				       (double)loss[0], st.step + 1, epoch + 1, out);
			}
			st.step++;
			pos += (size_t)nb;
			if (next_nb == 0)
				pos = n_epoch; /* a tail too short for the ranks is skipped */
			rate = nb / (br_now() - t0);
			steps_total -= 1;
			if (logf != NULL)
				fprintf(logf, "%" PRId64 "\t%" PRId64 "\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.1f\t", epoch + 1,
					st.step, lr_e, loss[0], loss[1], loss[2], loss[3], loss[4], rate);
			if (pos >= n_epoch && vallist != NULL) {
				vd = comm != NULL ? validate_split(m, &val, (int)batch, comm) : validate(m, &val, (int)batch);
				if (vd > st.best)
					st.best = vd;
			}
			if (logf != NULL) {
				if (pos >= n_epoch && vd >= 0)
					fprintf(logf, "%.5f", vd);
				fputc('\n', logf);
				fflush(logf);
			}
			fmt_eta(eta, sizeof eta,
				steps_total * (br_now() - t_start) / (double)(st.step - step0 > 0 ? st.step - step0 : 1));
			br_progress("epoch %" PRId64 "/%ld step %" PRId64 " loss %.4f %.1f slices/s ETA %s", epoch + 1, epochs,
				    st.step, loss[0], rate, eta);
			cur ^= 1;
			nb = next_nb;
			pos += nsh.skip;
			sh = nsh;
			if (stop_now || (max_steps > 0 && st.step >= max_steps) ||
			    (ckpt_every > 0 && st.step % ckpt_every == 0)) {
				r2u_state save = st;
				/* a checkpoint inside an epoch replays it from its start */
				memcpy(save.rng, rng_epoch, sizeof save.rng);
				save.epoch = epoch;
				save.pos = (int64_t)pos;
				if (pos >= n_epoch) {
					memcpy(save.rng, st.rng, sizeof save.rng);
					save.epoch = epoch + 1;
					save.pos = 0;
				}
				if (save_ckpt(m, comm, out, &save, kv) < 0)
					br_die(out, "%s (the previous checkpoint is intact)", r2u_error(m));
				if (stop_now) {
					br_progress_end();
					if (rank == 0)
						br_msg(1, "interrupted at step %" PRId64 ": resumable checkpoint in %s", st.step,
						       out);
					br_comm_free(comm);
					return 128 + stop_now;
				}
				if (max_steps > 0 && st.step >= max_steps) {
					br_progress_end();
					br_msg(2, "stopped after %" PRId64 " steps", st.step);
					if (logf != NULL)
						fclose(logf);
					br_comm_free(comm);
					return 0;
				}
			}
		}
		if (vd >= 0 && rank == 0)
			br_msg(2, "epoch %" PRId64 ": whole-tumour Dice %.4f on %d held-out cases", epoch + 1, vd, val.ncases);
		st.epoch = epoch + 1;
		st.pos = 0;
		if (save_ckpt(m, comm, out, &st, kv) < 0)
			br_die(out, "%s (the previous checkpoint is intact)", r2u_error(m));
	}
	br_progress_end();
	if (st.step == step0 && save_ckpt(m, comm, out, &st, kv) < 0)
		br_die(out, "%s", r2u_error(m));
	br_msg(2, "%" PRId64 " steps in %.1f s", st.step - step0, br_now() - t_start);
	if (logf != NULL && fclose(logf) != 0)
		br_die(logpath, "%s", strerror(errno));
	r2u_data_free(&data);
	r2u_data_free(&val);
	r2u_free(m);
	for (k = 0; k < 2; k++) {
		br_host_free(ctx, xb[k]);
		br_host_free(ctx, lb[k]);
	}
	br_comm_free(comm);
	br_ctx_free(ctx);
	return 0;
}
