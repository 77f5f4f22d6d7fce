/*
 * nrrd_io.c - NRRD records: the stream format of the tools.
 *
 * Written: NRRD0004, raw little-endian data, "space: right-anterior-superior",
 * space directions and origin from the affine, kinds, key:=value metadata.
 * Read: what we write, plus what other NRRD writers commonly produce for a
 * single attached record (any byte order, raw or gzip encoding, LPS/RAS/LAS
 * spaces, spacings instead of space directions).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "byteorder.h"
#include "io_internal.h"
#include "volume.h"

/* ---- writing ---- */

static void put_vec(FILE *f, const double a[4][4], int col)
{
	fprintf(f, "(%.17g,%.17g,%.17g)", a[0][col] + 0.0, a[1][col] + 0.0, a[2][col] + 0.0);
}

/* Records start their data at a multiple of this many bytes from the start
 * of the file (where the file's position is known), so that mapped data is
 * aligned for every element type. */
#define NRRD_ALIGN 64

int br_nrrd_write(FILE *f, const br_vol *v)
{
	size_t n, es, done, chunk, hlen = 0, pad;
	int i, four = v->dim[3] > 1 || v->ndim == 4;
	const unsigned char *p;
	char *head = NULL;
	FILE *h;
	long pos;

	/* the header is built in memory, to pad it to the alignment */
	h = open_memstream(&head, &hlen);
	if (h == NULL)
		return br_set_error("out of memory");
	fprintf(h, "NRRD0004\n# brats-r2u record\n");
	fprintf(h, "type: %s\n", br_dtype_name(v->dtype));
	fprintf(h, "dimension: %d\n", four ? 4 : 3);
	fprintf(h, "space: right-anterior-superior\n");
	if (four)
		fprintf(h, "sizes: %lld %lld %lld %lld\n", (long long)v->dim[0], (long long)v->dim[1],
			(long long)v->dim[2], (long long)v->dim[3]);
	else
		fprintf(h, "sizes: %lld %lld %lld\n", (long long)v->dim[0], (long long)v->dim[1],
			(long long)v->dim[2]);
	fprintf(h, "space directions: ");
	put_vec(h, v->affine, 0);
	fputc(' ', h);
	put_vec(h, v->affine, 1);
	fputc(' ', h);
	put_vec(h, v->affine, 2);
	fprintf(h, four ? " none\n" : "\n");
	fprintf(h, four ? "kinds: domain domain domain list\n" : "kinds: domain domain domain\n");
	if (br_dtype_size(v->dtype) > 1)
		fprintf(h, "endian: little\n");
	fprintf(h, "encoding: raw\n");
	fprintf(h, "space origin: ");
	put_vec(h, v->affine, 3);
	fputc('\n', h);
	for (i = 0; i < v->nmeta; i++)
		fprintf(h, "%s:=%s\n", v->meta[i].key, v->meta[i].value);
	if (fclose(h) != 0 || head == NULL) {
		free(head);
		return br_set_error("out of memory");
	}
	/* a comment line "#   ...\n" of pad bytes, then the blank line */
	pos = ftell(f);
	pad = (NRRD_ALIGN - ((size_t)(pos > 0 ? pos : 0) + hlen + 1) % NRRD_ALIGN) % NRRD_ALIGN;
	if (pad == 1)
		pad += NRRD_ALIGN;
	errno = 0;
	if (fwrite(head, 1, hlen, f) != hlen || (pad > 0 && fprintf(f, "#%*s\n", (int)pad - 2, "") < 0) ||
	    fputc('\n', f) == EOF) {
		free(head);
		goto fail;
	}
	free(head);

	es = br_dtype_size(v->dtype);
	n = br_vol_numel(v);
	p = v->data;
	if (es > 1 && !br_host_is_le()) {
		/* big-endian host: swap a copy, chunk by chunk */
		unsigned char tmp[1 << 16];
		for (done = 0; done < n; done += chunk) {
			chunk = sizeof tmp / es;
			if (chunk > n - done)
				chunk = n - done;
			memcpy(tmp, p + done * es, chunk * es);
			br_swap_bytes(tmp, chunk, es);
			if (fwrite(tmp, es, chunk, f) != chunk)
				goto fail;
		}
	} else if (fwrite(p, es, n, f) != n) {
		goto fail;
	}
	if (ferror(f))
		goto fail;
	return 0;
fail:
	return br_set_error("write failed: %s", strerror(errno ? errno : EIO));
}

