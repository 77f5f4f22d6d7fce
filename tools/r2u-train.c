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
#include "rng.h"
#include "safetensors.h"
#include "volume.h"

static const char usage[] =
	"usage: r2u-train [-hqvf] [-d cpu|cuda[:N]] [-j N] -o MODEL [--epochs N] [--batch N] [--lr X]\n"
	"                 [--lambda X] [--flip | --no-flip] [--seed S] [--width B] [--val LIST] [--init FILE]\n"
	"                 [--resume FILE] [--checkpoint-every N] [--keep-empty F] [--dropout P] [--steps N]\n"
	"                 [--deterministic] [--log FILE] [--best FILE] [--precision fp32|tf32|bf16]\n"
	"                 [--block apr|pre-res|pre-res-gated-skip] [--supervision multi|single|none] [--no-se]\n"
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
	"  --resume FILE        continue a run from its checkpoint (weights, Adam, position, generator);\n"
	"                       refused when the settings or the case list differ from the checkpoint's\n"
	"  --checkpoint-every N write MODEL every N steps too (and always at epoch ends)\n"
	"  --keep-empty F       fraction of tumour-free slices used per epoch (default 1)\n"
	"  --dropout P          dropout of the SE blocks (default 0.2)\n"
	"  --steps N            stop after N optimiser steps\n"
	"  --deterministic      slices in file order (cases as given, z ascending), no shuffling\n"
	"  --log FILE           a TSV row per step: epoch step lr loss loss_wt loss_ed loss_ncr loss_et\n"
	"                       slices_per_s val_dice\n"
	"  --best FILE          keep the weights of the epoch with the best validation Dice (needs --val)\n"
	"  --precision P        GPU arithmetic: fp32, tf32 (default where supported) or bf16\n"
	"The paper's ablations (the network is recorded in MODEL; --init and --resume take the file's):\n"
	"  --block B            encoder blocks: apr (default), pre-res (no attention gate) or\n"
	"                       pre-res-gated-skip (the gate on the skip connections) (Table 1)\n"
	"  --supervision S      multi (default: sub-region heads on three decoder levels), single\n"
	"                       (all heads on the last level, whole-tumour side outputs on the\n"
	"                       others) or none (all heads on the last level only) (Table 3)\n"
	"  --no-se              no squeeze-and-excitation blocks (and so no dropout) (Table 4)\n"
	"Data parallelism (the paper's network only):\n"
	"  --sync-bn            under mpirun or srun: BatchNorm statistics over every rank's slices\n"
	"                       (default: each rank normalises its own --batch slices)\n"
	"  --comm K             collectives between ranks: mpi, or nccl for GPUs (default: nccl on\n"
	"                       GPUs where built, else mpi); given, also with one rank\n"
	"  -d DEVICE            cpu, cuda or cuda:N (default: cuda when a GPU is present)\n"
	"  -j N                 CPU threads (default: all cores)\n"
	"  -f                   resume even when the settings or the case list differ\n"
	"  -q, -v               quieter (no progress), more verbose\n"
	"  -h                   this help\n";

