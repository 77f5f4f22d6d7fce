/*
 * dataset.c - training cases, slices and epochs.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "labelmap.h"
#include "rng.h"

/* ---- lists of 'IMAGE LABEL' pairs ---- */

int r2u_list_add(r2u_list *l, const char *img, const char *lab)
{
	char *a, *b;

	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		char **ni, **nl;
		if (cap > (1 << 28))
			return -1;
		ni = realloc(l->img, (size_t)cap * sizeof *ni);
		if (ni == NULL)
			return -1;
		l->img = ni;
		nl = realloc(l->lab, (size_t)cap * sizeof *nl);
		if (nl == NULL)
			return -1;
		l->lab = nl;
		l->cap = cap;
	}
	a = strdup(img);
	b = strdup(lab);
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return -1;
	}
	l->img[l->n] = a;
	l->lab[l->n] = b;
	l->n++;
	return 0;
}

void r2u_list_free(r2u_list *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		free(l->img[i]);
		free(l->lab[i]);
	}
	free(l->img);
	free(l->lab);
	memset(l, 0, sizeof *l);
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

int r2u_list_parse(r2u_list *l, FILE *f, char *msg, size_t msglen)
{
	char *line = NULL, *tok[3];
	size_t cap = 0, len[3];
	ssize_t got;
	long lineno = 0;
	int k, rc = -1, before = l->n;

	while ((got = getline(&line, &cap, f)) >= 0) {
		char *s = line, *end = line + got;
		lineno++;
		if (got > 0 && end[-1] == '\n')
			*--end = '\0';
		if (memchr(line, '\0', (size_t)(end - line)) != NULL) {
			snprintf(msg, msglen, "line %ld: a NUL byte (not a text file?)", lineno);
			goto done;
		}
		for (k = 0; k < 3; k++) {
			while (s < end && blank(*s))
				s++;
			if (s == end)
				break;
			tok[k] = s;
			while (s < end && !blank(*s))
				s++;
			len[k] = (size_t)(s - tok[k]);
			if (s < end)
				*s++ = '\0';
		}
		if (k == 0 || tok[0][0] == '#')
			continue;
		if (k != 2) {
			snprintf(msg, msglen, "line %ld: expected 'IMAGE LABEL'", lineno);
			goto done;
		}
		if (len[0] > R2U_LIST_MAXPATH || len[1] > R2U_LIST_MAXPATH) {
			snprintf(msg, msglen, "line %ld: a path longer than %d bytes", lineno, R2U_LIST_MAXPATH);
			goto done;
		}
		if (r2u_list_add(l, tok[0], tok[1]) < 0) {
			snprintf(msg, msglen, "out of memory");
			goto done;
		}
	}
	if (ferror(f)) {
		snprintf(msg, msglen, "read error");
		goto done;
	}
	if (l->n == before) {
		snprintf(msg, msglen, "no image/label pairs");
		goto done;
	}
	rc = 0;
done:
	free(line);
	return rc;
}

int r2u_list_read(r2u_list *l, const char *path, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		snprintf(msg, msglen, "%s", strerror(errno));
		return -1;
	}
	rc = r2u_list_parse(l, f, msg, msglen);
	fclose(f);
	return rc;
}

