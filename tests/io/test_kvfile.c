/*
 * test_kvfile - the append-only key/value file (libcommon/kvfile.c) that
 * keeps the cuDNN algorithm choices between runs: values back after a
 * reopen, the last value of a key wins, damaged lines are ignored, lines
 * appended by several processes at once are all there and whole, the
 * folder is made, and the cache's place follows the environment.
 * Prints TAP lines.  usage: test_kvfile TMPDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvfile.h"
#include "volume.h"
#include "tap.h"

int main(int argc, char **argv)
{
	char path[4096], key[64], val[64], big[2000];
	br_kvfile *f;
	FILE *o;
	int k, bad;

	if (argc != 2)
		return 2;
	tap_detail = br_error;
	snprintf(path, sizeof path, "%s/a/b/plans", argv[1]);

	f = br_kvfile_open(path);
	tap(f != NULL && br_kvfile_count(f) == 0, "a missing file opens empty");
	tap(br_kvfile_put(f, "H200 cuDNN 9 bf16 fwd 32,4,176,144", "1 2 4096") == 0 &&
		    br_kvfile_put(f, "H200 cuDNN 9 bf16 bwd_data 32,4,176,144", "0 2 0") == 0 &&
		    br_kvfile_put(f, "H200 cuDNN 9 bf16 fwd 32,4,176,144", "7 2 8192") == 0,
	    "lines added (the folder made)");
	tap(br_kvfile_put(f, "tab\there", "x") < 0 && br_kvfile_put(f, "k", "new\nline") < 0 &&
		    br_kvfile_put(f, "", "x") < 0,
	    "keys or values with a tab or newline, or empty, refused");
	br_kvfile_close(f);

	/* damage: a line without a tab, one with two, one too long, a torn last line */
	o = fopen(path, "a");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	fprintf(o, "no tab here\nk1\tv1\tv2\n%s\tv\nfine\tyes\ntorn\tha", big);
	fclose(o);
	f = br_kvfile_open(path);
	tap(f != NULL && br_kvfile_count(f) == 3, "reopened: 3 keys (damaged lines ignored), got %zu", br_kvfile_count(f));
	tap(f != NULL && br_kvfile_get(f, "H200 cuDNN 9 bf16 fwd 32,4,176,144") != NULL &&
		    strcmp(br_kvfile_get(f, "H200 cuDNN 9 bf16 fwd 32,4,176,144"), "7 2 8192") == 0,
	    "the last value of a key wins");
	tap(f != NULL && strcmp(br_kvfile_get(f, "fine"), "yes") == 0 && br_kvfile_get(f, "torn") == NULL &&
		    br_kvfile_get(f, "k1") == NULL,
	    "a good line among damaged ones is read; the torn one is not");
	br_kvfile_close(f);

	/* four processes appending 300 lines each at once */
	snprintf(path, sizeof path, "%s/shared", argv[1]);
	for (int p = 0; p < 4; p++)
		if (fork() == 0) {
			br_kvfile *g = br_kvfile_open(path);
			for (k = 0; k < 300; k++) {
				snprintf(key, sizeof key, "p%d-%d", p, k);
				snprintf(val, sizeof val, "%d %d %d", p, k, p * 1000 + k);
				if (g == NULL || br_kvfile_put(g, key, val) < 0)
					_exit(1);
			}
			br_kvfile_close(g);
			_exit(0);
		}
	bad = 0;
	for (int p = 0; p < 4; p++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	f = br_kvfile_open(path);
	for (int p = 0; p < 4 && f != NULL; p++)
		for (k = 0; k < 300; k++) {
			const char *v;
			snprintf(key, sizeof key, "p%d-%d", p, k);
			snprintf(val, sizeof val, "%d %d %d", p, k, p * 1000 + k);
			v = br_kvfile_get(f, key);
			bad += v == NULL || strcmp(v, val) != 0;
		}
	tap(f != NULL && bad == 0 && br_kvfile_count(f) == 1200,
	    "4 processes x 300 lines at once: all 1200 there and whole (%d bad)", bad);
	br_kvfile_close(f);

	/* a FIFO or a folder in the file's place: refused at once, not waited on */
	snprintf(path, sizeof path, "%s/fifo", argv[1]);
	if (mkfifo(path, 0600) == 0) {
		f = br_kvfile_open(path);
		tap(f == NULL && strstr(br_error(), "not a regular file") != NULL, "a FIFO as the file: refused (%s)",
		    f == NULL ? br_error() : "opened");
		br_kvfile_close(f);
	} else {
		tap(0, "mkfifo %s", path);
	}
	snprintf(path, sizeof path, "%s/a", argv[1]); /* a folder (made above) */
	f = br_kvfile_open(path);
	tap(f == NULL, "a folder as the file: refused");
	br_kvfile_close(f);

	/* where the cache lives */
	{
		char *p;
		setenv("BR_CACHE_DIR", "/x/y", 1);
		p = br_cache_path("cudnn-plans");
		tap(p != NULL && strcmp(p, "/x/y/cudnn-plans") == 0, "BR_CACHE_DIR: %s", p ? p : "(null)");
		free(p);
		setenv("BR_CACHE_DIR", "off", 1);
		p = br_cache_path("cudnn-plans");
		tap(p == NULL, "BR_CACHE_DIR=off: no cache");
		free(p);
		unsetenv("BR_CACHE_DIR");
		setenv("XDG_CACHE_HOME", "/c", 1);
		p = br_cache_path("cudnn-plans");
		tap(p != NULL && strcmp(p, "/c/brats-r2u/cudnn-plans") == 0, "XDG_CACHE_HOME: %s", p ? p : "(null)");
		free(p);
		unsetenv("XDG_CACHE_HOME");
		setenv("HOME", "/h", 1);
		p = br_cache_path("cudnn-plans");
		tap(p != NULL && strcmp(p, "/h/.cache/brats-r2u/cudnn-plans") == 0, "HOME: %s", p ? p : "(null)");
		free(p);
	}
	return tap_done("test_kvfile");
}
