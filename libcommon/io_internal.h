/*
 * io_internal.h - the NRRD and NIfTI readers and writers behind the record
 * reader and writer of io.c (internal to libcommon).
 *
 * The floors of the I/O layer, each depending only on those below it:
 *   volume.c (records, errors)  byteorder.h  atomic_file.c (temporaries)
 *   bufin.c (buffered input)
 *   nrrd_io.c (NRRD, zlib)      nifti_io.c (NIfTI-1, nifti_clib)
 *   io.c (reader by content, writer by name)
 *   cli.c, cli_filter.c (messages, exit: the tools' side)
 */
#ifndef BR_IO_INTERNAL_H
#define BR_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bufin.h"
#include "volume.h"

/* NRRD: read one record whose magic is next in the stream. */
br_vol *br_nrrd_read(br_in *in);
/* NRRD: only the header (data NULL); *raw_native is 1 when the data that
 * follows is raw and in the host's byte order. */
br_vol *br_nrrd_read_header(br_in *in, int *raw_native);
/* NIfTI-1: read one record from a file path (.nii / .nii.gz) */
br_vol *br_nifti_read_path(const char *path, const char *display);
/* NIfTI-1: spool the rest of the stream to a temporary file and read it. */
br_vol *br_nifti_read_stream(br_in *in, int gz);
/* NIfTI-1 writer: one record onto f (gzip-compressed when gz); 0 / -1
 * with a message.  The caller flushes and closes f. */
int br_nifti_write(FILE *f, const br_vol *v, int gz);

#endif /* BR_IO_INTERNAL_H */
