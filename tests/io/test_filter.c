/*
 * test_filter - the record-filter loop of the tools (cli_filter.c), plain
 * and with read-ahead (br_filter_records_prep, r2u-infer's): the same
 * output and the same errors, and with read-ahead the next record is read
 * while the current one is worked on.  Prints TAP lines.
 * usage: test_filter TMPDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "volume.h"
#include "tap.h"
#include "tpath.h"

static int go_fd = -1;      /* to the writer: "send the second record" */
static pid_t writer = -1;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* the filter: adds the record number to every voxel */
static br_vol *add_index(br_vol *v, const char *p, int index, void *arg)
{
	size_t i, n = br_vol_numel(v);
	float *d = v->data;

	(void)p, (void)arg;
	for (i = 0; i < n; i++)
		d[i] += (float)index;
	return v;
}

/* the filter of the overlap test: on record 1, let the writer send record
 * 2, wait until it has gone into the pipe, then until something has read
 * it out of the pipe (up to 3 s).  Exit status 3 when nothing did. */
static br_vol *wait_for_next(br_vol *v, const char *p, int index, void *arg)
{
	int avail = 1, t, st;

	(void)p, (void)arg;
	if (index != 1)
		return v;
	if (write(go_fd, "g", 1) != 1)
		_exit(4);
	if (waitpid(writer, &st, 0) != writer) /* record 2 fits in the pipe: the writer ends */
		_exit(4);
	for (t = 0; t < 300; t++) {
		if (ioctl(0, FIONREAD, &avail) != 0)
			_exit(4);
		if (avail == 0)
			break;
		sleep_ms(10);
	}
	if (avail != 0)
		_exit(3);
	return v;
}

static void write_records(const char *file, int n, int64_t nz)
{
	br_writer *w = br_writer_open(file, 1);
	int k;

	for (k = 0; k < n; k++) {
		br_vol *v = br_vol_new(BR_F32, 16, 16, nz, 1);
		float *d = v->data;
		for (size_t i = 0; i < br_vol_numel(v); i++)
			d[i] = (float)(i % 97) + 100.0f * (float)k;
		br_meta_setf(v, "case", "c%d", k);
		br_writer_put(w, v);
		br_vol_free(v);
	}
	br_writer_close(w);
}

/* prep: a conversion (the record becomes float64, halved), refusing the
 * record whose case is "c1" of the second input when asked to; it notes
 * whether it ran on another thread than fn */
static pthread_t main_thread;
static int prep_elsewhere, prep_calls, refuse_c1;

static int prep_half(br_vol **pv, void *arg)
{
	br_vol *d;

	(void)arg;
	prep_calls++;
	prep_elsewhere += !pthread_equal(pthread_self(), main_thread);
	if (refuse_c1 && br_meta_get(*pv, "case") != NULL && strcmp(br_meta_get(*pv, "case"), "c1") == 0 &&
	    (*pv)->dim[2] == 31)
		return br_set_error("refused by prep");
	d = br_vol_convert(*pv, BR_F64);
	br_vol_free(*pv);
	*pv = d;
	if (d == NULL)
		return -1;
	for (size_t i = 0; i < br_vol_numel(d); i++)
		((double *)d->data)[i] *= 0.5;
	return 0;
}

/* fn after prep: the record must be prep's; it says on stdout of the child
 * (exit status) whether prep ran in the reading thread */
static br_vol *after_prep(br_vol *v, const char *p, int index, void *arg)
{
	(void)p, (void)arg, (void)index;
	if (v->dtype != BR_F64)
		_exit(5);
	return v;
}

/* the exit status of child pid (128 + the signal that ended it), or -1 */
static int child_status(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* run the loop in a child, stderr to errfile; its exit status.  With
 * prep_half, 6 when prep ran on the main thread with read-ahead, or
 * elsewhere without. */
static int run_child(int ahead, char *const *inputs, int ninputs, br_record_prep prep, br_record_fn fn,
		     const char *out, const char *errfile)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		main_thread = pthread_self();
		br_tool_init("test_filter", "usage: test_filter\n");
		br_filter_records_prep(out, inputs, ninputs, prep, fn, NULL, ahead);
		if (prep != NULL && !(prep_calls > 0 && (ahead ? prep_elsewhere == prep_calls : prep_elsewhere == 0)))
			exit(6);
		exit(0);
	}
	return child_status(pid);
}

static int same_files(const char *a, const char *b)
{
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	int c, d, same = f != NULL && g != NULL;

	while (same && ((c = getc(f)) != EOF) | ((d = getc(g)) != EOF))
		same = c == d;
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return same;
}

