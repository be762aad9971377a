# Live migration: vmotionctl migrate / receive, the wire protocol, the
# dirty-page trackers, and their tests.

CTL_SRCS += ctl/cmd_migrate.c ctl/cmd_receive.c ctl/cmd_handoff.c \
	    $(wildcard ctl/migrate/*.c)
# The switchover's dirty set travels in the compacted bitmap format: the
# one codec, built for userspace (mk/bitmap.mk).
CTL_SRCS += $(BITMAP_CODEC)

# (linux_test, three hops of a Linux guest, was once left out: its third
# hop found the source VMM gone.  The guest had triple-faulted: without
# CPUID.1:ECX[31] it ran without kvm-clock on an uncalibrated TSC, and
# about one boot in five died.  The VMM sets the bit now.)
SELFTESTS += $(patsubst selftests/%.c,$(BUILD)/selftests/%, \
	       $(wildcard selftests/migrate/*_test.c))

UNIT_TESTS += $(BUILD)/unit/wire_test

# The receiver's frame parsing, fed hand-made good and bad frames, under
# ASan and UBSan like every host unit test.
WIRE_SRCS := ctl/migrate/wire.c ctl/migrate/pages.c ctl/migrate/compress.c
$(BUILD)/unit/wire_test: $(call objs,san,ctl/migrate/tests/wire_test.c \
		$(WIRE_SRCS))
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^ -lxxhash -lzstd

# libFuzzer target for the same parser: make fuzz-wire (clang);
# scripts/check runs it for a bounded time.
.PHONY: fuzz-wire
fuzz-wire: $(BUILD)/fuzz/wire_fuzz
	mkdir -p $(BUILD)/fuzz/corpus-wire
	$(BUILD)/fuzz/wire_fuzz -max_total_time=$${FUZZ_SECONDS:-300} \
		$(BUILD)/fuzz/corpus-wire

check: $(BUILD)/fuzz/wire_fuzz

$(BUILD)/fuzz/wire_fuzz: $(call objs,fuzz,ctl/migrate/tests/wire_fuzz.c \
		$(WIRE_SRCS))
	@mkdir -p $(@D)
	$(LD_fuzz) -o $@ $^ -lxxhash -lzstd

# make bench-pages: the per-page data path of migrate and receive on the
# host, CPU per page on each side (bench/page_path_bench.c).
.PHONY: bench-pages
$(BUILD)/bench/page_path_bench: $(call objs,rel,bench/page_path_bench.c \
		$(WIRE_SRCS))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lxxhash -lzstd -lpthread

bench-pages: $(BUILD)/bench/page_path_bench
	$(BUILD)/bench/page_path_bench

# Real dirty sets for make bench-bitmap: harvests of a Linux guest under
# two workloads, captured in the lab (bench/capture-dirty-sets) and kept
# in bench/captured/<name>/ (not part of make check).
.PHONY: capture-dirty-sets
capture-dirty-sets: all lab-image guest-image
	lab/run -t 900 bench/capture-dirty-sets
	mkdir -p bench/captured
	cp -r $(BUILD)/lab/results/captured/* bench/captured/
