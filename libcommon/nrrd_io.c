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

int br_nrrd_write(FILE *f, const br_vol *v)
{
	size_t n, es, done, chunk;
	int i, four = v->dim[3] > 1 || v->ndim == 4;
	const unsigned char *p;

	fprintf(f, "NRRD0004\n# brats-r2u record\n");
	fprintf(f, "type: %s\n", br_dtype_name(v->dtype));
	fprintf(f, "dimension: %d\n", four ? 4 : 3);
	fprintf(f, "space: right-anterior-superior\n");
	if (four)
		fprintf(f, "sizes: %lld %lld %lld %lld\n", (long long)v->dim[0], (long long)v->dim[1],
			(long long)v->dim[2], (long long)v->dim[3]);
	else
		fprintf(f, "sizes: %lld %lld %lld\n", (long long)v->dim[0], (long long)v->dim[1],
			(long long)v->dim[2]);
	fprintf(f, "space directions: ");
	put_vec(f, v->affine, 0);
	fputc(' ', f);
	put_vec(f, v->affine, 1);
	fputc(' ', f);
	put_vec(f, v->affine, 2);
	fprintf(f, four ? " none\n" : "\n");
	fprintf(f, four ? "kinds: domain domain domain list\n" : "kinds: domain domain domain\n");
	if (br_dtype_size(v->dtype) > 1)
		fprintf(f, "endian: little\n");
	fprintf(f, "encoding: raw\n");
	fprintf(f, "space origin: ");
	put_vec(f, v->affine, 3);
	fputc('\n', f);
	for (i = 0; i < v->nmeta; i++)
		fprintf(f, "%s:=%s\n", v->meta[i].key, v->meta[i].value);
	fputc('\n', f);

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
	unsigned char *src = v->data, *dst = malloc(br_vol_bytes(v));

	if (dst == NULL)
		return br_set_error("out of memory");
	for (i = 0; i < nv; i++)
		for (c = 0; c < nc; c++)
			memcpy(dst + (c * nv + i) * es, src + (i * nc + c) * es, es);
	free(v->data);
	v->data = dst;
	return 0;
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
	double dirs[NRRD_MAXDIM][3], origin[3] = {0, 0, 0}, spacings[NRRD_MAXDIM], flip[3] = {1, 1, 1};
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
			dimension = (int)strtol(val, &end, 10);
			if (*end != '\0' || dimension < 1 || dimension > NRRD_MAXDIM) {
				br_set_error("unsupported NRRD dimension '%s' (1 to %d)", val, NRRD_MAXDIM);
				goto fail;
			}
		} else if (strcmp(key, "sizes") == 0) {
			if (dimension == 0) {
				br_set_error("NRRD 'sizes' before 'dimension'");
				goto fail;
			}
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
		v = br_vol_new(type, nx, ny, nz, nc);
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
	if (!gz) {
		if (br_in_read(in, v->data, n * es) < 0) {
			br_set_error("NRRD data truncated: the header promises %zu bytes", n * es);
			goto fail;
		}
	} else {
		z_stream zs;
		int zr;
		size_t want = n * es;

		memset(&zs, 0, sizeof zs);
		if (inflateInit2(&zs, 15 + 32) != Z_OK) {
			br_set_error("zlib initialisation failed");
			goto fail;
		}
		zs.next_out = v->data;
		zs.avail_out = (uInt)0;
		for (;;) {
			size_t avail = br_in_fill(in, 1);
			size_t left = want - (size_t)((unsigned char *)zs.next_out - (unsigned char *)v->data);
			zs.avail_out = left > (1u << 30) ? (1u << 30) : (uInt)left;
			if (avail == 0 && zs.avail_out > 0) {
				inflateEnd(&zs);
				br_set_error("NRRD gzip data truncated");
				goto fail;
			}
			zs.next_in = in->buf + in->pos;
			zs.avail_in = (uInt)(avail > (1u << 30) ? (1u << 30) : avail);
			zr = inflate(&zs, Z_NO_FLUSH);
			in->pos += (size_t)(zs.next_in - (in->buf + in->pos));
			if (zr == Z_STREAM_END)
				break;
			if (zr != Z_OK && zr != Z_BUF_ERROR) {
				inflateEnd(&zs);
				br_set_error("NRRD gzip data corrupt (%s)", zs.msg ? zs.msg : "inflate error");
				goto fail;
			}
			if (zs.avail_out == 0 && left == 0) {
				inflateEnd(&zs);
				br_set_error("NRRD gzip data longer than the header's sizes");
				goto fail;
			}
		}
		if ((size_t)((unsigned char *)zs.next_out - (unsigned char *)v->data) != want) {
			inflateEnd(&zs);
			br_set_error("NRRD gzip data holds %zu bytes, the header promises %zu",
				     (size_t)((unsigned char *)zs.next_out - (unsigned char *)v->data), want);
			goto fail;
		}
		inflateEnd(&zs);
	}
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
