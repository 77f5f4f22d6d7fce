#!/bin/sh
# The fuzz targets, built with the build's compiler and a plain main
# (driver.c), replay the kept corpus (tests/fuzz/corpus/<target>) and every
# input that once crashed a target (tests/fuzz/crashers/<target>): each must
# go through without a crash, an abort or a sanitizer report.  Plain builds
# run under 4 GiB of address space (what a claim of more must not get);
# the sanitizer build cannot (its shadow memory): there make check lets the
# allocator return NULL for more than 2 GiB instead.
. "$TOP/tests/lib.sh"
F=$BUILDDIR/fuzz
lim="ulimit -v 4194304;"
[ -z "${ASAN_OPTIONS+x}" ] || lim=
for t in nrrd nifti safetensors list options; do
	dirs=
	for d in corpus crashers; do
		[ -d "$TOP/tests/fuzz/$d/$t" ] && dirs="$dirs $TOP/tests/fuzz/$d/$t"
	done
	if [ ! -x "$F/fuzz_$t" ] || [ -z "$dirs" ]; then
		t_notok "fuzz_$t: no program ($F/fuzz_$t) or no kept inputs"
		continue
	fi
	leaks=
	# a tool's main left by longjmp at the end of its options leaks what it held
	[ $t = options ] && [ -n "${ASAN_OPTIONS+x}" ] && leaks="ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0"
	mkdir -p "$TMPDIR/$t"
	(cd "$TMPDIR/$t" && eval "$lim env $leaks \"\$F/fuzz_\$t\" $dirs" >out.txt 2>err.txt)
	rc=$?
	n=$(sed -n 's/^fuzz driver: \([0-9]*\) inputs$/\1/p' "$TMPDIR/$t/err.txt")
	if [ $rc -eq 0 ] && [ -n "$n" ]; then
		t_ok "fuzz_$t replays $n kept inputs"
	else
		t_notok "fuzz_$t: exit $rc after ${n:-some} inputs"
		grep -E 'ERROR|SUMMARY|runtime error|fuzz driver' "$TMPDIR/$t/err.txt" | head -n 5 | sed 's/^/#   /'
	fi
done
finish
