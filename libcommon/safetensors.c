/*
 * safetensors.c - reading and writing safetensors files.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "safetensors.h"
#include "volume.h"

#define MAX_HEADER (100u << 20)

/* ---- a small JSON reader for the header ---- */

typedef struct {
	const char *s, *end;
} jp;

static void ws(jp *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int expect(jp *p, char c)
{
	ws(p);
	if (p->s >= p->end || *p->s != c)
		return -1;
	p->s++;
	return 0;
}

/* a JSON string into a new buffer (escapes decoded; \u only for ASCII) */
static char *jstring(jp *p)
{
	char *out, *o;
	const char *q;

	ws(p);
	if (p->s >= p->end || *p->s != '"')
		return NULL;
	q = ++p->s;
	while (q < p->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= p->end)
		return NULL;
	out = malloc((size_t)(q - p->s) + 1);
	if (out == NULL)
		return NULL;
	o = out;
	while (p->s < q) {
		char c = *p->s++;
		if (c == '\\') {
			c = *p->s++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;
				int i;
				if (q - p->s < 4) {
					free(out);
					return NULL;
				}
				for (i = 0; i < 4; i++) {
					char h = *p->s++;
					v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
				}
				if (v == 0) { /* a NUL would cut the name short */
					free(out);
					return NULL;
				}
				c = v < 128 ? (char)v : '?';
				break;
			}
			default: break; /* \" \\ \/ */
			}
		}
		*o++ = c;
	}
	*o = '\0';
	p->s = q + 1;
	return out;
}

/* a non-negative JSON integer, parsed within the header's bounds (the
 * header is not NUL-terminated: strtoll could run past its end) */
