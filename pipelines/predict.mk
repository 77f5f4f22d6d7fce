# pipelines/predict.mk - segment new cases with trained models: every case
# folder of IN to a label map on its original grid, with its original header.
#
#   make -f pipelines/predict.mk IN=folder MODEL="a.safetensors [b.safetensors ...]" OUT=dir \
#        [TTA=0|1] [PROB=0|1] [LABELS=2020|2023] [DEVICE=cuda|cpu] [THREADS=N] [BIN=bin] -j8
#
# A case folder holds the four modalities with BraTS 2020 names
# (CASE/CASE_{t1,t1ce,t2,flair}.nii.gz) or BraTS 2021-2024 names
# (CASE/CASE-{t1n,t1c,t2w,t2f}.nii.gz); .nii works too, other files are ignored.
# Each case is cropped, normalised (brats-crop | brats-norm), segmented by the
# models (several: their average; TTA=1: with the flipped input as well),
# filtered (cc-filter) and put back on its grid (brats-uncrop) as OUT/CASE.nii.gz:
# uint8 0/1/2/4 for 2020 names, 0/1/2/3 for 2023 names, or as LABELS says.
# PROB=1 also writes OUT/prob/CASE.nii.gz, the four probabilities (float32;
# whole tumour, necrosis, edema, enhancing tumour) on the same grid.
# One rule per case: -j segments cases side by side, a rerun makes only what
# is missing, or what older than its models; changing MODEL, TTA or LABELS
# remakes every case.  One line per case is printed.

IN      ?=
MODEL   ?=
OUT     ?=
TTA     ?= 0
PROB    ?= 0
LABELS  ?=
DEVICE  ?=
THREADS ?=
BIN     ?= bin
SHELL   := /bin/sh

ifeq ($(strip $(IN)),)
$(error IN is not set: make -f pipelines/predict.mk IN=folder MODEL=model.safetensors OUT=dir)
endif
ifeq ($(strip $(MODEL)),)
$(error MODEL is not set: make -f pipelines/predict.mk IN=folder MODEL=model.safetensors OUT=dir)
endif
ifeq ($(strip $(OUT)),)
$(error OUT is not set: make -f pipelines/predict.mk IN=folder MODEL=model.safetensors OUT=dir)
endif
$(foreach m,$(MODEL),$(if $(wildcard $(m)),,$(error MODEL: $(m): no such file)))
ifneq ($(filter-out 0 1,$(TTA)),)
$(error TTA=$(TTA): 0 or 1)
endif
ifneq ($(filter-out 0 1,$(PROB)),)
$(error PROB=$(PROB): 0 or 1)
endif
ifneq ($(filter-out 2020 2023,$(LABELS)),)
$(error LABELS=$(LABELS): 2020 (ET is 4) or 2023 (ET is 3))
endif

B   := $(abspath $(BIN))
DEV := $(if $(DEVICE),-d $(DEVICE),)
THR := $(if $(THREADS),-j $(THREADS),)
W   := $(OUT)/.work

cases_with = $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(IN)/*/*$(1).nii.gz $(IN)/*/*$(1).nii)))))
C2023 := $(call cases_with,-t2f)
CASES := $(sort $(call cases_with,_flair) $(C2023))
ifeq ($(CASES),)
$(error no cases under IN=$(IN) (expected CASE/CASE_flair.nii.gz or CASE/CASE-t2f.nii.gz))
endif
src = $(wildcard $(IN)/$(1)/*.nii $(IN)/$(1)/*.nii.gz)
flair = $(firstword $(wildcard $(foreach s,_flair -t2f,$(IN)/$(1)/$(1)$(s).nii.gz $(IN)/$(1)/$(1)$(s).nii)))
labels = $(or $(LABELS),$(if $(filter $(1),$(C2023)),2023,2020))

# the settings, in the name of a stamp file: a change remakes every case
SETTINGS := $(abspath $(MODEL)) tta=$(TTA) labels=$(LABELS)
STAMP := $(W)/settings-$(shell printf '%s' '$(SETTINGS)' | md5sum | cut -c1-12)
INFER = $(B)/r2u-infer -q $(DEV) $(THR) $(addprefix -m ,$(MODEL)) $(if $(filter 1,$(TTA)),--tta)

.PHONY: all
.DELETE_ON_ERROR:

all: $(foreach c,$(CASES),$(OUT)/$(c).nii.gz $(if $(filter 1,$(PROB)),$(OUT)/prob/$(c).nii.gz))

$(STAMP):
	@mkdir -p $(@D)
	@rm -f $(@D)/settings-*
	@echo '$(SETTINGS)' >$@

# one case, label map and probabilities each by its own rule; the files of the
# steps lie in OUT/.work until the output is written
prepare = $(B)/brats-crop -q -o $(2).crop.nrrd $(IN)/$(1) && $(B)/brats-norm -q -o $(2).nrrd $(2).crop.nrrd
define CASE
$(OUT)/$(1).nii.gz: $(call src,$(1)) $(MODEL) $(STAMP)
	@t=$(W)/$(1).labels; $(call prepare,$(1),$$$$t) && $(INFER) -o $$$$t.pred.nrrd $$$$t.nrrd && \
		$(B)/cc-filter -q -o $$$$t.post.nrrd $$$$t.pred.nrrd && \
		$(B)/brats-uncrop -q --labels $(call labels,$(1)) -r $(call flair,$(1)) -o $$@ $$$$t.post.nrrd; \
		s=$$$$?; rm -f $$$$t.*; exit $$$$s
	@echo "predict.mk: $(1): $$@ ($(call labels,$(1)) labels)"
$(OUT)/prob/$(1).nii.gz: $(call src,$(1)) $(MODEL) $(STAMP)
	@mkdir -p $(OUT)/prob
	@t=$(W)/$(1).prob; $(call prepare,$(1),$$$$t) && $(INFER) --prob -o $$$$t.pred.nrrd $$$$t.nrrd && \
		$(B)/brats-uncrop -q -r $(call flair,$(1)) -o $$@ $$$$t.pred.nrrd; \
		s=$$$$?; rm -f $$$$t.*; exit $$$$s
	@echo "predict.mk: $(1): $$@ (probabilities)"
endef
$(foreach c,$(CASES),$(eval $(call CASE,$(c))))