enum {
	OPT_EPOCHS = 256, OPT_BATCH, OPT_LR, OPT_LAMBDA, OPT_FLIP, OPT_NOFLIP, OPT_SEED, OPT_WIDTH, OPT_VAL, OPT_INIT,
	OPT_RESUME, OPT_CKPT, OPT_KEEP, OPT_DROPOUT, OPT_STEPS, OPT_DET, OPT_LOG, OPT_PREC, OPT_BLOCK, OPT_SUP, OPT_NOSE,
	OPT_BEST, OPT_SYNCBN, OPT_COMM
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

/* 'IMAGE LABEL' per line (r2u_list_parse) */
static void read_list(r2u_list *p, const char *path)
{
	char msg[256];

	if (r2u_list_read(p, path, msg, sizeof msg) < 0)
		br_die(path, "%s", msg);
}

/* the whole-tumour Dice of one held-out case (1 when both are empty): the
 * whole-tumour mask of the label map rule comes down from the device */
static double validate_case(r2u_predictor *pred, const r2u_case *k)
{
	size_t nv = br_vol_nvox(k->img), i, tp = 0, np = 0, nt = 0;
	uint8_t *p = malloc(nv ? nv : 1);
	const uint8_t *l = k->lab->data;
	char msg[512];
	double d;

	if (p == NULL)
		br_die(NULL, "out of memory");
	if (r2u_predictor_run(pred, k->img, NULL, p, 1, msg, sizeof msg) < 0)
		br_die(k->img_path, "validation: %s", msg);
	for (i = 0; i < nv; i++) {
		int a = p[i] != 0, b = l[i] > 0;
		tp += a && b;
		np += a;
		nt += b;
	}
	d = np + nt == 0 ? 1.0 : 2.0 * tp / (double)(np + nt);
	free(p);
	return d;
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

/* whole-tumour Dice averaged over the validation cases; with ranks (comm
 * != NULL) each rank predicts every nranks-th case, and the per-case Dice
 * are added up exactly (one non-zero term each) and averaged in case
 * order, as one process does */
static double validate(r2u *m, const r2u_data *val, int batch, br_comm *comm)
{
	int n = comm != NULL ? br_comm_size(comm) : 1, me = comm != NULL ? br_comm_rank(comm) : 0, c;
	double *d = calloc((size_t)val->ncases, sizeof *d), sum = 0;
	char msg[512];
	r2u_predictor *pred = r2u_predictor_new(&m, 1, 0, batch, msg, sizeof msg);

	if (d == NULL || pred == NULL)
		br_die(NULL, "validation: %s", d == NULL ? "out of memory" : msg);
	for (c = me; c < val->ncases; c += n)
		d[c] = validate_case(pred, &val->cases[c]);
	r2u_predictor_free(pred);
	if (comm != NULL && br_comm_allreduce_d(comm, d, (size_t)val->ncases) < 0)
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

/* ---- the settings of a run: written into every checkpoint, compared on --resume ---- */

enum { SET_VALUE, SET_BOOL, SET_COUNT, SET_HASH };

struct setting {
	const char *key;  /* metadata key */
	const char *opt;  /* the option (SET_BOOL: when on) */
	const char *off;  /* SET_BOOL: the command line when off */
	int kind;
	int in_model;     /* written by r2u_save itself (the width, as "base") */
	char val[64];
	char alt[64];     /* also the same value (numbers as older checkpoints wrote them) */
};

#define MAX_SETTINGS 24
static struct setting settings[MAX_SETTINGS];
static int nsettings;

static struct setting *setting_add(const char *key, const char *opt, int kind)
{
	struct setting *t = &settings[nsettings++];

	t->key = key;
	t->opt = opt;
	t->kind = kind;
	return t;
}

static struct setting *setting_long(const char *key, const char *opt, long v)
{
	struct setting *t = setting_add(key, opt, SET_VALUE);

	snprintf(t->val, sizeof t->val, "%ld", v);
	return t;
}

/* the shortest decimal that reads back as v */
static void setting_num(const char *key, const char *opt, double v)
{
	struct setting *t = setting_add(key, opt, SET_VALUE);
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(t->val, sizeof t->val, "%.*g", prec, v);
		if (strtod(t->val, NULL) == v)
			break;
	}
	snprintf(t->alt, sizeof t->alt, "%g", v);
}

static void setting_bool(const char *key, const char *on, const char *off, int v)
{
	struct setting *t = setting_add(key, on, SET_BOOL);

	t->off = off;
	snprintf(t->val, sizeof t->val, "%d", v != 0);
}

/* How the command line (or the case list) says value v of setting t. */
static void setting_say(char *buf, size_t n, const struct setting *t, const char *v)
{
	if (t->kind == SET_BOOL && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
		snprintf(buf, n, "%s", strcmp(v, "1") == 0 ? t->opt : t->off);
	else if (t->kind == SET_COUNT)
		snprintf(buf, n, "%s %s", v, t->opt);
	else
		snprintf(buf, n, "%s %s", t->opt, v);
}

/* What differs between the run's settings and those recorded in checkpoint
 * ck, as one line ("" when nothing does).  A setting the checkpoint does not
 * record (an older checkpoint) is named in missing. */
static void settings_diff(const br_st *ck, char *diff, size_t n, char *missing, size_t nm)
{
	size_t len = 0, mlen = 0;
	char a[400], b[160];
	int i;

	diff[0] = missing[0] = '\0';
	for (i = 0; i < nsettings; i++) {
		const struct setting *t = &settings[i];
		const char *c = br_st_meta(ck, t->key);
		if (c == NULL) {
			if (mlen < nm)
				mlen += (size_t)snprintf(missing + mlen, nm - mlen, "%s%s", mlen ? ", " : "", t->key);
			continue;
		}
		if (strcmp(c, t->val) == 0 || (t->alt[0] && strcmp(c, t->alt) == 0))
			continue;
		if (t->kind == SET_HASH) {
			snprintf(a, sizeof a, "%s (hash %s, the checkpoint's %.20s)", t->opt, t->val, c);
		} else {
			setting_say(a, sizeof a, t, t->val);
			setting_say(b, sizeof b, t, c);
			snprintf(a + strlen(a), sizeof a - strlen(a), " (checkpoint: %s)", b);
		}
		if (len < n)
			len += (size_t)snprintf(diff + len, n - len, "%s%s", len ? ", " : "", a);
	}
}

/* FNV-1a over the file names (without their folders) of the image/label
 * pairs, in order: the case list, wherever the data and the run are, so
 * that the checkpoint of a run does not depend on where it ran. */
static uint64_t case_list_hash(const r2u_list *p)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int k, j;

	for (k = 0; k < p->n; k++)
		for (j = 0; j < 2; j++) {
			const char *path = j ? p->lab[k] : p->img[k], *slash = strrchr(path, '/');
			const unsigned char *s = (const unsigned char *)(slash != NULL ? slash + 1 : path);
			do {
				h ^= *s;
				h *= 0x100000001b3ull;
			} while (*s++ != '\0');
		}
	return h;
}

/* --resume: refuse a checkpoint of another run (unless -f); its best epoch. */
static int64_t check_resume(const char *path)
{
	br_st *ck = br_st_read(path);
	char diff[2048], missing[512];
	const char *s;
	int64_t best_epoch = 0;

	if (ck == NULL)
		br_die(path, "%s", br_error());
	settings_diff(ck, diff, sizeof diff, missing, sizeof missing);
	if (diff[0] != '\0') {
		if (!br_opt.force)
			br_die(path, "the run differs from the checkpoint's: %s; -f resumes anyway", diff);
		br_warn(path, "resuming although the run differs (-f): %s", diff);
	}
	if (missing[0] != '\0')
		br_warn(path, "the checkpoint does not record %s: not compared", missing);
	if ((s = br_st_meta(ck, "best_epoch")) != NULL)
		best_epoch = strtoll(s, NULL, 10);
	br_st_free(ck);
	return best_epoch;
}

/* The metadata of a checkpoint: the settings, the best epoch so far, and
 * extra key/value pairs (NULL-terminated); kv has room for 2 * MAX_SETTINGS + 10. */
/* "ranks" and "sync_bn" of a run over ranks (none for one process) */
static char ranks_buf[16];
static const char *comm_kv[5];

static void run_meta(const char **kv, char *best_buf, int64_t best_epoch, const char *const *extra)
{
	int i, k = 0;

	for (i = 0; i < nsettings; i++) {
		if (settings[i].in_model)
			continue;
		kv[k++] = settings[i].key;
		kv[k++] = settings[i].val;
	}
	if (best_epoch > 0) {
		snprintf(best_buf, 32, "%" PRId64, best_epoch);
		kv[k++] = "best_epoch";
		kv[k++] = best_buf;
	}
	for (i = 0; comm_kv[i] != NULL && comm_kv[i + 1] != NULL; i += 2) {
		kv[k++] = comm_kv[i];
		kv[k++] = comm_kv[i + 1];
	}
	for (i = 0; extra != NULL && extra[i] != NULL && extra[i + 1] != NULL && i < 6; i += 2) {
		kv[k++] = extra[i];
		kv[k++] = extra[i + 1];
	}
	kv[k] = NULL;
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
		{"block", required_argument, 0, OPT_BLOCK},
		{"supervision", required_argument, 0, OPT_SUP},
		{"no-se", no_argument, 0, OPT_NOSE},
		{"best", required_argument, 0, OPT_BEST},
		{"sync-bn", no_argument, 0, OPT_SYNCBN},
		{"comm", required_argument, 0, OPT_COMM},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *list = NULL, *vallist = NULL, *init = NULL, *resume = NULL, *logpath = NULL,
		   *bestpath = NULL;
	long epochs = 50, batch = 32, width = 32, ckpt_every = 0, max_steps = 0;
	double lr = 1e-4, lambda = 1, keep_empty = 1, dropout = 0.2;
	uint64_t seed = 1;
	int c, flip = 1, det = 0, prec = BR_PREC_DEFAULT, base, cur = 0, k, width_given = 0, rc = 0;
	int var_given = 0, dropout_given = 0;
	int sync_bn = 0, comm_kind = -1, rank = 0, nranks = 1, local_rank = 0;
	r2u_variant var, fvar;
	br_comm *comm = NULL;
	char devbuf[32], progbuf[48];
	struct shard sh, nsh;
	r2u_list tr = {0}, va = {0};
	r2u_data data, val;
	r2u_slice *order;
	r2u_state st;
	br_ctx *ctx;
	r2u *m;
	char err[512], notice[640], eta[32], hashbuf[32], best_buf[32], dice_buf[32], step_buf[32];
	const char *kv[2 * MAX_SETTINGS + 16];
	float *xb[2];
	uint8_t *lb[2];
	FILE *logf = NULL;
	size_t n_epoch, pos;
	int64_t epoch, step0, best_epoch = 0;
	double t_start, steps_total;
	size_t npix;
	int h, w;

	br_tool_init("r2u-train", usage);
	r2u_variant_paper(&var);
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
		case OPT_WIDTH: width = br_parse_long(optarg, "--width", 8, 512); width_given = 1; break;
		case OPT_VAL: vallist = optarg; break;
		case OPT_INIT: init = optarg; break;
		case OPT_RESUME: resume = optarg; break;
		case OPT_CKPT: ckpt_every = br_parse_long(optarg, "--checkpoint-every", 1, 100000000L); break;
		case OPT_KEEP: keep_empty = br_parse_double(optarg, "--keep-empty", 0, 1); break;
		case OPT_DROPOUT:
			dropout = br_parse_double(optarg, "--dropout", 0, 0.95);
			dropout_given = 1;
			break;
		case OPT_STEPS: max_steps = br_parse_long(optarg, "--steps", 1, 1000000000L); break;
		case OPT_DET: det = 1; break;
		case OPT_LOG: logpath = optarg; break;
		case OPT_BEST: bestpath = optarg; break;
		case OPT_PREC:
			br_parse_choice(optarg, "--precision", (const char *const[]){"fp32", "tf32", "bf16", NULL});
			prec = br_precision_from_name(optarg);
			break;
		case OPT_BLOCK:
			var.block = br_parse_choice(optarg, "--block", r2u_block_names);
			var_given = 1;
			break;
		case OPT_SUP:
			var.supervision = br_parse_choice(optarg, "--supervision", r2u_supervision_names);
			var_given = 1;
			break;
		case OPT_NOSE:
			var.se = 0;
			var_given = 1;
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
	if (!var.se && dropout_given && dropout > 0)
		br_usage_error("--dropout %g: --no-se leaves no SE blocks to drop out of", dropout);
	if (bestpath != NULL && vallist == NULL)
		br_usage_error("--best needs --val (the validation Dice chooses the epoch)");
	if (bestpath != NULL && strcmp(bestpath, out) == 0)
		br_usage_error("--best FILE must differ from -o MODEL");
	if (list != NULL) {
		if (optind != argc)
			br_usage_error("-l LIST and IMAGE LABEL operands exclude each other");
		read_list(&tr, list);
	} else {
		if (optind == argc || (argc - optind) % 2 != 0)
			br_usage_error("expected IMAGE LABEL pairs (or -l LIST)");
		for (k = optind; k < argc; k += 2)
			if (r2u_list_add(&tr, argv[k], argv[k + 1]) < 0)
				br_die(NULL, "out of memory");
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
	/* the network: the file's for --init and --resume (options may only repeat it) */
	base = (int)width;
	if (init || resume) { /* the file's width and network; options may only repeat them */
		if (r2u_peek(init ? init : resume, &base, &fvar, err, sizeof err) < 0)
			br_die(init ? init : resume, "%s", err);
		if (var_given && memcmp(&var, &fvar, sizeof var) != 0) {
			char a[96], b[96];
			r2u_variant_describe(&fvar, a, sizeof a);
			r2u_variant_describe(&var, b, sizeof b);
			br_die(init ? init : resume, "the checkpoint's network is %s; the options ask for %s", a, b);
		}
		var = fvar;
	}
	if (!var.se) { /* dropout acts on the SE blocks only */
		if (dropout_given && dropout > 0)
			br_die(init ? init : resume, "the network has no SE blocks: --dropout %g has nothing to act on", dropout);
		dropout = 0;
	}
	/* what makes the run: the schedule, the network and the data */
	setting_long("epochs", "--epochs", epochs);
	/* under ranks the step's batch is every rank's: N ranks of b resume a run of M ranks of c
	 * when N*b = M*c */
	setting_long("batch_size", nranks > 1 ? "--batch x ranks" : "--batch", batch * nranks);
	setting_num("lr", "--lr", lr);
	setting_num("lambda", "--lambda", lambda);
	setting_long("seed", "--seed", (long)seed);
	setting_bool("flip", "--flip", "--no-flip", flip);
	setting_num("dropout", "--dropout", dropout);
	setting_num("keep_empty", "--keep-empty", keep_empty);
	setting_bool("deterministic", "--deterministic", "no --deterministic", det);
	if (width_given) /* else the checkpoint's width (or --init's) is the run's */
		setting_long("base", "--width", width)->in_model = 1;
	snprintf(setting_add("cases", "cases", SET_COUNT)->val, 64, "%d", tr.n);
	snprintf(hashbuf, sizeof hashbuf, "%016" PRIx64, case_list_hash(&tr));
	snprintf(setting_add("case_list", "case list", SET_HASH)->val, 64, "%s", hashbuf);
	if (resume != NULL)
		best_epoch = check_resume(resume);

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
	m = r2u_new_variant(ctx, base, &var, seed, err, sizeof err);
	if (m == NULL)
		br_die(NULL, "%s", err);
	memset(&st, 0, sizeof st);
	st.best = -1;
	br_xoshiro256_seed(st.rng, seed);
	if (init != NULL && r2u_load(m, init, NULL) < 0)
		br_die(init, "%s", r2u_error(m));
	if (resume != NULL && r2u_load(m, resume, &st) < 0)
		br_die(resume, "%s", r2u_error(m));
	if (resume != NULL && bestpath != NULL && st.best >= 0 && access(bestpath, F_OK) != 0 && rank == 0)
		br_warn(bestpath, "not there: written at the next epoch better than the best Dice so far (%.4f)", st.best);
	if (comm != NULL && r2u_set_split(m, comm_sum, comm, sync_bn) < 0)
		br_die(NULL, "%s", r2u_error(m));
	if (comm != NULL) { /* a run over ranks says so; one process writes what it always wrote */
		snprintf(ranks_buf, sizeof ranks_buf, "%d", nranks);
		comm_kv[0] = "ranks";
		comm_kv[1] = ranks_buf;
		comm_kv[2] = "sync_bn";
		comm_kv[3] = sync_bn ? "1" : "0";
		comm_kv[4] = NULL;
	}
	run_meta(kv, best_buf, best_epoch, NULL);

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
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	t_start = br_now();
	step0 = st.step;
	steps_total = 0;
	for (epoch = st.epoch; epoch < epochs; epoch++) {
		uint64_t rng_epoch[4];
		float lr_e = (float)(lr * pow(1.0 - (double)epoch / (double)epochs, 0.9));
		double vd = -1, ep_loss = 0, ep_time = 0;
		long ep_steps = 0, ep_slices = 0;
		int nb;
		float loss[5];

		memcpy(rng_epoch, st.rng, sizeof rng_epoch); /* kept in checkpoints: the epoch can be replayed */
		n_epoch = r2u_epoch_order(&data, order, st.rng, det, keep_empty, flip, seed, epoch);
		pos = (size_t)st.pos; /* > 0 only when resuming inside this epoch */
		if (steps_total == 0 && st.step == step0) /* the steps left, for the time left */
			steps_total = (double)(epochs - epoch - 1) * ((n_epoch + batch * nranks - 1) / (batch * nranks)) +
				      (double)((n_epoch - pos + batch * nranks - 1) / (batch * nranks));
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
			ep_loss += loss[0];
			ep_steps++;
			ep_slices += nb;
			ep_time += br_now() - t0;
			if (logf != NULL)
				fprintf(logf, "%" PRId64 "\t%" PRId64 "\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.1f\t", epoch + 1,
					st.step, lr_e, loss[0], loss[1], loss[2], loss[3], loss[4], rate);
			if (pos >= n_epoch && vallist != NULL) {
				vd = validate(m, &val, (int)batch, comm);
				if (vd > st.best) {
					st.best = vd;
					best_epoch = epoch + 1;
					if (bestpath != NULL && rank == 0) {
						/* the weights of this epoch: a checkpoint for r2u-infer (no training state) */
						const char *extra[] = {"val_dice", dice_buf, "step", step_buf, NULL};
						snprintf(dice_buf, sizeof dice_buf, "%.17g", vd);
						snprintf(step_buf, sizeof step_buf, "%" PRId64, st.step);
						run_meta(kv, best_buf, best_epoch, extra);
						if (r2u_save(m, bestpath, NULL, kv) < 0)
							br_die(bestpath, "%s", r2u_error(m));
					}
				}
			}
			if (logf != NULL) {
				if (pos >= n_epoch && vd >= 0)
					fprintf(logf, "%.5f", vd);
				fputc('\n', logf);
				fflush(logf);
			}
			br_fmt_duration(eta, sizeof eta,
					steps_total * (br_now() - t_start) / (double)(st.step - step0 > 0 ? st.step - step0 : 1));
			if (pos >= n_epoch) {
				char vdesc[48] = "";
				if (vd >= 0)
					snprintf(vdesc, sizeof vdesc, " val Dice %.4f", vd);
				br_progress_unit("epoch %" PRId64 "/%ld loss %.4f%s %.1f slices/s, %s left", epoch + 1, epochs,
						 ep_loss / (double)ep_steps, vdesc, ep_slices / ep_time, eta);
			} else {
				br_progress("epoch %" PRId64 "/%ld step %" PRId64 " loss %.4f %.1f slices/s, %s left", epoch + 1,
					    epochs, st.step, loss[0], rate, eta);
			}
			run_meta(kv, best_buf, best_epoch, NULL);
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
					rc = 128 + stop_now;
					goto done;
				}
				if (max_steps > 0 && st.step >= max_steps) {
					br_progress_end();
					br_msg(2, "stopped after %" PRId64 " steps", st.step);
					goto done;
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
	if (best_epoch > 0)
		br_msg(2, "best validation Dice %.4f at epoch %" PRId64 "%s%s", st.best, best_epoch,
		       bestpath != NULL ? ", weights in " : "", bestpath != NULL ? bestpath : "");
	if (logf != NULL && fclose(logf) != 0)
		br_die(logpath, "%s", strerror(errno));
	logf = NULL;
done:
	if (logf != NULL)
		fclose(logf);
	free(order);
	r2u_data_free(&data);
	r2u_data_free(&val);
	r2u_list_free(&tr);
	r2u_list_free(&va);
	r2u_free(m);
	for (k = 0; k < 2; k++) {
		br_host_free(ctx, xb[k]);
		br_host_free(ctx, lb[k]);
	}
	br_comm_free(comm);
	br_ctx_free(ctx);
	return rc;
}