/* ---- reading ---- */

static int parse_type(const char *s)
{
	static const struct {
		const char *name;
		int type;
	} t[] = {
		{"uchar", BR_U8},           {"unsigned char", BR_U8},   {"uint8", BR_U8},
		{"uint8_t", BR_U8},         {"signed char", BR_I8},     {"int8", BR_I8},
		{"int8_t", BR_I8},          {"short", BR_I16},          {"short int", BR_I16},
		{"signed short", BR_I16},   {"signed short int", BR_I16}, {"int16", BR_I16},
		{"int16_t", BR_I16},        {"ushort", BR_U16},         {"unsigned short", BR_U16},
		{"unsigned short int", BR_U16}, {"uint16", BR_U16},     {"uint16_t", BR_U16},
		{"int", BR_I32},            {"signed int", BR_I32},     {"int32", BR_I32},
		{"int32_t", BR_I32},        {"uint", BR_U32},           {"unsigned int", BR_U32},
		{"uint32", BR_U32},         {"uint32_t", BR_U32},       {"float", BR_F32},
		{"double", BR_F64},
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].type;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* "(a,b,c)" or "none" -> 1 vector, 0 none, -1 error; advances *s */
static int parse_vec(char **s, double out[3])
{
	char *p = *s, *end;
	int i;

	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "none", 4) == 0) {
		*s = p + 4;
		return 0;
	}
	if (*p != '(')
		return -1;
	p++;
	for (i = 0; i < 3; i++) {
		out[i] = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		while (isspace((unsigned char)*p))
			p++;
		if (i < 2) {
			if (*p != ',')
				return -1;
			p++;
		}
	}
	if (*p != ')')
		return -1;
	*s = p + 1;
	return 0 + 1;
}

/* sign flips that take a space's axes to RAS */
static int parse_space(const char *s, double flip[3])
{
	if (strcasecmp(s, "right-anterior-superior") == 0 || strcasecmp(s, "RAS") == 0 ||
	    strcasecmp(s, "scanner-xyz") == 0 || strcasecmp(s, "3D-right-handed") == 0) {
		flip[0] = flip[1] = flip[2] = 1;
	} else if (strcasecmp(s, "left-posterior-superior") == 0 || strcasecmp(s, "LPS") == 0) {
		flip[0] = flip[1] = -1;
		flip[2] = 1;
	} else if (strcasecmp(s, "left-anterior-superior") == 0 || strcasecmp(s, "LAS") == 0) {
		flip[0] = -1;
		flip[1] = flip[2] = 1;
	} else {
		return -1;
	}
	return 0;
}

#define NRRD_MAXDIM 4

/* interleaved (c fastest) -> planar (c slowest) */
static int transpose_channels_last(br_vol *v)
{
	size_t nv = br_vol_nvox(v), nc = (size_t)v->dim[3], es = br_dtype_size(v->dtype), i, c;
	unsigned char *src = v->data, *dst = br_mem_alloc(br_vol_bytes(v));

	if (dst == NULL)
		return br_set_error("out of memory");
	for (i = 0; i < nv; i++)
		for (c = 0; c < nc; c++)
			memcpy(dst + (c * nv + i) * es, src + (i * nc + c) * es, es);
	free(v->data);
	v->data = dst;
	return 0;
}

/* The data of v (data NULL), raw: from a file, the claim is checked against
 * the file's length before anything is allocated; from a stream, the
 * buffer grows only as the data arrives. */
static int read_raw(br_in *in, br_vol *v)
{
	size_t want = br_vol_bytes(v), left, got = 0, cap = 0, k;
	unsigned char *buf = NULL;

	if (br_in_remaining(in, &left) == 0) {
		if (left < want)
			return br_set_error("NRRD data truncated: the header promises %zu bytes, the file holds %zu", want,
					    left);
		cap = want;
		buf = br_mem_alloc(want);
		if (buf == NULL)
			return br_set_error("out of memory (%zu bytes)", want);
	}
	while (got < want) {
		if (got == cap && br_in_grow(&buf, &cap, want) < 0) {
			free(buf);
			return -1;
		}
		k = br_in_read_some(in, buf + got, cap - got);
		got += k;
		if (k == 0)
			break;
	}
	if (got < want) {
		free(buf);
		return br_set_error("NRRD data truncated: the header promises %zu bytes, the input holds %zu", want, got);
	}
	v->data = buf;
	return 0;
}

