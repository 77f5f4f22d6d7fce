/*
 * bufin.c - buffered input over a file descriptor (see bufin.h).
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bufin.h"
#include "volume.h"

#define BR_IN_CAP (1u << 20)

/* A pipe holds 64 KiB by default: a 63 MB record then crosses it in a
 * thousand sleeps and wake-ups of each side.  Either end widens it to 1 MiB
 * (the unprivileged limit of a default Linux); anything that is not a pipe,
 * or a kernel that refuses, is left as it is. */
void br_pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < (1 << 20))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
	(void)fd;
#endif
}

int br_in_open(br_in *in, const char *path)
{
	memset(in, 0, sizeof *in);
	if (strcmp(path, "-") == 0) {
		in->fd = 0;
		in->name = "stdin";
	} else {
		struct stat st;
		in->fd = open(path, O_RDONLY);
		if (in->fd < 0)
			return br_set_error("%s", strerror(errno));
		if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(in->fd);
			return br_set_error("is a directory");
		}
		in->own_fd = 1;
		in->name = path;
	}
	br_pipe_widen(in->fd);
	in->cap = BR_IN_CAP;
	in->buf = malloc(in->cap);
	if (in->buf == NULL) {
		if (in->own_fd)
			close(in->fd);
		return br_set_error("out of memory");
	}
	return 0;
}

void br_in_close(br_in *in)
{
	if (in->own_fd)
		close(in->fd);
	free(in->buf);
	in->buf = NULL;
}

size_t br_in_fill(br_in *in, size_t n)
{
	ssize_t r;

	if (n > in->cap)
		n = in->cap;
	if (in->len - in->pos >= n || in->eof)
		return in->len - in->pos;
	if (in->pos > 0) {
		memmove(in->buf, in->buf + in->pos, in->len - in->pos);
		in->buf_off += in->pos;
		in->len -= in->pos;
		in->pos = 0;
	}
	while (in->len < n && !in->eof) {
		r = read(in->fd, in->buf + in->len, in->cap - in->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			in->eof = 1; /* a read error ends the stream; callers see a short read */
			break;
		}
		in->len += (size_t)r;
	}
	return in->len - in->pos;
}

size_t br_in_read_some(br_in *in, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t k, done;
	ssize_t r;

	k = in->len - in->pos;
	if (k > n)
		k = n;
	memcpy(d, in->buf + in->pos, k);
	in->pos += k;
	done = k;
	if (done < n) { /* the buffer is used up: large reads go straight into the destination */
		in->buf_off += in->len;
		in->pos = in->len = 0;
	}
	while (done < n && !in->eof) {
		r = read(in->fd, d + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			in->eof = 1; /* a read error ends the stream, as in br_in_fill */
			break;
		}
		in->buf_off += (size_t)r;
		done += (size_t)r;
	}
	return done;
}

int br_in_read(br_in *in, void *dst, size_t n)
{
	if (br_in_read_some(in, dst, n) < n)
		return br_set_error("unexpected end of data");
	return 0;
}

int br_in_remaining(br_in *in, size_t *left)
{
	struct stat st;
	off_t cur;
	size_t pos;

	if (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	cur = lseek(in->fd, 0, SEEK_CUR);
	if (cur < 0)
		return -1;
	pos = (size_t)cur - (in->len - in->pos); /* where the reader is: the fd's position less what is buffered */
	*left = (size_t)st.st_size > pos ? (size_t)st.st_size - pos : 0;
	return 0;
}

int br_in_line(br_in *in, char *line, size_t cap)
{
	size_t k = 0;
	unsigned char c;

	for (;;) {
		if (in->pos == in->len && br_in_fill(in, 1) == 0) {
			if (k == 0)
				return 0;
			break;
		}
		c = in->buf[in->pos++];
		if (c == '\n')
			break;
		if (k + 1 >= cap)
			return br_set_error("header line longer than %zu bytes", cap);
		line[k++] = (char)c;
	}
	if (k > 0 && line[k - 1] == '\r')
		k--;
	line[k] = '\0';
	return 1;
}

int br_in_grow(unsigned char **buf, size_t *cap, size_t want)
{
	size_t n = *cap < ((size_t)1 << 20) ? (size_t)1 << 20 : *cap > want / 2 ? want : 2 * *cap;
	unsigned char *p;

	if (n > want)
		n = want;
	p = realloc(*buf, n ? n : 1);
	if (p == NULL)
		return br_set_error("out of memory (%zu bytes)", n);
	br_mem_advise(p, n); /* the part not yet written */
	*buf = p;
	*cap = n;
	return 0;
}
