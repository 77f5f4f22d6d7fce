/*
 * fuzz_options - every tool's option parsing.  The input is text: the first
 * line names a tool (or, when it names none, its first byte chooses one),
 * each further line is one argument.  The tool's main runs until it exits
 * (usage errors, -h, bad values) or reaches its first real work, where
 * options-gen.sh put a stub that ends the run: no file is read or written.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

struct fz_tool {
	const char *name;
	int (*main)(int, char **);
};
extern const struct fz_tool fz_tools[];

void fz_stop(const char *what);
void fz_exit(int status);
int fz_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);
void (*fz_signal(int sig, void (*h)(int)))(int);
void (*fz_signal_sysv(int sig, void (*h)(int)))(int);

#define MAXARG 64

static jmp_buf back;
static int running;

/* the tool reached work beyond option parsing */
void fz_stop(const char *what)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "fuzz_options: stopped at %s\n", what);
	if (!running)
		abort();
	longjmp(back, 1);
}

void fz_exit(int status)
{
	if (!running)
		exit(status);
	if (status != 0 && status != 1 && status != 2) /* the tools' statuses */
		abort();
	longjmp(back, 2 + status);
}

/* the harness keeps its own signal handlers */
int fz_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	(void)sig, (void)sa;
	if (old != NULL)
		memset(old, 0, sizeof *old);
	return 0;
}

void (*fz_signal(int sig, void (*h)(int)))(int)
{
	(void)sig, (void)h;
	return SIG_DFL;
}

void (*fz_signal_sysv(int sig, void (*h)(int)))(int) { return fz_signal(sig, h); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	static char *argv[MAXARG + 2];
	static const struct fz_tool *tool;
	static int argc;
	int ntools, i;
	char *s, *nl;

	for (ntools = 0; fz_tools[ntools].name != NULL; ntools++)
		;
	if (size == 0 || size > 65536)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	tool = NULL;
	for (i = 0; i < ntools; i++)
		if (strcmp(buf, fz_tools[i].name) == 0)
			tool = &fz_tools[i];
	if (tool == NULL)
		tool = &fz_tools[(unsigned char)buf[0] % ntools];
	argc = 0;
	argv[argc++] = (char *)tool->name;
	for (s = nl ? nl + 1 : NULL; s != NULL && argc <= MAXARG; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (nl == NULL && *s == '\0')
			break;
		argv[argc++] = s;
	}
	argv[argc] = NULL;
	/* a fresh start, as a new process would have */
	optind = 0;
	opterr = 1;
	optarg = NULL;
	br_opt.prog = "brats-r2u";
	br_opt.verbose = 1;
	br_opt.device = NULL;
	br_opt.threads = 0;
	br_opt.force = 0;
	running = 1;
	if (setjmp(back) == 0)
		tool->main(argc, argv); /* a tool's main never returns before its first stub */
	running = 0;
	fflush(stdout);
	free(buf);
	buf = NULL;
	return 0;
}
