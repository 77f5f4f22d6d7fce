#!/bin/sh
# The hostile-input table (tests/hostile/cases.txt): every case is run
# twice, once with a new output path and once onto an existing output, each
# time under a 2 GiB address-space limit, and must
#   exit 1, print one line on stderr naming the file and the problem,
#   leave no output file and no temporary (beside the output or in TMPDIR),
#   leave an existing output byte-identical.
. "$TOP/tests/lib.sh"
H=$TMPDIR/h O=$TMPDIR/o S=$TMPDIR/spool
"$PYTHON" "$TOP/tests/hostile/gen.py" "$H" || { t_notok "generate the hostile inputs"; finish; }
: >"$TMPDIR/stdin"
# AddressSanitizer reserves terabytes of address space up front: a build with
# it runs without the limit (it bounds memory errors itself)
limit=2097152
if grep -q __asan_init "$BINDIR/brats-norm" 2>/dev/null; then limit=unlimited; fi
trim() { printf '%s' "$1" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }
subst() { printf '%s' "$1" | sed -e "s|@CAT@|cat @IN@ \||g" -e "s|@IN@|$IN|g" -e "s|@H@|$H|g" -e "s|@OUT@|$O/out|g"; }
while IFS='|' read -r in cmd want <&3; do
	in=$(trim "$in")
	case $in in '' | '#'*) continue ;; esac
	IN=$H/$in
	cmd=$(subst "$(trim "$cmd")")
	want=$(subst "$(trim "$want")")
	out=$(printf '%s\n' "$cmd" | grep -o "$O/out[^ ]*" | head -n 1)
	for run in new existing; do
		rm -rf "$O" "$S"
		mkdir -p "$O" "$S"
		if [ $run = existing ]; then
			printf 'an existing output, kept through %s\n' "$in" >"$out"
			cp "$out" "$TMPDIR/kept"
		fi
		(
			ulimit -v $limit
			TMPDIR=$S
			export TMPDIR
			exec sh -c "$cmd"
		) <"$TMPDIR/stdin" >"$TMPDIR/stdout" 2>"$TMPDIR/stderr"
		rc=$?
		why=""
		[ $rc -eq 1 ] || why="$why; exit $rc"
		lines=$(wc -l <"$TMPDIR/stderr")
		[ "$lines" -eq 1 ] || why="$why; $lines lines on stderr"
		grep -Eq -- "^$want" "$TMPDIR/stderr" || why="$why; stderr does not match"
		if [ $run = new ]; then
			left=$(ls -A "$O")
		else
			cmp -s "$out" "$TMPDIR/kept" || why="$why; the existing output changed"
			left=$(ls -A "$O" | grep -vx "$(basename "$out")")
		fi
		[ -z "$left" ] || why="$why; left in the output folder: $(echo $left)"
		[ -z "$(ls -A "$S")" ] || why="$why; left in TMPDIR: $(ls -A "$S" | head -n 3 | tr '\n' ' ')"
		what="$in: $(printf '%s' "$cmd" | sed -e "s|$H/||g" -e "s|$O/||g") ($run output)"
		if [ -z "$why" ]; then
			t_ok "$what"
		else
			t_notok "$what${why}"
			sed 's/^/#   /' "$TMPDIR/stderr" | head -n 3
		fi
	done
done 3<"$TOP/tests/hostile/cases.txt"
finish
