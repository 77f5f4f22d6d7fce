# pipelines/demo.mk - the first thing to run: synthetic BraTS cases,
# preprocessing, a small network trained on the CPU (or a GPU), segmentation
# of held-out cases, post-processing, the BraTS portal's scores, pictures.
#
#   make demo                      (from the top of the tree)
#   make -f pipelines/demo.mk BIN=bin OUT=demo [NTRAIN=10 NTEST=4 WIDTH=16 EPOCHS=...]
#
# Everything lands in $(OUT): data/ (phantoms), prep/, model.safetensors,
# train.tsv, pred/ (label maps on the original grid), scores.csv, pictures/.

BIN      ?= bin
OUT      ?= demo
NTRAIN   ?= 10
NTEST    ?= 4
SEED     ?= 2020
WIDTH    ?= 16
EPOCHS   ?= 6
BATCH    ?= 16
LR       ?= 2e-3
KEEP_EMPTY ?= 0.15
DEVICE   ?=
THREADS  ?=
SHELL    := /bin/sh

B := $(abspath $(BIN))
DEV := $(if $(DEVICE),-d $(DEVICE),)
THR := $(if $(THREADS),-j $(THREADS),)
NCASES := $(shell echo $$(( $(NTRAIN) + $(NTEST) )))
IDS := $(shell i=1; while [ $$i -le $(NCASES) ]; do printf 'BraTS20_Training_%03d ' $$i; i=$$((i+1)); done)
TRAIN_IDS := $(wordlist 1,$(NTRAIN),$(IDS))
TEST_IDS := $(wordlist $(shell echo $$(( $(NTRAIN) + 1 ))),$(NCASES),$(IDS))

.PHONY: all clean
.DELETE_ON_ERROR:

all: $(OUT)/scores.csv $(OUT)/pictures/.done
	@echo
	@echo "demo: held-out cases, BraTS portal metrics ($(OUT)/scores.csv):"
	@cut -d, -f1-4 $(OUT)/scores.csv | column -t -s,
	@echo "demo: pictures in $(OUT)/pictures/, training log in $(OUT)/train.tsv"

$(OUT)/data/.done:
	@mkdir -p $(OUT)/data
	$(B)/brats-phantom -q $(THR) -n $(NCASES) --seed $(SEED) -o $(OUT)/data
	@touch $@

# one rule per case: image and labels, cropped and normalised
$(OUT)/prep/%.nrrd: $(OUT)/data/.done
	@mkdir -p $(OUT)/prep
	$(B)/brats-crop -q $(OUT)/data/$* | $(B)/brats-norm -q -o $@
$(OUT)/prep/%.seg.nrrd: $(OUT)/data/.done
	@mkdir -p $(OUT)/prep
	$(B)/brats-crop -q --seg -o $@ $(OUT)/data/$*

$(OUT)/train.txt: $(foreach c,$(TRAIN_IDS),$(OUT)/prep/$(c).nrrd $(OUT)/prep/$(c).seg.nrrd)
	@for c in $(TRAIN_IDS); do echo "$(OUT)/prep/$$c.nrrd $(OUT)/prep/$$c.seg.nrrd"; done > $@
$(OUT)/test.txt: $(foreach c,$(TEST_IDS),$(OUT)/prep/$(c).nrrd $(OUT)/prep/$(c).seg.nrrd)
	@for c in $(TEST_IDS); do echo "$(OUT)/prep/$$c.nrrd $(OUT)/prep/$$c.seg.nrrd"; done > $@

$(OUT)/model.safetensors: $(OUT)/train.txt $(OUT)/test.txt
	$(B)/r2u-train $(DEV) $(THR) -v --width $(WIDTH) --epochs $(EPOCHS) --batch $(BATCH) --lr $(LR) \
		--keep-empty $(KEEP_EMPTY) --seed $(SEED) --val $(OUT)/test.txt --log $(OUT)/train.tsv \
		-l $(OUT)/train.txt -o $@

# segmentation, post-filter, and back on the original grid
$(OUT)/pred/%.nrrd: $(OUT)/prep/%.nrrd $(OUT)/model.safetensors
	@mkdir -p $(OUT)/pred
	$(B)/r2u-infer -q $(DEV) $(THR) -m $(OUT)/model.safetensors $< | $(B)/cc-filter -o $@
$(OUT)/restored/%.nii.gz: $(OUT)/pred/%.nrrd
	@mkdir -p $(OUT)/restored
	$(B)/brats-uncrop -r $(OUT)/data/$*/$*_flair.nii.gz -o $@ $<

$(OUT)/scores.csv: $(foreach c,$(TEST_IDS),$(OUT)/restored/$(c).nii.gz)
	$(B)/brats-metrics -p $(OUT)/restored -g $(OUT)/data --subset -o $@

$(OUT)/pictures/.done: $(foreach c,$(TEST_IDS),$(OUT)/pred/$(c).nrrd $(OUT)/prep/$(c).seg.nrrd)
	@mkdir -p $(OUT)/pictures
	for c in $(TEST_IDS); do \
		$(B)/slice-png -q --overlay $(OUT)/prep/$$c.seg.nrrd --compare $(OUT)/pred/$$c.nrrd \
			-o $(OUT)/pictures/$$c.png $(OUT)/prep/$$c.nrrd || exit 1; \
	done
	@touch $@

clean:
	rm -rf $(OUT)
