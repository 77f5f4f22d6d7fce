#!/bin/sh
# Every tool has a man page: mdoc, lint-clean, with the sections a reader
# expects; its cross-references exist; -h agrees with it; man7 too.
. "$TOP/tests/lib.sh"
command -v mandoc >/dev/null || { t_notok "mandoc is not installed (scripts/install-deps.sh)"; finish; }
for src in "$TOP"/tools/*.c; do
	tool=$(basename "$src" .c)
	page=$TOP/man/man1/$tool.1
	if [ ! -f "$page" ]; then
		t_notok "$tool: no man page man/man1/$tool.1"
		continue
	fi
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then t_ok "$tool.1: mandoc -Tlint clean"; else t_notok "$tool.1: $(echo "$out" | head -n 3)"; fi
	miss=""
	for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^\.Sh $s\$" "$page" || miss="$miss $s"
	done
	[ -z "$miss" ] && t_ok "$tool.1: all sections" || t_notok "$tool.1: missing sections:$miss"
	if "$BINDIR/$tool" -h >"$TMPDIR/usage" 2>"$TMPDIR/usage.err" && [ ! -s "$TMPDIR/usage.err" ]; then
		r=$("$PYTHON" "$TOP/tests/docs/check_usage.py" "$page" "$TMPDIR/usage")
		ok $? "$tool: -h (stdout, exit 0) agrees with the page: $r"
	else
		t_notok "$tool -h: exit status or stderr"
	fi
done
for page in "$TOP"/man/man1/*.1 "$TOP"/man/man7/*.7; do
	bad=""
	for ref in $(grep -E '^\.Xr (brats|r2u|cc-|slice)' "$page" | awk '{print $2 "." $3}' | tr -d ','); do
		n=${ref##*.}
		[ -f "$TOP/man/man$n/$ref" ] || bad="$bad $ref"
	done
	[ -z "$bad" ] && t_ok "$(basename "$page"): its cross-references exist" || t_notok "$(basename "$page"): no page for$bad"
done
out=$(mandoc -Tlint -W warning "$TOP/man/man7/brats-r2u.7" 2>&1)
[ -z "$out" ] && t_ok "brats-r2u.7: mandoc -Tlint clean" || t_notok "brats-r2u.7: $out"
# make install puts tools and pages where man finds them
if make -s -C "$TOP" install PREFIX="$TMPDIR/inst" BINDIR="$BINDIR" BUILDDIR="$BUILDDIR" >"$TMPDIR/inst.log" 2>&1 &&
	[ -x "$TMPDIR/inst/bin/brats-crop" ] && MANPATH="$TMPDIR/inst/share/man" man -w brats-crop >/dev/null 2>&1 &&
	MANPATH="$TMPDIR/inst/share/man" man -w 7 brats-r2u >/dev/null 2>&1; then
	t_ok "make install PREFIX=...: tools in bin/, man brats-crop and man 7 brats-r2u find their pages"
else
	t_notok "make install: $(tail -n 3 "$TMPDIR/inst.log")"
fi
finish