static int jint(jp *p, int64_t *v)
{
	int64_t x = 0;
	const char *s;

	ws(p);
	s = p->s;
	if (s >= p->end || *s < '0' || *s > '9')
		return -1;
	while (s < p->end && *s >= '0' && *s <= '9') {
		int d = *s++ - '0';
		if (x > (INT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	p->s = s;
	*v = x;
	return 0;
}

/* int array: [a, b, ...] */
static int jints(jp *p, int64_t *v, int max, int *n)
{
	*n = 0;
	if (expect(p, '[') < 0)
		return -1;
	ws(p);
	if (p->s < p->end && *p->s == ']') {
		p->s++;
		return 0;
	}
	for (;;) {
		if (*n >= max || jint(p, &v[*n]) < 0)
			return -1;
		(*n)++;
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		return expect(p, ']');
	}
}

static int parse_tensor(jp *p, br_st_tensor *t)
{
	char *k, *v;
	int64_t off[2];
	int noff = 0, have_dtype = 0, have_shape = 0, have_off = 0;

	if (expect(p, '{') < 0)
		return -1;
	for (;;) {
		k = jstring(p);
		if (k == NULL || expect(p, ':') < 0) {
			free(k);
			return -1;
		}
		if ((strcmp(k, "dtype") == 0 && have_dtype) || (strcmp(k, "shape") == 0 && have_shape) ||
		    (strcmp(k, "data_offsets") == 0 && have_off)) {
			free(k); /* a key given twice */
			return -1;
		}
		if (strcmp(k, "dtype") == 0) {
			v = jstring(p);
			if (v == NULL || strlen(v) >= sizeof t->dtype) {
				free(v);
				free(k);
				return -1;
			}
			strcpy(t->dtype, v);
			free(v);
			have_dtype = 1;
		} else if (strcmp(k, "shape") == 0) {
			if (jints(p, t->shape, BR_ST_MAXDIM, &t->ndim) < 0) {
				free(k);
				return -1;
			}
			have_shape = 1;
		} else if (strcmp(k, "data_offsets") == 0) {
			if (jints(p, off, 2, &noff) < 0 || noff != 2) {
				free(k);
				return -1;
			}
			t->begin = (size_t)off[0];
			t->end = (size_t)off[1];
			have_off = 1;
		} else {
			free(k);
			return -1;
		}
		free(k);
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (expect(p, '}') < 0)
			return -1;
		return have_dtype && have_shape && have_off ? 0 : -1;
	}
}

static size_t dtype_size(const char *d)
{
	if (!strcmp(d, "F64") || !strcmp(d, "I64") || !strcmp(d, "U64"))
		return 8;
	if (!strcmp(d, "F32") || !strcmp(d, "I32") || !strcmp(d, "U32"))
		return 4;
	if (!strcmp(d, "F16") || !strcmp(d, "BF16") || !strcmp(d, "I16") || !strcmp(d, "U16"))
		return 2;
	if (!strcmp(d, "I8") || !strcmp(d, "U8") || !strcmp(d, "BOOL") || !strcmp(d, "F8_E4M3") ||
	    !strcmp(d, "F8_E5M2"))
		return 1;
	return 0;
}

void br_st_free(br_st *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n; i++)
		free(st->t[i].name);
	for (i = 0; i < st->nmeta; i++) {
		free(st->meta_key[i]);
		free(st->meta_val[i]);
	}
	free(st->meta_key);
	free(st->meta_val);
	free(st->t);
	free(st->file);
	free(st);
}

static int add_meta(br_st *st, char *k, char *v)
{
	char **a = realloc(st->meta_key, (size_t)(st->nmeta + 1) * sizeof *a);
	char **b;

	if (a == NULL)
		return -1;
	st->meta_key = a;
	b = realloc(st->meta_val, (size_t)(st->nmeta + 1) * sizeof *b);
	if (b == NULL)
		return -1;
	st->meta_val = b;
	st->meta_key[st->nmeta] = k;
	st->meta_val[st->nmeta] = v;
	st->nmeta++;
	return 0;
}

static int cmp_begin(const void *a, const void *b)
{
	const br_st_tensor *x = *(const br_st_tensor *const *)a, *y = *(const br_st_tensor *const *)b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const br_st_tensor *const *)a)->name, (*(const br_st_tensor *const *)b)->name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first name given twice (readers disagree on which one wins), or NULL. */
static const char *duplicate_tensor(br_st_tensor **order, int n)
{
	int i;

	qsort(order, (size_t)n, sizeof *order, cmp_name);
	for (i = 1; i < n; i++)
		if (strcmp(order[i]->name, order[i - 1]->name) == 0)
			return order[i]->name;
	return NULL;
}

static const char *duplicate_key(char **keys, int n)
{
	char **k;
	const char *dup = NULL;
	int i;

	if (n < 2)
		return NULL;
	k = malloc((size_t)n * sizeof *k);
	if (k == NULL)
		return NULL;
	memcpy(k, keys, (size_t)n * sizeof *k);
	qsort(k, (size_t)n, sizeof *k, cmp_str);
	for (i = 1; i < n && dup == NULL; i++)
		if (strcmp(k[i], k[i - 1]) == 0)
			dup = k[i];
	free(k);
	return dup;
}

br_st *br_st_read(const char *path)
{
	br_st *st;
	int fd;
	struct stat sb;
	uint64_t hlen = 0;
	size_t got = 0, datasize;
	ssize_t k;
	jp p;
	int i;

	st = calloc(1, sizeof *st);
	if (st == NULL) {
		br_set_error("out of memory");
		return NULL;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		br_set_error("%s", strerror(errno));
		free(st);
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		br_set_error("not a regular file");
		goto fail_fd;
	}
	st->size = (size_t)sb.st_size;
	if (st->size < 8) {
		br_set_error("truncated checkpoint (%zu bytes, no header)", st->size);
		goto fail_fd;
	}
	st->file = malloc(st->size);
	if (st->file == NULL) {
		br_set_error("out of memory (%zu bytes)", st->size);
		goto fail_fd;
	}
	while (got < st->size) {
		k = read(fd, st->file + got, st->size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			br_set_error("read error: %s", k < 0 ? strerror(errno) : "file shrank");
			goto fail_fd;
		}
		got += (size_t)k;
	}
	close(fd);
	fd = -1;
	for (i = 7; i >= 0; i--)
		hlen = hlen << 8 | st->file[i];
	/* the JSON header opens with '{' (the writers put no space before it) */
	if (st->size < 10 || st->file[8] != '{') {
		br_set_error("not a safetensors file");
		goto fail;
	}
	if (hlen > MAX_HEADER || hlen > st->size - 8) {
		br_set_error("not a safetensors file or truncated: header length %llu, file %zu bytes",
			     (unsigned long long)hlen, st->size);
		goto fail;
	}
	st->data_off = 8 + (size_t)hlen;
	datasize = st->size - st->data_off;
	p.s = (const char *)st->file + 8;
	p.end = p.s + hlen;
	if (expect(&p, '{') < 0)
		goto bad_json;
	ws(&p);
	if (p.s < p.end && *p.s == '}')
		p.s++;
	else
		for (;;) {
			char *name = jstring(&p);
			if (name == NULL || expect(&p, ':') < 0) {
				free(name);
				goto bad_json;
			}
			if (strcmp(name, "__metadata__") == 0) {
				free(name);
				if (expect(&p, '{') < 0)
					goto bad_json;
				ws(&p);
				if (p.s < p.end && *p.s == '}') {
					p.s++;
				} else {
					for (;;) {
						char *mk = jstring(&p), *mv;
						if (mk == NULL || expect(&p, ':') < 0 || (mv = jstring(&p)) == NULL) {
							free(mk);
							goto bad_json;
						}
						if (add_meta(st, mk, mv) < 0) {
							free(mk);
							free(mv);
							goto bad_json;
						}
						ws(&p);
						if (p.s < p.end && *p.s == ',') {
							p.s++;
							continue;
						}
						if (expect(&p, '}') < 0)
							goto bad_json;
						break;
					}
				}
			} else {
				br_st_tensor *nt = realloc(st->t, (size_t)(st->n + 1) * sizeof *nt);
				if (nt == NULL) {
					free(name);
					goto bad_json;
				}
				st->t = nt;
				memset(&st->t[st->n], 0, sizeof st->t[st->n]);
				st->t[st->n].name = name;
				st->n++;
				if (parse_tensor(&p, &st->t[st->n - 1]) < 0) {
					br_set_error("bad header entry for tensor '%s'", name);
					goto fail;
				}
			}
			ws(&p);
			if (p.s < p.end && *p.s == ',') {
				p.s++;
				continue;
			}
			if (expect(&p, '}') < 0)
				goto bad_json;
			break;
		}
	/* the header must end here (the format pads with spaces) */
	ws(&p);
	if (p.s != p.end)
		goto bad_json;
	/* offsets: inside the data, sizes match dtype and shape, no overlaps;
	 * names and metadata keys given once */
	{
		br_st_tensor **order = malloc((size_t)(st->n ? st->n : 1) * sizeof *order);
		const char *dup;
		if (order == NULL) {
			br_set_error("out of memory");
			goto fail;
		}
		for (i = 0; i < st->n; i++)
			order[i] = &st->t[i];
		if ((dup = duplicate_tensor(order, st->n)) != NULL) {
			br_set_error("tensor '%s' is given twice", dup);
			free(order);
			goto fail;
		}
		if ((dup = duplicate_key(st->meta_key, st->nmeta)) != NULL) {
			br_set_error("metadata key '%s' is given twice", dup);
			free(order);
			goto fail;
		}
		for (i = 0; i < st->n; i++) {
			br_st_tensor *t = &st->t[i];
			size_t es = dtype_size(t->dtype), numel = 1;
			int d;
			if (es == 0) {
				free(order);
				br_set_error("tensor '%s': unknown dtype '%s'", t->name, t->dtype);
				goto fail;
			}
			for (d = 0; d < t->ndim; d++) {
				if (t->shape[d] < 0 || (t->shape[d] > 0 && numel > ((size_t)1 << 40) / (size_t)t->shape[d])) {
					free(order);
					br_set_error("tensor '%s': bad shape", t->name);
					goto fail;
				}
				numel *= (size_t)t->shape[d];
			}
			if (t->end < t->begin || t->end > datasize || t->end - t->begin != numel * es) {
				free(order);
				br_set_error("tensor '%s': data offsets [%zu, %zu) do not fit its shape or the file (%zu data bytes)",
					     t->name, t->begin, t->end, datasize);
				goto fail;
			}
			t->data = st->file + st->data_off + t->begin;
			order[i] = t;
		}
		qsort(order, (size_t)st->n, sizeof *order, cmp_begin);
		for (i = 1; i < st->n; i++)
			if (order[i]->begin < order[i - 1]->end) {
				br_set_error("tensors '%s' and '%s' overlap", order[i - 1]->name, order[i]->name);
				free(order);
				goto fail;
			}
		free(order);
	}
	return st;
bad_json:
	br_set_error("malformed safetensors header (not JSON of the expected form)");
fail:
fail_fd:
	if (fd >= 0)
		close(fd);
	br_st_free(st);
	return NULL;
}

const br_st_tensor *br_st_find(const br_st *st, const char *name)
{
	int i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->t[i].name, name) == 0)
			return &st->t[i];
	return NULL;
}

