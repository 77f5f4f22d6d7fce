#!/bin/sh
# tests/fuzz/run.sh - run the libFuzzer programs (make fuzz), one at a time.
# Each target starts from the kept corpus tests/fuzz/corpus/<target> and the
# seeds of make-seeds.sh, runs for SECONDS, and writes what it finds
# (crashes, leaks, timeouts, out-of-memory) to tests/fuzz/crashers/<target>/.
# With FUZZ_KEEP=1 the corpus it grew is merged into the kept one afterwards
# (inputs up to the size limit of each target, so that it stays small).
# Environment: FUZZ_FLAGS (more libFuzzer flags, e.g. -fork=1 -ignore_ooms=1).
# usage: run.sh FUZZDIR SECONDS TARGET...
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
fz=$1 secs=$2
shift 2
work=$fz/work
mkdir -p "$work"
if [ ! -d "$work/seeds" ]; then
	sh "$top/tests/fuzz/make-seeds.sh" "$work/seeds.new" && mv "$work/seeds.new" "$work/seeds" || exit 1
fi
# halting on the first report; allocations of more than 2 GiB return NULL (a
# header that claims more than its file holds is issue 10, finding 7: the
# inputs kept in crashers/nifti show it; fuzzing goes on past it)
export ASAN_OPTIONS="abort_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TMPDIR="$work"
status=0
summary=""
for t in "$@"; do
	case $t in
	options) extra="-detect_leaks=0" maxlen=4096 ;; # a tool abandoned by longjmp leaks what it held
	list) extra="" maxlen=4096 ;;
	safetensors) extra="-max_len=2097152" maxlen=16384 ;; # the seed checkpoint of width 8 is 1.6 MB
	*) extra="" maxlen=4096 ;;
	esac
	mkdir -p "$work/corpus/$t" "$top/tests/fuzz/crashers/$t"
	kept=$top/tests/fuzz/corpus/$t
	[ -d "$kept" ] || kept=
	echo "fuzz_$t: $secs s"
	[ $t = options ] && leaks=0 || leaks=1
	ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=$leaks" "$fz/fuzz_$t" "$work/corpus/$t" $kept "$work/seeds/$t" -max_total_time="$secs" -timeout=30 \
		-rss_limit_mb=2560 -close_fd_mask=3 -print_final_stats=1 \
		-artifact_prefix="$top/tests/fuzz/crashers/$t/" $extra ${FUZZ_FLAGS:-} >"$work/$t.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || status=1
	last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
	line=$(printf 'fuzz_%-12s exit %d, %s executions; %s' "$t" "$rc" "${execs:-?}" "$last")
	echo "$line"
	summary="$summary$line
"
	grep -E 'ERROR|SUMMARY|runtime error|artifact_prefix|Test unit written' "$work/$t.log" | head -n 10
	if [ "${FUZZ_KEEP:-0}" = 1 ]; then
		rm -rf "$work/merge.in" "$work/merge.out"
		mkdir -p "$work/merge.in" "$work/merge.out"
		find "$work/corpus/$t" ${kept:+"$kept"} -type f -size -"$((maxlen + 1))"c -exec cp {} "$work/merge.in/" \;
		ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=$leaks" "$fz/fuzz_$t" -merge=1 -close_fd_mask=3 -artifact_prefix="$work/" $extra "$work/merge.out" "$work/merge.in" >"$work/$t.merge.log" 2>&1 &&
			rm -rf "$top/tests/fuzz/corpus/$t" && mkdir -p "$top/tests/fuzz/corpus/$t" &&
			cp "$work/merge.out"/* "$top/tests/fuzz/corpus/$t/" &&
			echo "fuzz_$t: kept $(ls "$top/tests/fuzz/corpus/$t" | wc -l) inputs"
	fi
done
printf '%s' "$summary"
exit $status
