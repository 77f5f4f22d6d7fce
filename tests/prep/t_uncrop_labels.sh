#!/bin/sh
# BraTS 2021-2024 labels (1 NCR, 2 ED, 3 ET): brats-crop --seg reads them as
# 0/1/2/4, brats-uncrop --labels 2023 writes 0/1/2/3 on the original grid, so
# crop then uncrop gives the case's own label file back; what is refused.
. "$TOP/tests/lib.sh"
D=$TMPDIR/data O=$TMPDIR/out
mkdir -p "$O"
brats-phantom -q -n 1 --size small --seed 3 --tumours 2 --layout brats2023 -o "$D" ||
	{ t_notok "phantom"; finish; }
C=$D/BraTS-GLI-00001-000
check "crop --seg of a 2023 case" brats-crop -q --seg -o "$O/seg.nrrd" "$C"
check "uncrop --labels 2023" brats-uncrop -q --labels 2023 -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/l23.nii.gz" "$O/seg.nrrd"
check "uncrop --labels 2020" brats-uncrop -q --labels 2020 -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/l20.nii.gz" "$O/seg.nrrd"
check "uncrop, no --labels" brats-uncrop -q -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/l.nii.gz" "$O/seg.nrrd"
"$PYTHON" - "$C/BraTS-GLI-00001-000-seg.nii.gz" "$O" <<'PY'
import os, sys
import nibabel as nib, numpy as np
sys.path.insert(0, os.environ["TOP"] + "/tests/pylib")
import brtest
t = brtest.Tap()
gt_img = nib.load(sys.argv[1])
gt = np.asarray(gt_img.dataobj)
o = sys.argv[2]
seg = brtest.read_nrrd(o + "/seg.nrrd").data
t.ok(set(np.unique(seg)) == {0, 1, 2, 4} and set(np.unique(gt)) == {0, 1, 2, 3},
     "the ground truth holds 0,1,2,3; the cropped map 0,1,2,4", "%s %s" % (np.unique(gt), np.unique(seg)))
t.ok((seg == 4).sum() == (gt == 3).sum() and (seg == 1).sum() == (gt == 1).sum(),
     "crop --seg: every ET voxel (3) became 4, the others kept")
for name, want in (("l23", gt), ("l20", np.where(gt == 3, 4, gt)), ("l", np.where(gt == 3, 4, gt))):
    im = nib.load("%s/%s.nii.gz" % (o, name))
    a = np.asarray(im.dataobj)
    t.ok(im.get_data_dtype() == np.uint8 and a.shape == gt.shape and np.allclose(im.affine, gt_img.affine)
         and np.array_equal(a, want), "%s: uint8 on the original grid, equal to the %s labels" %
         (name, "2023" if name == "l23" else "2020"), str(np.unique(a)))
t.close()
PY
ok $? "labels and geometry"
# the 2023 map is what the portal's 2023 scoring reads
brats-metrics -q --labels 2023 -o "$O/m.csv" "$O/l23.nii.gz" "$C/BraTS-GLI-00001-000-seg.nii.gz" &&
	awk -F, 'NR == 2 { exit !($2 == "1.00000" && $3 == "1.00000" && $4 == "1.00000") }' "$O/m.csv"
ok $? "brats-metrics --labels 2023: Dice 1 against the case's own labels"
# refused: a map already in 2023 labels, probabilities, a bad word
fails "--labels 2023 on a map with label 3" 1 "^brats-uncrop: .*l23.nii.gz: record 1: label 3 at voxel .* not one of 0,1,2,4$" \
	brats-uncrop --labels 2023 -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/bad.nii.gz" "$O/l23.nii.gz"
absent "$O/bad.nii.gz" "no output after a refusal"
brats-crop -q "$C" | brats-norm -q -o "$O/img.nrrd"
fails "--labels 2023 on an image" 1 "^brats-uncrop: .*img.nrrd: record 1: --labels 2023 applies to label maps, this record is float with 4 channels$" \
	brats-uncrop --labels 2023 -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/bad.nii.gz" "$O/img.nrrd"
fails "--labels 2021" 2 "^brats-uncrop: --labels: '2021' is not" \
	brats-uncrop --labels 2021 -r "$C/BraTS-GLI-00001-000-t2f.nii.gz" -o "$O/bad.nii.gz" "$O/seg.nrrd"
finish
