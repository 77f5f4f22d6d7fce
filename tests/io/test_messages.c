/*
 * test_messages - the tools' message lines (cli.c, progress.c) from several
 * threads at once: every line on stderr whole, never two run together
 * (brats-metrics scores cases on threads that report "scored in" with -v
 * while the progress line of each case is printed).  Prints TAP lines.
 * usage: test_messages TMPDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "tap.h"
#include "tpath.h"

#define LINES 4000

int main(int argc, char **argv)
{
	char line[512];
	int fd, saved, bad = 0, msgs = 0, units = 0;
	FILE *f;

	if (argc != 2)
		return 2;
	dir = argv[1];
	br_tool_init("test_messages", "usage: test_messages TMPDIR\n");
	br_opt.verbose = 2;
	fflush(stderr);
	saved = dup(2);
	fd = open(path("err.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
#pragma omp parallel for num_threads(2) schedule(static, 1)
	for (int i = 0; i < 2 * LINES; i++) {
		if (i % 2)
			br_msg(2, "case c%05d: scored in 0.001 s", i);
		else
			br_progress_unit("case c%05d: %d/%d cases", i, i, 2 * LINES);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	f = fopen(path("err.txt"), "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		int i, a, b;
		char end;
		if (sscanf(line, "test_messages: case c%d: scored in 0.001 %c", &i, &end) == 2 && end == 's' && i % 2)
			msgs++;
		else if (sscanf(line, "test_messages: case c%d: %d/%d cases%c", &i, &a, &b, &end) == 4 && end == '\n' &&
			 i % 2 == 0 && a == i)
			units++;
		else
			bad++;
	}
	if (f != NULL)
		fclose(f);
	tap(f != NULL && bad == 0 && msgs == LINES && units == LINES,
	    "two threads, %d lines each: every line whole (%d message lines, %d progress lines, %d broken)", LINES, msgs,
	    units, bad);
	return tap_done("test_messages");
}
