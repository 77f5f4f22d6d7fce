#!/bin/sh
# The I/O layer's limits as unit tests (tests/hostile/test_limits.c).
. "$TOP/tests/lib.sh"
"$BUILDDIR/tests/hostile/test_limits" "$TMPDIR" >"$TMPDIR/unit.log" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) t_ok "${line#ok * - }" ;;
	"not ok "*) t_notok "${line#not ok * - }" ;;
	esac
done <"$TMPDIR/unit.log"
[ $rc -eq 0 ] || t_notok "test_limits exited $rc"
finish
