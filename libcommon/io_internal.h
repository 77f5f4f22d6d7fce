/*
 * io_internal.h - buffered input shared by the NRRD and NIfTI readers
 * (internal to libcommon).
 */
#ifndef BR_IO_INTERNAL_H
#define BR_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "volume.h"

/* A read buffer over a file descriptor, so that several records can be read
 * back to back from a pipe and the format recognised by peeking. */
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

/* NRRD: read one record whose magic is next in the stream. */
br_vol *br_nrrd_read(br_in *in);
/* NRRD: only the header (data NULL); *raw_native is 1 when the data that
 * follows is raw and in the host's byte order. */
br_vol *br_nrrd_read_header(br_in *in, int *raw_native);
/* NIfTI-1: read one record from a file path (.nii / .nii.gz) */
br_vol *br_nifti_read_path(const char *path, const char *display);
/* NIfTI-1: spool the rest of the stream to a temporary file and read it. */
br_vol *br_nifti_read_stream(br_in *in, int gz);
/* NIfTI-1 writer: 0 / -1 with a message. */
int br_nifti_write(const char *path, const br_vol *v, int gz);

/* Temporary files removed on SIGINT/SIGTERM/SIGHUP (see cli.c). */
void br_tmp_register(const char *path);
void br_tmp_unregister(const char *path);

/* Byte order */
void br_swap_bytes(void *data, size_t n, size_t size);

#endif /* BR_IO_INTERNAL_H */
