/*
 * r2u-infer - segment normalised 4-channel records with R2U-MTDS models.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kernels.h"
#include "predict.h"
#include "r2u.h"
#include "volume.h"

static const char usage[] =
	"usage: r2u-infer [-hqvf] [-d cpu|cuda[:N]] [-j N] -m MODEL [-m MODEL ...] [-o OUT]\n"
	"                 [--prob] [--wt-only] [--tta] [--batch N] [--precision fp32|tf32|bf16] [--no-check]\n"
	"                 [--profile] [IN ...]\n"
	"Segment normalised 4-channel records (brats-crop | brats-norm) slice by slice.\n"
	"  -m MODEL         a checkpoint (.safetensors); several are averaged (ensemble)\n"
	"  -o OUT           output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --prob           write the four probabilities (float32; wt, ncr, ed, et)\n"
	"  --wt-only        write a binary whole-tumour mask (0, 1)\n"
	"  --tta            also run the left-right flipped input and average\n"
	"  --batch N        slices per forward pass (default 16 on the CPU, 155 on a GPU)\n"
	"  --precision P    GPU arithmetic: fp32, tf32 (default where supported) or bf16\n"
	"  --no-check       accept records that brats-norm did not write (no metadata, values outside [0, 1])\n"
	"  --profile        time every kernel call (device time on a GPU) and print the table at the end\n"
	"  -d DEVICE        cpu, cuda or cuda:N (default: cuda when a GPU is present)\n"
	"  -j N             CPU threads (default: all cores)\n"
	"  -f               write binary data to a terminal\n"
	"  -q, -v           quieter (no line per record), more verbose\n"
	"  -h               this help\n";

enum { OPT_PROB = 256, OPT_WT, OPT_TTA, OPT_BATCH, OPT_PREC, OPT_NOCHECK, OPT_PROFILE };

#define MAX_MODELS 16

/* Staging memory for the records on their way to a GPU: pinned host
 * buffers (br_host_alloc), so that the upload is a DMA at full speed that
 * the host does not wait for.  The reading thread copies each record into a
 * free buffer (br_vol_adopt) beside the segmentation of the one before;
 * freeing the record gives the buffer back.  Two records live at a time
 * (the one segmented, the one read ahead): three buffers, and a record that
 * finds none free simply stays in ordinary memory. */
#define NSTAGE 3
struct stage {
	br_ctx *ctx;
	pthread_mutex_t mu;
	void *buf[NSTAGE];
	size_t cap[NSTAGE];
	int busy[NSTAGE];
	long staged; /* records copied into a buffer (the reading thread's count) */
};

static void stage_release(void *arg, void *data)
{
	struct stage *s = arg;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < NSTAGE; i++)
		if (s->buf[i] == data)
			s->busy[i] = 0;
	pthread_mutex_unlock(&s->mu);
}

/* v's data into a free staging buffer; nothing when none is free or memory is short */
static void stage_record(struct stage *s, br_vol *v)
{
	size_t bytes = br_vol_bytes(v);
	int k = -1;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < NSTAGE && k < 0; i++)
		if (!s->busy[i] && s->cap[i] >= bytes)
			k = i;
	for (int i = 0; i < NSTAGE && k < 0; i++)
		if (!s->busy[i]) { /* too small: a new one */
			br_host_free(s->ctx, s->buf[i]);
			s->cap[i] = 0;
			if ((s->buf[i] = br_host_alloc(s->ctx, bytes)) != NULL) {
				s->cap[i] = bytes;
				k = i;
			}
			break;
		}
	if (k >= 0)
		s->busy[k] = 1;
	pthread_mutex_unlock(&s->mu);
	if (k < 0)
		return;
	memcpy(s->buf[k], v->data, bytes);
	br_vol_adopt(v, s->buf[k], stage_release, s);
	s->staged++;
}

static void stage_free(struct stage *s)
{
	for (int i = 0; i < NSTAGE; i++)
		br_host_free(s->ctx, s->buf[i]);
	pthread_mutex_destroy(&s->mu);
}

/* an environment switch: on when set to 1 */
static int env_on(const char *name)
{
	const char *s = getenv(name);

	return s != NULL && strcmp(s, "1") == 0;
}

struct infer_job {
	r2u **models;
	r2u_predictor *pred;
	struct stage *stage; /* NULL: records stay where the reader put them (CPU) */
	int nm, prob, wt_only, tta, batch, no_check;
	long nslices, nrecords;
	double t0;
};

/* The network was trained on brats-norm's output: a record without its
 * metadata, or with values outside [0, 1], gives a wrong segmentation. */
