/*
 * brats.h - BraTS naming: finding a case's files and its id.
 *
 * BraTS 2018-2021: <case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz
 * BraTS 2023:      <case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz
 * (.nii as well; a segmentation file named otherwise but with "seg" in its
 * name, like BraTS20_Training_355's W39_1998.09.19_Segm.nii, is found too).
 */
#ifndef BR_BRATS_H
#define BR_BRATS_H

#include <stddef.h>

enum br_modality { BR_T1 = 0, BR_T1CE, BR_T2, BR_FLAIR, BR_SEG, BR_NMOD };

typedef struct {
	char *path[BR_NMOD]; /* NULL when absent */
	char id[256];        /* the case id (the folder's name) */
	int layout2023;      /* 1 when the 2023 names were found */
} br_case;

extern const char *const br_modality_name[BR_NMOD]; /* t1 t1ce t2 flair seg */

/* Find the files of the case in dir.  need: bit mask (1 << BR_T1 | ...) of
 * what must be present; -1 with a reason naming what is missing or
 * duplicated. */
int br_case_find(const char *dir, br_case *c, unsigned need);
void br_case_free(br_case *c);

/* The case id of a file name: the base name without its directory, without
 * .nii.gz/.nii/.nrrd and without a modality suffix (_t1, -seg, _pred ...). */
void br_case_id_from_path(const char *path, char *id, size_t n);

#endif /* BR_BRATS_H */