static int load_one(r2u_case *c, const char *ip, const char *lp, char *msg, size_t msglen)
{
	size_t nv, z, i, hw;
	br_vol *v;

	c->img_path = strdup(ip);
	c->lab_path = lp ? strdup(lp) : NULL;
	c->img = br_vol_map(ip);
	if (c->img == NULL) {
		snprintf(msg, msglen, "%s: %s", ip, br_error());
		return -1;
	}
	if (c->img->dim[3] != 4) {
		snprintf(msg, msglen, "%s: %lld channels, expected 4 (t1, t1ce, t2, flair)", ip, (long long)c->img->dim[3]);
		return -1;
	}
	if (c->img->dim[0] % 8 != 0 || c->img->dim[1] % 8 != 0) {
		snprintf(msg, msglen, "%s: slices of %lld x %lld, but both must be multiples of 8", ip,
			 (long long)c->img->dim[0], (long long)c->img->dim[1]);
		return -1;
	}
	if (c->img->dtype != BR_F32) {
		v = br_vol_convert(c->img, BR_F32);
		if (v == NULL) {
			snprintf(msg, msglen, "%s: %s", ip, br_error());
			return -1;
		}
		br_vol_free(c->img);
		c->img = v;
	}
	if (br_vol_check_finite(c->img) < 0) {
		snprintf(msg, msglen, "%s: %s", ip, br_error());
		return -1;
	}
	nv = br_vol_nvox(c->img);
	hw = (size_t)c->img->dim[0] * c->img->dim[1];
	c->tumour = calloc((size_t)c->img->dim[2], 1);
	if (c->tumour == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	if (lp == NULL)
		return 0;
	c->lab = br_vol_map(lp);
	if (c->lab == NULL) {
		snprintf(msg, msglen, "%s: %s", lp, br_error());
		return -1;
	}
	if (c->lab->dim[3] != 1 || !br_vol_same_grid(c->lab, c->img)) {
		snprintf(msg, msglen, "%s: the label record (%lld x %lld x %lld x %lld) does not match its image %s (%lld x %lld x %lld)",
			 lp, (long long)c->lab->dim[0], (long long)c->lab->dim[1], (long long)c->lab->dim[2],
			 (long long)c->lab->dim[3], ip, (long long)c->img->dim[0], (long long)c->img->dim[1],
			 (long long)c->img->dim[2]);
		return -1;
	}
	v = br_vol_labels_u8(c->lab, 0);
	if (v == NULL) {
		snprintf(msg, msglen, "%s: %s", lp, br_error());
		return -1;
	}
	if (v != c->lab) {
		br_vol_free(c->lab);
		c->lab = v;
	}
	for (z = 0; z < (size_t)c->img->dim[2]; z++) {
		const uint8_t *l = (const uint8_t *)c->lab->data + z * hw;
		for (i = 0; i < hw; i++)
			if (l[i]) {
				c->tumour[z] = 1;
				break;
			}
	}
	(void)nv;
	return 0;
}

int r2u_data_load(r2u_data *d, char *const *img, char *const *lab, int n, char *msg, size_t msglen)
{
	int i;
	size_t z;

	memset(d, 0, sizeof *d);
	d->cases = calloc((size_t)(n > 0 ? n : 1), sizeof *d->cases);
	if (d->cases == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		d->ncases = i + 1;
		if (load_one(&d->cases[i], img[i], lab ? lab[i] : NULL, msg, msglen) < 0)
			return -1;
		d->nslices += (size_t)d->cases[i].img->dim[2];
		for (z = 0; z < (size_t)d->cases[i].img->dim[2]; z++)
			d->ntumour += d->cases[i].tumour[z];
	}
	return 0;
}

void r2u_data_free(r2u_data *d)
{
	int i;

	for (i = 0; i < d->ncases; i++) {
		br_vol_free(d->cases[i].img);
		br_vol_free(d->cases[i].lab);
		free(d->cases[i].img_path);
		free(d->cases[i].lab_path);
		free(d->cases[i].tumour);
	}
	free(d->cases);
	memset(d, 0, sizeof *d);
}

double r2u_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t x = seed ^ 0x5851F42D4C957F2DULL;

	br_splitmix64(&x);
	x ^= a * 0xD1B54A32D192ED03ULL;
	br_splitmix64(&x);
	x ^= b * 0xABC98388FB8FAC03ULL;
	br_splitmix64(&x);
	x ^= c * 0x8CB92BA72F3D8DD7ULL;
	return br_unit_double(br_splitmix64(&x));
}

/* size group of a slice: its case's W and H */
static int64_t group(const r2u_data *d, const r2u_slice *s)
{
	const br_vol *v = d->cases[s->c].img;

	return v->dim[0] << 20 | v->dim[1];
}

static const r2u_data *sort_data;

static int cmp_group(const void *a, const void *b)
{
	const r2u_slice *x = a, *y = b;
	int64_t gx = group(sort_data, x), gy = group(sort_data, y);

	if (gx != gy)
		return gx < gy ? -1 : 1;
	return 0;
}

