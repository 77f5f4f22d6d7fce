/*
 * bufin.h - buffered input over a file descriptor, so that several records
 * can be read back to back from a pipe and a format recognised by peeking
 * (internal to libcommon: the readers' floor).
 */
#ifndef BR_BUFIN_H
#define BR_BUFIN_H

#include <stddef.h>

typedef struct {
	int fd;
	int own_fd;
	unsigned char *buf;
	size_t cap, pos, len;
	size_t buf_off; /* file offset of buf[0] */
	int eof;
	const char *name; /* for messages */
} br_in;

int br_in_open(br_in *in, const char *path); /* "-" = stdin */
void br_pipe_widen(int fd); /* a pipe (fd either end) to 1 MiB, if allowed */
void br_in_close(br_in *in);
/* Make at least n bytes available unless EOF; returns bytes available. */
size_t br_in_fill(br_in *in, size_t n);
/* Read exactly n bytes into dst; -1 (with a message) when the stream ends first. */
int br_in_read(br_in *in, void *dst, size_t n);
/* Read up to n bytes into dst, fewer only where the stream ends; returns
 * the count. */
size_t br_in_read_some(br_in *in, void *dst, size_t n);
/* The bytes left to read when the input is a regular file: 0 with *left
 * set; -1 for a pipe, a terminal or a device, whose length is unknown. */
int br_in_remaining(br_in *in, size_t *left);
/* One header line (without the newline) into line; 0 at EOF before any byte, -1 on error. */
int br_in_line(br_in *in, char *line, size_t cap);

/* Room for more of a record's data of want bytes in all, which arrives in
 * pieces (a pipe, a gzip stream): *buf grows (doubling, from 1 MiB) up to
 * want, never ahead of the data, so that a header that claims more than
 * the input holds costs at most twice what really arrived.  Call when
 * *cap bytes are used and *cap < want; -1 with a message when out of
 * memory. */
int br_in_grow(unsigned char **buf, size_t *cap, size_t want);

#endif /* BR_BUFIN_H */
