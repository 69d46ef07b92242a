# SPDX-License-Identifier: GPL-2.0
#
# kvmfork: build kvmfork.ko out of tree with kbuild, check it, test it.
#
#   make            build kvmfork.ko (W=1) against KDIR
#   make check      sparse (C=2) over every file; fails on any warning
#   make test       install deps, build, check, run every test in the test VM
#   make demo       install deps, build, show kvmfork working in the test VM
#   make deps       install the Debian packages the above need (root)
#   make cross      build kvmfork for s390x and ppc64le (tools/testing/cross)
#   make bench      exit costs, kvmfork against stock kvm_amd, in one VM boot
#   make bench-mm   guest memory (fault-in, dirty log), the same way
#   make debug-kernel   build (once; then cached) the debug kernel: KUnit,
#                   KASAN, lockdep, kmemleak (tools/testing/debug-kernel)
#   make debug-modules  kvmfork.ko and kvmfork-test.ko (KUnit) for it, in
#                   build/debug/
#
# KDIR defaults to the headers of the newest Debian kernel installed in
# /boot, the one the test VM boots.

SHELL := /bin/bash

KVER ?= $(shell ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build

SELFTESTS := tools/testing/selftests/kvm
VM := tools/testing/vm/kvmf-vm
BUILD_LOG := .build.log

# The debug kernel's cache and configured tree (see
# Documentation/debug-kernel.rst), and where kvmfork is built for it.
KVMF_CACHE ?= /var/cache/kvmfork
DEBUG_KDIR ?= $(KVMF_CACHE)/debug-kernel/build
DEBUG_OUT := build/debug
DEBUG_LOG := $(DEBUG_OUT)/.build.log

.PHONY: all modules check deps selftests test demo bench bench-mm qemu-boots clean kdir
.PHONY: debug-kernel debug-modules cross
all: modules

# The s390 and powerpc backends are only ever cross-built here.
cross: deps
	@scripts/install-deps.sh cross
	@tools/testing/cross/build.sh s390 powerpc

kdir:
	@test -d "$(KDIR)" || { echo "No kernel build tree at KDIR='$(KDIR)': run 'make deps' or set KDIR=" >&2; exit 1; }

# The build fails on any compiler warning at W=1, not only on errors.
modules: kdir
	@set -o pipefail; $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules 2>&1 | tee $(BUILD_LOG)
	@! grep -E 'warning:' $(BUILD_LOG) || { echo "kvmfork: the build has warnings" >&2; exit 1; }

check: kdir
	@set -o pipefail; $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 CHECK=sparse modules 2>&1 | tee $(BUILD_LOG)
	@! grep -E 'warning:|error:' $(BUILD_LOG) || { echo "kvmfork: sparse or the compiler warned" >&2; exit 1; }
	@echo "make check: no warnings"

deps:
	@scripts/install-deps.sh

selftests:
	$(MAKE) -C $(SELFTESTS)
	$(MAKE) -C tools/vmm

test: deps
	@scripts/install-deps.sh cross
	@$(MAKE) --no-print-directory test-run

.PHONY: test-run
test-run: modules check selftests
	@tools/testing/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory modules selftests
	@$(VM) -- sh -c 'tools/vmm/kvmf-info && echo && tools/vmm/kvmf-run && echo && \
		tools/vmm/kvmf-nested'
	@tools/testing/qemu/make-initramfs.sh
	@$(VM) --mem 1G -- tools/testing/qemu/boot.sh

# QEMU's Linux boot with each command line of boot-shapes.sh, BOOTS times
# each (default 2), on kvmfork and stock, in the 3 GiB test VM of issue 13.
BOOTS ?= 2
qemu-boots: deps
	@$(MAKE) --no-print-directory modules
	@tools/testing/qemu/make-initramfs.sh
	@$(VM) --no-module --mem 3G --timeout 3000 -- tools/testing/qemu/boot-shapes.sh $(BOOTS)

bench: deps
	@$(MAKE) --no-print-directory modules
	@$(MAKE) -C tools/testing/bench
	@$(VM) --no-module -- tools/testing/bench/run-bench.sh

bench-mm: deps
	@$(MAKE) --no-print-directory modules
	@$(MAKE) -C tools/testing/bench
	@$(VM) --no-module --mem 3G --smp 2 -- tools/testing/bench/run-mm-bench.sh

# Builds only when its inputs changed: the script says so and keeps the
# result in $(KVMF_CACHE)/debug-kernel, outside the work tree.
debug-kernel: deps
	@KVMF_CACHE=$(KVMF_CACHE) tools/testing/debug-kernel/build.sh >/dev/null

# kbuild writes objects next to the sources, so the debug variant is built
# from a copy of them (sources and Kbuild files only) in $(DEBUG_OUT): the
# normal kvmfork.ko stays as it is.  W=1, and any warning fails, as above.
debug-modules: debug-kernel
	@mkdir -p $(DEBUG_OUT)
	@rsync -a --delete --prune-empty-dirs \
		--exclude=/.git/ --exclude=/build/ --exclude=/tools/ \
		--exclude=/Documentation/ --exclude=/scripts/ \
		--include='*/' --include=Kbuild --include='Kbuild.*' \
		--include='*.[chS]' --exclude='*' ./ $(DEBUG_OUT)/
	@set -o pipefail; $(MAKE) -C $(DEBUG_KDIR) M=$(CURDIR)/$(DEBUG_OUT) W=1 modules 2>&1 | tee $(DEBUG_LOG)
	@! grep -E 'warning:' $(DEBUG_LOG) || { echo "kvmfork: the debug build has warnings" >&2; exit 1; }

clean:
	-@test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(DEBUG_OUT)
	$(MAKE) -C $(SELFTESTS) clean
	$(MAKE) -C tools/vmm clean
	$(MAKE) -C tools/testing/bench clean
	rm -f $(BUILD_LOG)
