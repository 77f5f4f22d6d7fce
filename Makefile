# brats-r2u - one GNU Makefile for the tools, the kernel library and the tests.
#
#   make                 build every tool into bin/ (CUDA backend where nvcc and cuDNN are found)
#   make check           build, install missing dependencies, run every test
#   make demo            the first thing to run: phantoms -> train -> infer -> score -> pictures
#   make bench           CPU benchmarks against the reference implementations
#   make bench-gpu       GPU benchmarks (needs a GPU)
#   make install PREFIX=/usr/local
#
#   make fuzz            run each fuzz target of tests/fuzz for FUZZ_SECONDS (clang)
#
# Variables: STATIC=1 links nifti_clib, zlib, libpng, OpenBLAS and the CUDA
# runtime statically; CUDA=0 builds without the CUDA backend; MPI=0 without
# MPI (and NCCL); MPICC (default mpicc); CUDA_HOME;
# CUDA_ARCHS (default 80 90); ARCH (C code generation, default x86-64-v2);
# BUILDDIR, BINDIR.  SANITIZE=1 builds everything, CPU only, with
# AddressSanitizer and UndefinedBehaviorSanitizer (halting on the first
# report) into build-san/ and bin-san/; `make check` runs a part of the tests
# again on that build.

PREFIX    ?= /usr/local
ifeq ($(FUZZ_LIBFUZZER),1)
# `make fuzz` builds the libFuzzer programs here (clang, CPU only)
BUILDDIR  ?= build-fuzz
BINDIR    ?= build-fuzz/bin
CC        := clang
override CUDA := 0
override MPI := 0
override STATIC :=
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-pass-failed
OPT       ?= -O1
else ifeq ($(SANITIZE),1)
BUILDDIR  ?= build-san
BINDIR    ?= bin-san
override CUDA := 0
override MPI := 0
override STATIC :=
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT       ?= -O1
else
BUILDDIR  ?= build
BINDIR    ?= bin
endif
CC        ?= gcc
ARCH      ?= -march=x86-64-v2 -mtune=generic
OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS  += -I/usr/include/nifti -D_FILE_OFFSET_BITS=64
# The floors, each with its own include path (doc/HACKING.md): libcommon sees
# only itself; the kernel library its public header, its internals and
# libcommon; the model (kernels/model) the public kernel header and
# libcommon; tools, tests and benchmarks the public headers of all three,
# never a backend's internal header.
INC_COMMON  := -Ilibcommon
INC_KERNELS := -Ikernels/include
INC_MODEL   := -Ikernels/model
INC_TOP     := $(INC_COMMON) $(INC_KERNELS) $(INC_MODEL)
floor_inc = $(if $(filter libcommon/%,$1),$(INC_COMMON),$(if $(filter kernels/model/%,$1),$(INC_TOP),$(if $(filter kernels/%,$1),$(INC_COMMON) $(INC_KERNELS) -Ikernels $(CPPFLAGS_CUDA),$(INC_TOP))))
ALL_CFLAGS = -std=c11 $(ARCH) $(WARN) -fopenmp $(CFLAGS) $(SAN_FLAGS)

TOOLS = brats-crop brats-uncrop brats-norm brats-flip brats-phantom cc-filter brats-metrics \
        slice-png r2u-train r2u-infer
# tools that link the kernel library (and CUDA, when built)
NET_TOOLS = r2u-train r2u-infer

# ---- dependencies ------------------------------------------------------------
ifeq ($(STATIC),1)
  LIBS_IO = -Wl,-Bstatic -lniftiio -lznz -lpng16 -ldeflate -lz -Wl,-Bdynamic -lm
  LIBS_BLAS = /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a -Wl,-Bstatic -lgfortran -lquadmath -Wl,-Bdynamic
  LDFLAGS_EXTRA = -static-libgcc -Wl,-Bstatic -lgomp -Wl,-Bdynamic -lpthread -ldl
else
  LIBS_IO = -lniftiio -lznz -lpng16 -ldeflate -lz -lm
  LIBS_BLAS = -lopenblas
  LDFLAGS_EXTRA = $(if $(filter 1,$(FUZZ_LIBFUZZER)),,-lgomp) -lpthread $(SAN_FLAGS)
endif

# ---- CUDA detection ---------------------------------------------------------
CUDA_HOME ?= $(if $(wildcard /usr/local/cuda/bin/nvcc),/usr/local/cuda,$(patsubst %/bin/nvcc,%,$(shell command -v nvcc 2>/dev/null)))
CUDA ?= 1
NVCC := $(if $(CUDA_HOME),$(wildcard $(CUDA_HOME)/bin/nvcc))
CUDNN_H := $(firstword $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h))
CUDNN_LIB := $(firstword $(wildcard $(CUDA_HOME)/lib64/libcudnn.so /usr/lib/x86_64-linux-gnu/libcudnn.so))
ifeq ($(CUDA),1)
ifneq ($(NVCC),)
ifneq ($(CUDNN_H),)
ifneq ($(CUDNN_LIB),)
  WITH_CUDA := 1
