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
void br_in_close(br_in *in);
/* Make at least n bytes available unless EOF; returns bytes available. */
size_t br_in_fill(br_in *in, size_t n);
/* Read exactly n bytes into dst; -1 (with a message) when the stream ends first. */
int br_in_read(br_in *in, void *dst, size_t n);
/* One header line (without the newline) into line; 0 at EOF before any byte, -1 on error. */
int br_in_line(br_in *in, char *line, size_t cap);

#endif /* BR_BUFIN_H */