const char *br_st_meta(const br_st *st, const char *key)
{
	int i;

	for (i = 0; i < st->nmeta; i++)
		if (strcmp(st->meta_key[i], key) == 0)
			return st->meta_val[i];
	return NULL;
}

/* ---- writer ---- */

struct br_st_writer {
	struct {
		char *name;
		const float *data;
		int ndim;
		int64_t shape[BR_ST_MAXDIM];
		size_t bytes;
	} *t;
	int n;
	char **mk, **mv;
	int nm;
};

br_st_writer *br_st_writer_new(void) { return calloc(1, sizeof(br_st_writer)); }

void br_st_writer_free(br_st_writer *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		free(w->t[i].name);
	for (i = 0; i < w->nm; i++) {
		free(w->mk[i]);
		free(w->mv[i]);
	}
	free(w->t);
	free(w->mk);
	free(w->mv);
	free(w);
}

int br_st_add_f32(br_st_writer *w, const char *name, const float *data, int ndim, const int64_t *shape)
{
	void *nt;
	size_t numel = 1;
	int d;

	if (ndim < 0 || ndim > BR_ST_MAXDIM)
		return br_set_error("tensor '%s': %d dimensions", name, ndim);
	nt = realloc(w->t, (size_t)(w->n + 1) * sizeof *w->t);
	if (nt == NULL)
		return br_set_error("out of memory");
	w->t = nt;
	w->t[w->n].name = strdup(name);
	if (w->t[w->n].name == NULL)
		return br_set_error("out of memory");
	w->t[w->n].data = data;
	w->t[w->n].ndim = ndim;
	for (d = 0; d < ndim; d++) {
		w->t[w->n].shape[d] = shape[d];
		numel *= (size_t)shape[d];
	}
	w->t[w->n].bytes = numel * 4;
	w->n++;
	return 0;
}