static char *slurp(const char *file)
{
	static char buf[4096];
	FILE *f = fopen(file, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* the overlap: record 1 through a pipe, record 2 only once the filter works on record 1 */
static int overlap(int ahead)
{
	int data[2], go[2];
	pid_t pid;

	if (pipe(data) != 0 || pipe(go) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *one = path("one.nrrd"), *two = path("two.nrrd");
		struct stat s1, s2;
		char *b1, *b2, c;
		FILE *f;
		write_records(one, 1, 40);   /* 40 KiB of data each: both fit in one pipe */
		write_records(two, 1, 40);
		stat(one, &s1), stat(two, &s2);
		b1 = malloc((size_t)s1.st_size), b2 = malloc((size_t)s2.st_size);
		f = fopen(one, "rb"), fread(b1, 1, (size_t)s1.st_size, f), fclose(f);
		f = fopen(two, "rb"), fread(b2, 1, (size_t)s2.st_size, f), fclose(f);
		writer = fork();
		if (writer == 0) {
			close(data[0]), close(go[1]);
			if (write(data[1], b1, (size_t)s1.st_size) != s1.st_size || read(go[0], &c, 1) != 1 ||
			    write(data[1], b2, (size_t)s2.st_size) != s2.st_size)
				_exit(1);
			_exit(0);
		}
		close(data[1]), close(go[0]);
		dup2(data[0], 0);
		close(data[0]);
		go_fd = go[1];
		br_tool_init("test_filter", "usage: test_filter\n");
		br_filter_records_prep(path("overlap.nrrd"), NULL, 0, NULL, wait_for_next, NULL, ahead);
		exit(0);
	}
	close(data[0]), close(data[1]), close(go[0]), close(go[1]);
	return child_status(pid);
}

int main(int argc, char **argv)
{
	char *in2[2], *bad[2];
	int rc0, rc1;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: test_filter TMPDIR\n");
		return 2;
	}
	dir = argv[1];
	tap_detail = br_error;

	/* the same output: two inputs of three and two records */
	write_records(path("a.nrrd"), 3, 24);
	write_records(path("b.nrrd"), 2, 31);
	in2[0] = strdup(path("a.nrrd")), in2[1] = strdup(path("b.nrrd"));
	rc0 = run_child(0, in2, 2, NULL, add_index, path("plain.nrrd"), path("plain.err"));
	rc1 = run_child(1, in2, 2, NULL, add_index, path("ahead.nrrd"), path("ahead.err"));
	tap(rc0 == 0 && rc1 == 0 && same_files(path("plain.nrrd"), path("ahead.nrrd")),
	    "five records of two inputs: read-ahead writes what the plain loop writes (status %d, %d)", rc0, rc1);

	/* the same error, after the same records: the third record truncated */
	{
		struct stat st;
		char *buf;
		size_t n;
		stat(path("a.nrrd"), &st);
		buf = malloc((size_t)st.st_size);
		f = fopen(path("a.nrrd"), "rb");
		n = fread(buf, 1, (size_t)st.st_size, f);
		fclose(f);
		f = fopen(path("cut.nrrd"), "wb");
		fwrite(buf, 1, n - 1000, f);
		fclose(f);
		free(buf);
	}
	bad[0] = strdup(path("cut.nrrd")), bad[1] = in2[1];
	rc0 = run_child(0, bad, 2, NULL, add_index, path("plain_bad.nrrd"), path("plain_bad.err"));
	{
		char e0[4096];
		snprintf(e0, sizeof e0, "%s", slurp(path("plain_bad.err")));
		rc1 = run_child(1, bad, 2, NULL, add_index, path("ahead_bad.nrrd"), path("ahead_bad.err"));
		tap(rc0 == 1 && rc1 == 1 && strcmp(e0, slurp(path("ahead_bad.err"))) == 0 && strstr(e0, "truncated") != NULL,
		    "a truncated third record: the same one-line error (%s) and status (%d, %d)", e0, rc0, rc1);
	}
	tap(access(path("plain_bad.nrrd"), F_OK) != 0 && access(path("ahead_bad.nrrd"), F_OK) != 0,
	    "no output after the error");

	/* prep: run by the reading thread with read-ahead, the same output as
	 * the plain loop; a refusal reported the same way, at the same record */
	rc0 = run_child(0, in2, 2, prep_half, after_prep, path("prep_plain.nrrd"), path("prep_plain.err"));
	rc1 = run_child(1, in2, 2, prep_half, after_prep, path("prep_ahead.nrrd"), path("prep_ahead.err"));
	tap(rc0 == 0 && rc1 == 0 && same_files(path("prep_plain.nrrd"), path("prep_ahead.nrrd")),
	    "prep (a conversion): the reading thread runs it with read-ahead, the main thread without; same output "
	    "(status %d, %d)", rc0, rc1);
	refuse_c1 = 1;
	rc0 = run_child(0, in2, 2, prep_half, after_prep, path("prep_bad0.nrrd"), path("prep_bad0.err"));
	{
		char e0[4096];
		snprintf(e0, sizeof e0, "%s", slurp(path("prep_bad0.err")));
		rc1 = run_child(1, in2, 2, prep_half, after_prep, path("prep_bad1.nrrd"), path("prep_bad1.err"));
		tap(rc0 == 1 && rc1 == 1 && strcmp(e0, slurp(path("prep_bad1.err"))) == 0 &&
			    strstr(e0, "b.nrrd: record 2: refused by prep") != NULL,
		    "a record refused by prep: the same line (%s) and status (%d, %d)", e0, rc0, rc1);
	}
	refuse_c1 = 0;
	tap(access(path("prep_bad0.nrrd"), F_OK) != 0 && access(path("prep_bad1.nrrd"), F_OK) != 0,
	    "no output after prep's refusal");

	free(in2[0]), free(in2[1]), free(bad[0]);

	/* the overlap */
	rc1 = overlap(1);
	tap(rc1 == 0, "read-ahead: the second record is read while the filter works on the first (status %d)", rc1);
	rc0 = overlap(0);
	tap(rc0 == 3, "the plain loop does not read ahead (status %d, 3 expected: the check can fail)", rc0);
	return tap_done("test_filter");
}
