/*
 * progress.h - the progress of long work, one convention for every tool
 * (r2u-train, r2u-infer, brats-phantom, ...):
 *
 *   stderr a terminal    one '\r' status line, redrawn at most four times a
 *                        second (br_progress), and at once when a unit of
 *                        work ends (br_progress_unit);
 *   stderr not a terminal (a log file, make > log, a pipeline): nothing in
 *                        between, one line of its own per finished unit of
 *                        work - an epoch, a case - so that a log shows the
 *                        run advancing;
 *   -q                   nothing at all.
 *
 * Lines start with "prog: " like every message.  br_msg, br_warn and br_die
 * end a status line first, so that messages never run into it.
 */
#ifndef BR_PROGRESS_H
#define BR_PROGRESS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status inside a unit of work: terminal only, rate-limited. */
void br_progress(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
/* A unit of work is done: the status line now on a terminal, else a line. */
void br_progress_unit(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
/* End the status line (a newline when one is shown). */
void br_progress_end(void);

/* A duration for "... left": "1h02m", "3m05s", or "--" when unknown. */
void br_fmt_duration(char *buf, size_t n, double seconds);

#ifdef __cplusplus
}
#endif

#endif /* BR_PROGRESS_H */
