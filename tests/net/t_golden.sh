#!/bin/sh
# The network against PyTorch (float64), built from MODEL.md: outputs, loss,
# every gradient, weights after 5 Adam steps, inference outputs.
. "$TOP/tests/lib.sh"
G=$BUILDDIR/tests/golden/test_golden
run_golden() { # base n h w
	d=$TMPDIR/g$1_$3x$4
	mkdir -p "$d"
	if ! "$PYTHON" "$TOP/tests/golden/golden.py" "$d" "$1" "$2" "$3" "$4" 11 5 1e-4 >"$d/py.log" 2>&1; then
		t_notok "golden data for width $1, $2 x $3 x $4: $(tail -n 3 "$d/py.log")"
		return
	fi
	"$G" "$d" "$2" "$3" "$4" 5 1e-4 cpu | sed "s/^\(not \)\{0,1\}ok [0-9]* - /&width $1 $2x$3x$4: /" >"$d/c.log"
	while IFS= read -r line; do
		case $line in
		"ok "*) t_ok "${line#ok * - }" ;;
		"not ok "*) t_notok "${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$d/c.log"
	grep -q '^1\.\.' "$d/c.log" || t_notok "width $1: test_golden did not finish"
}
run_golden 8 3 32 24
run_golden 32 2 176 144
finish
