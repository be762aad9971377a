# vmotion for KVM: one Makefile for the module, the controller, the lab and
# the tests.  `make help` lists the targets.

# The reference kernel: Debian 12's 6.1 (-amd64).  The host runs another
# kernel, so KVER is found among the installed ones, not from uname -r.
# Both are recursive variables: they are evaluated after `deps` has run.
KVER = $(shell lab/kver)
KDIR = /lib/modules/$(KVER)/build

BUILD := build
LINUX_SRC := $(BUILD)/linux
HARNESS := $(LINUX_SRC)/tools/testing/selftests
CC := gcc
CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
# The 6.1 kselftest harness's macros trip these two in every test.
HARNESS_CFLAGS := -Wno-unused-parameter -Wno-sign-compare
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
LIBNL_CFLAGS = $(shell pkg-config --cflags libnl-genl-3.0)
LIBNL_LIBS = $(shell pkg-config --libs libnl-genl-3.0)
# One include path for every userspace object: the top (uapi/, kmod/'s
# codec), the codec's kernel shims, the payload image, the harness.
INCLUDES = -I. -Ictl/bitmap -I$(BUILD)/payload -I$(HARNESS) $(LIBNL_CFLAGS)

# Every userspace source is compiled once per configuration into
# $(BUILD)/obj/CONFIG/, with its header dependencies (-MMD), and linked
# from there wherever it is needed:
#   rel    the product, the lab selftests and the trace benchmark
#   san    host unit tests, under ASan and UBSan
#   fuzz   libFuzzer targets (clang)
#   bench  the bitmap benchmark (-mpopcnt, as the kernel's hweight uses)
# $(call objs,CONFIG,SOURCES) names the objects of SOURCES.
objs = $(patsubst %,$(BUILD)/obj/$(1)/%.o,$(basename $(2)))
CC_rel = $(CC) $(CFLAGS)
CC_san = $(CC) $(CFLAGS) $(SANITIZE)
CC_fuzz = clang-14 -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
CC_bench = $(CC) $(CFLAGS) -mpopcnt
LD_san = $(CC) $(SANITIZE)
LD_fuzz = clang-14 -fsanitize=fuzzer,address,undefined
CONFIGS := rel san fuzz bench

define config_rules
$(BUILD)/obj/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(XFLAGS) $$(INCLUDES) -MMD -MP -c -o $$@ $$<
$(BUILD)/obj/$(1)/%.o: %.S
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(INCLUDES) -MMD -MP -c -o $$@ $$<
# Tests use the kselftest harness, extracted from linux-source.
$(BUILD)/obj/$(1)/%_test.o: %_test.c | $(LINUX_SRC)/.stamp
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(HARNESS_CFLAGS) $$(INCLUDES) -MMD -MP -c -o $$@ $$<
endef
$(foreach c,$(CONFIGS),$(eval $(call config_rules,$(c))))
# Objects are kept: make would delete them as intermediate files.
.SECONDARY:

CTL_SRCS := ctl/main.c ctl/cli.c ctl/cmd_info.c ctl/cmd_run.c ctl/cmd_vm.c \
	    ctl/output.c ctl/parse.c ctl/vm_client.c \
	    ctl/netlink/vmtrace_nl.c ctl/vmm/payload_image.S \
	    $(wildcard ctl/vmm/*.c)
CTL_LIBS := -lmnl -lxxhash -lzstd -ljson-c -lpthread

# The built-in guest payloads: freestanding 64-bit code, flat binary,
# linked into vmotionctl.
PAYLOAD_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding \
	-fno-pic -fno-pie -fno-stack-protector -mno-red-zone \
	-mgeneral-regs-only -fno-asynchronous-unwind-tables -nostdlib -static \
	-no-pie -Wl,-T,ctl/payload/payload.lds -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments
UNIT_TESTS := $(BUILD)/unit/parse_test $(BUILD)/unit/cli_test \
	      $(BUILD)/unit/vm_client_test \
	      $(BUILD)/unit/report_test
SELFTEST_LIB := selftests/lib/genl.c selftests/lib/report.c \
		selftests/lib/module.c selftests/lib/vmm.c ctl/vm_client.c
SELFTESTS := $(BUILD)/selftests/vmtrace/module_test \
	     $(BUILD)/selftests/vmtrace/netlink_test \
	     $(BUILD)/selftests/vmtrace/track_test \
	     $(BUILD)/selftests/vmtrace/throttle_test \
	     $(BUILD)/selftests/vmtrace/cost_test \
	     $(BUILD)/selftests/kvm/hlt_test \
	     $(BUILD)/selftests/vmm/payload_test \
	     $(BUILD)/selftests/vmm/linux_test \
	     $(BUILD)/selftests/vmm/bad_input_test

.PHONY: all deps kmod ctl man install selftests unit lab lab-image guest-image \
	check lint demo clean help

all: kmod ctl man

# Each part of the product may add its own rules, unit tests (UNIT_TESTS)
# and lab selftests (SELFTESTS) in mk/<part>.mk.
include $(wildcard mk/*.mk)

help:
	@echo "make            build kmod/vmtrace.ko and ctl/vmotionctl"
	@echo "make demo       boot the lab and live-migrate VMs between two netns hosts"
	@echo "make check      all tests: host unit tests, lint, lab selftests"
	@echo "make lab        interactive shell in the lab"
	@echo "make bench-trace  tracking cost per mode, 1-2 GiB guests (lab)"
	@echo "make bench-bitmap compacted bitmap vs raw and Roaring"
	@echo "make bench-pages  the migration's per-page path, CPU per page (host)"
	@echo "make bench-migrate vmotion vs QEMU 7.2 and 10.0 live migration (lab; QUICK=1, SET=)"
	@echo "make throttle-loop  throttle_test THROTTLE_RUNS times (20) in one lab boot"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make install    the module, vmotionctl and vmotionctl(8) (DESTDIR=, PREFIX=/usr/local)"
	@echo "KDIR=...        build the module against another kernel tree"

deps:
	@scripts/install-deps

# checkpatch.pl and the kselftest harness, from Debian's linux-source-6.1.
$(LINUX_SRC)/.stamp: | deps
	mkdir -p $(LINUX_SRC)
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(LINUX_SRC) \
		--strip-components=1 linux-source-6.1/scripts \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch $@

kmod: deps
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

ctl: ctl/vmotionctl

ctl/vmotionctl: $(call objs,rel,$(CTL_SRCS)) | deps
	$(CC) -o $@ $^ $(CTL_LIBS)

# vmotionctl(8), from the same option tables as every command's --help.
man: $(BUILD)/man/vmotionctl.8

$(BUILD)/man/vmotionctl.8: ctl/vmotionctl
	@mkdir -p $(@D)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		ctl/vmotionctl --man > $@

# Two real hosts: the module (with depmod), vmotionctl and its manual page.
PREFIX ?= /usr/local
# The module is built again for the kernel it is installed for: the
# running one unless INSTALL_KVER names another (KVER is the lab's).
INSTALL_KVER ?= $(shell uname -r)
INSTALL_KDIR = /lib/modules/$(INSTALL_KVER)/build

install: ctl/vmotionctl $(BUILD)/man/vmotionctl.8
	@test -d $(INSTALL_KDIR) || { echo "install: no headers for" \
		"$(INSTALL_KVER) in $(INSTALL_KDIR) (apt-get install" \
		"linux-headers-$(INSTALL_KVER), or set INSTALL_KVER)"; exit 1; }
	install -D -m 755 ctl/vmotionctl $(DESTDIR)$(PREFIX)/sbin/vmotionctl
	install -D -m 644 $(BUILD)/man/vmotionctl.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/vmotionctl.8
	$(MAKE) -C $(INSTALL_KDIR) M=$(CURDIR)/kmod modules
	$(MAKE) -C $(INSTALL_KDIR) M=$(CURDIR)/kmod \
		INSTALL_MOD_PATH=$(DESTDIR) modules_install
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(INSTALL_KVER)

# .incbin is not a dependency -MMD sees.
$(BUILD)/obj/rel/ctl/vmm/payload_image.o: $(BUILD)/payload/payload.bin

$(BUILD)/payload/payload.bin: ctl/payload/start.S ctl/payload/payload.c \
		ctl/payload/payload_abi.h ctl/payload/payload.lds
	@mkdir -p $(@D)
	$(CC) $(PAYLOAD_CFLAGS) -o $(BUILD)/payload/payload.elf \
		ctl/payload/start.S ctl/payload/payload.c
	objcopy -O binary $(BUILD)/payload/payload.elf $@

# Host unit tests run under ASan and UBSan.
unit: $(UNIT_TESTS)

$(BUILD)/unit/parse_test: $(call objs,san,ctl/tests/parse_test.c ctl/parse.c)
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^

$(BUILD)/unit/vm_client_test: $(call objs,san,ctl/tests/vm_client_test.c \
		ctl/vm_client.c)
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^

# The selftests' reader of vmotionctl's JSON reports, on a recorded one.
$(BUILD)/unit/report_test: $(call objs,san,selftests/lib/tests/report_test.c \
		selftests/lib/report.c)
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^ -ljson-c

# The command line's table parser, then vmotionctl itself as a process.
$(BUILD)/unit/cli_test: $(call objs,san,ctl/tests/cli_test.c ctl/cli.c) \
		| ctl/vmotionctl
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^

# Lab selftests: built here, run inside the lab.
selftests: $(SELFTESTS)

# Each links its own object, the selftest library and what
# SELFTEST_OBJS_<name> adds.
.SECONDEXPANSION:
$(BUILD)/selftests/%: $(BUILD)/obj/rel/selftests/%.o \
		$(call objs,rel,$(SELFTEST_LIB)) $$(SELFTEST_OBJS_$$(*F))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBNL_LIBS) -ljson-c -lm

# The lab boots the reference kernel's vmlinux (uncompressed: PVH boot skips
# the decompressor) with a busybox initramfs that mounts the host's root.
lab-image: $(BUILD)/lab/vmlinux $(BUILD)/lab/initramfs.cpio.gz

$(BUILD)/lab/vmlinux: | deps
	@mkdir -p $(@D)
	lab/extract-vmlinux /boot/vmlinuz-$(KVER) $@

$(BUILD)/lab/initramfs.cpio.gz: lab/init lab/mkinitramfs | deps
	@mkdir -p $(@D)
	lab/mkinitramfs $(KVER) $@

# The test guest: Debian's 6.1 bzImage with a busybox initramfs.
guest-image: $(BUILD)/guest/initramfs.cpio.gz

$(BUILD)/guest/initramfs.cpio.gz: guest/init guest/mkinitramfs $(WORKLOAD) | deps
	@mkdir -p $(@D)
	guest/mkinitramfs $@ $(WORKLOAD)

lab: all lab-image
	lab/run -i

check: all unit selftests lab-image guest-image $(LINUX_SRC)/.stamp
	@scripts/check $(KDIR) $(LINUX_SRC)

lint: all $(LINUX_SRC)/.stamp
	@scripts/lint-kmod $(KDIR) $(LINUX_SRC)

demo: all selftests lab-image guest-image
	lab/run -t 600 scripts/demo
	@mkdir -p $(BUILD)/demo
	cp $(BUILD)/lab/results/demo/*.json $(BUILD)/demo/
	@echo "reports: $(BUILD)/demo/report.json (Linux guest), $(BUILD)/demo/busy-report.json (SDPS)"

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
	rm -rf $(BUILD) ctl/vmotionctl

# Last, so that no object of theirs becomes the default goal.
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
