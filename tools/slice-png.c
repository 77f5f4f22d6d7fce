/*
 * slice-png - pictures of slices of a volume, with tumour labels, as PNG.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "labelmap.h"
#include "png_out.h"
#include "render.h"
#include "stats.h"
#include "volume.h"

static const char usage[] =
	"usage: slice-png [-fhqv] [-d DEVICE] [-j N] [-m t1|t1ce|t2|flair]\n"
	"                 [--channel N] [-z N | --axial N | --coronal N | --sagittal N]\n"
	"                 [--view PLANE] [--montage COLSxROWS] [--overlay LABELS]\n"
	"                 [--compare PRED] [--contour] [--alpha A] [--window LO,HI]\n"
	"                 [--neurological] [--zoom K] [--labels 2020|2023] [-o OUT] [IN]\n"
	"Draw slices of a volume as an RGB PNG picture, tumour labels in colour, in the\n"
	"radiological convention (patient's left on the right, anterior or superior up).\n"
	"  -o OUT              the picture; default stdout (refused on a terminal)\n"
	"  -m MODALITY         the channel of a 4-channel image record (default flair)\n"
	"  --channel N         channel N (from 0) of a multi-channel record\n"
	"  -z N, --axial N     one axial slice: voxel index N (from 0) along the axis\n"
	"                      closest to inferior-superior\n"
	"  --coronal N         one coronal slice (the axis closest to posterior-anterior)\n"
	"  --sagittal N        one sagittal slice (the axis closest to left-right)\n"
	"  --view PLANE        the plane of a montage: axial (default), coronal, sagittal\n"
	"  --montage CxR       C columns, R rows of evenly spaced slices (default 4x3)\n"
	"                      through the tumour of LABELS (or PRED), else through the\n"
	"                      nonzero voxels; the default when no slice is given\n"
	"  --overlay LABELS    ground truth on IN's grid: 1 red, 2 green, 4 yellow\n"
	"  --compare PRED      a prediction on IN's grid: LABELS (or the plain image)\n"
	"                      on the left, PRED on the right\n"
	"  --contour           only the label boundaries, one pixel wide; with --compare\n"
	"                      on one panel: LABELS cyan, PRED magenta, both white\n"
	"  --alpha A           opacity of the label colours, 0 to 1 (default 0.5)\n"
	"  --window LO,HI      LO and below black, HI and above white (default: the 0.5\n"
	"                      and 99.5 percentiles of the volume's nonzero voxels)\n"
	"  --neurological      patient's left on the picture's left\n"
	"  --zoom K            K pixels per voxel on the finer in-plane axis (default 1)\n"
	"  --labels 2020|2023  label convention 0,1,2,4 (default) or 0,1,2,3\n"
	"  -f                  write binary data to a terminal\n"
	"  -d DEVICE, -j N     accepted; slice-png runs on one CPU thread\n"
	"  -q, -v              quieter, more verbose (-v: the slices and the window)\n"
	"  -h                  this help\n";

enum {
	OPT_CHANNEL = 256,
	OPT_AXIAL,
	OPT_CORONAL,
	OPT_SAGITTAL,
	OPT_VIEW,
	OPT_MONTAGE,
	OPT_OVERLAY,
	OPT_COMPARE,
	OPT_CONTOUR,
	OPT_ALPHA,
	OPT_WINDOW,
	OPT_NEURO,
	OPT_ZOOM,
	OPT_LABELS
};

#define DEFAULT_COLS 4
#define DEFAULT_ROWS 3
#define PANEL_GAP 2    /* pixels between the two panels of a --compare tile, */
#define PANEL_GREY 48  /* dark grey */
#define TILE_GAP 6     /* pixels between the tiles of a montage, */
#define TILE_GREY 128  /* mid grey */
#define MAX_SIDE 65535          /* pixels, a side of the picture */
#define MAX_PIXELS (1 << 28)    /* in all (768 MiB of RGB) */

static const char *const plane_name[3] = {"axial", "coronal", "sagittal"};
static const uint8_t colour_gt[3] = {0, 255, 255}, colour_pred[3] = {255, 0, 255}, colour_both[3] = {255, 255, 255};

