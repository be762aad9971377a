# Live migration: vmotionctl migrate / receive, the wire protocol, the
# dirty-page trackers, and their tests.

CTL_SRCS += ctl/cmd_migrate.c ctl/cmd_receive.c ctl/cmd_handoff.c \
	    $(wildcard ctl/migrate/*.c)
CTL_HDRS += $(wildcard ctl/migrate/*.h) uapi/linux/vmotion_wire.h
# The switchover's dirty set travels in the compacted bitmap format: the
# one codec, built for userspace.
CTL_SRCS += kmod/bitmap_codec.c ctl/bitmap/dirty_set.c
CTL_HDRS += kmod/bitmap_codec.h ctl/bitmap/dirty_set.h ctl/bitmap/kcompat.h \
	    uapi/linux/vmtrace_bitmap.h
CTL_CFLAGS += -I. -Ictl/bitmap

# (linux_test, three hops of a Linux guest, was once left out: its third
# hop found the source VMM gone.  The guest had triple-faulted: without
# CPUID.1:ECX[31] it ran without kvm-clock on an uncalibrated TSC, and
# about one boot in five died.  The VMM sets the bit now.)
SELFTESTS += $(patsubst selftests/%.c,$(BUILD)/selftests/%, \
	       $(wildcard selftests/migrate/*_test.c))

UNIT_TESTS += $(BUILD)/unit/wire_test

# The receiver's frame parsing, fed hand-made good and bad frames, under
# ASan and UBSan like every host unit test.
$(BUILD)/unit/wire_test: ctl/migrate/tests/wire_test.c ctl/migrate/wire.c \
		ctl/migrate/pages.c ctl/migrate/wire.h ctl/migrate/pages.h \
		uapi/linux/vmotion_wire.h $(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SANITIZE) -I$(HARNESS) -o $@ $< \
		ctl/migrate/wire.c ctl/migrate/pages.c -lxxhash

# libFuzzer target for the same parser: make fuzz-wire (clang);
# scripts/check runs it for a bounded time.
.PHONY: fuzz-wire
fuzz-wire: $(BUILD)/fuzz/wire_fuzz
	mkdir -p $(BUILD)/fuzz/corpus-wire
	$(BUILD)/fuzz/wire_fuzz -max_total_time=$${FUZZ_SECONDS:-300} \
		$(BUILD)/fuzz/corpus-wire

check: $(BUILD)/fuzz/wire_fuzz

$(BUILD)/fuzz/wire_fuzz: ctl/migrate/tests/wire_fuzz.c ctl/migrate/wire.c \
		ctl/migrate/pages.c ctl/migrate/wire.h ctl/migrate/pages.h
	@mkdir -p $(@D)
	clang-14 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-o $@ $< ctl/migrate/wire.c ctl/migrate/pages.c -lxxhash

# Real dirty sets for make bench-bitmap: harvests of a Linux guest under
# two workloads, captured in the lab (bench/capture-dirty-sets) and kept
# in bench/captured/<name>/ (not part of make check).
.PHONY: capture-dirty-sets
capture-dirty-sets: all lab-image guest-image
	lab/run -t 900 bench/capture-dirty-sets
	mkdir -p bench/captured
	cp -r $(BUILD)/lab/results/captured/* bench/captured/
