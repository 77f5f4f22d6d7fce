# tap.sh - sourced by the t_cpu_*.sh scripts: run test programs and merge
# their TAP streams into one (renumbered, one plan at the end).
# tap_run CMD...: runs CMD, appends its tests; tap_end: prints the plan and
# returns non-zero when any program failed or any test did not pass.
tap_n=0
tap_status=0
tap_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tap.XXXXXX") || exit 1
trap 'rm -rf "$tap_tmp"' EXIT INT TERM

tap_run() {
	echo "# $*"
	"$@" > "$tap_tmp/out" 2> "$tap_tmp/err"
	rc=$?
	sed 's/^/# /' "$tap_tmp/err"
	awk -v n="$tap_n" -v nf="$tap_tmp/n" '
		/^ok [0-9]+/ { n++; sub(/^ok [0-9]+/, "ok " n); print; next }
		/^not ok [0-9]+/ { n++; sub(/^not ok [0-9]+/, "not ok " n); print; next }
		/^1\.\.[0-9]+$/ { next }
		{ print }
		END { print n > nf }' "$tap_tmp/out"
	tap_n=$(cat "$tap_tmp/n")
	if [ $rc -ne 0 ] || grep -q '^not ok' "$tap_tmp/out"; then
		tap_status=1
	fi
	if [ $rc -ne 0 ]; then
		tap_n=$((tap_n + 1))
		echo "not ok $tap_n - $* exited with status $rc"
	fi
}

tap_end() {
	echo "1..$tap_n"
	return $tap_status
}
