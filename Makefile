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
# runtime statically; CUDA=0 builds without the CUDA backend; CUDA_HOME;
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

# ---- sources -----------------------------------------------------------------
COMMON_SRC  := $(sort $(wildcard libcommon/*.c))
KERNEL_SRC  := kernels/dispatch.c $(sort $(wildcard kernels/cpu/*.c))
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

tools: $(TOOL_BINS)

$(BUILDDIR)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call floor_inc,$<) $(ALL_CFLAGS) -c -o $@ $<

$(BUILDDIR)/%.o: %.cu $(HEADERS) $(CUDA_HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(CPPFLAGS) $(call floor_inc,$<) $(NVCCFLAGS) -c -o $@ $<

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
	$(CC) -fopenmp -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BINDIR)/%: $(BUILDDIR)/tools/%.o $(LIBCOMMON)
	@mkdir -p $(BINDIR)
	$(CC) -fopenmp -o $@ $< $(LIBCOMMON) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

# ---- test and benchmark programs (C) ---------------------------------------------
TEST_C_SRC := $(sort $(wildcard tests/*/*.c))
TEST_BINS  := $(patsubst tests/%.c,$(BUILDDIR)/tests/%,$(TEST_C_SRC))
BENCH_C_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILDDIR)/bench/%,$(BENCH_C_SRC))
test-programs: $(TEST_BINS) $(BENCH_BINS)

$(BUILDDIR)/tests/%: tests/%.c $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -Itests -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

$(BUILDDIR)/bench/%: bench/%.c $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_TOP) $(ALL_CFLAGS) -o $@ $< $(LIBMODEL) $(LIBKERNELS) $(LIBCOMMON) $(LIBS_CUDA) $(LIBS_BLAS) $(LIBS_IO) $(LDFLAGS_EXTRA) $(LDFLAGS)

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

# make -s print-VAR: the value of a variable (the tests read the floors' include paths)
print-%:
	@echo '$($*)'

