#!/bin/sh
# The record-filter loop of the tools, plain and with read-ahead (test_filter.c).
. "$TOP/tests/lib.sh"
t_program "$BUILDDIR/tests/io/test_filter" "$TMPDIR"
finish
