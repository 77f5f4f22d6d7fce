/*
 * png_out.c - 8-bit RGB PNG pictures through libpng, written atomically.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mkstemps */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "png_out.h"
#include "volume.h"

static void png_error_fn(png_structp png, png_const_charp msg)
{
	br_set_error("PNG: %s", msg);
	png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* libpng's part, alone in a function so that nothing changes after setjmp. */
static int emit(png_structp png, png_infop info, FILE *f, png_bytep *rows, png_text *chunks, int nt, int w, int h)
{
	if (setjmp(png_jmpbuf(png)))
		return -1; /* the message is set by png_error_fn */
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (nt > 0)
		png_set_text(png, info, chunks, nt);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, info);
	return 0;
}

/* The picture as one PNG stream on f; 0 / -1 with a message. */
static int write_stream(FILE *f, const uint8_t *rgb, int w, int h, const char *const *text)
{
	png_structp png;
	png_infop info = NULL;
	png_bytep *rows;
	png_text *chunks = NULL;
	int i, nt = 0, rc = -1;

	rows = malloc((size_t)h * sizeof *rows);
	if (text != NULL)
		while (text[2 * nt] != NULL && text[2 * nt + 1] != NULL)
			nt++;
	if (nt > 0)
		chunks = calloc((size_t)nt, sizeof *chunks);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_fn, png_warning_fn);
	if (png != NULL)
		info = png_create_info_struct(png);
	if (rows == NULL || (nt > 0 && chunks == NULL) || png == NULL || info == NULL) {
		br_set_error("out of memory");
		goto done;
	}
	for (i = 0; i < h; i++)
		rows[i] = (png_bytep)(rgb + (size_t)i * (size_t)w * 3);
	for (i = 0; i < nt; i++) {
		chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
		chunks[i].key = (png_charp)text[2 * i];
		chunks[i].text = (png_charp)text[2 * i + 1];
	}
	rc = emit(png, info, f, rows, chunks, nt, w, h);
done:
	if (png != NULL)
		png_destroy_write_struct(&png, info != NULL ? &info : NULL);
	free(chunks);
	free(rows);
	return rc;
}

int br_png_write(const char *path, const uint8_t *rgb, int w, int h, const char *const *text, int force)
{
	br_atomic af;

	if (w <= 0 || h <= 0)
		return br_set_error("empty picture (%d x %d pixels)", w, h);
	if (strcmp(path, "-") == 0) {
		if (!force && isatty(1))
			return br_set_error("refusing to write binary data to a terminal (redirect stdout or use -o)");
		if (write_stream(stdout, rgb, w, h, text) < 0)
			return -1;
		if (fflush(stdout) != 0)
			return br_set_error("write failed: %s", strerror(errno));
		return 0;
	}
	if (br_atomic_open(&af, path, ".png", 1) < 0)
		return -1;
	if (af.direct && !force && isatty(fileno(af.f))) {
		br_atomic_abort(&af);
		return br_set_error("refusing to write binary data to a terminal (use -f)");
	}
	if (write_stream(af.f, rgb, w, h, text) < 0 || br_atomic_commit(&af, 0) < 0) {
		br_atomic_abort(&af);
		return -1;
	}
	return 0;
}