static int check_normalised(const br_vol *v)
{
	const float *d = v->data;
	size_t i, nv = br_vol_nvox(v), n = nv * (size_t)v->dim[3];

	if (br_meta_get(v, BR_KEY_NORM) == NULL) {
		br_set_error("not normalised (no brats-norm metadata): run brats-norm first, or --no-check");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!(d[i] >= 0.0f && d[i] <= 1.0f)) {
			size_t j = i % nv;
			br_set_error("voxel (%zu,%zu,%zu) channel %zu is %g, outside [0, 1]: run brats-norm first, or "
				     "--no-check",
				     j % (size_t)v->dim[0], j / (size_t)v->dim[0] % (size_t)v->dim[1],
				     j / ((size_t)v->dim[0] * (size_t)v->dim[1]), i / nv, (double)d[i]);
			return -1;
		}
	return 0;
}

/* The checks and the conversion of a record: run by the reading thread,
 * beside the segmentation of the record before (br_filter_records_prep). */
static int prepare_record(br_vol **pv, void *arg)
{
	const struct infer_job *j = arg;
	br_vol *v = *pv, *f;

	if (v->dim[3] != 4)
		return br_set_error("%lld channels, expected 4 (t1, t1ce, t2, flair)", (long long)v->dim[3]);
	if (v->dim[0] % 8 != 0 || v->dim[1] % 8 != 0)
		return br_set_error("slices of %lld x %lld, but both must be multiples of 8", (long long)v->dim[0],
				    (long long)v->dim[1]);
	if (v->dtype != BR_F32) {
		f = br_vol_convert(v, BR_F32);
		br_vol_free(v);
		*pv = v = f;
		if (v == NULL)
			return -1;
	}
	if (br_vol_check_finite(v) < 0)
		return -1;
	if (!j->no_check && check_normalised(v) < 0)
		return -1;
	if (j->stage != NULL)
		stage_record(j->stage, v);
	return 0;
}

