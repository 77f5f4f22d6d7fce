#!/bin/sh
# Output onto special files and the temporaries of killed runs.
#  - a character device, a FIFO or a Unix socket given as -o is written
#    directly (and stays what it was); a directory or a block device is refused;
#  - "-o -" errors name stdout;
#  - a temporary left by a run killed with -9 is removed by the next run that
#    writes into its folder, once stale; nothing else is.
# The special files are made here, in TMPDIR (never the machine's /dev).
. "$TOP/tests/lib.sh"
H=$TMPDIR/h W=$TMPDIR/w
"$PYTHON" "$TOP/tests/hostile/gen.py" "$H" || { t_notok "generate the inputs"; finish; }
mkdir -p "$W"
: >"$TMPDIR/stdin"

# every writer, once into a regular file (the reference) and once into the
# special file: name, suffix, command with @O@ for the output
cat >"$TMPDIR/writers" <<EOF2
brats-crop|.nrrd|brats-crop -q --size 8x8 -o @O@ $H/good
brats-norm|.nrrd|brats-norm -q -o @O@ $H/good.nrrd
brats-norm-nii|.nii.gz|brats-norm -q -o @O@ $H/good.nrrd
cc-filter|.nrrd|cc-filter -q -o @O@ $H/labels.nrrd
slice-png|.png|slice-png -q -o @O@ $H/good.nrrd
brats-metrics|.csv|brats-metrics -q -o @O@ $H/labels.nrrd $H/labels.nrrd
EOF2
while IFS='|' read -r name suf cmd <&3; do
	ref=$TMPDIR/ref.$name$suf
	sh -c "$(echo "$cmd" | sed "s|@O@|$ref|")" <"$TMPDIR/stdin" || t_notok "$name into a regular file"

	# a character device (1,3: what /dev/null is)
	rm -rf "$W" && mkdir -p "$W" && mknod "$W/null$suf" c 1 3
	sh -c "$(echo "$cmd" | sed "s|@O@|$W/null$suf|")" <"$TMPDIR/stdin" 2>"$TMPDIR/err"
	rc=$?
	if [ $rc -eq 0 ] && [ -c "$W/null$suf" ] && [ "$(ls -A "$W")" = "null$suf" ]; then
		t_ok "$name -o CHARDEV: written, still a character device, nothing beside it"
	else
		t_notok "$name -o CHARDEV: exit $rc, $(ls -lA "$W" | tail -n +2 | cut -c1-10 | tr '\n' ' ') $(head -n 1 "$TMPDIR/err")"
	fi

	# a FIFO: a reader gets exactly what a file gets
	rm -rf "$W" && mkdir -p "$W" && mkfifo "$W/fifo$suf"
	timeout 20 cat "$W/fifo$suf" >"$TMPDIR/got" &
	reader=$!
	timeout 20 sh -c "$(echo "$cmd" | sed "s|@O@|$W/fifo$suf|")" <"$TMPDIR/stdin" 2>"$TMPDIR/err"
	rc=$?
	wait $reader
	if [ $rc -eq 0 ] && [ -p "$W/fifo$suf" ] && cmp -s "$TMPDIR/got" "$ref" && [ "$(ls -A "$W")" = "fifo$suf" ]; then
		t_ok "$name -o FIFO: the reader gets the same bytes as a file, still a FIFO"
	else
		t_notok "$name -o FIFO: exit $rc, $(ls -lA "$W" | tail -n +2 | cut -c1-10 | tr '\n' ' ') $(head -n 1 "$TMPDIR/err")"
	fi
done 3<"$TMPDIR/writers"

