#!/bin/sh
# The append-only key/value file of the cuDNN plan cache (test_kvfile.c).
. "$TOP/tests/lib.sh"
t_program "$BUILDDIR/tests/io/test_kvfile" "$TMPDIR"
finish
