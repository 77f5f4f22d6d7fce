/*
 * cli_filter.c - the loop of every record filter (see cli.h): the tools'
 * side of the record reader and writer, which prints and exits.
 *
 * With read-ahead, a second thread reads (and decodes) the next record,
 * and runs the filter's prep on it, while fn works on the current one: at
 * most one record waits, so memory grows by one record at most.  The reader thread only reads and reports;
 * every message, and every exit, comes from the main thread, in the order
 * of the records, so that the output and the errors are those of the plain
 * loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "volume.h"

/* One item from the reader: a record, an error, or the end. */
struct item {
	br_vol *v;         /* a record (NULL: error or end) */
	int end;           /* 1: no more input */
	int prep_failed;   /* err is prep's ("record N: ...") rather than the reader's */
	int rec;           /* its number in its input */
	char path[4096];   /* br_reader_path of its input */
	char err[1024];    /* an error (v == NULL, end == 0) */
};

struct ahead {
	char *const *inputs;
	int ninputs;
	br_record_prep prep;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item slot; /* the waiting item */
	int full;         /* slot holds an item not yet taken */
};

/* wait until the slot is free: the next record is read only once the one
 * before it has been taken (one record waiting at most) */
static void wait_free(struct ahead *a)
{
	pthread_mutex_lock(&a->mu);
	while (a->full)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* hand one item over (the slot is free: only this thread fills it) */
static void put(struct ahead *a, const struct item *it)
{
	pthread_mutex_lock(&a->mu);
	while (a->full)
		pthread_cond_wait(&a->cv, &a->mu);
	a->slot = *it;
	a->full = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void *reader_main(void *arg)
{
	struct ahead *a = arg;
	struct item *it = calloc(1, sizeof *it);
	int k, got;

	if (it == NULL) {
		static struct item oom = {.err = "out of memory"};
		put(a, &oom);
		return NULL;
	}
	for (k = 0; k < a->ninputs; k++) {
		br_reader *r = br_reader_open(a->inputs[k]);
		if (r == NULL) {
			memset(it, 0, sizeof *it);
			snprintf(it->path, sizeof it->path, "%s", a->inputs[k]);
			snprintf(it->err, sizeof it->err, "%s", br_error());
			put(a, it);
			free(it);
			return NULL;
		}
		for (int rec = 1;; rec++) {
			br_vol *v = NULL;
			wait_free(a);
			got = br_reader_next(r, &v);
			memset(it, 0, sizeof *it);
			snprintf(it->path, sizeof it->path, "%s", br_reader_path(r));
			it->rec = rec;
			if (got == 0)
				break;
			if (got < 0) {
				snprintf(it->err, sizeof it->err, "%s", br_error());
			} else if (a->prep != NULL && a->prep(&v, a->arg) < 0) {
				snprintf(it->err, sizeof it->err, "%s", br_error());
				it->prep_failed = 1;
				br_vol_free(v);
			} else {
				it->v = v;
			}
			put(a, it);
			if (got < 0 || it->prep_failed)
				break;
		}
		br_reader_close(r);
		if (got < 0 || it->prep_failed) {
			free(it);
			return NULL;
		}
	}
	memset(it, 0, sizeof *it);
	it->end = 1;
	put(a, it);
	free(it);
	return NULL;
}

/* the next item (waits for the reader) */
static void take(struct ahead *a, struct item *it)
{
	pthread_mutex_lock(&a->mu);
	while (!a->full)
		pthread_cond_wait(&a->cv, &a->mu);
	*it = a->slot;
	a->full = 0;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void filter_ahead(br_writer *w, const char *outname, char *const *inputs, int ninputs, br_record_prep prep,
			 br_record_fn fn, void *arg)
{
	struct ahead a;
	struct item *it = malloc(sizeof *it);
	pthread_t th;
	br_vol *o;

	memset(&a, 0, sizeof a);
	a.inputs = inputs;
	a.ninputs = ninputs;
	a.prep = prep;
	a.arg = arg;
	if (it == NULL || pthread_mutex_init(&a.mu, NULL) != 0 || pthread_cond_init(&a.cv, NULL) != 0 ||
	    pthread_create(&th, NULL, reader_main, &a) != 0)
		br_die(NULL, "cannot start the reading thread");
	for (;;) {
		take(&a, it);
		if (it->end)
			break;
		if (it->prep_failed)
			br_die(it->path, "record %d: %s", it->rec, it->err);
		if (it->v == NULL) /* br_die removes the output's temporary */
			br_die(it->path, "%s", it->err);
		o = fn(it->v, it->path, it->rec, arg);
		if (o == NULL)
			br_die(it->path, "record %d: %s", it->rec, br_error());
		if (br_writer_put(w, o) < 0)
			br_die(outname, "%s", br_error());
		br_vol_free(o);
	}
	pthread_join(th, NULL);
	pthread_cond_destroy(&a.cv);
	pthread_mutex_destroy(&a.mu);
	free(it);
}

void br_filter_records_prep(const char *out, char *const *inputs, int ninputs, br_record_prep prep,
			    br_record_fn fn, void *arg, int ahead)
{
	static char *const stdin_only[] = {"-"};
	const char *outname = br_out_name(out);
	br_writer *w;
	br_reader *r;
	br_vol *v, *o;
	int k, rec, got;

	if (ninputs == 0) {
		inputs = stdin_only;
		ninputs = 1;
	}
	for (k = 0; k < ninputs; k++)
		if (strcmp(inputs[k], "-") != 0 && access(inputs[k], R_OK) != 0)
			br_die(inputs[k], "%s", strerror(errno));
	w = br_writer_open(out, br_opt.force);
	if (w == NULL)
		br_die(outname, "%s", br_error());
	if (ahead) {
		filter_ahead(w, outname, inputs, ninputs, prep, fn, arg);
	} else {
		for (k = 0; k < ninputs; k++) {
			r = br_reader_open(inputs[k]);
			if (r == NULL)
				br_die(inputs[k], "%s", br_error());
			for (rec = 1; (got = br_reader_next(r, &v)) == 1; rec++) {
				if (prep != NULL && prep(&v, arg) < 0)
					br_die(br_reader_path(r), "record %d: %s", rec, br_error());
				o = fn(v, br_reader_path(r), rec, arg);
				if (o == NULL)
					br_die(br_reader_path(r), "record %d: %s", rec, br_error());
				if (br_writer_put(w, o) < 0)
					br_die(outname, "%s", br_error());
				br_vol_free(o);
			}
			if (got < 0)
				br_die(br_reader_path(r), "%s", br_error());
			br_reader_close(r);
		}
	}
	if (br_writer_close(w) < 0)
		br_die(outname, "%s", br_error());
}

void br_filter_records(const char *out, char *const *inputs, int ninputs, br_record_fn fn, void *arg)
{
	br_filter_records_prep(out, inputs, ninputs, NULL, fn, arg, 0);
}
