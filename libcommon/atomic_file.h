/*
 * atomic_file.h - files that appear whole or not at all: written under a
 * temporary name in the same directory (removed on an error or a signal)
 * and renamed into place when complete.
 */
#ifndef BR_ATOMIC_FILE_H
#define BR_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
	char *path, *tmp;
	FILE *f;
} br_atomic;

/* Create the temporary beside path (keeping suffix, e.g. ".nii.gz", last,
 * for writers that choose their format by name) with the mode a new file
 * would get.  open_stream: also open it as a FILE for writing (else f is
 * NULL and the caller writes by name).  -1 with br_error() set. */
int br_atomic_open(br_atomic *a, const char *path, const char *suffix, int open_stream);
/* Flush (and fsync when durable), close and rename into place. */
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

/* Write text to path ("-": stdout) atomically. */
int br_text_write(const char *path, const char *text, size_t len);

#endif /* BR_ATOMIC_FILE_H */