int br_st_add_meta(br_st_writer *w, const char *key, const char *value)
{
	char **a, **b;

	a = realloc(w->mk, (size_t)(w->nm + 1) * sizeof *a);
	if (a == NULL)
		return br_set_error("out of memory");
	w->mk = a;
	b = realloc(w->mv, (size_t)(w->nm + 1) * sizeof *b);
	if (b == NULL)
		return br_set_error("out of memory");
	w->mv = b;
	w->mk[w->nm] = strdup(key);
	w->mv[w->nm] = strdup(value);
	w->nm++;
	if (w->mk[w->nm - 1] == NULL || w->mv[w->nm - 1] == NULL)
		return br_set_error("out of memory");
	return 0;
}

/* append s to the growing buffer as a JSON string */
static int put_jstr(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 2 * strlen(s) + 8;
	const char *c;
	char *b;

	if (need > *cap) {
		size_t nc = *cap * 2 > need ? *cap * 2 : need;
		b = realloc(*buf, nc);
		if (b == NULL)
			return -1;
		*buf = b;
		*cap = nc;
	}
	b = *buf;
	b[(*len)++] = '"';
	for (c = s; *c; c++) {
		if (*c == '"' || *c == '\\')
			b[(*len)++] = '\\';
		b[(*len)++] = *c;
	}
	b[(*len)++] = '"';
	return 0;
}

