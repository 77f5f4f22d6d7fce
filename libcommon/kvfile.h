/*
 * kvfile.h - a small append-only file of "key<TAB>value" lines: choices that
 * are slow to make and the same every time (the cuDNN algorithm of a
 * convolution shape on a given GPU), kept between runs.
 *
 * Each new choice is appended as one line with one write(2) on a file
 * opened O_APPEND, so processes that share the file (folds trained side by
 * side) neither lose nor tear each other's lines; a key seen twice keeps its
 * last value.  Lines that are malformed or too long are ignored, so a
 * damaged file costs a new choice, never a wrong one taken as right by
 * accident of parsing.  Keys and values must not hold tabs or newlines.
 */
#ifndef BR_KVFILE_H
#define BR_KVFILE_H

#include <stddef.h>

typedef struct br_kvfile br_kvfile;

/* Reads path (missing: empty; its folder is made when the first line is
 * added).  NULL with a reason in br_error() when out of memory, or when the
 * path exists and is not a readable regular file (a FIFO or a device in its
 * place is refused, never waited on). */
br_kvfile *br_kvfile_open(const char *path);
/* The last value of key, or NULL. */
const char *br_kvfile_get(const br_kvfile *f, const char *key);
/* Remember key = value and append the line to the file; -1 with a reason
 * when the line cannot be written (it is still remembered). */
int br_kvfile_put(br_kvfile *f, const char *key, const char *value);
size_t br_kvfile_count(const br_kvfile *f); /* distinct keys */
void br_kvfile_close(br_kvfile *f);

/* The default place of a cache file NAME: $BR_CACHE_DIR/NAME, else
 * $XDG_CACHE_HOME/brats-r2u/NAME, else $HOME/.cache/brats-r2u/NAME; NULL
 * when BR_CACHE_DIR is set to "" or "off" (caching disabled) or no place is
 * known.  The string is the caller's to free. */
char *br_cache_path(const char *name);

#endif /* BR_KVFILE_H */
