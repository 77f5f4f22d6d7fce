#!/bin/sh
# The floors of libcommon: its objects depend on each other one way (no
# cycle), only the tools' side (cli.o, cli_filter.o, progress.o) prints to stderr or
# exits, nothing below depends on it, and a program that uses only the NRRD
# writer, the text writer and the records links without nifti_clib or libpng.
. "$TOP/tests/lib.sh"
LIB=$BUILDDIR/libcommon.a
[ -f "$LIB" ] || { t_notok "$LIB not built"; finish; }
nm -g "$LIB" >"$TMPDIR/nm.txt" 2>/dev/null || { t_notok "nm $LIB"; finish; }
"$PYTHON" - "$TMPDIR/nm.txt" >"$TMPDIR/layers.out" <<'PY'
import sys
defs, uses, obj = {}, {}, None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.endswith(".o:"):
        obj = line[:-1]
        uses[obj] = set()
        continue
    f = line.split()
    if obj is None or len(f) < 2:
        continue
    if f[0] == "U":
        uses[obj].add(f[1])
    elif len(f) == 3 and f[1] in "TDBRCVW":
        defs[f[2]] = obj
deps = {o: sorted({defs[s] for s in u if s in defs and defs[s] != o}) for o, u in uses.items()}
top = {"cli.o", "cli_filter.o", "progress.o"}
fail = 0
# a cycle: depth-first search
state = {}
def visit(o, path):
    global fail
    if state.get(o) == 1:
        print("cycle: " + " -> ".join(path[path.index(o):] + [o]))
        fail = 1
        return
    if state.get(o) == 2:
        return
    state[o] = 1
    for d in deps[o]:
        visit(d, path + [o])
    state[o] = 2
for o in sorted(deps):
    visit(o, [])
for o in sorted(deps):
    if o in top:
        continue
    up = [d for d in deps[o] if d in top]
    if up:
        print("%s depends on the tools' side: %s" % (o, " ".join(up)))
        fail = 1
    bad = sorted(uses[o] & {"exit", "_exit", "abort", "stderr", "printf", "vprintf", "puts", "perror", "putchar"})
    if bad:
        print("%s prints or exits: %s" % (o, " ".join(bad)))
        fail = 1
for o in sorted(deps):
    print("# %s -> %s" % (o, " ".join(deps[o]) or "-"))
sys.exit(fail)
PY
rc=$?
grep -v '^#' "$TMPDIR/layers.out" | sed 's/^/# /'
ok $rc "libcommon objects depend on each other one way, and only cli prints or exits"

cat >"$TMPDIR/w.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "atomic_file.h"
#include "volume.h"
int main(int argc, char **argv)
{
	br_vol *v = br_vol_new(BR_F32, 2, 3, 4, 1);
	FILE *f = fopen(argv[1], "wb");
	int rc = v == NULL || f == NULL || br_nrrd_write(f, v) < 0 || fclose(f) != 0 ||
		 br_text_write(argv[2], "x\n", 2) < 0;
	br_vol_free(v);
	(void)argc;
	return rc;
}
C
CC=${CC:-cc}
SAN=
grep -q __asan_init "$LIB" 2>/dev/null && SAN="-fsanitize=address,undefined" # the SANITIZE=1 build
if $CC -std=c11 $SAN -I"$TOP/libcommon" -o "$TMPDIR/w" "$TMPDIR/w.c" "$LIB" -lz -lm -lpthread 2>"$TMPDIR/link.err"; then
	t_ok "a program using the NRRD and text writers links without nifti_clib and libpng"
	"$TMPDIR/w" "$TMPDIR/w.nrrd" "$TMPDIR/w.txt" && head -c 8 "$TMPDIR/w.nrrd" | grep -q NRRD0004 && [ "$(cat "$TMPDIR/w.txt")" = x ]
	ok $? "and it writes both files"
else
	t_notok "a program using the NRRD and text writers links without nifti_clib and libpng"
	grep -o "undefined reference to [^ ]*" "$TMPDIR/link.err" | sort -u | head -n 5 | sed 's/^/#   /'
fi
finish
