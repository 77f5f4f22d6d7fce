/*
 * png_out.h - writing 8-bit RGB pictures as PNG (libpng).
 *
 * Like br_writer, a file is written under a temporary name in the same
 * directory and renamed into place when complete, so that a failure never
 * leaves a partial picture; "-" is the standard output, refused when it is
 * a terminal unless force.  Returns 0, or -1 with a reason in br_error().
 */
#ifndef BR_PNG_OUT_H
#define BR_PNG_OUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* rgb: (h, w, 3) bytes, rows from the top.  text: NULL or key, value, key,
 * value, ..., NULL: tEXt chunks (keys of 1 to 79 Latin-1 characters, e.g.
 * "Software", "Source", "Comment"). */
int br_png_write(const char *path, const uint8_t *rgb, int w, int h, const char *const *text, int force);

#ifdef __cplusplus
}
#endif

#endif /* BR_PNG_OUT_H */
