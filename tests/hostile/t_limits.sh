#!/bin/sh
# The I/O layer's limits as unit tests (tests/hostile/test_limits.c).
. "$TOP/tests/lib.sh"
t_program "$BUILDDIR/tests/hostile/test_limits" "$TMPDIR"
finish
