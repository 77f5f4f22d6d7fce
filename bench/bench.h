/*
 * bench.h - what the benchmark programs share (header only): wall time is
 * libcommon's br_now() (cli.h); this adds process CPU time and the order of
 * doubles for medians.
 */
#ifndef BR_BENCH_H
#define BR_BENCH_H

#include <time.h>

/* CPU time of the process (all its threads), seconds */
__attribute__((unused)) static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* qsort order of doubles, ascending */
__attribute__((unused)) static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif /* BR_BENCH_H */
