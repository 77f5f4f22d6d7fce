/*
 * phantom.h - synthetic BraTS cases in memory: four int16 MRI contrasts and
 * a label map on the BraTS grid (240 x 240 x 155 at 1 mm), a pure function
 * of a seed and a case number.
 *
 * The anatomy comes from a brain template: a T1-weighted skull-stripped
 * brain (the Colin27 ch2bet.nii.gz of Debian's mricron-data) split into
 * partial-volume fractions of CSF, grey and white matter, or a procedural
 * brain.  Every case maps it into the grid with its own affine and smooth
 * displacement, adds gliomas (necrotic core, enhancing rim, edema following
 * the white matter, optional mass effect), and renders each contrast from
 * the tissue fractions with a bias field and Rician noise.
 *
 * Determinism: one xoshiro256** stream per case (rng.h), seeded from (seed,
 * case number), draws every parameter; voxel noise comes from a counter-based
 * hash of (case, voxel), so the number of threads never changes a byte.
 *
 * Library code: nothing is printed; failures return NULL or -1 with a reason
 * in br_error().
 */
#ifndef BR_PHANTOM_H
#define BR_PHANTOM_H

#include <stdint.h>

#include "volume.h"

/* The BraTS grid. */
#define BR_PHANTOM_NX 240
#define BR_PHANTOM_NY 240
#define BR_PHANTOM_NZ 155
#define BR_PHANTOM_MAX_TUMOURS 3

/* The four contrasts, in BraTS 2020 order (2023: t1n t1c t2w t2f). */
enum { BR_PHANTOM_T1, BR_PHANTOM_T1CE, BR_PHANTOM_T2, BR_PHANTOM_FLAIR, BR_PHANTOM_NMOD };

/* Tumour kinds: which parts a tumour has. */
enum br_phantom_kind {
	BR_PHANTOM_FULL,      /* necrotic core, enhancing rim, edema */
	BR_PHANTOM_SOLID,     /* enhancing, no necrosis */
	BR_PHANTOM_NONENH,    /* non-enhancing core, labelled 1 */
	BR_PHANTOM_NOEDEMA,   /* core without edema */
	BR_PHANTOM_EDEMA      /* edema only */
};

/* ---- the brain template: read once, used read-only by every case ---- */

typedef struct br_phantom_template br_phantom_template;

/* The default template file. */
#define BR_PHANTOM_DEFAULT_TEMPLATE "/usr/share/mricron/templates/ch2bet.nii.gz"

/* Tissue fractions from a T1-weighted skull-stripped brain volume at path;
 * NULL with a reason when it cannot be read or is not such a brain. */
br_phantom_template *br_phantom_template_read(const char *path);
/* The procedural brain (cerebrum, cerebellum, brainstem, folded cortex,
 * ventricles, deep grey nuclei), the same every time; NULL when out of
 * memory. */
br_phantom_template *br_phantom_template_procedural(void);
void br_phantom_template_free(br_phantom_template *t); /* NULL safe */
/* 1 for the procedural brain */
int br_phantom_template_is_procedural(const br_phantom_template *t);
/* grid size of the template */
void br_phantom_template_size(const br_phantom_template *t, int dim[3]);
/* The template's four channels (CSF, GM, WM, vessels; 0-255) as one 4-D
 * uint8 record with an identity affine, to look at; NULL when out of memory. */
br_vol *br_phantom_template_channels(const br_phantom_template *t);

/* ---- a case ---- */

typedef struct {
	uint64_t seed;        /* default 1; a case depends only on seed and number */
	long number;          /* case number (default 1) */
	int tumours_min;      /* between tumours_min and tumours_max tumours, */
	int tumours_max;      /*   0 <= min <= max <= BR_PHANTOM_MAX_TUMOURS (default 1-3) */
	int z0, nz;           /* the slices z0 .. z0+nz-1 of the grid (default 0, 155); the
	                       * voxels are those of the full case, the affine keeps their
	                       * world positions */
	int et_label;         /* label of enhancing tumour: 4 (BraTS 2020, default) or 3 (2023) */
	const char *name;     /* case id stored in each record's metadata, or NULL (default) */
} br_phantom_params;

void br_phantom_params_default(br_phantom_params *p);

typedef struct {
	int kind;             /* enum br_phantom_kind */
	double centre[3];     /* centre of the whole tumour, voxels of the full grid */
	double radius[3];     /* mean radii of whole tumour, tumour core, necrosis, mm */
	double mass;          /* radius of the mass effect, mm; 0 for none */
} br_phantom_tumour;

typedef struct {
	/* t1, t1ce, t2, flair: int16 (240, 240, nz), values 1..32767 inside the
	 * brain, 0 outside; seg: uint8 (240, 240, nz), labels 0, 1 (necrotic or
	 * non-enhancing core), 2 (edema), et_label (enhancing tumour).  Affine:
	 * BraTS' LPS-flipped 1 mm grid (world = (-i, 239 - j, z0 + k)); metadata:
	 * NIfTI qform and sform codes 1, the case id when given, the content
	 * ("image" or "labels"). */
	br_vol *img[BR_PHANTOM_NMOD];
	br_vol *seg;
	int ntumours;
	br_phantom_tumour tumour[BR_PHANTOM_MAX_TUMOURS];
} br_phantom_case;

/* Make one case.  NULL with a reason for bad parameters, when out of memory,
 * or when no place for tumours_min tumours is found in this brain. */
br_phantom_case *br_phantom_case_make(const br_phantom_template *t, const br_phantom_params *p);
void br_phantom_case_free(br_phantom_case *c); /* NULL safe */

#endif /* BR_PHANTOM_H */