/* The data of v (data NULL), gzip-encoded: inflated in bounded pieces into
 * a buffer that grows only as data comes out, up to the declared size; a
 * stream that holds more is an error.  The input is left just after the
 * gzip stream (the next record of a stream may follow). */
static int read_gzip(br_in *in, br_vol *v)
{
	size_t want = br_vol_bytes(v), got = 0, cap = 0, avail, out_before;
	unsigned char *buf = NULL, extra;
	z_stream zs;
	int zr;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return br_set_error("zlib initialisation failed");
	for (;;) {
		if (got == cap && cap < want && br_in_grow(&buf, &cap, want) < 0)
			goto fail;
		avail = br_in_fill(in, 1);
		zs.next_in = in->buf + in->pos;
		zs.avail_in = (uInt)(avail > (1u << 30) ? (1u << 30) : avail);
		if (got < cap) {
			zs.next_out = buf + got;
			zs.avail_out = (uInt)(cap - got > (1u << 30) ? (1u << 30) : cap - got);
		} else { /* all the declared data is in: the stream must end without more */
			zs.next_out = &extra;
			zs.avail_out = 1;
		}
		out_before = zs.avail_out;
		zr = inflate(&zs, Z_NO_FLUSH);
		in->pos += (size_t)(zs.next_in - (in->buf + in->pos));
		if (got == cap && cap == want && zs.avail_out < out_before) {
			br_set_error("NRRD gzip data longer than the header's sizes");
			goto fail;
		}
		if (got < cap)
			got += out_before - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			br_set_error("NRRD gzip data corrupt (%s)", zs.msg ? zs.msg : "inflate error");
			goto fail;
		}
		if (avail == 0 && zs.avail_out == out_before) { /* no input left and no progress */
			br_set_error("NRRD gzip data truncated");
			goto fail;
		}
	}
	inflateEnd(&zs);
	if (got != want) {
		free(buf);
		return br_set_error("NRRD gzip data holds %zu bytes, the header promises %zu", got, want);
	}
	v->data = buf;
	return 0;
fail:
	inflateEnd(&zs);
	free(buf);
	return -1;
}

static br_vol *nrrd_read(br_in *in, int header_only, int *raw_native);

br_vol *br_nrrd_read(br_in *in) { return nrrd_read(in, 0, NULL); }
br_vol *br_nrrd_read_header(br_in *in, int *raw_native) { return nrrd_read(in, 1, raw_native); }

