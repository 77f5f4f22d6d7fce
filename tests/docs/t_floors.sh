#!/bin/sh
# The floors (doc/HACKING.md): libcommon under the kernel library under the
# model under the tools, tests and benchmarks.  No object of a floor uses a
# symbol defined on a floor above it, no source reaches into another floor
# by a relative path, and with the include path the Makefile gives the top
# floor, a backend's internal header cannot be included at all.
. "$TOP/tests/lib.sh"
for a in libcommon libkernels libmodel; do
	[ -f "$BUILDDIR/$a.a" ] || { t_notok "$BUILDDIR/$a.a not built"; finish; }
	nm -g "$BUILDDIR/$a.a" >"$TMPDIR/$a.nm" 2>/dev/null || { t_notok "nm $a.a"; finish; }
done
"$PYTHON" - "$TMPDIR" <<'PY'
import sys
d = sys.argv[1]
floors = ["libcommon", "libkernels", "libmodel"]
defs, uses = {}, {}
for f in floors:
    uses[f] = set()
    for line in open("%s/%s.nm" % (d, f)):
        p = line.split()
        if len(p) == 2 and p[0] == "U":
            uses[f].add(p[1])
        elif len(p) == 3 and p[1] in "TDBRCVW":
            defs[p[2]] = f
bad = 0
for i, f in enumerate(floors):
    up = sorted(s for s in uses[f] if defs.get(s) in floors[i + 1:])
    for s in up[:10]:
        print("# %s uses %s, defined in %s above it" % (f, s, defs[s]))
    bad |= bool(up)
sys.exit(bad)
PY
ok $? "libcommon uses nothing of the kernels or the model; the kernels nothing of the model"

# no #include "../...": a floor's headers are reached through its include path only
hits=$(cd "$TOP" && grep -rn --include='*.[ch]' --include='*.cu' --include='*.cuh' '#include "\.\./' libcommon kernels tools tests bench 2>/dev/null | head -n 5)
if [ -z "$hits" ]; then t_ok "no source includes another floor's file by a relative path"; else
	t_notok "relative includes:"; echo "$hits" | sed 's/^/#   /'; fi

CC=${CC:-cc}
top=$(make -s --no-print-directory -C "$TOP" print-INC_TOP)
common=$(make -s --no-print-directory -C "$TOP" print-INC_COMMON)
case $top in *kernels/include*) t_ok "the Makefile gives the top floor the public kernel header ($top)" ;;
*) t_notok "unexpected top-floor include path: $top" ;; esac
cd "$TOP" || exit 1
for h in backend.h cpu/cpu.h cuda/common.cuh brats_labels.h; do
	printf '#include "%s"\nint main(void) { return 0; }\n' "$h" >"$TMPDIR/inc.c"
	if $CC -fsyntax-only $top "$TMPDIR/inc.c" 2>/dev/null; then
		t_notok "a tool, test or benchmark can include the kernels' internal $h"
	else
		t_ok "a tool, test or benchmark cannot include the kernels' internal $h"
	fi
done
for h in kernels.h r2u.h; do
	printf '#include "%s"\nint main(void) { return 0; }\n' "$h" >"$TMPDIR/inc.c"
	if $CC -fsyntax-only $common "$TMPDIR/inc.c" 2>/dev/null; then
		t_notok "libcommon can include $h from a floor above it"
	else
		t_ok "libcommon cannot include $h from a floor above it"
	fi
done
printf '#include "kernels.h"\n#include "r2u.h"\n#include "volume.h"\nint main(void) { return 0; }\n' >"$TMPDIR/inc.c"
$CC -std=c11 -fsyntax-only $top "$TMPDIR/inc.c" 2>"$TMPDIR/inc.err"
ok $? "the public headers of the three floors compile together with the top floor's path"
finish
