# brats-r2u - one GNU Makefile for the tools, the kernel library and the tests.
#
#   make                 build every tool into bin/ (CUDA backend where nvcc and cuDNN are found)
#   make check           build, install missing dependencies, run every test
#   make demo            the first thing to run: phantoms -> train -> infer -> score -> pictures
#   make bench           CPU benchmarks against the reference implementations
#   make bench-gpu       GPU benchmarks (needs a GPU)
#   make install PREFIX=/usr/local
#
# Variables: STATIC=1 links nifti_clib, zlib, libpng, OpenBLAS and the CUDA
# runtime statically; CUDA=0 builds without the CUDA backend; MPI=0 without
# MPI (and NCCL); MPICC (default mpicc); CUDA_HOME;
# CUDA_ARCHS (default 80 90); ARCH (C code generation, default x86-64-v2);
# BUILDDIR, BINDIR.

PREFIX    ?= /usr/local
BUILDDIR  ?= build
BINDIR    ?= bin
CC        ?= gcc
ARCH      ?= -march=x86-64-v2 -mtune=generic
OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS  += -Ilibcommon -Ikernels -Ikernels/model -I/usr/include/nifti -D_FILE_OFFSET_BITS=64
ALL_CFLAGS = -std=c11 $(ARCH) $(WARN) -fopenmp $(CFLAGS)

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
  LDFLAGS_EXTRA = -lgomp -lpthread
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
KERNEL_SRC  := kernels/dispatch.c kernels/comm.c $(sort $(wildcard kernels/cpu/*.c)) $(sort $(wildcard kernels/model/*.c))
CUDA_SRC    := $(sort $(wildcard kernels/cuda/*.cu))
COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILDDIR)/%.o)
KERNEL_OBJ  := $(KERNEL_SRC:%.c=$(BUILDDIR)/%.o)
ifeq ($(WITH_CUDA),1)
  KERNEL_OBJ += $(CUDA_SRC:%.cu=$(BUILDDIR)/%.o)
endif
HEADERS := $(wildcard libcommon/*.h kernels/*.h kernels/cpu/*.h kernels/model/*.h)
CUDA_HEADERS := $(wildcard kernels/cuda/*.cuh)

LIBCOMMON  := $(BUILDDIR)/libcommon.a
LIBKERNELS := $(BUILDDIR)/libkernels.a
TOOL_BINS  := $(addprefix $(BINDIR)/,$(TOOLS))

.PHONY: all tools check demo bench bench-gpu install clean deps config test-programs
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
	$(CC) $(CPPFLAGS) $(if $(filter kernels/%,$<),$(CPPFLAGS_CUDA)) $(if $(filter kernels/comm.c,$<),$(CPPFLAGS_COMM)) $(ALL_CFLAGS) -c -o $@ $<

$(BUILDDIR)/%.o: %.cu $(HEADERS) $(CUDA_HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(CPPFLAGS_CUDA) $(if $(filter kernels/cuda/nccl.cu,$<),$(CPPFLAGS_NCCL)) $(NVCCFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBKERNELS): $(KERNEL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILDDIR)/tools/%.o: tools/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(addprefix $(BINDIR)/,$(NET_TOOLS)): $(BINDIR)/%: $(BUILDDIR)/tools/%.o $(LIBKERNELS) $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) -fopenmp -o $@ $< $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BINDIR)/%: $(BUILDDIR)/tools/%.o $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) -fopenmp -o $@ $< $(LIBCOMMON) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

# ---- test and benchmark programs (C) ---------------------------------------------
TEST_C_SRC := $(sort $(wildcard tests/*/*.c))
TEST_BINS  := $(patsubst tests/%.c,$(BUILDDIR)/tests/%,$(TEST_C_SRC))
BENCH_C_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILDDIR)/bench/%,$(BENCH_C_SRC))
test-programs: $(TEST_BINS) $(BENCH_BINS)

$(BUILDDIR)/tests/%: tests/%.c $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CPPFLAGS_CUDA) $(ALL_CFLAGS) -Itests -o $@ $< $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BUILDDIR)/bench/%: bench/%.c $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CPPFLAGS_CUDA) $(ALL_CFLAGS) -o $@ $< $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_MPI) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

# ---- dependencies, tests, demo, benchmarks ---------------------------------------
deps:
	@scripts/install-deps.sh --if-missing

check: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(abspath $(BINDIR)) BUILDDIR=$(abspath $(BUILDDIR)) tests/run.sh

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
	rm -rf $(BUILDDIR) $(BINDIR)
