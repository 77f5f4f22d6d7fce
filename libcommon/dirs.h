/*
 * dirs.h - folders.
 */
#ifndef BR_DIRS_H
#define BR_DIRS_H

/* mkdir -p: create path and every missing folder above it (mode 0777 less
 * the umask).  0, or -1 with a reason in br_error() when a folder cannot be
 * created or a component exists and is not a folder. */
int br_mkdir_p(const char *path);

#endif /* BR_DIRS_H */