static br_vol *infer_record(br_vol *v, const char *path, int index, void *arg)
{
	struct infer_job *j = arg;
	br_vol *o = NULL;
	char err[512];

	/* the probabilities, or only the label map, come back from the device */
	o = j->prob ? br_vol_like(v, BR_F32, 4) : br_vol_like(v, BR_U8, 1);
	if (o == NULL)
		goto fail;
	if (r2u_predictor_run(j->pred, v, j->prob ? o->data : NULL, j->prob ? NULL : o->data, j->wt_only, err,
			      sizeof err) < 0) {
		br_set_error("%s", err);
		goto fail;
	}
	j->nslices += (long)v->dim[2];
	j->nrecords++;
	if (j->prob) {
		br_meta_set(o, BR_KEY_CONTENT, "prob");
		br_meta_set(o, BR_KEY_CHANNELS, "wt ncr ed et");
	} else {
		br_meta_set(o, BR_KEY_CONTENT, j->wt_only ? "mask" : "labels");
		br_meta_del(o, BR_KEY_CHANNELS);
	}
	br_meta_del(o, BR_KEY_NORM);
	br_progress_unit("%s record %d (%s): %lld slices, %.3f s", strcmp(path, "-") == 0 ? "stdin" : path, index,
			 br_meta_get(v, BR_KEY_CASE) ? br_meta_get(v, BR_KEY_CASE) : "-", (long long)v->dim[2],
			 br_now() - j->t0);
	j->t0 = br_now();
	br_vol_free(v);
	return o;
fail:
	br_vol_free(o);
	br_vol_free(v);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"model", required_argument, 0, 'm'},
		{"prob", no_argument, 0, OPT_PROB},
		{"wt-only", no_argument, 0, OPT_WT},
		{"tta", no_argument, 0, OPT_TTA},
		{"batch", required_argument, 0, OPT_BATCH},
		{"precision", required_argument, 0, OPT_PREC},
		{"no-check", no_argument, 0, OPT_NOCHECK},
		{"profile", no_argument, 0, OPT_PROFILE},
		{0, 0, 0, 0},
	};
	const char *out = "-", *mpath[MAX_MODELS];
	int c, nm = 0, prob = 0, profile = 0, wt_only = 0, tta = 0, batch = 0, prec = BR_PREC_DEFAULT, no_check = 0, k;
	r2u *models[MAX_MODELS];
	br_ctx *ctx;
	char err[512], notice[640];
	double t0, t_start, dt;
	struct infer_job job = {0};

	br_tool_init("r2u-infer", usage);
	t_start = br_now();
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "m:o:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'm':
			if (nm == MAX_MODELS)
				br_usage_error("at most %d models", MAX_MODELS);
			mpath[nm++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_PROB:
			prob = 1;
			break;
		case OPT_WT:
			wt_only = 1;
			break;
		case OPT_TTA:
			tta = 1;
			break;
		case OPT_BATCH:
			batch = (int)br_parse_long(optarg, "--batch", 1, 4096);
			break;
		case OPT_PREC:
			br_parse_choice(optarg, "--precision", (const char *const[]){"fp32", "tf32", "bf16", NULL});
			prec = br_precision_from_name(optarg);
			break;
		case OPT_PROFILE:
			profile = 1;
			break;
		case OPT_NOCHECK:
			no_check = 1;
			break;
		default:
			br_bad_option(argv);
		}
	}
	if (nm == 0)
		br_usage_error("-m MODEL is required");
	if (prob && wt_only)
		br_usage_error("--prob and --wt-only exclude each other");
	ctx = br_ctx_open(br_opt.device, br_opt.threads, prec, notice, sizeof notice, err, sizeof err);
	if (ctx == NULL)
		br_die(NULL, "%s", err);
	if (notice[0])
		br_msg(1, "%s", notice);
	br_msg(2, "device %s", br_ctx_describe(ctx));
	if (batch == 0)
		batch = br_ctx_device(ctx) == BR_DEV_CUDA ? 155 : 16;
	for (k = 0; k < nm; k++) {
		int base;
		r2u_variant var;
		char desc[96];
		/* the network the checkpoint records: its width and variant */
		if (r2u_peek(mpath[k], &base, &var, err, sizeof err) < 0)
			br_die(mpath[k], "%s", err);
		r2u_variant_describe(&var, desc, sizeof desc);
		br_msg(2, "%s: width %d, %s", mpath[k], base, desc);
		models[k] = r2u_new_variant(ctx, base, &var, 0, err, sizeof err);
		if (models[k] == NULL)
			br_die(mpath[k], "%s", err);
		if (r2u_load(models[k], mpath[k], NULL) < 0 || r2u_freeze(models[k], 1) < 0)
			br_die(mpath[k], "%s", r2u_error(models[k]));
	}
	job.models = models;
	job.nm = nm;
	job.prob = prob;
	job.wt_only = wt_only;
	job.tta = tta;
	job.batch = batch;
	job.no_check = no_check;
	if (profile) /* the cases only, not the loading */
		br_prof_enable(ctx, 1);
	job.pred = r2u_predictor_new(models, nm, tta, batch, err, sizeof err);
	if (job.pred == NULL)
		br_die(NULL, "%s", err);
	/* recorded forward passes: opt-in until they have been checked on a GPU */
	if (env_on("BR_CUDA_GRAPH") && !profile)
		r2u_predictor_graphs(job.pred, 1);
	t0 = job.t0 = br_now();
	/* records staged in pinned memory on a GPU (BR_STAGE_RECORDS=1: on the
	 * CPU too, where it only costs a copy: the path is tested there) */
	if (br_ctx_device(ctx) == BR_DEV_CUDA || env_on("BR_STAGE_RECORDS")) {
		static struct stage st;
		st.ctx = ctx;
		pthread_mutex_init(&st.mu, NULL);
		job.stage = &st;
	}
	/* the next case is read, checked, converted and staged while this one runs */
	br_filter_records_prep(out, argv + optind, argc - optind, prepare_record, infer_record, &job, 1);
	br_progress_end();
	dt = br_now() - t0;
	br_msg(2, "start-up %.3f s (device, %d model%s); %ld record%s, %ld slices in %.4f s: %.2f records/s, %.1f slices/s",
	       t0 - t_start, nm, nm == 1 ? "" : "s", job.nrecords, job.nrecords == 1 ? "" : "s", job.nslices, dt,
	       dt > 0 ? job.nrecords / dt : 0.0, dt > 0 ? job.nslices / dt : 0.0);
	if (profile) {
		fprintf(stderr, "r2u-infer: time per kernel call (%s), %ld records:\n", br_ctx_describe(ctx), job.nrecords);
		br_prof_report(ctx, stderr);
	}
	r2u_predictor_free(job.pred);
	if (job.stage != NULL) {
		br_msg(2, "%ld of %ld records staged in %s memory for the upload", job.stage->staged, job.nrecords,
		       br_ctx_device(ctx) == BR_DEV_CUDA ? "pinned" : "staging");
		stage_free(job.stage);
	}
	for (k = 0; k < nm; k++)
		r2u_free(models[k]);
	br_ctx_free(ctx);
	return 0;
}
