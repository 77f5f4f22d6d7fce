# pipelines/brats2020.mk - R2U-MTDS on the BraTS data, from the raw NIfTI
# folders to trained models, cross-validated scores, figures and a portal
# submission.  The BraTS 2020 folders (BraTS20_Training_NNN/..._flair.nii.gz,
# labels 0/1/2/4) and the BraTS 2021-2024 ones (BraTS-GLI-NNNNN-NNN/...-t2f.nii.gz,
# labels 0/1/2/3) are both read.
#
#   make -f pipelines/brats2020.mk TRAIN=path/to/MICCAI_BraTS2020_TrainingData \
#        [VALID=path/to/MICCAI_BraTS2020_ValidationData] [WORK=work] [DEVICE=cuda|cpu] \
#        [DEVICES="cuda:0 cuda:1"] [EPOCHS=50] [BATCH=32] [WIDTH=32] [FOLD=0/5|all] [SEED=1] \
#        [AUGMENT=0] [MODELS=...] [TTA=0|1] [LABELS=2020|2023] [TRAIN_ARGS=...] [BIN=bin] -j8 all
#
# Targets: prep augment train predict postprocess restore evaluate figures
# cv submission all clean.  Every case is its own rule, so -j runs cases in
# parallel and an interrupted run resumes where it stopped; training resumes
# from its last checkpoint.  The folds are chosen from the case ids alone (an
# MD5 of the id, pipelines/fold.sh), so the same data give the same split.
#
# FOLD=k/K trains on the cases outside fold k and scores fold k; FOLD=all
# trains on every case (nothing is held out, so evaluate is skipped).  cv
# trains the K folds (K of FOLD, 5 with FOLD=all), each its own rule: with -j
# and DEVICES they train side by side, fold k on word k mod n+1 of DEVICES.
# submission segments the VALID cases with MODELS (default: with FOLD=k/K,
# the K fold models as an ensemble once cv ran; else the model of FOLD), TTA=1
# adds the flipped inputs.  Maps are written in the data's label convention (2023
# names: 0/1/2/3) unless LABELS says otherwise.
#
# WORK/prep/             one cropped, normalised record (and label map) per case
# WORK/fold<k>of<K>/     the model trained without fold k: train.txt heldout.txt
#                        train/ (checkpoint, log.tsv) model.safetensors pred/ post/
#                        restored/ (original geometry) scores.csv figures/
# WORK/all/              FOLD=all: train.txt train/ model.safetensors figures/
# WORK/cv/               oof/ (every training case, segmented by the fold model
#                        that did not see it) and scores.csv (the portal's CSV)
# WORK/valid/            the validation cases' predictions
# WORK/submission/       one CASE.nii.gz per validation case; and submission.tar.gz

TRAIN   ?=
VALID   ?=
WORK    ?= work
DEVICE  ?=
DEVICES ?=
EPOCHS  ?= 50
BATCH   ?= 32
WIDTH   ?= 32
LR      ?= 1e-4
SEED    ?= 1
FOLD    ?= 0/5
AUGMENT ?= 0
MODELS  ?=
TTA     ?= 0
LABELS  ?=
TRAIN_ARGS ?=
LAUNCH  ?= # e.g. "mpirun -np 4" or "srun": r2u-train over ranks, BATCH per rank
THREADS ?=
BIN     ?= bin
SHELL   := /bin/sh