/* Modality names and their BraTS 2023 aliases, in the record's channel order. */
static const char *const mod_name[4] = {"t1", "t1ce", "t2", "flair"};
static const char *const mod_alias[4] = {"t1n", "t1c", "t2w", "t2f"};

static int modality_index(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, mod_name[i]) == 0 || strcmp(s, mod_alias[i]) == 0)
			return i;
	return -1;
}

static void set_plane(int *plane, long *slice, int p, const char *arg, const char *opt)
{
	if (*slice >= 0 && *plane != p)
		br_usage_error("%s: a slice of another plane is already given", opt);
	*plane = p;
	*slice = br_parse_long(arg, opt, 0, 1L << 30);
}

/* The channel of v to draw: --channel, else the modality by the record's
 * "channels" metadata (the BraTS order t1 t1ce t2 flair without it). */
static int64_t pick_channel(const br_vol *v, const char *path, long channel, const char *modality)
{
	const char *names = br_meta_get(v, BR_KEY_CHANNELS);
	int64_t nc = v->dim[3], k;
	char buf[256], *tok, *save;

	if (channel >= 0) {
		if (channel >= nc)
			br_die(path, "channel %ld out of range (0 to %lld)", channel, (long long)nc - 1);
		return channel;
	}
	if (nc == 1)
		return 0;
	if (names == NULL) {
		if (nc == 4)
			return modality_index(modality);
		br_die(path, "a %lld-channel record without channel names: choose one with --channel", (long long)nc);
	}
	snprintf(buf, sizeof buf, "%s", names);
	for (k = 0, tok = strtok_r(buf, " \t", &save); tok != NULL; k++, tok = strtok_r(NULL, " \t", &save))
		if (k < nc && modality_index(tok) >= 0 && modality_index(tok) == modality_index(modality))
			return k;
	br_die(path, "no %s channel (channels: %s): choose one with --channel", modality, names);
}

/* Channel c of v as floats. */
static float *channel_f32(const br_vol *v, int64_t c, const char *path)
{
	size_t i, n = br_vol_nvox(v), off = (size_t)c * n;
	float *x = malloc(n * sizeof *x);

	if (x == NULL)
		br_die(path, "out of memory");
	if (v->dtype == BR_F32) {
		memcpy(x, (const float *)v->data + off, n * sizeof *x);
	} else {
		for (i = 0; i < n; i++)
			x[i] = (float)br_vol_get(v, off + i);
	}
	for (i = 0; i < n; i++)
		if (!isfinite(x[i])) {
			int nan = isnan(x[i]);
			free(x);
			br_die(path, "voxel (%zu,%zu,%zu) of channel %lld is %s", i % v->dim[0], i / v->dim[0] % v->dim[1],
			       i / v->dim[0] / v->dim[1], (long long)c, nan ? "NaN" : "infinite");
		}
	return x;
}

/* A label map on img's grid as bytes. */
static uint8_t *read_labels(const char *path, const br_vol *img, const char *img_path, int labels2023)
{
	br_vol *v = br_vol_read(path), *u = NULL;
	uint8_t *lab;
	char why[512] = "";

	if (v == NULL)
		br_die(path, "%s", br_error());
	if (v->dim[3] != 1)
		snprintf(why, sizeof why, "a label map has one channel, this record has %lld", (long long)v->dim[3]);
	else if (v->dim[0] != img->dim[0] || v->dim[1] != img->dim[1] || v->dim[2] != img->dim[2])
		snprintf(why, sizeof why, "grid %lld x %lld x %lld differs from %s's %lld x %lld x %lld",
			 (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], img_path,
			 (long long)img->dim[0], (long long)img->dim[1], (long long)img->dim[2]);
	else if (!br_vol_same_grid(v, img))
		snprintf(why, sizeof why, "grid %lld x %lld x %lld: its affine differs from %s's", (long long)v->dim[0],
			 (long long)v->dim[1], (long long)v->dim[2], img_path);
	else if ((u = br_vol_labels_u8(v, labels2023)) == NULL)
		snprintf(why, sizeof why, "%s", br_error());
	if (why[0] != '\0') { /* nothing held when the tool ends */
		br_vol_free(v);
		br_die(path, "%s", why);
	}
	if (u != v)
		br_vol_free(v);
	lab = u->data; /* the bytes outlive the record */
	u->data = NULL;
	br_vol_free(u);
	return lab;
}

