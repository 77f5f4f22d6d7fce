/*
 * gzdata.h - a byte range of a gzip (or plain) file, decoded at once.
 */
#ifndef BR_GZDATA_H
#define BR_GZDATA_H

#include <stddef.h>

/* Bytes [offset, offset + want) of the decoded content of the gzip file
 * PATH (several members allowed) in a new buffer *out (free()), decoded
 * whole with libdeflate; never more than offset + want bytes produced.
 * Returns 0; -1 with br_error() ("data truncated: ...") when the file is
 * too short for the range; 1, with nothing allocated, when the caller's
 * streaming reader should take the file (not gzip, not a regular file,
 * very large, data running past the range, corrupt data). */
int br_gz_inflate_range(const char *path, size_t offset, size_t want, void **out);

#endif /* BR_GZDATA_H */
