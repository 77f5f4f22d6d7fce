# pipelines/brats2020.mk - R2U-MTDS on the BraTS 2020 data, from the raw
# NIfTI folders to a trained model, scores, figures and a portal submission.
#
#   make -f pipelines/brats2020.mk TRAIN=path/to/MICCAI_BraTS2020_TrainingData \
#        [VALID=path/to/MICCAI_BraTS2020_ValidationData] [WORK=work] [DEVICE=cuda|cpu] \
#        [EPOCHS=50] [BATCH=32] [WIDTH=32] [FOLD=0/5] [SEED=1] [AUGMENT=0] [TRAIN_ARGS=...] [BIN=bin] -j8 all
#
# Targets: prep augment train predict postprocess restore evaluate figures
# submission all clean.  Every case is its own rule, so -j runs cases in
# parallel and an interrupted run resumes where it stopped; training resumes
# from its last checkpoint.  The held-out fold is chosen from the case ids
# alone (an MD5 of the id, pipelines/fold.sh), so the same data give the same
# split.

TRAIN   ?=
VALID   ?=
WORK    ?= work
DEVICE  ?=
EPOCHS  ?= 50
BATCH   ?= 32
WIDTH   ?= 32
LR      ?= 1e-4
SEED    ?= 1
FOLD    ?= 0/5
AUGMENT ?= 0
TRAIN_ARGS ?=
LAUNCH  ?= # e.g. "mpirun -np 4" or "srun": r2u-train over ranks, BATCH per rank
THREADS ?=
BIN     ?= bin
SHELL   := /bin/sh

ifeq ($(strip $(TRAIN)),)
$(error TRAIN is not set: make -f pipelines/brats2020.mk TRAIN=path/to/MICCAI_BraTS2020_TrainingData)
endif
B   := $(abspath $(BIN))
DEV := $(if $(DEVICE),-d $(DEVICE),)
THR := $(if $(THREADS),-j $(THREADS),)
K   := $(word 1,$(subst /, ,$(FOLD)))
NK  := $(word 2,$(subst /, ,$(FOLD)))
TOPDIR := $(patsubst %/pipelines/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
P   := $(WORK)/prep

# case folders: BraTS20_Training_NNN (extra files and folders are ignored)
CASES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(TRAIN)/*/*_flair.nii.gz $(TRAIN)/*/*_flair.nii)))))
VCASES := $(if $(VALID),$(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(VALID)/*/*_flair.nii.gz $(VALID)/*/*_flair.nii))))))
ifeq ($(CASES),)
$(error no cases under TRAIN=$(TRAIN) (expected CASE/CASE_flair.nii.gz))
endif
HELD  := $(shell sh $(TOPDIR)/pipelines/fold.sh $(K) $(NK) $(CASES))
FIT   := $(filter-out $(HELD),$(CASES))
ifeq ($(HELD),)
$(error fold $(FOLD) holds none of the $(words $(CASES)) cases: choose another FOLD)
endif
AUGFILES := $(if $(filter 1,$(AUGMENT)),$(foreach c,$(FIT),$(P)/$(c).flip.nrrd $(P)/$(c).seg.flip.nrrd))