endif
endif
endif
endif
CUDA_ARCHS ?= 80 90
NVCCFLAGS ?= -O3 -std=c++17 -lineinfo $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a))
ifeq ($(WITH_CUDA),1)
  CPPFLAGS_CUDA = -DBR_WITH_CUDA -I$(CUDA_HOME)/include -I$(dir $(CUDNN_H))
  CUDA_LIBDIR = $(dir $(CUDNN_LIB))
  ifeq ($(STATIC),1)
    LIBS_CUDA = -L$(CUDA_HOME)/lib64 -L$(CUDA_LIBDIR) -lcudnn -lcublas -lcudart_static -lstdc++ -lrt -ldl
  else
    LIBS_CUDA = -L$(CUDA_HOME)/lib64 -L$(CUDA_LIBDIR) -lcudnn -lcublas -lcudart -lstdc++ -Wl,-rpath,$(CUDA_HOME)/lib64
  endif
endif

# ---- MPI and NCCL detection (data-parallel r2u-train) ---------------------------
# MPI from its compiler wrapper (Open MPI's --showme, else MPICH's -show);
# NCCL beside CUDA.  Without them r2u-train trains in one process, as before.
MPI ?= 1
MPICC ?= mpicc
ifeq ($(MPI),1)
  MPICC_PATH := $(shell command -v $(MPICC) 2>/dev/null)
  ifneq ($(MPICC_PATH),)
    MPI_CFLAGS := $(shell $(MPICC) --showme:compile 2>/dev/null)
    MPI_LIBS := $(shell $(MPICC) --showme:link 2>/dev/null)
    ifeq ($(strip $(MPI_LIBS)),)
      MPI_SHOW := $(shell $(MPICC) -show 2>/dev/null)
      MPI_CFLAGS := $(filter -I% -D%,$(MPI_SHOW))
      MPI_LIBS := $(filter -L% -l% -Wl%,$(MPI_SHOW))
    endif
    ifneq ($(strip $(MPI_LIBS)),)
      WITH_MPI := 1
    endif
  endif
endif
NCCL_H := $(firstword $(wildcard $(CUDA_HOME)/include/nccl.h /usr/include/nccl.h))
NCCL_LIB := $(firstword $(wildcard $(CUDA_HOME)/lib64/libnccl.so /usr/lib/x86_64-linux-gnu/libnccl.so))
ifeq ($(WITH_MPI)$(WITH_CUDA),11)
ifneq ($(NCCL_H),)
ifneq ($(NCCL_LIB),)
  WITH_NCCL := 1
endif
endif
endif
ifeq ($(WITH_MPI),1)
  CPPFLAGS_COMM = -DBR_WITH_MPI $(MPI_CFLAGS)
  LIBS_MPI = $(MPI_LIBS)
endif
ifeq ($(WITH_NCCL),1)
  CPPFLAGS_COMM += -DBR_WITH_NCCL -I$(dir $(NCCL_H))
  CPPFLAGS_NCCL = -DBR_WITH_NCCL -I$(dir $(NCCL_H))
  LIBS_MPI += -L$(dir $(NCCL_LIB)) -lnccl
endif

