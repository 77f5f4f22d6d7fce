#!/usr/bin/python3
"""check_csv.py CSV DIAG: the documented conventions, checked on the values
brats-metrics wrote for the cases of gen.py metrics (not only against the
reference): empty regions, an all-foreground grid, the statistics rows.
DIAG: the length of the test grid's diagonal in mm."""
import csv
import sys

import numpy as np

HEADER = ("Label,Dice_ET,Dice_WT,Dice_TC,Sensitivity_ET,Sensitivity_WT,Sensitivity_TC,"
          "Specificity_ET,Specificity_WT,Specificity_TC,Hausdorff95_ET,Hausdorff95_WT,Hausdorff95_TC")
STATS = ["Mean", "StdDev", "Median", "25quantile", "75quantile"]


def main():
    text = open(sys.argv[1]).read()
    diag = float(sys.argv[2])
    lines = text.splitlines()
    assert lines[0] == HEADER, "header: " + lines[0]
    for ln in lines[1:]:
        for v in ln.split(",")[1:]:
            assert len(v.split(".")[1]) == 5, "not five decimals: " + ln
    rows = list(csv.DictReader(lines))
    byid = {r["Label"]: {k: float(v) for k, v in r.items() if k != "Label"} for r in rows}
    R = ("ET", "WT", "TC")

    def expect(case, col, want, tol=1e-5):
        got = byid[case][col]
        assert abs(got - want) <= tol, "%s %s = %s, expected %s" % (case, col, got, want)

    for r in R:
        expect("c01_both_empty", "Dice_" + r, 1)
        expect("c01_both_empty", "Hausdorff95_" + r, 0)
        expect("c01_both_empty", "Sensitivity_" + r, 1)
        expect("c01_both_empty", "Specificity_" + r, 1)
        expect("c02_pred_empty", "Dice_" + r, 0)
        expect("c02_pred_empty", "Hausdorff95_" + r, diag)
        expect("c02_pred_empty", "Sensitivity_" + r, 0)
        expect("c02_pred_empty", "Specificity_" + r, 1)
        expect("c03_gt_empty", "Dice_" + r, 0)
        expect("c03_gt_empty", "Hausdorff95_" + r, diag)
        expect("c03_gt_empty", "Sensitivity_" + r, 1)  # nothing to miss
        assert byid["c03_gt_empty"]["Specificity_" + r] < 1
        expect("c09_all_foreground_both", "Dice_" + r, 1)
        expect("c09_all_foreground_both", "Specificity_" + r, 1)  # no negative voxel
        expect("c09_all_foreground_both", "Hausdorff95_" + r, 0)
    expect("c04_et_gt_empty", "Dice_ET", 0)
    expect("c04_et_gt_empty", "Sensitivity_ET", 1)
    expect("c04_et_gt_empty", "Hausdorff95_ET", diag)
    expect("c05_et_pred_empty", "Sensitivity_ET", 0)
    expect("c05_et_pred_empty", "Hausdorff95_ET", diag)
    expect("c06_et_both_empty", "Dice_ET", 1)
    expect("c06_et_both_empty", "Hausdorff95_ET", 0)
    expect("c07_tc_gt_empty", "Dice_TC", 0)
    expect("c07_tc_gt_empty", "Sensitivity_TC", 1)
    expect("c07_tc_gt_empty", "Dice_WT", 1)
    # the ground truth covers the grid: no negative voxel, specificity 1
    expect("c08_all_foreground", "Specificity_WT", 1)
    assert byid["c08_all_foreground"]["Sensitivity_WT"] < 1
    # a corner voxel against one voxel at (5,7,3), spacing 1 x 1.2 x 2.5
    for r in R:
        expect("c10_single_voxels", "Hausdorff95_" + r, np.sqrt(5 ** 2 + (7 * 1.2) ** 2 + (3 * 2.5) ** 2))
    # the statistics rows, in the portal's order, over the case rows
    labels = [r["Label"] for r in rows]
    assert labels[-5:] == STATS, labels[-5:]
    cases = [byid[c] for c in labels[:-5]]
    for col in HEADER.split(",")[1:]:
        x = np.array([c[col] for c in cases])
        for name, want in zip(STATS, (x.mean(), x.std(), np.median(x), np.percentile(x, 25),
                                      np.percentile(x, 75))):
            expect(name, col, want, 2e-5)
    pop, samp = np.std([c["Dice_WT"] for c in cases]), np.std([c["Dice_WT"] for c in cases], ddof=1)
    assert abs(byid["StdDev"]["Dice_WT"] - pop) < abs(byid["StdDev"]["Dice_WT"] - samp), "StdDev is not population"
    print("conventions hold over %d cases" % len(cases))


if __name__ == "__main__":
    main()