# a Unix socket: the listener gets the record
rm -rf "$W" && mkdir -p "$W"
brats-norm -q -o "$TMPDIR/ref.sock.nrrd" "$H/good.nrrd"
timeout 20 "$PYTHON" - "$W/sock" "$TMPDIR/sockgot" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
PY
listener=$!
i=0
while [ ! -S "$W/sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
timeout 20 brats-norm -q -o "$W/sock" "$H/good.nrrd" 2>"$TMPDIR/err"
rc=$?
wait $listener
if [ $rc -eq 0 ] && [ -S "$W/sock" ] && cmp -s "$TMPDIR/sockgot" "$TMPDIR/ref.sock.nrrd"; then
	t_ok "brats-norm -o SOCKET: the listener gets the record, still a socket"
else
	t_notok "brats-norm -o SOCKET: exit $rc, $(head -n 1 "$TMPDIR/err")"
fi

# a directory, a block device (major 240: reserved for local use, no driver): refused, untouched
rm -rf "$W" && mkdir -p "$W/adir" && mknod "$W/blk" b 240 0
fails "brats-norm -o DIRECTORY: refused" 1 "^brats-norm: $W/adir: is a directory$" brats-norm -o "$W/adir" "$H/good.nrrd"
fails "brats-crop -o BLOCKDEV: refused" 1 "^brats-crop: $W/blk: is a block device" brats-crop -q --size 8x8 -o "$W/blk" "$H/good"
if [ -d "$W/adir" ] && [ -z "$(ls -A "$W/adir")" ] && [ -b "$W/blk" ] && [ "$(ls -A "$W" | tr '\n' ' ')" = "adir blk " ]; then
	t_ok "the directory and the block device are untouched, nothing beside them"
else
	t_notok "left: $(ls -lA "$W" | tail -n +2 | tr '\n' ' ')"
fi

# "-o -" errors name stdout (a full device: 1,7)
mknod "$W/full" c 1 7
fails "brats-crop -o - onto a full disk: names stdout" 1 "^brats-crop: stdout: write failed" \
	sh -c "brats-crop -q --size 8x8 -o - '$H/good' >'$W/full'"
fails "slice-png -o - onto a full disk: names stdout" 1 "^slice-png: stdout: write failed" \
	sh -c "slice-png -q -o - '$H/good.nrrd' >'$W/full'"
fails "brats-norm onto a full disk: names stdout" 1 "^brats-norm: stdout: write failed" \
	sh -c "brats-norm -q '$H/good.nrrd' >'$W/full'"

# temporaries of killed runs
O=$TMPDIR/out
rm -rf "$O" && mkdir -p "$O"
mkfifo "$TMPDIR/never"
brats-norm -q -o "$O/k.nrrd" "$TMPDIR/never" 2>/dev/null & # opens its output, then waits for input
victim=$!
i=0
while [ -z "$(ls -A "$O")" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $victim
wait $victim 2>/dev/null
killed=$(ls -A "$O")
case $killed in
.k.nrrd.tmp$victim.??????) t_ok "a killed run leaves its temporary, named with its pid ($killed)" ;;
*) t_notok "a killed run left '$killed'" ;;
esac
dead=$(sh -c 'echo $$')  # a process that has ended
old=$(($(date +%s) - 3600))
for f in "$killed" ".a.nrrd.tmp$dead.AbC123" ".b.nii.gz.tmp$dead.XyZ789.nii.gz" ".live.nrrd.tmp$$.AbC123" \
	".recent.nrrd.tmp$dead.AbC123" ".legacy.nrrd.tmpAbC123" "a.nrrd.tmp$dead.AbC123" ".locked.nrrd.tmp$dead.AbC123" \
	".odd.nrrd.tmp$dead.AbC12"; do
	[ -e "$O/$f" ] || echo data >"$O/$f"
	[ "$f" = ".recent.nrrd.tmp$dead.AbC123" ] || touch -d "@$old" "$O/$f"
done
flock "$O/.locked.nrrd.tmp$dead.AbC123" sleep 30 &
locker=$!
sleep 0.5
brats-norm -q -o "$O/new.nrrd" "$H/good.nrrd"
ok $? "a run writing into that folder"
kill $locker 2>/dev/null
wait $locker 2>/dev/null
left=$(ls -A "$O" | sort | tr '\n' ' ')
want=$(printf '%s\n' ".legacy.nrrd.tmpAbC123" ".live.nrrd.tmp$$.AbC123" ".locked.nrrd.tmp$dead.AbC123" \
	".odd.nrrd.tmp$dead.AbC12" ".recent.nrrd.tmp$dead.AbC123" "a.nrrd.tmp$dead.AbC123" new.nrrd | sort | tr '\n' ' ')
if [ "$left" = "$want" ]; then
	t_ok "it removed the stale temporaries of dead runs, and only those"
else
	t_notok "left '$left', expected '$want'"
fi
# the NIfTI spool of stdin: also named with the pid, also cleaned
S=$TMPDIR/spool
mkdir -p "$S"
echo data >"$S/.brats-r2u-stdin.tmp$dead.AbC123.nii.gz"
touch -d "@$old" "$S/.brats-r2u-stdin.tmp$dead.AbC123.nii.gz"
brats-norm -q -o "$O/n.nrrd" "$H/good/good_t1.nii" && TMPDIR=$S brats-norm -q -o "$O/s.nrrd" <"$H/good/good_t1.nii"
ok $? "NIfTI through stdin (spooled to TMPDIR)"
if [ -z "$(ls -A "$S")" ] && cmp -s "$O/n.nrrd" "$O/s.nrrd"; then t_ok "the stale spool is gone, the new one removed"; else t_notok "spool folder: $(ls -A "$S")"; fi
finish
