# tests/lib.sh - helpers for the shell tests (sourced).
#   ok COND_EXIT_STATUS "what"     print a TAP line for the last command's status
#   check "what" CMD...            run CMD, ok when it exits 0
#   fails "what" STATUS PATTERN CMD...
#                                  CMD must exit with STATUS, print one line on stderr
#                                  matching the extended regex PATTERN
#   no_file PATH "what"            ok when PATH (and no temporary beside it) exists
#   t_program CMD...               run a TAP-printing program (the C tests,
#                                  tests/tap.h) and count its lines here
#   finish                         exit non-zero when anything failed
set -u
T_N=0
T_FAIL=0
: "${BINDIR:?}" "${TMPDIR:?}"
PYTHON=${PYTHON:-/usr/bin/python3}
PATH=$BINDIR:$PATH
export PATH

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_notok() { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $1"; }

ok() {
	if [ "$1" -eq 0 ]; then t_ok "$2"; else t_notok "$2 (status $1)"; fi
}

check() {
	what=$1; shift
	if "$@" >"$TMPDIR/check.out" 2>"$TMPDIR/check.err"; then
		t_ok "$what"
	else
		t_notok "$what (status $?)"
		sed 's/^/#   /' "$TMPDIR/check.err" | head -n 20
	fi
}

fails() {
	what=$1 want=$2 pat=$3; shift 3
	"$@" >"$TMPDIR/fails.out" 2>"$TMPDIR/fails.err"
	got=$?
	lines=$(wc -l <"$TMPDIR/fails.err")
	if [ "$got" -ne "$want" ]; then
		t_notok "$what: exit $got, expected $want"
		sed 's/^/#   /' "$TMPDIR/fails.err" | head -n 5
	elif [ "$lines" -ne 1 ] || ! grep -Eq -- "$pat" "$TMPDIR/fails.err"; then
		t_notok "$what: stderr does not match '$pat' in one line"
		sed 's/^/#   /' "$TMPDIR/fails.err" | head -n 5
	else
		t_ok "$what"
	fi
}

# no_output DIR "what": DIR holds no file other than those listed in $KEEP
no_partial() {
	dir=$1 what=$2
	left=$(find "$dir" -maxdepth 1 -name '.*tmp*' | head -n 1)
	if [ -z "$left" ]; then t_ok "$what"; else t_notok "$what: left $left"; fi
}

absent() {
	if [ ! -e "$1" ]; then t_ok "$2"; else t_notok "$2: $1 exists"; fi
}

# The C test programs print their own TAP (tests/tap.h): their lines are
# counted here, renumbered; "# SKIP" lines pass; stderr is shown as
# comments; an exit status other than 0 without a failing line is one
# failure.
t_program() {
	"$@" >"$TMPDIR/prog.out" 2>"$TMPDIR/prog.err"
	t_rc=$?
	t_before=$T_FAIL
	while IFS= read -r line; do
		case $line in
		"ok "*" # "*) T_N=$((T_N + 1)); echo "ok $T_N ${line#ok [0-9]* }" ;;
		"ok "*) t_ok "${line#ok * - }" ;;
		"not ok "*) t_notok "${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$TMPDIR/prog.out"
	sed 's/^/# /' "$TMPDIR/prog.err" | head -n 40
	if [ "$t_rc" -ne 0 ] && [ "$T_FAIL" -eq "$t_before" ]; then
		t_notok "$* exited with status $t_rc"
	fi
}

finish() {
	[ "$T_FAIL" -eq 0 ]
	exit $?
}