static int put_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	char *b;

	if (*len + n + 1 > *cap) {
		size_t nc = *cap * 2 > *len + n + 1 ? *cap * 2 : *len + n + 1;
		b = realloc(*buf, nc);
		if (b == NULL)
			return -1;
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return 0;
}

int br_st_write(br_st_writer *w, const char *path)
{
	char *h = NULL, num[128];
	size_t len = 0, cap = 0, off = 0, pad;
	unsigned char lenbuf[8];
	uint64_t hl;
	int i, d, rc = -1;
	br_atomic af;

	if (put_raw(&h, &len, &cap, "{") < 0)
		goto oom;
	if (w->nm > 0) {
		if (put_raw(&h, &len, &cap, "\"__metadata__\":{") < 0)
			goto oom;
		for (i = 0; i < w->nm; i++) {
			if ((i > 0 && put_raw(&h, &len, &cap, ",") < 0) || put_jstr(&h, &len, &cap, w->mk[i]) < 0 ||
			    put_raw(&h, &len, &cap, ":") < 0 || put_jstr(&h, &len, &cap, w->mv[i]) < 0)
				goto oom;
		}
		if (put_raw(&h, &len, &cap, "}") < 0)
			goto oom;
	}
	for (i = 0; i < w->n; i++) {
		if (((w->nm > 0 || i > 0) && put_raw(&h, &len, &cap, ",") < 0) ||
		    put_jstr(&h, &len, &cap, w->t[i].name) < 0 ||
		    put_raw(&h, &len, &cap, ":{\"dtype\":\"F32\",\"shape\":[") < 0)
			goto oom;
		for (d = 0; d < w->t[i].ndim; d++) {
			snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)w->t[i].shape[d]);
			if (put_raw(&h, &len, &cap, num) < 0)
				goto oom;
		}
		snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + w->t[i].bytes);
		if (put_raw(&h, &len, &cap, num) < 0)
			goto oom;
		off += w->t[i].bytes;
	}
	if (put_raw(&h, &len, &cap, "}") < 0)
		goto oom;
	pad = (8 - len % 8) % 8;
	while (pad--)
		if (put_raw(&h, &len, &cap, " ") < 0)
			goto oom;
	hl = len;
	for (i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)(hl >> (8 * i));

	if (br_atomic_open(&af, path, NULL, 1) < 0)
		goto done;
	errno = 0;
	if (fwrite(lenbuf, 8, 1, af.f) != 1 || fwrite(h, len, 1, af.f) != 1)
		goto wfail;
	for (i = 0; i < w->n; i++)
		if (w->t[i].bytes > 0 && fwrite(w->t[i].data, w->t[i].bytes, 1, af.f) != 1)
			goto wfail;
	if (br_atomic_commit(&af, 1) < 0) { /* durable: a checkpoint must survive a crash */
		br_atomic_abort(&af);
		goto done;
	}
	rc = 0;
	goto done;
wfail:
	br_set_error("write failed: %s", strerror(errno ? errno : EIO));
	br_atomic_abort(&af);
	goto done;
oom:
	br_set_error("out of memory");
done:
	free(h);
	return rc;
}
