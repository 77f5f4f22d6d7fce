/*
 * gzdata.h - a byte range of a gzip (or plain) file, decoded at once.
 */
#ifndef BR_GZDATA_H
#define BR_GZDATA_H

#include <stddef.h>

/* Bytes [offset, offset + want) of the decoded content of PATH (gzip,
 * several members allowed, or plain) in a new buffer *out (free()).  Regular files are decoded
 * whole with libdeflate, anything else is streamed with zlib; never more
 * than offset + want bytes are produced.  Returns 0, or -1 with br_error()
 * saying "data truncated: ..." or "data corrupt (...) ...". */
int br_gz_read_range(const char *path, size_t offset, size_t want, void **out);

#endif /* BR_GZDATA_H */