# ---- sources -----------------------------------------------------------------
COMMON_SRC  := $(sort $(wildcard libcommon/*.c))
KERNEL_SRC  := kernels/dispatch.c kernels/comm.c $(sort $(wildcard kernels/cpu/*.c))
MODEL_SRC   := $(sort $(wildcard kernels/model/*.c))
CUDA_SRC    := $(sort $(wildcard kernels/cuda/*.cu))
COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILDDIR)/%.o)
KERNEL_OBJ  := $(KERNEL_SRC:%.c=$(BUILDDIR)/%.o)
MODEL_OBJ   := $(MODEL_SRC:%.c=$(BUILDDIR)/%.o)
ifeq ($(WITH_CUDA),1)
  KERNEL_OBJ += $(CUDA_SRC:%.cu=$(BUILDDIR)/%.o)
endif
HEADERS := $(wildcard libcommon/*.h kernels/include/*.h kernels/*.h kernels/cpu/*.h kernels/model/*.h)
CUDA_HEADERS := $(wildcard kernels/cuda/*.cuh)

LIBCOMMON  := $(BUILDDIR)/libcommon.a
LIBKERNELS := $(BUILDDIR)/libkernels.a
LIBMODEL   := $(BUILDDIR)/libmodel.a
TOOL_BINS  := $(addprefix $(BINDIR)/,$(TOOLS))

.PHONY: all tools check check-san demo bench bench-gpu install clean deps config test-programs fuzz fuzz-programs
.DEFAULT_GOAL := all

all: config tools test-programs

config:
	@echo "brats-r2u: cc=$(CC) blas=openblas static=$(if $(filter 1,$(STATIC)),yes,no)"
ifeq ($(WITH_CUDA),1)
	@echo "brats-r2u: CUDA backend: nvcc $(NVCC), cuDNN $(CUDNN_H), archs $(CUDA_ARCHS)"
else
	@echo "brats-r2u: CUDA backend: not built ($(if $(NVCC),cuDNN not found,nvcc not found)$(if $(filter 0,$(CUDA)), - disabled by CUDA=0,)); CPU only"
endif
	@echo "brats-r2u: data parallel: $(if $(WITH_MPI),MPI ($(MPICC_PATH)),not built (no MPI$(if $(filter 0,$(MPI)), - disabled by MPI=0,))); NCCL: $(if $(WITH_NCCL),$(NCCL_H),not built)"

tools: $(TOOL_BINS)

$(BUILDDIR)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call floor_inc,$<) $(if $(filter kernels/comm.c,$<),$(CPPFLAGS_COMM)) $(ALL_CFLAGS) -c -o $@ $<

$(BUILDDIR)/%.o: %.cu $(HEADERS) $(CUDA_HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(call floor_inc,$<) $(if $(filter kernels/cuda/nccl.cu,$<),$(CPPFLAGS_NCCL)) $(NVCCFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBKERNELS): $(KERNEL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBMODEL): $(MODEL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILDDIR)/tools/%.o: tools/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -c -o $@ $<

$(addprefix $(BINDIR)/,$(NET_TOOLS)): $(BINDIR)/%: $(BUILDDIR)/tools/%.o $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) -fopenmp -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BINDIR)/%: $(BUILDDIR)/tools/%.o $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) -fopenmp -o $@ $< $(LIBCOMMON) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

# ---- test and benchmark programs (C) ---------------------------------------------
TEST_C_SRC := $(sort $(filter-out tests/fuzz/%,$(wildcard tests/*/*.c)))
TEST_BINS  := $(patsubst tests/%.c,$(BUILDDIR)/tests/%,$(TEST_C_SRC))
BENCH_C_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILDDIR)/bench/%,$(BENCH_C_SRC))
test-programs: $(TEST_BINS) $(BENCH_BINS)

$(BUILDDIR)/tests/%: tests/%.c $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -Itests -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BUILDDIR)/bench/%: bench/%.c $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

# ---- fuzz targets (tests/fuzz) ------------------------------------------------------
# Each target is one LLVMFuzzerTestOneInput.  Built here with the build's
# compiler and driver.c as main, they replay the kept corpus and crashers
# (make check); with FUZZ_LIBFUZZER=1 (make fuzz) clang links libFuzzer.
FUZZ_TARGETS := nrrd nifti safetensors list options
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILDDIR)/fuzz/fuzz_%)
FUZZ_OPTS_DIR := $(BUILDDIR)/fuzz/options
TOOL_OBJS    := $(TOOLS:%=$(BUILDDIR)/tools/%.o)
ifeq ($(FUZZ_LIBFUZZER),1)
  FUZZ_MAIN :=
  FUZZ_LINK := -fsanitize=fuzzer
else
  FUZZ_MAIN := $(BUILDDIR)/fuzz/driver.o
  FUZZ_LINK :=
endif
.SECONDARY: $(TOOL_OBJS) $(FUZZ_TARGETS:%=$(BUILDDIR)/fuzz/fuzz_%.o) $(BUILDDIR)/fuzz/fuzz_util.o $(BUILDDIR)/fuzz/driver.o
fuzz-programs: $(FUZZ_BINS)
test-programs: $(FUZZ_BINS)

$(BUILDDIR)/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -Itests/fuzz -c -o $@ $<

$(FUZZ_OPTS_DIR)/stubs.c: tests/fuzz/options-gen.sh $(TOOL_OBJS) $(BUILDDIR)/libcommon/cli.o $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON)
	sh tests/fuzz/options-gen.sh $(FUZZ_OPTS_DIR) "$(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON)" $(BUILDDIR)/libcommon/cli.o $(TOOL_OBJS)

$(FUZZ_OPTS_DIR)/stubs.o: $(FUZZ_OPTS_DIR)/stubs.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILDDIR)/fuzz/fuzz_options: $(BUILDDIR)/fuzz/fuzz_options.o $(FUZZ_OPTS_DIR)/stubs.o $(FUZZ_MAIN) $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON)
	$(CC) -fopenmp -o $@ $(BUILDDIR)/fuzz/fuzz_options.o $(FUZZ_OPTS_DIR)/stubs.o $(TOOL_OBJS:$(BUILDDIR)/tools/%=$(FUZZ_OPTS_DIR)/%) \
		$(FUZZ_OPTS_DIR)/cli.o $(FUZZ_MAIN) $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(FUZZ_LINK) $(LDFLAGS)

