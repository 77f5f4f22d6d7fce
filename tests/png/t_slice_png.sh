#!/bin/sh
# slice-png: pictures of synthetic volumes checked pixel by pixel against
# what the volumes say they must show - size and aspect, orientation on LPS
# and RAS grids, grey levels and the default window, label colours, contours,
# --compare panels, montages, channels (check_slice_png.py, which decodes the
# PNG files with its own decoder, pngdec.py).  Bad input: t_slice_png_cli.sh.
. "$TOP/tests/lib.sh"
D=$TMPDIR/d
if ! "$PYTHON" "$TOP/tests/png/check_slice_png.py" gen "$D"; then
	t_notok "generate the test volumes"
	finish
fi
"$PYTHON" "$TOP/tests/png/check_slice_png.py" run "$D"
