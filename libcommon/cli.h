/*
 * cli.h - what every tool shares: messages, errors, the common options
 * (-h -q -v -d -j -f), and clean-up of temporary files.
 *
 * Tools print "tool: path: reason" to stderr and exit 1 on bad input, 2 on
 * bad usage.  stdout carries data only.
 */
#ifndef BR_CLI_H
#define BR_CLI_H

#include <getopt.h>
#include <stdarg.h>

#include "progress.h"

#ifdef __cplusplus
extern "C" {
#endif

struct br_opts {
	const char *prog;   /* tool name */
	int verbose;        /* 0 with -q, 1 by default, 2+ with -v */
	const char *device; /* -d cpu|cuda[:N]; NULL = auto */
	int threads;        /* -j N; 0 = all cores */
	int force;          /* -f: write binary to a terminal */
};
extern struct br_opts br_opt;

/* Short and long options every tool accepts; add the tool's own. */
#define BR_COMMON_SHORT "hqvfd:j:"
#define BR_COMMON_LONG                                            \
	{"help", no_argument, 0, 'h'}, {"quiet", no_argument, 0, 'q'}, \
	{"verbose", no_argument, 0, 'v'}, {"force", no_argument, 0, 'f'}, \
	{"device", required_argument, 0, 'd'}, {"threads", required_argument, 0, 'j'}

/* Set the program name, install the signal handlers that remove temporary
 * files, and keep the usage text for -h and usage errors. */
void br_tool_init(const char *prog, const char *usage);
/* Handle a common option; returns 1 when c was one (-h prints the usage and
 * exits 0), 0 otherwise. */
int br_common_option(int c, const char *arg);

/* An output path as messages name it: "stdout" for "-" (br_die and
 * br_warn name an input, "-" there being "stdin"). */
const char *br_out_name(const char *path);

/* "prog: path: reason" and exit(1).  path may be NULL; "-" is "stdin". */
void br_die(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3), noreturn))
#endif
	;
/* After getopt_long returned '?' or ':': "prog: unknown option ...", exit(2). */
void br_bad_option(char **argv)
#if defined(__GNUC__)
	__attribute__((noreturn))
#endif
	;
/* "prog: reason" plus a pointer to -h, exit(2). */
void br_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2), noreturn))
#endif
	;
/* Message at a verbosity level (1 normal, 2 with -v); "prog: " prefixed. */
void br_msg(int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
void br_warn(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Progress lines of long work: progress.h. */

/* The loop of every record filter.  Each record of each input ("-" is
 * stdin; no inputs: stdin) goes to fn, which owns it and returns the record
 * to write (the same one, changed, or a new one) or NULL with br_error()
 * set.  The results go to out ("-": stdout) - a file is written atomically.
 * On any error the tool dies with "path: record N: reason" and leaves no
 * output; inputs that cannot be opened fail before anything is written. */
struct br_vol;
typedef struct br_vol *(*br_record_fn)(struct br_vol *v, const char *path, int index, void *arg);
void br_filter_records(const char *out, char *const *inputs, int ninputs, br_record_fn fn, void *arg);
/* The same with two more things.  prep (or NULL) is the part of the work on
 * a record that needs nothing but the record (checks, conversions): it may
 * replace *v, and returns 0, or -1 with br_error() set, reported as fn's
 * failures are (*v, possibly NULL, is then still the caller's to free).  With ahead != 0, a second thread reads and decodes the
 * next record, and runs prep on it, while fn works on this one (one record
 * more in memory); the output and the messages are those of the plain
 * loop, in the same order. */
typedef int (*br_record_prep)(struct br_vol **v, void *arg);
void br_filter_records_prep(const char *out, char *const *inputs, int ninputs, br_record_prep prep,
			    br_record_fn fn, void *arg, int ahead);

/* One of a fixed list of words (NULL-terminated) for option opt: its index,
 * or exit 2 with "opt: 'arg' is not a, b or c". */
int br_parse_choice(const char *arg, const char *opt, const char *const *choices);

/* Number parsing for options: exit 2 with a message on a bad value. */
long br_parse_long(const char *s, const char *what, long lo, long hi);
double br_parse_double(const char *s, const char *what, double lo, double hi);

/* Seconds on a monotonic clock. */
double br_now(void);

#ifdef __cplusplus
}
#endif

#endif /* BR_CLI_H */