static br_vol *nrrd_read(br_in *in, int header_only, int *raw_native)
{
	char line[65536], *p, *key, *val, *end;
	int dimension = 0, type = 0, big = -1, gz = 0, have_sizes = 0, have_dirs = 0, have_origin = 0;
	int have_spacings = 0, spacedim = 0, i, r, nkv = 0, lineskip = 0;
	long long sizes[NRRD_MAXDIM] = {0, 0, 0, 0};
	double dirs[NRRD_MAXDIM][3] = {{0}}, origin[3] = {0, 0, 0}, flip[3] = {1, 1, 1};
	double spacings[NRRD_MAXDIM] = {NAN, NAN, NAN, NAN};
	int dir_is_none[NRRD_MAXDIM] = {0, 0, 0, 0};
	char *kv_key[256], *kv_val[256];
	br_vol *v = NULL;
	size_t n, es;
	int list_axis = -1, chan = -1;

	r = br_in_line(in, line, sizeof line);
	if (r <= 0)
		return NULL;
	if (strncmp(line, "NRRD000", 7) != 0 || line[7] < '1' || line[7] > '5' || line[8] != '\0') {
		br_set_error("not an NRRD header (magic '%.16s')", line);
		return NULL;
	}
	for (;;) {
		r = br_in_line(in, line, sizeof line);
		if (r < 0)
			goto fail;
		if (r == 0) {
			br_set_error("NRRD header ends before its blank line");
			goto fail;
		}
		if (line[0] == '\0')
			break;
		if (line[0] == '#')
			continue;
		if ((p = strstr(line, ":=")) != NULL) {
			*p = '\0';
			if (nkv < 256) {
				kv_key[nkv] = strdup(line);
				kv_val[nkv] = strdup(p + 2);
				if (kv_key[nkv] == NULL || kv_val[nkv] == NULL) {
					free(kv_key[nkv]);
					free(kv_val[nkv]);
					br_set_error("out of memory");
					goto fail;
				}
				nkv++;
			}
			continue;
		}
		p = strstr(line, ": ");
		if (p == NULL) {
			br_set_error("bad NRRD header line '%.60s'", line);
			goto fail;
		}
		*p = '\0';
		key = trim(line);
		val = trim(p + 2);
		if (strcmp(key, "type") == 0) {
			type = parse_type(val);
			if (type == 0) {
				br_set_error("unsupported NRRD type '%s'", val);
				goto fail;
			}
		} else if (strcmp(key, "dimension") == 0) {
			if (dimension != 0) {
				br_set_error("NRRD 'dimension' given twice");
				goto fail;
			}
			dimension = (int)strtol(val, &end, 10);
			if (*end != '\0' || dimension < 1 || dimension > NRRD_MAXDIM) {
				br_set_error("unsupported NRRD dimension '%s' (1 to %d)", val, NRRD_MAXDIM);
				goto fail;
			}
		} else if (dimension == 0 && (strcmp(key, "sizes") == 0 || strcmp(key, "space directions") == 0 ||
					      strcmp(key, "spacings") == 0 || strcmp(key, "kinds") == 0)) {
			/* the per-axis fields are read for 'dimension' axes */
			br_set_error("NRRD '%s' before 'dimension'", key);
			goto fail;
		} else if (strcmp(key, "sizes") == 0) {
			p = val;
			for (i = 0; i < dimension; i++) {
				sizes[i] = strtoll(p, &end, 10);
				if (end == p || sizes[i] < 1) {
					br_set_error("bad NRRD sizes '%s'", val);
					goto fail;
				}
				p = end;
			}
			if (*trim(p) != '\0') {
				br_set_error("NRRD sizes '%s' do not match dimension %d", val, dimension);
				goto fail;
			}
			have_sizes = 1;
		} else if (strcmp(key, "endian") == 0) {
			if (strcmp(val, "little") == 0)
				big = 0;
			else if (strcmp(val, "big") == 0)
				big = 1;
			else {
				br_set_error("bad NRRD endian '%s'", val);
				goto fail;
			}
		} else if (strcmp(key, "encoding") == 0) {
			if (strcmp(val, "raw") == 0)
				gz = 0;
			else if (strcmp(val, "gzip") == 0 || strcmp(val, "gz") == 0)
				gz = 1;
			else {
				br_set_error("unsupported NRRD encoding '%s' (raw or gzip)", val);
				goto fail;
			}
		} else if (strcmp(key, "space") == 0) {
			if (parse_space(val, flip) < 0) {
				br_set_error("unsupported NRRD space '%s'", val);
				goto fail;
			}
			spacedim = 3;
		} else if (strcmp(key, "space dimension") == 0) {
			spacedim = atoi(val);
			if (spacedim != 3) {
				br_set_error("unsupported NRRD space dimension %d", spacedim);
				goto fail;
			}
		} else if (strcmp(key, "space directions") == 0) {
			p = val;
			for (i = 0; i < dimension; i++) {
				r = parse_vec(&p, dirs[i]);
				if (r < 0) {
					br_set_error("bad NRRD space directions '%.80s'", val);
					goto fail;
				}
				dir_is_none[i] = r == 0;
			}
			have_dirs = 1;
		} else if (strcmp(key, "space origin") == 0) {
			p = val;
			if (parse_vec(&p, origin) != 1) {
				br_set_error("bad NRRD space origin '%s'", val);
				goto fail;
			}
			have_origin = 1;
		} else if (strcmp(key, "spacings") == 0) {
			p = val;
			for (i = 0; i < dimension; i++) {
				spacings[i] = strtod(p, &end);
				if (end == p) {
					if (strncmp(p, " nan", 4) == 0 || strncmp(p, "nan", 3) == 0 ||
					    strncmp(p, " NaN", 4) == 0 || strncmp(p, "NaN", 3) == 0) {
						spacings[i] = NAN;
						while (*p == ' ')
							p++;
						end = p + 3;
					} else {
						br_set_error("bad NRRD spacings '%s'", val);
						goto fail;
					}
				}
				p = end;
			}
			have_spacings = 1;
		} else if (strcmp(key, "kinds") == 0) {
			p = val;
			for (i = 0; i < dimension; i++) {
				while (isspace((unsigned char)*p))
					p++;
				if (strncmp(p, "list", 4) == 0 || strncmp(p, "vector", 6) == 0 ||
				    strncmp(p, "RGB", 3) == 0 || strncmp(p, "???", 3) == 0 ||
				    strncmp(p, "none", 4) == 0)
					if (i == dimension - 1 || i == 0)
						list_axis = list_axis < 0 ? i : list_axis;
				while (*p && !isspace((unsigned char)*p))
					p++;
			}
		} else if (strcmp(key, "byte skip") == 0 || strcmp(key, "byteskip") == 0) {
			if (atoi(val) != 0) {
				br_set_error("NRRD 'byte skip' is not supported");
				goto fail;
			}
		} else if (strcmp(key, "line skip") == 0 || strcmp(key, "lineskip") == 0) {
			lineskip = atoi(val);
		} else if (strcmp(key, "data file") == 0 || strcmp(key, "datafile") == 0) {
			br_set_error("detached NRRD data ('data file') is not supported");
			goto fail;
		}
		/* other fields (content, units, labels, centers, measurement frame...) are ignored */
	}
	if (type == 0 || dimension == 0 || !have_sizes) {
		br_set_error("NRRD header lacks %s", type == 0 ? "'type'" : dimension == 0 ? "'dimension'" : "'sizes'");
		goto fail;
	}
	if (lineskip != 0) {
		br_set_error("NRRD 'line skip' is not supported");
		goto fail;
	}
	es = br_dtype_size(type);
	if (es > 1 && big < 0) {
		br_set_error("NRRD header lacks 'endian' for a multi-byte type");
		goto fail;
	}
	/* Our records: up to three spatial axes and, for 4-D, one channel axis
	 * (a "none" direction or a list-like kind), the slowest (ours) or the
	 * fastest (3D Slicer's vector images, transposed after reading). */
	{
		long long nx = 1, ny = 1, nz = 1, nc = 1;
		double d[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
		int sp[3], ns = 0;

		chan = -1;
		if (dimension == 4) {
			if ((have_dirs && dir_is_none[3]) || list_axis == 3 || !(have_dirs && dir_is_none[0]))
				chan = 3;
			else
				chan = 0;
			if (list_axis == 0 && !(have_dirs && dir_is_none[3]))
				chan = 0;
		}
		for (i = 0; i < dimension; i++)
			if (i != chan)
				sp[ns++] = i;
		if (ns >= 1)
			nx = sizes[sp[0]];
		if (ns >= 2)
			ny = sizes[sp[1]];
		if (ns >= 3)
			nz = sizes[sp[2]];
		if (chan >= 0)
			nc = sizes[chan];
		for (i = 0; i < ns; i++) {
			if (have_dirs && !dir_is_none[sp[i]]) {
				d[i][0] = dirs[sp[i]][0];
				d[i][1] = dirs[sp[i]][1];
				d[i][2] = dirs[sp[i]][2];
			} else if (have_spacings && isfinite(spacings[sp[i]])) {
				d[i][0] = d[i][1] = d[i][2] = 0;
				d[i][i] = spacings[sp[i]];
			}
		}
		v = br_vol_new_empty(type, nx, ny, nz, nc);
		if (v == NULL)
			goto fail;
		v->ndim = chan >= 0 ? 4 : 3;
		for (i = 0; i < 3; i++) {
			int c;
			for (c = 0; c < 3; c++)
				v->affine[c][i] = flip[c] * d[i][c];
			v->affine[i][3] = have_origin ? flip[i] * origin[i] : 0;
		}
		(void)spacedim;
	}
	for (i = 0; i < nkv; i++)
		if (br_meta_set(v, kv_key[i], kv_val[i]) < 0)
			goto fail;
	n = br_vol_numel(v);
	if (header_only) {
		*raw_native = !gz && !(es > 1 && big != !br_host_is_le()) && chan != 0;
		for (i = 0; i < nkv; i++) {
			free(kv_key[i]);
			free(kv_val[i]);
		}
		return v;
	}
	if ((gz ? read_gzip(in, v) : read_raw(in, v)) < 0)
		goto fail;
	if (es > 1 && big != !br_host_is_le())
		br_swap_bytes(v->data, n, es);
	if (chan == 0 && v->dim[3] > 1 && transpose_channels_last(v) < 0)
		goto fail;
	for (i = 0; i < nkv; i++) {
		free(kv_key[i]);
		free(kv_val[i]);
	}
	return v;
fail:
	for (i = 0; i < nkv; i++) {
		free(kv_key[i]);
		free(kv_val[i]);
	}
	br_vol_free(v);
	return NULL;
}
