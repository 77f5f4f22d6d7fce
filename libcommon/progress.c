/*
 * progress.c - status lines on a terminal, a line per unit of work elsewhere.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

/* The common options live here, on the lowest floor of the tools' side:
 * progress lines need the verbosity and the program's name, and cli.c,
 * which sets them, ends a progress line before its messages. */
struct br_opts br_opt = {"brats-r2u", 1, NULL, 0, 0};

double br_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double progress_last;
static int progress_shown; /* a status line is on the terminal, not ended */
static int tty = -1;       /* stderr is a terminal (asked once) */

static int on_tty(void)
{
	if (tty < 0)
		tty = isatty(2);
	return tty;
}

static void status_line(const char *fmt, va_list ap)
{
	flockfile(stderr); /* one whole line, whichever thread speaks (as br_msg) */
	fprintf(stderr, "\r%s: ", br_opt.prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\033[K");
	fflush(stderr);
	funlockfile(stderr);
	progress_last = br_now();
	progress_shown = 1;
}

void br_progress(const char *fmt, ...)
{
	va_list ap;

	if (br_opt.verbose < 1 || !on_tty())
		return;
	if (progress_shown && br_now() - progress_last < 0.25)
		return;
	va_start(ap, fmt);
	status_line(fmt, ap);
	va_end(ap);
}

void br_progress_unit(const char *fmt, ...)
{
	va_list ap;

	if (br_opt.verbose < 1)
		return;
	va_start(ap, fmt);
	if (on_tty()) {
		status_line(fmt, ap);
	} else {
		flockfile(stderr);
		fprintf(stderr, "%s: ", br_opt.prog);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
		funlockfile(stderr);
	}
	va_end(ap);
}

void br_progress_end(void)
{
	if (progress_shown) {
		fputc('\n', stderr);
		fflush(stderr);
		progress_shown = 0;
	}
}

void br_fmt_duration(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 1e7)
		snprintf(buf, n, "--");
	else if (s >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else
		snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}
