#!/bin/sh
# Message and progress lines from several threads (test_messages.c).
. "$TOP/tests/lib.sh"
t_program "$BUILDDIR/tests/io/test_messages" "$TMPDIR"
finish
