#!/bin/sh
# The network against PyTorch (float64), built from MODEL.md: outputs, loss,
# every gradient, weights after 5 Adam steps, inference outputs; the paper's
# network, and each ablation of MODEL.md ("Ablations") at width 8.
. "$TOP/tests/lib.sh"
G=$BUILDDIR/tests/golden/test_golden
run_golden() { # base n h w [block supervision se]
	v=${5:+ $5 $6 se=$7}
	d=$TMPDIR/g$1_$3x$4${5:+_$5_$6_$7}
	mkdir -p "$d"
	if ! "$PYTHON" "$TOP/tests/golden/golden.py" "$d" "$1" "$2" "$3" "$4" 11 5 1e-4 ${5:+"$5" "$6" "$7"} >"$d/py.log" 2>&1; then
		t_notok "golden data for width $1$v, $2 x $3 x $4: $(tail -n 3 "$d/py.log")"
		return
	fi
	"$G" "$d" "$2" "$3" "$4" 5 1e-4 cpu | sed "s/^\(not \)\{0,1\}ok [0-9]* - /&width $1$v $2x$3x$4: /" >"$d/c.log"
	while IFS= read -r line; do
		case $line in
		"ok "*) t_ok "${line#ok * - }" ;;
		"not ok "*) t_notok "${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$d/c.log"
	grep -q '^1\.\.' "$d/c.log" || t_notok "width $1$v: test_golden did not finish"
}
run_golden 8 3 32 24
run_golden 32 2 176 144
# the ablations (Tables 1, 3 and 4 of the paper), one at a time, and all at once
run_golden 8 3 32 24 pre-res multi 1
run_golden 8 3 32 24 pre-res-gated-skip multi 1
run_golden 8 3 32 24 apr single 1
run_golden 8 3 32 24 apr none 1
run_golden 8 3 32 24 apr multi 0
run_golden 8 3 32 24 pre-res-gated-skip single 0
finish
