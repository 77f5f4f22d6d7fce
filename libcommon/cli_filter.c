/*
 * cli_filter.c - the loop of every record filter (see cli.h): the tools'
 * side of the record reader and writer, which prints and exits.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "volume.h"

void br_filter_records(const char *out, char *const *inputs, int ninputs, br_record_fn fn, void *arg)
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
	for (k = 0; k < ninputs; k++) {
		r = br_reader_open(inputs[k]);
		if (r == NULL)
			br_die(inputs[k], "%s", br_error());
		for (rec = 1; (got = br_reader_next(r, &v)) == 1; rec++) {
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
	if (br_writer_close(w) < 0)
		br_die(outname, "%s", br_error());
}
