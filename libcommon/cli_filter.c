/*
 * cli_filter.c - the loop of every record filter (see cli.h): the tools'
 * side of the record reader and writer, which prints and exits.
 *
 * One source turns the inputs into items (a record after prep, an error,
 * the end) and one function acts on each item in order; the plain loop
 * calls the source itself.  With read-ahead, a second thread calls it and
 * hands the items over one at a time, so that the next record is read,
 * decoded and prepared while fn works on the current one: at most one
 * record waits, so memory grows by one record at most.  The reading thread
 * only reads and reports; every message, and every exit, comes from the
 * main thread, in the order of the records, so that the output and the
 * errors are those of the plain loop.
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

/* One item of the inputs: a record, an error, or the end. */
struct item {
	br_vol *v;         /* a record (NULL: error or end) */
	int end;           /* 1: no more input */
	int prep_failed;   /* err is prep's ("record N: ...") rather than the reader's */
	int rec;           /* its number in its input */
	char path[4096];   /* br_reader_path of its input (or the input that cannot be opened) */
	char err[1024];    /* an error (v == NULL, end == 0) */
};

/* The inputs, read in order. */
struct source {
	char *const *inputs;
	int ninputs, k, rec, done;
	br_reader *r;
	br_record_prep prep;
	void *arg;
};

/* The next item; after an error or the end, only the end. */
static void source_next(struct source *s, struct item *it)
{
	br_vol *v;
	int got;

	memset(it, 0, sizeof *it);
	while (!s->done) {
		if (s->r == NULL) {
			if (s->k == s->ninputs)
				break;
			if ((s->r = br_reader_open(s->inputs[s->k])) == NULL) {
				snprintf(it->path, sizeof it->path, "%s", s->inputs[s->k]);
				snprintf(it->err, sizeof it->err, "%s", br_error());
				s->done = 1;
				return;
			}
			s->rec = 0;
		}
		v = NULL;
		got = br_reader_next(s->r, &v);
		if (got == 0) {
			br_reader_close(s->r);
			s->r = NULL;
			s->k++;
			continue;
		}
		snprintf(it->path, sizeof it->path, "%s", br_reader_path(s->r));
		it->rec = ++s->rec;
		if (got < 0) {
			snprintf(it->err, sizeof it->err, "%s", br_error());
			s->done = 1;
		} else if (s->prep != NULL && s->prep(&v, s->arg) < 0) {
			snprintf(it->err, sizeof it->err, "%s", br_error());
			it->prep_failed = 1;
			br_vol_free(v);
			s->done = 1;
		} else {
			it->v = v;
		}
		return;
	}
	it->end = 1;
}

static void source_close(struct source *s)
{
	br_reader_close(s->r);
	s->r = NULL;
}

/* Act on one item: the record through fn into the output, or the error.
 * Returns 1 at the end. */
static int consume(const struct item *it, br_record_fn fn, void *arg, br_writer *w, const char *outname)
{
	br_vol *o;

	if (it->end)
		return 1;
	if (it->prep_failed) /* br_die removes the output's temporary */
		br_die(it->path, "record %d: %s", it->rec, it->err);
	if (it->v == NULL)
		br_die(it->path, "%s", it->err);
	o = fn(it->v, it->path, it->rec, arg);
	if (o == NULL)
		br_die(it->path, "record %d: %s", it->rec, br_error());
	if (br_writer_put(w, o) < 0)
		br_die(outname, "%s", br_error());
	br_vol_free(o);
	return 0;
}

/* read-ahead: one slot between the reading thread and the main thread */
struct ahead {
	struct source *src;
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
	a->slot = *it;
	a->full = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void *reader_main(void *arg)
{
	struct ahead *a = arg;
	struct item *it = malloc(sizeof *it);

	if (it == NULL) {
		static struct item oom = {.err = "out of memory"};
		put(a, &oom);
		return NULL;
	}
	do {
		wait_free(a);
		source_next(a->src, it);
		put(a, it);
	} while (it->v != NULL);
	free(it);
	return NULL;
}

/* the next item (waits for the reading thread) */
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

void br_filter_records_prep(const char *out, char *const *inputs, int ninputs, br_record_prep prep,
			    br_record_fn fn, void *arg, int ahead)
{
	static char *const stdin_only[] = {"-"};
	const char *outname = br_out_name(out);
	struct source src;
	struct item *it = malloc(sizeof *it);
	br_writer *w;
	int k;

	if (it == NULL)
		br_die(NULL, "out of memory");
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
	memset(&src, 0, sizeof src);
	src.inputs = inputs;
	src.ninputs = ninputs;
	src.prep = prep;
	src.arg = arg;
	if (ahead) {
		struct ahead a;
		pthread_t th;
		memset(&a, 0, sizeof a);
		a.src = &src;
		if (pthread_mutex_init(&a.mu, NULL) != 0 || pthread_cond_init(&a.cv, NULL) != 0 ||
		    pthread_create(&th, NULL, reader_main, &a) != 0)
			br_die(NULL, "cannot start the reading thread");
		do
			take(&a, it);
		while (!consume(it, fn, arg, w, outname));
		pthread_join(th, NULL);
		pthread_cond_destroy(&a.cv);
		pthread_mutex_destroy(&a.mu);
	} else {
		do
			source_next(&src, it);
		while (!consume(it, fn, arg, w, outname));
	}
	source_close(&src);
	free(it);
	if (br_writer_close(w) < 0)
		br_die(outname, "%s", br_error());
}

void br_filter_records(const char *out, char *const *inputs, int ninputs, br_record_fn fn, void *arg)
{
	br_filter_records_prep(out, inputs, ninputs, NULL, fn, arg, 0);
}