ifeq ($(strip $(TRAIN)),)
$(error TRAIN is not set: make -f pipelines/brats2020.mk TRAIN=path/to/MICCAI_BraTS2020_TrainingData)
endif
B   := $(abspath $(BIN))
THR := $(if $(THREADS),-j $(THREADS),)
TOPDIR := $(patsubst %/pipelines/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
P   := $(WORK)/prep

# case folders with 2020 names (CASE/CASE_flair.nii.gz) or 2023 names
# (CASE/CASE-t2f.nii.gz); extra files and folders are ignored
cases_with = $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(1)/*/*$(2).nii.gz $(1)/*/*$(2).nii)))))
C2020 := $(call cases_with,$(TRAIN),_flair)
C2023 := $(call cases_with,$(TRAIN),-t2f)
CASES := $(sort $(C2020) $(C2023))
ifeq ($(CASES),)
$(error no cases under TRAIN=$(TRAIN) (expected CASE/CASE_flair.nii.gz or CASE/CASE-t2f.nii.gz))
endif
ifneq ($(and $(C2020),$(C2023)),)
$(error TRAIN=$(TRAIN) mixes BraTS 2020 names ($(firstword $(C2020))) and 2023 names ($(firstword $(C2023))))
endif
VCASES := $(if $(VALID),$(sort $(call cases_with,$(VALID),_flair) $(call cases_with,$(VALID),-t2f)))
ifneq ($(VALID),)
ifeq ($(VCASES),)
$(error no cases under VALID=$(VALID) (expected CASE/CASE_flair.nii.gz or CASE/CASE-t2f.nii.gz))
endif
endif
# the label convention of the ground truth, and of the maps written
GTL := $(if $(C2023),2023,2020)
ifneq ($(filter-out 2020 2023,$(LABELS)),)
$(error LABELS=$(LABELS): 2020 (ET is 4) or 2023 (ET is 3))
endif
SUBL := $(or $(LABELS),$(if $(VALID),$(if $(call cases_with,$(VALID),-t2f),2023,2020),$(GTL)))