$(BUILDDIR)/fuzz/fuzz_%: $(BUILDDIR)/fuzz/fuzz_%.o $(BUILDDIR)/fuzz/fuzz_util.o $(FUZZ_MAIN) $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON)
	$(CC) -fopenmp -o $@ $(filter %.o,$^) $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(FUZZ_LINK) $(LDFLAGS)

# make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS_RUN="nrrd list"] [FUZZ_FLAGS=...]: each
# target in turn for N seconds from the kept corpus and seeds made by the tools;
# what it finds goes to tests/fuzz/crashers/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS_RUN ?= $(FUZZ_TARGETS)
fuzz: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory FUZZ_LIBFUZZER=1 fuzz-programs
	@BINDIR=$(abspath $(BINDIR)) tests/fuzz/run.sh $(abspath build-fuzz/fuzz) $(FUZZ_SECONDS) $(FUZZ_TARGETS_RUN)

# ---- dependencies, tests, demo, benchmarks ---------------------------------------
deps:
	@scripts/install-deps.sh --if-missing

# The last line is the total of both runs, "N passed, N failed" (.ci/run).
check: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(abspath $(BINDIR)) BUILDDIR=$(abspath $(BUILDDIR)) tests/run.sh | tee $(BUILDDIR)/check.log; \
	tail -n 1 $(BUILDDIR)/check.log | grep -q ' 0 failed$$'
	@{ $(MAKE) --no-print-directory check-san; echo $$? >$(BUILDDIR)/check-san.rc; } | tee $(BUILDDIR)/check-san.log; \
	cat $(BUILDDIR)/check.log $(BUILDDIR)/check-san.log | awk '/^[0-9]+ passed, [0-9]+ failed$$/ { p += $$1; f += $$3; n++ } \
		END { if (n < 2) f++; printf "total (plain and sanitizer builds): %d passed, %d failed\n%d passed, %d failed\n", p, f, p, f }'; \
	[ "$$(cat $(BUILDDIR)/check-san.rc)" = 0 ]

# The I/O, preprocessing, post-processing, CLI, fuzz-replay and short network
# tests again on the SANITIZE=1 build.  A report ends the process with the
# status 86, which no test takes for an expected error; AddressSanitizer's
# and LeakSanitizer's reports also go to files, and any file fails the run
# (gcc's UndefinedBehaviorSanitizer ignores log_path: its reports stay on
# stderr, with the same status).  Allocations of more than 2 GiB return NULL
# (as the plain build's do under the tests' address-space limits) rather
# than being reported or mapped with their shadow memory: the code must
# handle NULL.
SAN_BUILDDIR ?= build-san
SAN_BINDIR   ?= bin-san
SAN_TESTS    ?= tests/io/ tests/prep/ tests/post/ tests/png/t_slice_png_cli tests/net/t_infer tests/fuzz/
SAN_LOGS     := $(abspath $(SAN_BUILDDIR))/san-logs
check-san:
	@$(MAKE) --no-print-directory SANITIZE=1 BUILDDIR=$(SAN_BUILDDIR) BINDIR=$(SAN_BINDIR) all
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@echo "brats-r2u: the same tests under AddressSanitizer and UndefinedBehaviorSanitizer: $(SAN_TESTS)"
	@ASAN_OPTIONS=log_path=$(SAN_LOGS)/report:exitcode=86:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048:halt_on_error=1 \
	UBSAN_OPTIONS=log_path=$(SAN_LOGS)/report:exitcode=86:halt_on_error=1:print_stacktrace=1 \
	BINDIR=$(abspath $(SAN_BINDIR)) BUILDDIR=$(abspath $(SAN_BUILDDIR)) tests/run.sh $(SAN_TESTS); rc=$$?; \
	if [ -n "$$(ls $(SAN_LOGS))" ]; then \
		echo "sanitizer reports ($(SAN_LOGS)):"; head -n 30 $(SAN_LOGS)/*; exit 1; fi; \
	exit $$rc

demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f pipelines/demo.mk BIN=$(abspath $(BINDIR))

bench: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(abspath $(BINDIR)) BUILDDIR=$(abspath $(BUILDDIR)) bench/run.sh

bench-gpu:
	@$(MAKE) --no-print-directory all
	@BINDIR=$(abspath $(BINDIR)) BUILDDIR=$(abspath $(BUILDDIR)) bench/gpu.sh

install: tools
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard man/man1/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(wildcard man/man7/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/

clean:
	rm -rf $(BUILDDIR) $(BINDIR) build-san bin-san build-fuzz

# make -s print-VAR: the value of a variable (the tests read the floors' include paths)
print-%:
	@echo '$($*)'
