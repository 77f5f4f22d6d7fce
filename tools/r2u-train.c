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
	"  -d DEVICE            cpu, cuda or cuda:N (default: cuda when a GPU is present)\n"
	"  -j N                 CPU threads (default: all cores)\n"
	"  -q, -v               quieter, more verbose\n"
	"  -h                   this help\n";

enum {
	OPT_EPOCHS = 256, OPT_BATCH, OPT_LR, OPT_LAMBDA, OPT_FLIP, OPT_NOFLIP, OPT_SEED, OPT_WIDTH, OPT_VAL, OPT_INIT,
	OPT_RESUME, OPT_CKPT, OPT_KEEP, OPT_DROPOUT, OPT_STEPS, OPT_DET, OPT_LOG, OPT_PREC
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

/* the dropout stream of one step: a pure function of the seed and the step */
static uint64_t step_seed(uint64_t seed, int64_t step)
{
	return (uint64_t)(r2u_hash_uniform(seed, 0xD12, (uint64_t)step, 0) * 9007199254740992.0);
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
		{0, 0, 0, 0},
	};
	const char *out = NULL, *list = NULL, *vallist = NULL, *init = NULL, *resume = NULL, *logpath = NULL;
	long epochs = 50, batch = 32, width = 32, ckpt_every = 0, max_steps = 0;
	double lr = 1e-4, lambda = 1, keep_empty = 1, dropout = 0.2;
	uint64_t seed = 1;
	int c, flip = 1, det = 0, prec = BR_PREC_DEFAULT, base, cur = 0, k, rc = 0;
	r2u_list tr = {0}, va = {0};
	r2u_data data, val;
	r2u_slice *order;
	r2u_state st;
	br_ctx *ctx;
	r2u *m;
	char err[512], notice[640], eta[32], kvbuf[10][64];
	const char *kv[24];
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
			if (r2u_list_add(&tr, argv[k], argv[k + 1]) < 0)
				br_die(NULL, "out of memory");
	}
	if (vallist != NULL)
		read_list(&va, vallist);

	ctx = br_ctx_open(br_opt.device, br_opt.threads, prec, notice, sizeof notice, err, sizeof err);
	if (ctx == NULL)
		br_die(NULL, "%s", err);
	if (notice[0])
		br_msg(1, "%s", notice);
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
	if (logpath != NULL) {
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
			steps_total = (double)(epochs - epoch) * ((n_epoch + batch - 1) / batch);
		pos = (size_t)st.pos; /* > 0 only when resuming inside this epoch */
		st.pos = 0;
		nb = r2u_batch_len(&data, order + pos, n_epoch - pos, (int)batch);
		if (nb > 0)
			r2u_batch(&data, order + pos, nb, xb[cur], lb[cur]);
		while (nb > 0) {
			const r2u_case *cs = &data.cases[order[pos].c];
			int bh = (int)cs->img->dim[1], bw = (int)cs->img->dim[0], next_nb;
			double t0 = br_now(), rate;
			size_t bad_p = 0, bad_g = 0;

			/* the step runs (asynchronously on a GPU) while the next batch is assembled */
			if (r2u_zero_grad(m) < 0 ||
			    r2u_forward(m, xb[cur], nb, bh, bw, 1, (float)dropout, step_seed(seed, st.step)) < 0 ||
			    r2u_backward(m, lb[cur], (float)lambda) < 0 || r2u_adam(m, lr_e, (int)(st.step + 1)) < 0)
				br_die(NULL, "step %" PRId64 ": %s", st.step + 1, r2u_error(m));
			next_nb = r2u_batch_len(&data, order + pos + nb, n_epoch - pos - nb, (int)batch);
			if (next_nb > 0)
				r2u_batch(&data, order + pos + nb, next_nb, xb[cur ^ 1], lb[cur ^ 1]);
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
			rate = nb / (br_now() - t0);
			steps_total -= 1;
			if (logf != NULL)
				fprintf(logf, "%" PRId64 "\t%" PRId64 "\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.1f\t", epoch + 1,
					st.step, lr_e, loss[0], loss[1], loss[2], loss[3], loss[4], rate);
			if (pos >= n_epoch && vallist != NULL) {
				vd = validate(m, &val, (int)batch);
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
			if (stop_signal || (max_steps > 0 && st.step >= max_steps) ||
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
				if (r2u_save(m, out, &save, kv) < 0)
					br_die(out, "%s (the previous checkpoint is intact)", r2u_error(m));
				if (stop_signal) {
					br_progress_end();
					br_msg(1, "interrupted at step %" PRId64 ": resumable checkpoint in %s", st.step, out);
					rc = 128 + stop_signal;
					goto done;
				}
				if (max_steps > 0 && st.step >= max_steps) {
					br_progress_end();
					br_msg(2, "stopped after %" PRId64 " steps", st.step);
					goto done;
				}
			}
		}
		if (vd >= 0)
			br_msg(2, "epoch %" PRId64 ": whole-tumour Dice %.4f on %d held-out cases", epoch + 1, vd, val.ncases);
		st.epoch = epoch + 1;
		st.pos = 0;
		if (r2u_save(m, out, &st, kv) < 0)
			br_die(out, "%s (the previous checkpoint is intact)", r2u_error(m));
	}
	br_progress_end();
	if (st.step == step0 && r2u_save(m, out, &st, kv) < 0)
		br_die(out, "%s", r2u_error(m));
	br_msg(2, "%" PRId64 " steps in %.1f s", st.step - step0, br_now() - t_start);
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
	br_ctx_free(ctx);
	return rc;
}
