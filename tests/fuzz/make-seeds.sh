#!/bin/sh
# tests/fuzz/make-seeds.sh - seeds for the fuzz targets, made by the tools:
# a small phantom case (brats-phantom), cropped to tiny records (brats-crop)
# as NRRD (raw; gzip, big-endian and ascii by Teem's unu when installed),
# NIfTI-1 (.nii, .nii.gz), a stream of records, a checkpoint of width 8
# (r2u-train, with its training state) and smaller safetensors files cut from
# it, 'IMAGE LABEL' lists, and command lines for every tool.  Each seed of
# fuzz_nrrd and fuzz_nifti starts with the byte that chooses how the target
# reads it.
# usage: make-seeds.sh OUTDIR   (the tools are taken from $BINDIR, default bin)
set -eu
out=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${BINDIR:-$top/bin}
PYTHON=${PYTHON:-/usr/bin/python3}
w=$out/work
rm -rf "$out"
mkdir -p "$w" "$out/nrrd" "$out/nifti" "$out/safetensors" "$out/list" "$out/options"

# prefix FILE BYTE OUT: OUT = the byte (octal) then FILE
prefix() { { printf "\\$2"; cat "$1"; } >"$3"; }

"$B/brats-phantom" -q -j 1 --size small --tumours 1 -n 1 -o "$w/ph"
case=$(ls -d "$w"/ph/*/ | head -n 1)
"$B/brats-crop" -q --size 8x8 "$case" >"$w/img.nrrd"
"$B/brats-crop" -q --seg --size 8x8 "$case" >"$w/seg.nrrd"
"$B/brats-crop" -q --size 8x8 -o "$w/img.nii" "$case"
"$B/brats-crop" -q --seg --size 8x8 -o "$w/seg.nii" "$case"
"$B/brats-crop" -q --seg --size 8x8 -o "$w/seg.nii.gz" "$case"
cat "$w/seg.nrrd" "$w/seg.nrrd" >"$w/two.nrrd"
for f in img seg two; do
	prefix "$w/$f.nrrd" 000 "$out/nrrd/$f-file"
	prefix "$w/$f.nrrd" 001 "$out/nrrd/$f-stdin"
done
prefix "$w/seg.nrrd" 002 "$out/nrrd/seg-reader"
UNU=$(command -v teem-unu || command -v unu || true)
if [ -n "$UNU" ]; then
	"$UNU" save -f nrrd -e gzip -i "$w/seg.nrrd" -o "$w/gz.nrrd"
	"$UNU" save -f nrrd -en big -i "$w/seg.nrrd" -o "$w/be.nrrd"
	"$UNU" save -f nrrd -e ascii -i "$w/seg.nrrd" -o "$w/ascii.nrrd"
	for f in gz be ascii; do
		prefix "$w/$f.nrrd" 000 "$out/nrrd/$f-file"
		prefix "$w/$f.nrrd" 001 "$out/nrrd/$f-stdin"
	done
fi
prefix "$w/img.nii" 000 "$out/nifti/img-nii"
prefix "$w/seg.nii" 000 "$out/nifti/seg-nii"
prefix "$w/seg.nii" 001 "$out/nifti/seg-niigz"
prefix "$w/seg.nii" 002 "$out/nifti/seg-stdin"
prefix "$w/seg.nii" 003 "$out/nifti/seg-stdin-gz"
prefix "$w/seg.nii.gz" 004 "$out/nifti/seg-gz-raw"

# a checkpoint of width 8 with its training state, and small files cut from it
"$B/brats-crop" -q --size 16x16 "$case" >"$w/c16.nrrd"
"$B/brats-crop" -q --seg --size 16x16 "$case" >"$w/c16.seg.nrrd"
"$B/r2u-train" -q -j 1 --width 8 --batch 4 --epochs 1 --steps 1 -o "$out/safetensors/r2u-w8.st" "$w/c16.nrrd" "$w/c16.seg.nrrd"
"$PYTHON" - "$out/safetensors/r2u-w8.st" "$out/safetensors" <<'PY'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
(n,) = struct.unpack("<Q", b[:8])
h = json.loads(b[8:8 + n])
data = b[8 + n:]
meta = h.pop("__metadata__")
names = [k for k in h if not k.startswith("optim.")]
def write(path, keep, meta):
    hdr, blobs, off = {}, [], 0
    if meta is not None:
        hdr["__metadata__"] = meta
    for k in keep:
        a, e = h[k]["data_offsets"]
        hdr[k] = dict(h[k], data_offsets=[off, off + e - a])
        blobs.append(data[a:e]); off += e - a
    j = json.dumps(hdr, separators=(",", ":")).encode()
    j += b" " * ((8 - len(j) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(j)) + j + b"".join(blobs))
small = [k for k in names if h[k]["data_offsets"][1] - h[k]["data_offsets"][0] <= 64][:6]
write(dst + "/small.st", small, meta)
write(dst + "/nometa.st", small[:2], None)
write(dst + "/bn.st", [k for k in names if ".bn1." in k][:4], {"arch": "r2u-mtds", "base": "8"})
PY

printf 'a.nrrd a.seg.nrrd\n# a comment\n\nb.nrrd\tb.seg.nrrd\r\n' >"$out/list/pairs"
printf '  c.nrrd   c.seg.nrrd  \nd.nrrd d.seg.nrrd' >"$out/list/blanks"
printf 'only-one\n' >"$out/list/bad"

# command lines: the tool, then one argument per line
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s' "$line" | tr '|' '\n' >"$out/options/cmd$n"
done <<'CMDS'
brats-crop|-q|--size|48x40|CASE
brats-crop|--seg|--center|brain|--labels|2023|-o|x.nii.gz|T1|T1CE|T2|FLAIR|SEG
brats-uncrop|-r|ref.nii.gz|-o|out.nii.gz|in.nrrd
brats-norm|-q|-o|out.nrrd|in.nrrd
brats-flip|--axis|x|in.nrrd
brats-phantom|-n|2|--seed|7|--layout|brats2023|--size|small|--tumours|1-2|--first|3|-o|DIR
cc-filter|--connectivity|18|--min-size|10|in.nrrd
brats-metrics|-p|PRED|-g|GT|-o|out.csv
brats-metrics|pred.nii.gz|gt.nii.gz
slice-png|--montage|4x3|--window|0,100|--overlay|seg.nrrd|-o|x.png|in.nrrd
slice-png|-z|40|-m|flair|--contour|--compare|pred.nrrd|in.nrrd
r2u-train|-q|--width|8|--batch|8|--epochs|1|--steps|3|--lr|1e-3|--lambda|0.5|-o|m.st|a.nrrd|a.seg.nrrd
r2u-train|-o|m.st|-l|list.txt|--val|val.txt|--resume|m.st|--precision|bf16|--keep-empty|0.5
r2u-infer|-m|m.st|-m|m16.st|--tta|--prob|--batch|4|-d|cpu|-j|2|in.nrrd
r2u-infer|-m|m.st|--wt-only|--precision|tf32|-o|out.nrrd
brats-crop|-h
CMDS
rm -rf "$w"
