/*
 * tap.h - the one TAP printer of the C tests (header only).
 *
 *   tap(ok, fmt, ...)   "ok N - what" or "not ok N - what"; returns ok
 *   tap_done(prog)      "1..N", a summary on stderr when something failed;
 *                       the exit status for main (0 or 1)
 *
 * tap_detail, when set, gives the reason appended to a failing line (the
 * libraries' last error, br_error); tap_quiet counts passing lines without
 * printing them (for programs that check thousands of values).
 */
#ifndef BR_TESTS_TAP_H
#define BR_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>

#define TAP_UNUSED __attribute__((unused))

static int tap_n, tap_fail, tap_quiet;
static const char *(*tap_detail)(void);

TAP_UNUSED static int tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
TAP_UNUSED static int tap(int ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_fail++;
	if (ok && tap_quiet)
		return ok;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok && tap_detail != NULL)
		printf(" (%s)", tap_detail());
	putchar('\n');
	fflush(stdout);
	return ok;
}

TAP_UNUSED static int tap_done(const char *prog)
{
	printf("1..%d\n", tap_n);
	if (tap_fail)
		fprintf(stderr, "%s: %d of %d failed\n", prog, tap_fail, tap_n);
	return tap_fail ? 1 : 0;
}

#endif /* BR_TESTS_TAP_H */