/* n evenly spaced slices from first to last (each once when fewer), in
 * the order of increasing world coordinate; returns how many. */
static int spread(int64_t *out, int n, int64_t first, int64_t last, int sign)
{
	int64_t m = last - first + 1;
	int t, k;

	if (m <= n) {
		k = (int)m;
		for (t = 0; t < k; t++)
			out[t] = first + t;
	} else if (n == 1) {
		k = 1;
		out[0] = first + (last - first) / 2;
	} else {
		k = n;
		for (t = 0; t < n; t++)
			out[t] = first + (int64_t)floor((double)t * (double)(last - first) / (n - 1) + 0.5);
	}
	if (sign < 0)
		for (t = 0; t < k / 2; t++) {
			int64_t s = out[t];
			out[t] = out[k - 1 - t];
			out[k - 1 - t] = s;
		}
	return k;
}

/* The slices of a montage: n evenly spaced through the tumour of gt, else
 * of pred, else through the nonzero voxels of x; returns how many. */
static int montage_slices(int64_t *slices, int n, const br_view *vw, const uint8_t *gt, const char *gt_path,
			  const uint8_t *pred, const char *pred_path, const float *x, const char *path)
{
	int64_t first = 0, last = 0;
	size_t i, nvox = (size_t)(vw->n_h * vw->n_v * vw->n_n);
	uint8_t *nz;
	int found = 0;

	if (gt != NULL && (found = br_view_extent(vw, gt, &first, &last)) == 0)
		br_warn(gt_path, "no tumour");
	if (!found && pred != NULL && (found = br_view_extent(vw, pred, &first, &last)) == 0)
		br_warn(pred_path, "no tumour");
	if (!found) {
		nz = malloc(nvox);
		if (nz == NULL)
			br_die(NULL, "out of memory");
		for (i = 0; i < nvox; i++)
			nz[i] = x[i] != 0;
		found = br_view_extent(vw, nz, &first, &last);
		free(nz);
	}
	if (!found) {
		br_warn(path, "every voxel is 0");
		first = 0;
		last = vw->n_n - 1;
	}
	return spread(slices, n, first, last, vw->sign_n);
}

/* The 0.5 and 99.5 percentiles of the nonzero voxels of x (0, 0 when none). */
static void default_window(double *lo, double *hi, const float *x, size_t nvox, const char *path)
{
	uint8_t *nz = malloc(nvox);
	size_t i;

	if (nz == NULL)
		br_die(NULL, "out of memory");
	for (i = 0; i < nvox; i++)
		nz[i] = x[i] != 0;
	if (br_percentiles_f32(x, nz, nvox, 0.5, 99.5, lo, hi) < 0)
		br_die(path, "%s", br_error());
	if (!isfinite(*lo) || !isfinite(*hi))
		*lo = *hi = 0;
	free(nz);
}

/* Buffers for one panel: (h, w) grey values, labels and edges, (h, w, 3) colours. */
struct scratch {
	float *grey;
	uint8_t *lab_gt, *lab_pred, *edge_gt, *edge_pred, *rgb;
};

static void scratch_free(struct scratch *sc)
{
	free(sc->grey);
	free(sc->lab_gt);
	free(sc->lab_pred);
	free(sc->edge_gt);
	free(sc->edge_pred);
	free(sc->rgb);
}

static int scratch_new(struct scratch *sc, const br_view *vw)
{
	size_t n = (size_t)vw->w * vw->h;

	sc->grey = malloc(n * sizeof *sc->grey);
	sc->lab_gt = calloc(n, 1); /* stays 0 without LABELS */
	sc->lab_pred = calloc(n, 1);
	sc->edge_gt = malloc(n);
	sc->edge_pred = malloc(n);
	sc->rgb = malloc(n * 3);
	if (sc->grey == NULL || sc->lab_gt == NULL || sc->lab_pred == NULL || sc->edge_gt == NULL ||
	    sc->edge_pred == NULL || sc->rgb == NULL) {
		scratch_free(sc);
		return -1;
	}
	return 0;
}

/* Paint a w x h rectangle of a picture of width W grey. */
static void fill(uint8_t *rgb, int W, int x, int y, int w, int h, uint8_t grey)
{
	int r;

	for (r = 0; r < h; r++)
		memset(rgb + ((size_t)(y + r) * W + x) * 3, grey, (size_t)w * 3);
}

