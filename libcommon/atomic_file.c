/*
 * atomic_file.c - whole-or-nothing output files.
 *
 * A temporary is named ".NAME.tmpPID.XXXXXX[SUFFIX]" beside NAME and holds an
 * flock for as long as it is open.  One left behind by a process that was
 * killed (kill -9, a power cut) is removed by the next writer into that
 * folder once it is stale: its process is gone, nobody holds its lock and
 * it was last written more than BR_TMP_STALE_AGE seconds ago.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bufin.h"
#include "volume.h"

/* ---- temporary files removed on signals ---- */

#define MAX_TMP 64
static char *volatile tmp_paths[MAX_TMP];
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER; /* writers may run in threads */

void br_tmp_register(const char *path)
{
	char *p = strdup(path);
	int i;

	pthread_mutex_lock(&tmp_lock);
	for (i = 0; i < MAX_TMP && p != NULL; i++)
		if (tmp_paths[i] == NULL) {
			tmp_paths[i] = p;
			p = NULL;
		}
	pthread_mutex_unlock(&tmp_lock);
	free(p); /* list full: the file is still removed on errors, not on signals */
}

void br_tmp_unregister(const char *path)
{
	int i;
	char *p = NULL;

	pthread_mutex_lock(&tmp_lock);
	for (i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i] != NULL && strcmp(tmp_paths[i], path) == 0) {
			p = tmp_paths[i];
			tmp_paths[i] = NULL;
			break;
		}
	pthread_mutex_unlock(&tmp_lock);
	free(p);
}

void br_tmp_remove_all(void)
{
	int i;

	for (i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i] != NULL)
			unlink(tmp_paths[i]);
}

/* ---- stale temporaries ---- */

#define BR_TMP_STALE_AGE (10 * 60)

/* The pid in a name of our pattern ".*.tmpPID.XXXXXX[.ext...]", else 0. */
static long stale_pid(const char *name)
{
	const char *p = name, *q;
	char *end;
	long pid;
	int i;

	if (name[0] != '.')
		return 0;
	while ((p = strstr(p + 1, ".tmp")) != NULL) {
		q = p + 4;
		if (!isdigit((unsigned char)*q))
			continue;
		pid = strtol(q, &end, 10);
		if (*end != '.' || pid <= 0 || pid > 0x7fffffffL)
			continue;
		for (i = 1; i <= 6 && isalnum((unsigned char)end[i]); i++)
			;
		if (i != 7)
			continue;
		for (q = end + 7; *q == '.' && isalnum((unsigned char)q[1]);) /* the suffix: (.ext)* */
			for (q++; isalnum((unsigned char)*q); q++)
				;
		if (*q == '\0' && q - (end + 7) <= 16)
			return pid;
	}
	return 0;
}

/* Remove the stale temporaries of our pattern in dir ("" for "."): regular
 * files of ours whose process is gone, unlocked, not written for a while. */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir[0] ? dir : ".");
	struct dirent *e;
	struct stat st;
	char path[4096];
	long pid;
	int fd;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		pid = stale_pid(e->d_name);
		if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof path, "%s%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    time(NULL) - st.st_mtime > BR_TMP_STALE_AGE && flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlink(path);
		close(fd);
	}
	closedir(d);
}

/* Once per folder and process (the last folder seen), as writers come. */
static void remove_stale_once(const char *dir)
{
	static char *last;
	int again;

	pthread_mutex_lock(&tmp_lock);
	again = last == NULL || strcmp(last, dir) != 0;
	if (again) {
		free(last);
		last = strdup(dir);
	}
	pthread_mutex_unlock(&tmp_lock);
	if (again)
		remove_stale(dir);
}

int br_tmp_create(const char *path, const char *suffix, char **tmp)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0, sl = suffix ? strlen(suffix) : 0;
	char *dir, *t;
	mode_t um;
	int fd;

	*tmp = NULL;
	dir = strndup(path, dirlen);
	t = malloc(strlen(path) + sl + 40);
	if (dir == NULL || t == NULL) {
		free(dir);
		free(t);
		return br_set_error("out of memory");
	}
	remove_stale_once(dir);
	free(dir);
	sprintf(t, "%.*s.%s.tmp%ld.XXXXXX%s", (int)dirlen, path, slash ? slash + 1 : path, (long)getpid(),
		suffix ? suffix : "");
	fd = mkstemps(t, (int)sl);
	if (fd < 0) {
		int e = errno;
		free(t);
		return br_set_error("cannot create a file beside it: %s", strerror(e));
	}
	(void)flock(fd, LOCK_EX | LOCK_NB); /* held while open: the file is in use */
	br_tmp_register(t);
	um = umask(0); /* the mode an ordinary new file would get */
	umask(um);
	(void)fchmod(fd, 0666 & ~um);
	*tmp = t;
	return fd;
}

