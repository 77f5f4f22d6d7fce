/*
 * cli.c - messages, common options and signal clean-up.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"

static const char *br_usage_text = "";

static void on_signal(int sig)
{
	br_tmp_remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void br_tool_init(const char *prog, const char *usage)
{
	struct sigaction sa;

	br_opt.prog = prog;
	br_usage_text = usage;
	opterr = 0; /* getopt's own messages replaced by br_bad_option's */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL); /* a closed pipe ends the tool quietly, temporaries removed */
	signal(SIGXFSZ, SIG_IGN);      /* a file size limit: a write error, reported like a full disk */
}

int br_common_option(int c, const char *arg)
{
	switch (c) {
	case 'h':
		fputs(br_usage_text, stdout);
		exit(0);
	case 'q':
		br_opt.verbose = 0;
		return 1;
	case 'v':
		br_opt.verbose++;
		return 1;
	case 'f':
		br_opt.force = 1;
		return 1;
	case 'd':
		br_opt.device = arg;
		return 1;
	case 'j':
		br_opt.threads = (int)br_parse_long(arg, "-j", 1, 1024);
		return 1;
	}
	return 0;
}

const char *br_out_name(const char *path) { return strcmp(path, "-") == 0 ? "stdout" : path; }

void br_die(const char *path, const char *fmt, ...)
{
	va_list ap;

	br_progress_end();
	flockfile(stderr); /* one whole line, whichever thread speaks */
	fprintf(stderr, "%s: ", br_opt.prog);
	if (path != NULL)
		fprintf(stderr, "%s: ", strcmp(path, "-") == 0 ? "stdin" : path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	br_tmp_remove_all(); /* no partial output survives an error */
	exit(1);
}

void br_bad_option(char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (strncmp(arg, "--", 2) == 0) {
		if (optopt == 0)
			br_usage_error("unknown option '%s'", arg);
		br_usage_error("option '%s' needs a value", arg);
	}
	br_usage_error("unknown option '-%c', or it needs a value", optopt ? optopt : '?');
}

void br_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", br_opt.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s -h)\n", br_opt.prog);
	exit(2);
}

void br_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (br_opt.verbose < level)
		return;
	br_progress_end();
	flockfile(stderr); /* one whole line, whichever thread speaks */
	fprintf(stderr, "%s: ", br_opt.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void br_warn(const char *path, const char *fmt, ...)
{
	va_list ap;

	if (br_opt.verbose < 1)
		return;
	br_progress_end();
	flockfile(stderr);
	fprintf(stderr, "%s: ", br_opt.prog);
	if (path != NULL)
		fprintf(stderr, "%s: ", strcmp(path, "-") == 0 ? "stdin" : path);
	fprintf(stderr, "warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

int br_parse_choice(const char *arg, const char *opt, const char *const *choices)
{
	char list[512];
	size_t len = 0;
	int i, n;

	for (n = 0; choices[n] != NULL; n++)
		if (strcmp(arg, choices[n]) == 0)
			return n;
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
					choices[i]);
	br_usage_error("%s: '%s' is not %s", opt, arg, list);
}

long br_parse_long(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
		br_usage_error("%s: '%s' is not a whole number from %ld to %ld", what, s, lo, hi);
	return v;
}

double br_parse_double(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < lo || v > hi)
		br_usage_error("%s: '%s' is not a number from %g to %g", what, s, lo, hi);
	return v;
}