/* Draw slice s into the tile at (tx, ty) of canvas (width W): one panel, or
 * two (LABELS | PRED) when PRED is given without contour. */
static void draw_tile(uint8_t *canvas, int W, int tx, int ty, struct scratch *sc, const br_view *vw, int64_t s,
		      const float *x, const uint8_t *gt, const uint8_t *pred, double lo, double hi, double alpha,
		      int contour)
{
	size_t i, n = (size_t)vw->w * vw->h;

	br_view_sample_f32(vw, sc->grey, x, s);
	if (gt != NULL)
		br_view_sample_u8(vw, sc->lab_gt, gt, s);
	if (pred != NULL)
		br_view_sample_u8(vw, sc->lab_pred, pred, s);
	br_draw_grey(sc->rgb, sc->grey, n, lo, hi);
	if (contour && pred == NULL) {
		br_draw_contours(sc->rgb, sc->lab_gt, vw->w, vw->h, NULL);
	} else if (contour) {
		/* the edges of both in two colours, a third where they coincide */
		br_label_edges(sc->edge_gt, sc->lab_gt, vw->w, vw->h);
		br_label_edges(sc->edge_pred, sc->lab_pred, vw->w, vw->h);
		for (i = 0; i < n; i++)
			if (sc->edge_gt[i] || sc->edge_pred[i])
				memcpy(sc->rgb + 3 * i,
				       sc->edge_gt[i] && sc->edge_pred[i] ? colour_both
				       : sc->edge_gt[i]                  ? colour_gt
									 : colour_pred,
				       3);
	} else if (gt != NULL) {
		br_draw_labels(sc->rgb, sc->lab_gt, n, alpha);
	}
	br_blit(canvas, W, tx, ty, sc->rgb, vw->w, vw->h);
	if (pred != NULL && !contour) {
		fill(canvas, W, tx + vw->w, ty, PANEL_GAP, vw->h, PANEL_GREY);
		br_draw_grey(sc->rgb, sc->grey, n, lo, hi);
		br_draw_labels(sc->rgb, sc->lab_pred, n, alpha);
		br_blit(canvas, W, tx + vw->w + PANEL_GAP, ty, sc->rgb, vw->w, vw->h);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		BR_COMMON_LONG,
		{"output", required_argument, 0, 'o'},
		{"modality", required_argument, 0, 'm'},
		{"channel", required_argument, 0, OPT_CHANNEL},
		{"axial", required_argument, 0, OPT_AXIAL},
		{"coronal", required_argument, 0, OPT_CORONAL},
		{"sagittal", required_argument, 0, OPT_SAGITTAL},
		{"view", required_argument, 0, OPT_VIEW},
		{"montage", required_argument, 0, OPT_MONTAGE},
		{"overlay", required_argument, 0, OPT_OVERLAY},
		{"compare", required_argument, 0, OPT_COMPARE},
		{"contour", no_argument, 0, OPT_CONTOUR},
		{"alpha", required_argument, 0, OPT_ALPHA},
		{"window", required_argument, 0, OPT_WINDOW},
		{"neurological", no_argument, 0, OPT_NEURO},
		{"zoom", required_argument, 0, OPT_ZOOM},
		{"labels", required_argument, 0, OPT_LABELS},
		{0, 0, 0, 0},
	};
	const char *out = "-", *in = "-", *modality = "flair", *gt_path = NULL, *pred_path = NULL;
	int c, plane = BR_AXIAL, view_given = -1, montage = 0, cols = DEFAULT_COLS, rows = DEFAULT_ROWS;
	int contour = 0, neuro = 0, labels2023 = 0, have_window = 0, modality_given = 0, np, nslices, t, tile_w, W, H;
	long slice = -1, channel = -1;
	double alpha = 0.5, zoom = 1, lo = 0, hi = 0;
	br_vol *img;
	br_view vw;
	int64_t ch, *slices;
	float *x;
	uint8_t *gt = NULL, *pred = NULL, *canvas;
	struct scratch sc;
	size_t nvox;
	char comment[4096], chan_text[128], slice_text[2048];
	const char *text[10];
	size_t len;

	br_tool_init("slice-png", usage);
	while ((c = getopt_long(argc, argv, BR_COMMON_SHORT "o:m:z:", longopts, NULL)) != -1) {
		if (br_common_option(c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'm':
			if (modality_index(optarg) < 0)
				br_usage_error("-m: '%s' is not t1, t1ce, t2 or flair", optarg);
			modality = optarg;
			modality_given = 1;
			break;
		case OPT_CHANNEL:
			channel = br_parse_long(optarg, "--channel", 0, 1L << 20);
			break;
		case 'z':
			set_plane(&plane, &slice, BR_AXIAL, optarg, "-z");
			break;
		case OPT_AXIAL:
			set_plane(&plane, &slice, BR_AXIAL, optarg, "--axial");
			break;
		case OPT_CORONAL:
			set_plane(&plane, &slice, BR_CORONAL, optarg, "--coronal");
			break;
		case OPT_SAGITTAL:
			set_plane(&plane, &slice, BR_SAGITTAL, optarg, "--sagittal");
			break;
		case OPT_VIEW:
			view_given = br_parse_choice(optarg, "--view", (const char *const[]){"axial", "coronal", "sagittal", NULL});
			break;
		case OPT_MONTAGE: {
			char *end, *xp;
			long a, b;
			a = strtol(optarg, &xp, 10);
			b = (xp != optarg && *xp == 'x') ? strtol(xp + 1, &end, 10) : 0;
			if (xp == optarg || *xp != 'x' || end == xp + 1 || *end != '\0' || a < 1 || a > 64 || b < 1 ||
			    b > 64)
				br_usage_error("--montage: '%s' is not COLSxROWS (1 to 64 each, e.g. 4x3)", optarg);
			cols = (int)a;
			rows = (int)b;
			montage = 1;
			break;
		}
		case OPT_OVERLAY:
			gt_path = optarg;
			break;
		case OPT_COMPARE:
			pred_path = optarg;
			break;
		case OPT_CONTOUR:
			contour = 1;
			break;
		case OPT_ALPHA:
			alpha = br_parse_double(optarg, "--alpha", 0, 1);
			break;
		case OPT_WINDOW: {
			char *end;
			lo = strtod(optarg, &end);
			if (end == optarg || *end != ',' ||
			    (hi = strtod(end + 1, &end), end == optarg || *end != '\0') || !isfinite(lo) ||
			    !isfinite(hi) || !(hi > lo))
				br_usage_error("--window: '%s' is not LO,HI with LO < HI", optarg);
			have_window = 1;
			break;
		}
		case OPT_NEURO:
			neuro = 1;
			break;
		case OPT_ZOOM:
			zoom = br_parse_double(optarg, "--zoom", 0.05, 32);
			break;
		case OPT_LABELS:
			labels2023 = br_parse_choice(optarg, "--labels", (const char *const[]){"2020", "2023", NULL});
			break;
		default:
			br_bad_option(argv);
		}
	}
	if (argc - optind > 1)
		br_usage_error("expected one input, got %d", argc - optind);
	if (optind < argc)
		in = argv[optind];
	if (slice >= 0 && montage)
		br_usage_error("give one slice (-z, --axial, --coronal, --sagittal) or --montage, not both");
	if (view_given >= 0) {
		if (slice >= 0 && view_given != plane)
			br_usage_error("--view %s and a %s slice disagree", plane_name[view_given], plane_name[plane]);
		plane = view_given;
	}
	if (modality_given && channel >= 0)
		br_usage_error("give -m or --channel, not both");
	if (contour && gt_path == NULL && pred_path == NULL)
		br_usage_error("--contour needs --overlay or --compare");
	if ((strcmp(in, "-") == 0) + (gt_path && strcmp(gt_path, "-") == 0) + (pred_path && strcmp(pred_path, "-") == 0) > 1)
		br_usage_error("only one of IN, LABELS and PRED can be the standard input");
	if (strcmp(out, "-") == 0 && !br_opt.force && isatty(1))
		br_die("-", "refusing to write binary data to a terminal (redirect stdout or use -o)");

	/* the volume */
	img = br_vol_read(in);
	if (img == NULL)
		br_die(in, "%s", br_error());
	ch = pick_channel(img, in, channel, modality);
	x = channel_f32(img, ch, in);
	nvox = br_vol_nvox(img);
	if (gt_path != NULL)
		gt = read_labels(gt_path, img, strcmp(in, "-") == 0 ? "stdin" : in, labels2023);
	if (pred_path != NULL)
		pred = read_labels(pred_path, img, strcmp(in, "-") == 0 ? "stdin" : in, labels2023);
	if (br_view_init(&vw, img, plane, neuro, zoom) < 0)
		br_die(in, "%s", br_error());

	/* the slices */
	if (slice >= 0) {
		if (slice >= vw.n_n) {
			free(x);
			br_die(in, "%s slice %ld out of range (0 to %lld along %c)", plane_name[plane], slice,
			       (long long)vw.n_n - 1, "xyz"[vw.axis_n]);
		}
		cols = rows = 1;
	}
	slices = malloc((size_t)cols * rows * sizeof *slices);
	if (slices == NULL)
		br_die(NULL, "out of memory");
	if (slice >= 0) {
		slices[0] = slice;
		nslices = 1;
	} else {
		nslices = montage_slices(slices, cols * rows, &vw, gt, gt_path, pred, pred_path, x, in);
	}

	/* the window */
	if (!have_window)
		default_window(&lo, &hi, x, nvox, in);

	/* the picture */
	np = pred != NULL && !contour ? 2 : 1;
	tile_w = np * vw.w + (np - 1) * PANEL_GAP;
	if ((double)cols * (tile_w + TILE_GAP) > MAX_SIDE || (double)rows * (vw.h + TILE_GAP) > MAX_SIDE ||
	    (double)cols * (tile_w + TILE_GAP) * rows * (vw.h + TILE_GAP) > MAX_PIXELS)
		br_die(in, "a %d x %d montage of %d x %d pixel tiles is too large", cols, rows, tile_w, vw.h);
	W = cols * tile_w + (cols - 1) * TILE_GAP;
	H = rows * vw.h + (rows - 1) * TILE_GAP;
	canvas = malloc((size_t)W * H * 3);
	if (canvas == NULL || scratch_new(&sc, &vw) < 0)
		br_die(NULL, "out of memory");
	memset(canvas, TILE_GREY, (size_t)W * H * 3); /* the lines between tiles */
	for (t = 0; t < cols * rows; t++) {
		int tx = (t % cols) * (tile_w + TILE_GAP), ty = (t / cols) * (vw.h + TILE_GAP);
		if (t < nslices)
			draw_tile(canvas, W, tx, ty, &sc, &vw, slices[t], x, gt, pred, lo, hi, alpha, contour);
		else
			fill(canvas, W, tx, ty, tile_w, vw.h, 0); /* past the last slice: black */
	}

	/* what was drawn, in the picture and with -v */
	len = 0;
	slice_text[0] = '\0';
	for (t = 0; t < nslices && len < sizeof slice_text - 24; t++)
		len += (size_t)snprintf(slice_text + len, sizeof slice_text - len, "%s%lld", t ? " " : "",
					(long long)slices[t]);
	if (img->dim[3] == 1)
		snprintf(chan_text, sizeof chan_text, "one channel");
	else if (channel >= 0)
		snprintf(chan_text, sizeof chan_text, "channel %lld", (long long)ch);
	else
		snprintf(chan_text, sizeof chan_text, "channel %lld (%s)", (long long)ch, modality);
	snprintf(comment, sizeof comment, "%s slices %s (index along %c); window %.9g %.9g; %s; %s", plane_name[plane],
		 slice_text, "xyz"[vw.axis_n], lo, hi, chan_text,
		 plane == BR_SAGITTAL ? "anterior left" : neuro ? "neurological" : "radiological");
	br_msg(2, "%s", comment);
	text[0] = "Software";
	text[1] = "slice-png (brats-r2u)";
	text[2] = "Source";
	text[3] = strcmp(in, "-") == 0 ? "stdin" : in;
	text[4] = "Comment";
	text[5] = comment;
	text[6] = NULL;
	text[7] = NULL;
	if (br_png_write(out, canvas, W, H, text, br_opt.force) < 0)
		br_die(br_out_name(out), "%s", br_error());
	free(canvas);
	scratch_free(&sc);
	free(slices);
	free(gt);
	free(pred);
	free(x);
	br_vol_free(img);
	return 0;
}
