#!/bin/sh
# Records through pipes: the tools widen a pipe they write into or read
# from to 1 MiB (a 63 MB case otherwise crosses a 64 KiB pipe in a thousand
# sleeps and wake-ups of each side), on stdout, stdin and a FIFO given as
# -o; what crosses is byte for byte what a file receives.
. "$TOP/tests/lib.sh"
cd "$TMPDIR" || exit 1
"$PYTHON" - <<'PY' || t_notok "making the input"
import numpy as np, nibabel as nib
x = (np.random.default_rng(3).normal(300, 80, (64, 64, 40))).astype(np.float32)
nib.save(nib.Nifti1Image(x, np.eye(4)), "in.nii")
PY
max=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)
# F_GETPIPE_SZ (1032) of the reader's stdin, once the writer is done
cat >size.py <<'PY'
import fcntl, sys
data = sys.stdin.buffer.read()
print(fcntl.fcntl(0, 1032), len(data))
sys.stdout.flush()
PY
brats-flip -q -o ref.nrrd in.nii || t_notok "brats-flip into a file"
if [ "$max" -lt 1048576 ]; then
	t_ok "pipe widening # SKIP this kernel allows pipes of $max bytes only"
else
	# the writer widens (stdout)
	set -- $(brats-flip -q in.nii | "$PYTHON" size.py)
	check "a writer's stdout pipe is widened to 1 MiB" test "${1:-0}" = 1048576 -a "${2:-0}" = "$(wc -c <ref.nrrd)"
	# the reader widens (stdin): a writer that sleeps first, so that the
	# tool has opened its input before the writer looks
	"$PYTHON" -c '
import fcntl, sys, time
time.sleep(1.0)
print(fcntl.fcntl(1, 1032), file=sys.stderr)
sys.stdout.buffer.write(open("ref.nrrd", "rb").read())' 2>rsize | brats-flip -q -o back.nrrd
	check "a reader's stdin pipe is widened to 1 MiB" test "$(cat rsize)" = 1048576
	# -o FIFO: written directly, widened
	mkfifo f.nrrd
	"$PYTHON" size.py <f.nrrd >fsize &
	brats-flip -q -o f.nrrd in.nii
	wait
	set -- $(cat fsize)
	check "-o FIFO is widened to 1 MiB" test "${1:-0}" = 1048576 -a "${2:-0}" = "$(wc -c <ref.nrrd)"
fi
# the bytes: through a pipe as into a file, and back
brats-flip -q in.nii | cmp -s - ref.nrrd
check "stdout through a pipe = the file" test $? = 0
brats-flip -q in.nii | brats-flip -q | brats-flip -q | cmp -s - ref.nrrd
check "three tools through two pipes = the file" test $? = 0
finish