size_t r2u_epoch_order(const r2u_data *d, r2u_slice *order, uint64_t rng[4], int deterministic, double keep_empty,
		       int flip, uint64_t seed, int64_t epoch)
{
	size_t n = 0, i, j;
	int c, z, mixed = 0;

	for (c = 0; c < d->ncases; c++)
		for (z = 0; z < d->cases[c].img->dim[2]; z++) {
			if (!d->cases[c].tumour[z] && keep_empty < 1.0 &&
			    r2u_hash_uniform(seed, (uint64_t)epoch, (uint64_t)c, (uint64_t)z) >= keep_empty)
				continue;
			order[n].c = c;
			order[n].z = z;
			order[n].flip = 0;
			n++;
		}
	if (!deterministic)
		for (i = n; i > 1; i--) { /* Fisher-Yates */
			r2u_slice t;
			j = (size_t)(br_xoshiro256_next(rng) % i);
			t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
	for (c = 1; c < d->ncases; c++)
		if (d->cases[c].img->dim[0] != d->cases[0].img->dim[0] || d->cases[c].img->dim[1] != d->cases[0].img->dim[1])
			mixed = 1;
	if (mixed) {
		/* keep the shuffled order inside each size: a stable merge sort */
		r2u_slice *tmp = malloc(n * sizeof *tmp);
		size_t w;
		if (tmp != NULL) {
			sort_data = d;
			for (w = 1; w < n; w *= 2)
				for (i = 0; i < n; i += 2 * w) {
					size_t a = i, am = i + w < n ? i + w : n, b = am, bm = i + 2 * w < n ? i + 2 * w : n, k = i;
					while (a < am || b < bm)
						tmp[k++] = (b >= bm || (a < am && cmp_group(&order[a], &order[b]) <= 0)) ? order[a++]
															: order[b++];
					memcpy(order + i, tmp + i, (bm - i) * sizeof *order);
				}
			free(tmp);
		}
	}
	if (flip)
		for (i = 0; i < n; i++)
			order[i].flip = r2u_hash_uniform(seed ^ 0xF11Full, (uint64_t)epoch, (uint64_t)i, 1) < 0.5;
	return n;
}

int r2u_batch_len(const r2u_data *d, const r2u_slice *order, size_t n, int max)
{
	int k = 1;

	if (n == 0)
		return 0;
	while ((size_t)k < n && k < max && group(d, &order[k]) == group(d, &order[0]))
		k++;
	return k;
}

void r2u_batch(const r2u_data *d, const r2u_slice *sl, int n, float *x, uint8_t *labels)
{
	int i, ch, y;

	for (i = 0; i < n; i++) {
		const r2u_case *c = &d->cases[sl[i].c];
		int w = (int)c->img->dim[0], h = (int)c->img->dim[1];
		size_t hw = (size_t)w * h, nv = br_vol_nvox(c->img);
		const float *src = c->img->data;
		const uint8_t *ls = c->lab ? (const uint8_t *)c->lab->data + (size_t)sl[i].z * hw : NULL;
		for (ch = 0; ch < 4; ch++) {
			const float *s = src + (size_t)ch * nv + (size_t)sl[i].z * hw;
			float *dst = x + ((size_t)i * 4 + ch) * hw;
			if (!sl[i].flip) {
				memcpy(dst, s, hw * sizeof *dst);
				continue;
			}
			for (y = 0; y < h; y++) {
				int xx;
				for (xx = 0; xx < w; xx++)
					dst[(size_t)y * w + xx] = s[(size_t)y * w + (w - 1 - xx)];
			}
		}
		if (labels == NULL)
			continue;
		if (ls == NULL) {
			memset(labels + (size_t)i * hw, 0, hw);
		} else if (!sl[i].flip) {
			memcpy(labels + (size_t)i * hw, ls, hw);
		} else {
			for (y = 0; y < h; y++) {
				int xx;
				for (xx = 0; xx < w; xx++)
					labels[(size_t)i * hw + (size_t)y * w + xx] = ls[(size_t)y * w + (w - 1 - xx)];
			}
		}
	}
}
