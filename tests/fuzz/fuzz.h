/*
 * fuzz.h - what the fuzz targets share: each target defines
 * LLVMFuzzerTestOneInput (libFuzzer's entry point; driver.c calls it for
 * the replay of the kept inputs without libFuzzer), and these helpers put
 * an input where the readers expect one: a file in a private temporary
 * folder, or the standard input.
 */
#ifndef BR_FUZZ_H
#define BR_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private folder, created on first use and removed at exit; TMPDIR is
 * pointed at it so that spooled temporaries land there too. */
const char *fz_dir(void);
/* data written to fz_dir()/name; returns the path (static buffer) or NULL */
const char *fz_file(const char *name, const void *data, size_t size);
/* the same, gzip-compressed */
const char *fz_file_gz(const char *name, const void *data, size_t size);
/* Make a file the standard input (fz_stdin_restore puts the old one back). */
int fz_stdin(const char *path);
void fz_stdin_restore(void);

#endif /* BR_FUZZ_H */
