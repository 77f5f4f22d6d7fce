/*
 * r2u-infer - segment normalised 4-channel records with R2U-MTDS models.
 */
#define _POSIX_C_SOURCE 200809L
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
	"                 [--prob] [--wt-only] [--tta] [--batch N] [--precision fp32|tf32|bf16] [IN ...]\n"
	"Segment normalised 4-channel records (brats-crop | brats-norm) slice by slice.\n"
	"  -m MODEL         a checkpoint (.safetensors); several are averaged (ensemble)\n"
	"  -o OUT           output file (.nrrd, .nii, .nii.gz); default stdout (NRRD)\n"
	"  --prob           write the four probabilities (float32; wt, ncr, ed, et)\n"
	"  --wt-only        write a binary whole-tumour mask (0, 1)\n"
	"  --tta            also run the left-right flipped input and average\n"
	"  --batch N        slices per forward pass (default 16 on the CPU, 155 on a GPU)\n"
	"  --precision P    GPU arithmetic: fp32, tf32 (default where supported) or bf16\n"
	"  -d DEVICE        cpu, cuda or cuda:N (default: cuda when a GPU is present)\n"
	"  -j N             CPU threads (default: all cores)\n"
	"  -f               write binary data to a terminal\n"
	"  -q, -v           quieter, more verbose\n"
	"  -h               this help\n";

enum { OPT_PROB = 256, OPT_WT, OPT_TTA, OPT_BATCH, OPT_PREC };

#define MAX_MODELS 16

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
		{0, 0, 0, 0},
	};
	const char *out = "-", *mpath[MAX_MODELS], *stdin_only[] = {"-"}, **inputs;
	int c, nm = 0, prob = 0, wt_only = 0, tta = 0, batch = 0, prec = BR_PREC_DEFAULT, ninputs, k, r, idx = 0;
	r2u *models[MAX_MODELS];
	br_ctx *ctx;
	br_writer *w;
	char err[512], notice[640];
	double t0;
	long nslices = 0;

	br_tool_init("r2u-infer", usage);
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
			if ((prec = br_precision_from_name(optarg)) < 0)
				br_usage_error("--precision: '%s' is not fp32, tf32 or bf16", optarg);
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
		if (r2u_peek_base(mpath[k], &base, err, sizeof err) < 0)
			br_die(mpath[k], "%s", err);
		models[k] = r2u_new(ctx, base, 0, err, sizeof err);
		if (models[k] == NULL)
			br_die(mpath[k], "%s", err);
		if (r2u_load(models[k], mpath[k], NULL) < 0)
			br_die(mpath[k], "%s", r2u_error(models[k]));
	}
	inputs = optind < argc ? (const char **)(argv + optind) : stdin_only;
	ninputs = optind < argc ? argc - optind : 1;
	w = br_writer_open(out, br_opt.force);
	if (w == NULL)
		br_die(out, "%s", br_error());
	t0 = br_now();
	for (k = 0; k < ninputs; k++) {
		br_reader *rd = br_reader_open(inputs[k]);
		br_vol *v, *o;
		if (rd == NULL) {
			br_writer_abort(w);
			br_die(inputs[k], "%s", br_error());
		}
		while ((r = br_reader_next(rd, &v)) == 1) {
			size_t nvox;
			idx++;
			if (v->dim[3] != 4) {
				br_writer_abort(w);
				br_die(br_reader_path(rd), "record %d has %lld channels, expected 4 (t1, t1ce, t2, flair)", idx,
				       (long long)v->dim[3]);
			}
			if (v->dim[0] % 8 != 0 || v->dim[1] % 8 != 0) {
				br_writer_abort(w);
				br_die(br_reader_path(rd), "record %d: slices of %lld x %lld, but both must be multiples of 8",
				       idx, (long long)v->dim[0], (long long)v->dim[1]);
			}
			if (v->dtype != BR_F32) {
				br_vol *f = br_vol_convert(v, BR_F32);
				br_vol_free(v);
				if ((v = f) == NULL) {
					br_writer_abort(w);
					br_die(br_reader_path(rd), "record %d: %s", idx, br_error());
				}
			}
			if (br_vol_check_finite(v) < 0) {
				br_writer_abort(w);
				br_die(br_reader_path(rd), "record %d: %s", idx, br_error());
			}
			nvox = br_vol_nvox(v);
			o = br_vol_like(v, BR_F32, 4);
			if (o == NULL) {
				br_writer_abort(w);
				br_die(NULL, "%s", br_error());
			}
			if (r2u_predict(models, nm, v, tta, batch, o->data, err, sizeof err) < 0) {
				br_writer_abort(w);
				br_die(br_reader_path(rd), "record %d: %s", idx, err);
			}
			nslices += v->dim[2];
			if (prob) {
				br_meta_set(o, BR_KEY_CONTENT, "prob");
				br_meta_set(o, BR_KEY_CHANNELS, "wt ncr ed et");
			} else {
				br_vol *l = br_vol_like(v, BR_U8, 1);
				if (l == NULL) {
					br_writer_abort(w);
					br_die(NULL, "%s", br_error());
				}
				r2u_assemble(l->data, o->data, nvox, wt_only);
				br_vol_free(o);
				o = l;
				br_meta_set(o, BR_KEY_CONTENT, wt_only ? "mask" : "labels");
				br_meta_del(o, BR_KEY_CHANNELS);
			}
			br_meta_del(o, BR_KEY_NORM);
			if (br_writer_put(w, o) < 0) {
				br_writer_abort(w);
				br_die(out, "%s", br_error());
			}
			br_msg(2, "%s: record %d (%s): %lld slices", br_reader_path(rd), idx,
			       br_meta_get(v, BR_KEY_CASE) ? br_meta_get(v, BR_KEY_CASE) : "-", (long long)v->dim[2]);
			br_vol_free(o);
			br_vol_free(v);
		}
		if (r < 0) {
			br_writer_abort(w);
			br_die(br_reader_path(rd), "%s", br_error());
		}
		br_reader_close(rd);
	}
	if (br_writer_close(w) < 0)
		br_die(out, "%s", br_error());
	br_msg(2, "%ld slices in %.2f s (%.1f slices/s)", nslices, br_now() - t0, nslices / (br_now() - t0));
	for (k = 0; k < nm; k++)
		r2u_free(models[k]);
	br_ctx_free(ctx);
	return 0;
}
