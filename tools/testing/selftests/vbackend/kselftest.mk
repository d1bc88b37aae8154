# SPDX-License-Identifier: GPL-2.0
#
# Rules shared by the vbackend selftest directories, built outside the
# kernel tree. The including Makefile sets SELF_DIR (its directory) and
# TEST_HDR (its helper header) first, then:
#
#   make KSRC=<dir holding kselftest_harness.h> OUTPUT=<dir>
#
# Each *_test.c becomes one static binary in $(OUTPUT), so that it runs in
# any guest. Without KSRC, the two kselftest headers are extracted from
# $(LINUX_SOURCE_TAR) (Debian package linux-source-6.1).

REPO := $(abspath $(SELF_DIR)/../../../..)

OUTPUT ?= $(SELF_DIR)
override OUTPUT := $(abspath $(OUTPUT))

LINUX_SOURCE_TAR ?= /usr/src/linux-source-6.1.tar.xz
LINUX_SOURCE_DIR ?= linux-source-6.1
KSFT_HDRS := kselftest_harness.h kselftest.h

ifeq ($(strip $(KSRC)),)
KSRC := $(OUTPUT)/.ksrc/$(LINUX_SOURCE_DIR)/tools/testing/selftests
KSRC_DEPS := $(addprefix $(KSRC)/,$(KSFT_HDRS))
endif

TESTS := $(sort $(basename $(notdir $(wildcard $(SELF_DIR)/*_test.c))))
PROGS := $(addprefix $(OUTPUT)/,$(TESTS))

CC ?= gcc
VB_CFLAGS := -static -O2 -Wall -Wextra -Werror -pthread \
	     -I$(REPO)/include/uapi -I$(KSRC)
HDRS := $(SELF_DIR)/$(TEST_HDR) $(REPO)/include/uapi/linux/vbackend.h

all: $(PROGS)

$(OUTPUT)/%_test: $(SELF_DIR)/%_test.c $(HDRS) $(KSRC_DEPS) | $(OUTPUT)
	$(CC) $(VB_CFLAGS) $(EXTRA_CFLAGS) -o $@ $< $(LDLIBS)

$(OUTPUT):
	mkdir -p $@

$(KSRC_DEPS):
	mkdir -p $(OUTPUT)/.ksrc
	tar -C $(OUTPUT)/.ksrc -xf $(LINUX_SOURCE_TAR) \
		$(addprefix $(LINUX_SOURCE_DIR)/tools/testing/selftests/,$(KSFT_HDRS))
	touch $(KSRC_DEPS)

# Run every test here (as root, with the module loaded).
run_tests: all
	@ret=0; for t in $(PROGS); do $$t || ret=1; done; exit $$ret

clean:
	rm -f $(PROGS)
	rm -rf $(OUTPUT)/.ksrc

.PHONY: all run_tests clean