# one file per modality of a case, whatever its extension (.nii or .nii.gz)
src = $(wildcard $(1)/$(2)/*.nii $(1)/$(2)/*.nii.gz)
flair = $(firstword $(wildcard $(1)/$(2)/$(2)_flair.nii.gz $(1)/$(2)/$(2)_flair.nii))

.PHONY: all prep augment train predict postprocess restore evaluate figures submission clean
.DELETE_ON_ERROR:
.SECONDARY:

all: evaluate figures $(if $(VALID),submission)

# ---- prep: crop + normalise + labels, one rule per case ----
define PREP
$(P)/$(1).nrrd: $(call src,$(2),$(1))
	@mkdir -p $(P)
	$(B)/brats-crop -q $(2)/$(1) | $(B)/brats-norm -q -o $$@
$(P)/$(1).seg.nrrd: $(call src,$(2),$(1))
	@mkdir -p $(P)
	$(B)/brats-crop -q --seg -o $$@ $(2)/$(1)
endef
$(foreach c,$(CASES),$(eval $(call PREP,$(c),$(TRAIN))))
$(foreach c,$(VCASES),$(eval $(call PREP,$(c),$(VALID))))
prep: $(foreach c,$(CASES),$(P)/$(c).nrrd $(P)/$(c).seg.nrrd) $(foreach c,$(VCASES),$(P)/$(c).nrrd)

# ---- augment: flipped copies (on-the-fly flips in r2u-train are the default) ----
$(P)/%.flip.nrrd: $(P)/%.nrrd
	$(B)/brats-flip -q -o $@ $<
augment: $(foreach c,$(FIT),$(P)/$(c).flip.nrrd $(P)/$(c).seg.flip.nrrd)

$(P)/%.seg.flip.nrrd: $(P)/%.seg.nrrd
	$(B)/brats-flip -q -o $@ $<

# ---- train: on the cases outside the held-out fold ----
$(WORK)/train.txt: $(foreach c,$(FIT),$(P)/$(c).nrrd $(P)/$(c).seg.nrrd) $(AUGFILES)
	@for c in $(FIT); do echo "$(P)/$$c.nrrd $(P)/$$c.seg.nrrd"; \
		if [ "$(AUGMENT)" = 1 ]; then echo "$(P)/$$c.flip.nrrd $(P)/$$c.seg.flip.nrrd"; fi; done > $@
$(WORK)/heldout.txt: $(foreach c,$(HELD),$(P)/$(c).nrrd $(P)/$(c).seg.nrrd)
	@for c in $(HELD); do echo "$(P)/$$c.nrrd $(P)/$$c.seg.nrrd"; done > $@
# the run writes its checkpoint beside the model and resumes from it
$(WORK)/model.safetensors: $(WORK)/train.txt $(WORK)/heldout.txt
	@mkdir -p $(WORK)/train
	$(LAUNCH) $(B)/r2u-train $(DEV) $(THR) --epochs $(EPOCHS) --batch $(BATCH) --width $(WIDTH) --lr $(LR) --seed $(SEED) \
		$(if $(filter 1,$(AUGMENT)),--no-flip) --val $(WORK)/heldout.txt --log $(WORK)/train/log.tsv \
		$$(test -f $(WORK)/train/checkpoint.safetensors && echo --resume $(WORK)/train/checkpoint.safetensors) \
		$(TRAIN_ARGS) -l $(WORK)/train.txt -o $(WORK)/train/checkpoint.safetensors
	cp $(WORK)/train/checkpoint.safetensors $@.tmp && mv $@.tmp $@
train: $(WORK)/model.safetensors

# ---- predict, postprocess (cc-filter), restore (original grid) ----
$(WORK)/pred/%.nrrd: $(P)/%.nrrd $(WORK)/model.safetensors
	@mkdir -p $(WORK)/pred
	$(B)/r2u-infer -q $(DEV) $(THR) -m $(WORK)/model.safetensors -o $@ $<
$(WORK)/post/%.nrrd: $(WORK)/pred/%.nrrd
	@mkdir -p $(WORK)/post
	$(B)/cc-filter -q -o $@ $<
define RESTORE
$(WORK)/$(3)/$(1).nii.gz: $(WORK)/post/$(1).nrrd
	@mkdir -p $(WORK)/$(3)
	$(B)/brats-uncrop -q -r $(call flair,$(2),$(1)) -o $$@ $$<
endef
$(foreach c,$(HELD),$(eval $(call RESTORE,$(c),$(TRAIN),restored)))
$(foreach c,$(VCASES),$(eval $(call RESTORE,$(c),$(VALID),submission)))
predict: $(foreach c,$(HELD) $(VCASES),$(WORK)/pred/$(c).nrrd)
postprocess: $(foreach c,$(HELD) $(VCASES),$(WORK)/post/$(c).nrrd)
restore: $(foreach c,$(HELD),$(WORK)/restored/$(c).nii.gz)

# ---- evaluate: the portal's CSV for the held-out cases ----
$(WORK)/scores.csv: $(foreach c,$(HELD),$(WORK)/restored/$(c).nii.gz)
	$(B)/brats-metrics -q --subset -p $(WORK)/restored -g $(TRAIN) -o $@
evaluate: $(WORK)/scores.csv

# ---- figures: best, median and worst held-out cases; training curves ----
$(WORK)/figures/.done: $(WORK)/scores.csv $(WORK)/model.safetensors
	@mkdir -p $(WORK)/figures
	@set -e; grep -v -E '^(Label|Mean|StdDev|Median|25quantile|75quantile),' $< | sort -t, -k3,3g > $(WORK)/figures/ranked.csv; \
	n=$$(wc -l < $(WORK)/figures/ranked.csv); \
	for r in worst:1 median:$$(( (n + 1) / 2 )) best:$$n; do \
		c=$$(sed -n "$${r#*:}p" $(WORK)/figures/ranked.csv | cut -d, -f1); [ -n "$$c" ] || continue; \
		$(B)/slice-png -q --overlay $(P)/$$c.seg.nrrd --compare $(WORK)/post/$$c.nrrd \
			-o $(WORK)/figures/$${r%%:*}-$$c.png $(P)/$$c.nrrd; \
	done
	sh $(TOPDIR)/pipelines/plot-training.sh $(WORK)/train/log.tsv $(WORK)/figures
	@touch $@
figures: $(WORK)/figures/.done

# ---- submission: one label map per validation case, original geometry ----
submission: $(foreach c,$(VCASES),$(WORK)/submission/$(c).nii.gz)

clean:
	rm -rf $(WORK)