/* ---- atomic files ---- */

/* A special file that already exists, written directly: a character
 * device or a FIFO opened, a socket connected to. */
static int open_direct(br_atomic *a, const char *path, mode_t mode)
{
	struct stat st;
	int fd, e;

	if (S_ISSOCK(mode)) {
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof sa.sun_path)
			return br_set_error("socket path too long");
		strcpy(sa.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			e = errno;
			close(fd);
			return br_set_error("cannot connect to the socket: %s", strerror(e));
		}
	} else {
		fd = open(path, O_WRONLY | O_NOCTTY);
	}
	if (fd < 0)
		return br_set_error("cannot open for writing: %s", strerror(errno));
	/* the node may have been replaced since it was looked at */
	if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		close(fd);
		return br_set_error("changed while being opened");
	}
	br_pipe_widen(fd);
	a->f = fdopen(fd, "wb");
	if (a->f == NULL) {
		e = errno;
		close(fd);
		return br_set_error("%s", strerror(e));
	}
	a->direct = 1;
	return 0;
}

int br_atomic_open(br_atomic *a, const char *path, const char *suffix, int open_stream)
{
	struct stat st;
	int fd;

	memset(a, 0, sizeof *a);
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return br_set_error("is a directory");
		if (S_ISBLK(st.st_mode))
			return br_set_error("is a block device (not written to)");
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
			return open_direct(a, path, st.st_mode);
	}
	a->path = strdup(path);
	if (a->path == NULL)
		return br_set_error("out of memory");
	fd = br_tmp_create(path, suffix, &a->tmp);
	if (fd < 0) {
		br_atomic_abort(a);
		return -1;
	}
	if (!open_stream) {
		close(fd);
		return 0;
	}
	a->f = fdopen(fd, "wb");
	if (a->f == NULL) {
		int e = errno;
		close(fd);
		br_atomic_abort(a);
		return br_set_error("%s", strerror(e));
	}
	return 0;
}

int br_atomic_commit(br_atomic *a, int durable)
{
	if (a->f != NULL) {
		errno = 0;
		if (fflush(a->f) != 0 || ferror(a->f) || (durable && !a->direct && fsync(fileno(a->f)) != 0)) {
			br_set_error("write failed: %s", strerror(errno ? errno : EIO));
			return -1;
		}
		if (fclose(a->f) != 0) {
			a->f = NULL;
			return br_set_error("write failed: %s", strerror(errno));
		}
		a->f = NULL;
	}
	if (a->direct) {
		memset(a, 0, sizeof *a);
		return 0;
	}
	if (rename(a->tmp, a->path) != 0)
		return br_set_error("cannot rename into place: %s", strerror(errno));
	br_tmp_unregister(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	return 0;
}

void br_atomic_abort(br_atomic *a)
{
	if (a->f != NULL)
		fclose(a->f);
	if (a->tmp != NULL) {
		unlink(a->tmp);
		br_tmp_unregister(a->tmp);
	}
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof *a);
}

int br_text_write(const char *path, const char *text, size_t len)
{
	br_atomic a;

	if (strcmp(path, "-") == 0) {
		errno = 0;
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
			return br_set_error("write failed: %s", strerror(errno ? errno : EIO));
		return 0;
	}
	if (br_atomic_open(&a, path, NULL, 1) < 0)
		return -1;
	if (fwrite(text, 1, len, a.f) != len || br_atomic_commit(&a, 0) < 0) {
		if (br_error()[0] == '\0' || strncmp(br_error(), "write failed", 12) != 0)
			br_set_error("write failed: %s", strerror(errno ? errno : EIO));
		br_atomic_abort(&a);
		return -1;
	}
	return 0;
}
