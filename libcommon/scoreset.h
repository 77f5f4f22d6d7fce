/*
 * scoreset.h - scoring sets of segmentations as the BraTS portal does:
 * matching predictions with their ground truth by case id, scoring each
 * pair (metrics.h, and lesion.h's lesion-wise scores when asked), and the
 * portal's CSV.
 *
 * A set is a folder of predictions PRED_DIR/<case>.nii.gz (.nii, .nrrd)
 * and a folder of case folders GT_DIR/<case>/ holding the segmentation
 * (<case>_seg.nii.gz, or the 2023 name <case>-seg.nii.gz; brats.h).
 */
#ifndef BR_SCORESET_H
#define BR_SCORESET_H

#include <stddef.h>

#include "lesion.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	int labels2023;   /* ET is label 3 (else 4) */
	unsigned regions; /* bit (1u << region) for each region scored */
	int uncrop;       /* put a prediction on another grid back on the ground truth's */
	int lesion_wise;  /* also the BraTS 2023 lesion-wise scores */
} br_score_opts;

typedef struct {
	char *id, *pred, *gt; /* id NULL: from the prediction's metadata or the ground truth's name */
	char *err;            /* why the case is not scored ("path: reason"), NULL when it is */
	br_score s[BR_NREGION];
	br_lesion_score les[BR_NREGION];
	int scored;
} br_score_job;

/* The cases of a set, sorted by id: one job per prediction and per ground
 * truth folder holding a segmentation (without subset: a folder with no
 * prediction is a job with its err set; with subset it is left out).
 * Jobs that cannot be scored (no ground truth, several predictions for one
 * case, an unreadable folder) come with err set.  NULL, with a reason in
 * br_error(), when a folder cannot be read or memory runs out. */
br_score_job *br_score_jobs_find(const char *pred_dir, const char *gt_dir, int subset, size_t *njobs);
void br_score_jobs_free(br_score_job *jobs, size_t n); /* NULL safe */

/* Read and score one pair: j->scored set, or j->err.  j->pred "-" is
 * stdin. */
void br_score_job_run(br_score_job *j, const br_score_opts *o);

/* The CSV of the scored jobs: the header, one row per scored job, then the
 * statistics rows (metrics.h) when more than one is scored.  Columns:
 * Label, then Dice, Sensitivity, Specificity, Hausdorff95 of each region
 * (in the order ET, WT, TC, the regions of o only), then with lesion-wise
 * scores LesionWise_Dice, LesionWise_Hausdorff95, Num_TP, Num_FP, Num_FN
 * the same way.  Scores have five decimals, counts none (but in the
 * statistics rows).  NULL when memory runs out; *len its length. */
char *br_score_csv(const br_score_job *jobs, size_t n, const br_score_opts *o, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* BR_SCORESET_H */
