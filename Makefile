# SPDX-License-Identifier: GPL-2.0
#
# vbackend: out-of-tree module build, lint, tests and demo.
# The module's objects are listed in Kbuild (kbuild reads it, not this file).
#
#   make [all|module] [KDIR=...]  build vbackend.ko against KDIR
#   make deps                     install the Debian 12 packages (as root)
#   make ksrc                     unpack checkpatch and the kselftest harness
#   make lint                     W=1 build, sparse, checkpatch --strict
#   make abi-test                 i386 == x86_64 layout of the uapi header
#   make userspace                libvbackend, sample, simulator, tools into build/userspace
#   make check                    everything above + kselftests in QEMU
#   make demo                     the tour of the ABI in QEMU
#   make bench                    vbackend-bench in QEMU: latencies, throughputs, ratios
#   make check-xen-repeat [N=5]   the Xen topology and the Xen bench N times each
#   make check-vhost-user [N=1]   a KVM guest of stock QEMU over vbackend-vhost-user, N times
#   make soak [DURATION=10]       verified virtio-blk I/O in QEMU for DURATION minutes, under kills, resets, kick churn
#   make clean
#
# lint, check, demo and bench build against the test kernel: the newest
# /lib/modules/6.1*/build that has a matching /boot/vmlinuz-* (override
# with TEST_KVER=...), because the guest boots that very kernel.

KDIR ?= /lib/modules/$(shell uname -r)/build

BUILD := $(CURDIR)/build
QEMU_DIR := tools/testing/qemu
KSRC_DIR := $(BUILD)/ksrc
KSRC_TARBALL := /usr/src/linux-source-6.1.tar.xz
KSRC_FILES := scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch \
	tools/testing/selftests/kselftest_harness.h \
	tools/testing/selftests/kselftest.h

# Scripts that run make themselves get $(MAKE) so that they join our
# jobserver and see our command-line variables.
RUN := MAKE="$(MAKE)" VB_BUILD="$(BUILD)"

.PHONY: all module deps ksrc lint abi-test userspace check demo bench \
	check-xen-repeat check-vhost-user soak clean

all: module

module:
	@test -f "$(KDIR)/Makefile" || { \
		echo "No kernel build tree at $(KDIR)."; \
		echo "Install its headers, pass KDIR=/path/to/build, or use 'make check' (6.1 headers)."; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

deps:
	@$(QEMU_DIR)/deps.sh

ksrc: $(KSRC_DIR)/.stamp

# Only the few files we need from the kernel source (about 8 s to unpack).
$(KSRC_DIR)/.stamp: $(wildcard $(KSRC_TARBALL)) | deps
	@echo "ksrc: unpacking $(words $(KSRC_FILES)) files of $(KSRC_TARBALL)"
	@rm -rf $(KSRC_DIR) && mkdir -p $(KSRC_DIR)
	@tar -xJf $(KSRC_TARBALL) -C $(KSRC_DIR) --strip-components=1 \
		$(addprefix linux-source-6.1/,$(KSRC_FILES))
	@touch $@

# W=1 build, sparse and checkpatch --strict (tools/testing/qemu/lint.sh).
# checkpatch runs with no --ignore at all: every ERROR, WARNING and CHECK
# fails the lint.
lint: ksrc
	+@$(RUN) $(QEMU_DIR)/lint.sh

abi-test: deps
	+@$(RUN) tools/testing/abi/run.sh

userspace:
	$(MAKE) -C userspace O=$(BUILD)/userspace all

check: deps ksrc
	+@$(RUN) $(QEMU_DIR)/check.sh check

demo: deps
	+@$(RUN) $(QEMU_DIR)/check.sh demo

# Speed and memory targets live here, never in timed tests: vbackend-bench
# (tools/testing/bench/) prints latencies, throughputs and ratios measured
# side by side in one QEMU guest run; it fails on functional errors only.
bench: deps
	+@$(RUN) $(QEMU_DIR)/check.sh bench

# Reliability of the Xen topology: N runs of it and of the Xen bench, the
# pass count and each domU's boot phases (tools/testing/xen/repeat.sh).
check-xen-repeat: deps ksrc
	+@$(RUN) N="$(or $(N),5)" $(QEMU_DIR)/check.sh xen-repeat

# vbackend-vhost-user serving a KVM guest of stock QEMU, nested in the TCG
# guest (tools/testing/vhost-user), N times; not in make check while the
# nested guest dies in some runs (README, "Known").
check-vhost-user: deps ksrc
	+@$(RUN) N="$(or $(N),1)" $(QEMU_DIR)/check.sh vhost-user

soak: deps
	+@$(RUN) tools/testing/soak/run.sh $(if $(DURATION),--duration $(DURATION))

# kbuild's own clean when a kernel tree is at hand (ours or the test
# kernel's), then whatever is left.
CLEAN_KDIR = $(firstword $(wildcard $(KDIR)/Makefile /lib/modules/*/build/Makefile))
clean:
	$(if $(CLEAN_KDIR),-$(MAKE) -C $(dir $(CLEAN_KDIR)) M=$(CURDIR) clean)
	rm -rf $(BUILD)
