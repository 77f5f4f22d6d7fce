#!/bin/sh
# tests/run.sh - run every test script tests/*/t_*.sh and count TAP lines.
#
# Each script prints "ok N - what" / "not ok N - what" lines and exits
# non-zero when anything failed.  A script that exits non-zero without a
# "not ok" line counts as one failure.  Environment given to the scripts:
# BINDIR, BUILDDIR (absolute), PYTHON, TOP (the source tree), TMPDIR (a
# fresh directory per script, removed afterwards when the script passed).
# Usage: tests/run.sh [PATTERN...]   (substrings of script paths to run)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${BINDIR:=$TOP/bin}" "${BUILDDIR:=$TOP/build}"
PYTHON=${PYTHON:-/usr/bin/python3}
export BINDIR BUILDDIR PYTHON TOP
# a make started by a test is not part of the make that runs the tests: under
# `make -jN check` it would inherit a jobserver it cannot reach and say so on
# stderr, which the one-line error checks would count against the tool
unset MAKEFLAGS MFLAGS MAKELEVEL
base=${TMPDIR:-/tmp}
pass=0 fail=0 failed_scripts=""
log=$(mktemp "$base/brats-r2u-tests.XXXXXX") || { echo "tests/run.sh: cannot create files in $base"; echo "0 passed, 1 failed"; exit 1; }
for t in "$TOP"/tests/*/t_*.sh; do
	[ -e "$t" ] || continue
	rel=${t#"$TOP"/}
	if [ $# -gt 0 ]; then
		sel=0
		for p in "$@"; do case $rel in *"$p"*) sel=1 ;; esac; done
		[ $sel = 1 ] || continue
	fi
	dir=$(mktemp -d "$base/brats-r2u-test.XXXXXX") || { echo "tests/run.sh: cannot create a directory in $base"; fail=$((fail + 1)); break; }
	start=$(date +%s)
	TMPDIR=$dir sh "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $rel ($p passed, $f failed, ${secs}s, exit $rc)"
		sed 's/^/    /' "$log" | tail -n 60
		failed_scripts="$failed_scripts $rel"
	else
		echo "pass $rel ($p, ${secs}s)"
		rm -rf "$dir"
	fi
done
rm -f "$log"
[ -n "$failed_scripts" ] && echo "failed:$failed_scripts"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