# one file per modality of a case, whatever its extension (.nii or .nii.gz)
src = $(wildcard $(1)/$(2)/*.nii $(1)/$(2)/*.nii.gz)
flair = $(firstword $(wildcard $(foreach s,_flair -t2f,$(1)/$(2)/$(2)$(s).nii.gz $(1)/$(2)/$(2)$(s).nii)))

# ---- the folds ----
ifeq ($(FOLD),all)
NK  := 5
else
K   := $(word 1,$(subst /, ,$(FOLD)))
NK  := $(word 2,$(subst /, ,$(FOLD)))
ifneq ($(shell expr '$(FOLD)' : '[0-9][0-9]*/[0-9][0-9]*$$' >/dev/null && [ $(K) -lt $(NK) ] && echo ok),ok)
$(error FOLD=$(FOLD): expected k/K with 0 <= k < K, or all)
endif
ifeq ($(NK),1)
$(error FOLD=$(FOLD) holds out every case and leaves none to train on: FOLD=all trains on every case)
endif
endif
FOLDS  := $(shell seq 0 $$(( $(NK) - 1 )))
ASSIGN := $(shell sh $(TOPDIR)/pipelines/fold.sh - $(NK) $(CASES))
foldcases = $(patsubst %:$(1),%,$(filter %:$(1),$(ASSIGN)))
fold_dir = $(WORK)/fold$(1)of$(NK)
# the device of fold k: word k mod n + 1 of DEVICES, else DEVICE
fold_dev = $(if $(DEVICES),$(word $(shell echo $$(( $(1) % $(words $(DEVICES)) + 1 ))),$(DEVICES)),$(DEVICE))
devopt = $(if $(1),-d $(1))

ifeq ($(FOLD),all)
RUN  := $(WORK)/all
HELD :=
else
RUN  := $(call fold_dir,$(K))
HELD := $(call foldcases,$(K))
ifeq ($(HELD),)
$(error fold $(FOLD) holds none of the $(words $(CASES)) cases: choose another FOLD)
endif
ifeq ($(filter-out $(HELD),$(CASES)),)
$(error fold $(FOLD) holds all of the $(words $(CASES)) cases: choose another FOLD)
endif
endif
ifneq ($(filter cv,$(MAKECMDGOALS)),)
$(foreach k,$(FOLDS),$(if $(call foldcases,$(k)),,$(error cv: fold $(k) of $(NK) holds none of the $(words $(CASES)) cases: choose another K)))
endif

# ---- the models of the submission ----
FOLDMODELS := $(foreach k,$(FOLDS),$(call fold_dir,$(k))/model.safetensors)
ifneq ($(strip $(MODELS)),)
SUBMODELS := $(MODELS)
$(foreach m,$(MODELS),$(if $(wildcard $(m)),,$(error MODELS: $(m): no such file)))
else ifneq ($(FOLD),all)
SUBMODELS := $(if $(or $(filter cv,$(MAKECMDGOALS)),$(filter $(words $(FOLDMODELS)),$(words $(wildcard $(FOLDMODELS))))),$(FOLDMODELS),$(RUN)/model.safetensors)
else
SUBMODELS := $(RUN)/model.safetensors
endif
ifneq ($(filter-out 0 1,$(TTA)),)
$(error TTA=$(TTA): 0 or 1)
endif
# the submission's settings, in the name of a stamp file: a change remakes it
SUBSET := $(abspath $(SUBMODELS)) tta=$(TTA) labels=$(SUBL)
STAMP  := $(WORK)/valid/.settings-$(shell printf '%s' '$(SUBSET)' | md5sum | cut -c1-12)

.PHONY: all prep augment train predict postprocess restore evaluate figures cv submission clean
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
$(P)/%.seg.flip.nrrd: $(P)/%.seg.nrrd
	$(B)/brats-flip -q -o $@ $<
augment: $(foreach c,$(CASES),$(P)/$(c).flip.nrrd $(P)/$(c).seg.flip.nrrd)

# ---- one trained model: MODEL_RULES(dir, training cases, held-out cases, device) ----
# The run writes its checkpoint beside the model and resumes from it; the
# held-out cases are segmented, filtered (cc-filter), put back on their
# original grid (in the ground truth's label convention) and scored.
pairs = $(foreach c,$(1),"$(P)/$(c).nrrd $(P)/$(c).seg.nrrd" $(if $(filter 1,$(AUGMENT)),"$(P)/$(c).flip.nrrd $(P)/$(c).seg.flip.nrrd"))
define MODEL_RULES
$(1)/train.txt: $(foreach c,$(2),$(P)/$(c).nrrd $(P)/$(c).seg.nrrd $(if $(filter 1,$(AUGMENT)),$(P)/$(c).flip.nrrd $(P)/$(c).seg.flip.nrrd))
	@mkdir -p $(1)
	@printf '%s\n' $(call pairs,$(2)) >$$@
$(1)/model.safetensors: $(1)/train.txt $(if $(3),$(1)/heldout.txt)
	@mkdir -p $(1)/train
	$(LAUNCH) $(B)/r2u-train $(call devopt,$(4)) $(THR) --epochs $(EPOCHS) --batch $(BATCH) --width $(WIDTH) --lr $(LR) --seed $(SEED) \
		$(if $(filter 1,$(AUGMENT)),--no-flip) $(if $(3),--val $(1)/heldout.txt) --log $(1)/train/log.tsv \
		$$$$(test -f $(1)/train/checkpoint.safetensors && echo --resume $(1)/train/checkpoint.safetensors) \
		$(TRAIN_ARGS) -l $(1)/train.txt -o $(1)/train/checkpoint.safetensors
	cp $(1)/train/checkpoint.safetensors $$@.tmp && mv $$@.tmp $$@
ifneq ($(3),)
$(1)/heldout.txt: $(foreach c,$(3),$(P)/$(c).nrrd $(P)/$(c).seg.nrrd)
	@mkdir -p $(1)
	@printf '%s\n' $(foreach c,$(3),"$(P)/$(c).nrrd $(P)/$(c).seg.nrrd") >$$@
$(1)/pred/%.nrrd: $(P)/%.nrrd $(1)/model.safetensors
	@mkdir -p $(1)/pred
	$(B)/r2u-infer -q $(call devopt,$(4)) $(THR) -m $(1)/model.safetensors -o $$@ $$<
$(1)/post/%.nrrd: $(1)/pred/%.nrrd
	@mkdir -p $(1)/post
	$(B)/cc-filter -q -o $$@ $$<
$(1)/restored/%.nii.gz: $(1)/post/%.nrrd
	@mkdir -p $(1)/restored
	$(B)/brats-uncrop -q --labels $(GTL) -r $$(call flair,$(TRAIN),$$*) -o $$@ $$<
$(1)/scores.csv: $(foreach c,$(3),$(1)/restored/$(c).nii.gz)
	$(B)/brats-metrics -q --subset --labels $(GTL) -p $(1)/restored -g $(TRAIN) -o $$@
$(1)/figures/.done: $(1)/scores.csv $(1)/model.safetensors
	sh $(TOPDIR)/pipelines/figures.sh $(B) $(P) $(1)/post $(1)/scores.csv $(1)/train/log.tsv $(1)/figures
	@touch $$@
else
$(1)/figures/.done: $(1)/model.safetensors
	sh $(TOPDIR)/pipelines/figures.sh $(B) $(P) - - $(1)/train/log.tsv $(1)/figures
	@touch $$@
endif
endef
$(foreach k,$(FOLDS),$(eval $(call MODEL_RULES,$(call fold_dir,$(k)),$(filter-out $(call foldcases,$(k)),$(CASES)),$(call foldcases,$(k)),$(call fold_dev,$(k)))))
$(eval $(call MODEL_RULES,$(WORK)/all,$(CASES),,$(call fold_dev,0)))

# ---- the model of FOLD: train, predict, postprocess, restore, evaluate, figures ----
train: $(RUN)/model.safetensors
predict: $(foreach c,$(HELD),$(RUN)/pred/$(c).nrrd) $(foreach c,$(VCASES),$(WORK)/valid/pred/$(c).nrrd)
postprocess: $(foreach c,$(HELD),$(RUN)/post/$(c).nrrd) $(foreach c,$(VCASES),$(WORK)/valid/post/$(c).nrrd)
restore: $(foreach c,$(HELD),$(RUN)/restored/$(c).nii.gz)
figures: $(RUN)/figures/.done
ifeq ($(FOLD),all)
evaluate:
	@echo "brats2020.mk: evaluate skipped: FOLD=all holds out no case (cv scores every case out of fold)"
else
evaluate: $(RUN)/scores.csv
endif

# ---- cv: the K folds, every training case scored by the model that did not see it ----
define OOF
$(WORK)/cv/oof/$(1).nii.gz: $(call fold_dir,$(2))/restored/$(1).nii.gz
	@mkdir -p $(WORK)/cv/oof
	cp $$< $$@.tmp && mv $$@.tmp $$@
endef
$(foreach k,$(FOLDS),$(foreach c,$(call foldcases,$(k)),$(eval $(call OOF,$(c),$(k)))))
$(WORK)/cv/scores.csv: $(foreach c,$(CASES),$(WORK)/cv/oof/$(c).nii.gz)
	$(B)/brats-metrics -q --labels $(GTL) -p $(WORK)/cv/oof -g $(TRAIN) -o $@
cv: $(WORK)/cv/scores.csv $(foreach k,$(FOLDS),$(call fold_dir,$(k))/figures/.done)
	@awk -F, -v f=$< '$$1 == "Mean" { m = "mean Dice ET " $$2 " WT " $$3 " TC " $$4 } \
		NR > 1 && $$1 !~ /^(Mean|StdDev|Median|25quantile|75quantile)$$/ { n++ } \
		END { print "brats2020.mk: cv: " n " cases scored out of fold, " m " (" f ")" }' $<

# ---- submission: one label map per validation case, original geometry ----
$(STAMP):
	@mkdir -p $(@D)
	@rm -f $(@D)/.settings-*
	@echo '$(SUBSET)' >$@
$(WORK)/valid/pred/%.nrrd: $(P)/%.nrrd $(SUBMODELS) $(STAMP)
	@mkdir -p $(@D)
	$(B)/r2u-infer -q $(call devopt,$(call fold_dev,0)) $(THR) $(addprefix -m ,$(SUBMODELS)) \
		$(if $(filter 1,$(TTA)),--tta) -o $@ $<
$(WORK)/valid/post/%.nrrd: $(WORK)/valid/pred/%.nrrd
	@mkdir -p $(@D)
	$(B)/cc-filter -q -o $@ $<
$(WORK)/submission/%.nii.gz: $(WORK)/valid/post/%.nrrd
	@mkdir -p $(@D)
	$(B)/brats-uncrop -q --labels $(SUBL) -r $(call flair,$(VALID),$*) -o $@ $<
# the portal's upload: the label maps at the top of one archive
$(WORK)/submission.tar.gz: $(foreach c,$(VCASES),$(WORK)/submission/$(c).nii.gz)
	rm -f $(WORK)/submission.tmp.tar $(WORK)/submission.tmp.tar.gz
	tar -C $(WORK)/submission --sort=name --owner=0 --group=0 --numeric-owner -cf $(WORK)/submission.tmp.tar \
		$(addsuffix .nii.gz,$(VCASES))
	gzip -n $(WORK)/submission.tmp.tar && mv $(WORK)/submission.tmp.tar.gz $@
	@echo "brats2020.mk: $@: $(words $(VCASES)) label maps ($(SUBL) labels) by $(words $(SUBMODELS)) model(s)$(if $(filter 1,$(TTA)), with TTA)"
ifeq ($(VALID),)
submission:
	@echo "brats2020.mk: submission needs VALID=path/to/the validation folder" >&2; exit 1
else
submission: $(WORK)/submission.tar.gz
endif

clean:
	rm -rf $(WORK)
