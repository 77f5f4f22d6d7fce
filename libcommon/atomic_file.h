/*
 * atomic_file.h - files that appear whole or not at all: written under a
 * temporary name in the same directory (removed on an error or a signal)
 * and renamed into place when complete.
 *
 * Only regular files (and new paths) are written so: a character device
 * (/dev/null), a FIFO or a Unix socket that already exists is written
 * directly, never replaced; a directory or a block device is refused.
 */
#ifndef BR_ATOMIC_FILE_H
#define BR_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
	char *path, *tmp; /* NULL when direct */
	FILE *f;
	int direct;       /* a special file, written in place */
} br_atomic;

/* Create the temporary beside path (keeping suffix, e.g. ".nii.gz", last,
 * for writers that choose their format by name) with the mode a new file
 * would get.  open_stream: also open it as a FILE for writing (else f is
 * NULL and the caller writes by name; a special file is always opened as a
 * stream).  -1 with br_error() set. */
int br_atomic_open(br_atomic *a, const char *path, const char *suffix, int open_stream);
/* Flush (and fsync when durable), close and rename into place (a special
 * file: flush and close). */
int br_atomic_commit(br_atomic *a, int durable);
/* Remove the temporary; safe after a failed commit and on a zeroed a. */
void br_atomic_abort(br_atomic *a);

/* Temporary files removed by br_tmp_remove_all: the tools call it from
 * their signal handlers and before exiting on an error (async-signal-safe:
 * it only unlinks).  A full list (64 at once) is not an error: such a file
 * is still removed on errors, only not on signals. */
void br_tmp_register(const char *path);
void br_tmp_unregister(const char *path);
void br_tmp_remove_all(void);
/* A new temporary file beside path, named ".NAME.tmpPID.XXXXXX" + suffix,
 * registered for removal and locked while open (after removing the stale
 * temporaries of dead processes in that folder): its descriptor, with *tmp
 * its name (to free), or -1 with br_error() set. */
int br_tmp_create(const char *path, const char *suffix, char **tmp);

/* Write text to path ("-": stdout) atomically. */
int br_text_write(const char *path, const char *text, size_t len);

#endif /* BR_ATOMIC_FILE_H */
