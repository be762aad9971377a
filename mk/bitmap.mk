# The compacted dirty bitmap: one codec (kmod/bitmap_codec.c) built for the
# kernel and for userspace, its unit tests, fuzzer, lab test and benchmark.

BITMAP_CODEC := kmod/bitmap_codec.c ctl/bitmap/dirty_set.c
BITMAP_TEST_SRCS := $(BITMAP_CODEC) ctl/bitmap/tests/patterns.c
BITMAP_FUZZ := $(BUILD)/fuzz/bitmap_decode_fuzz

# The pattern generators share one callback type; not all use every argument.
$(BUILD)/obj/%/ctl/bitmap/tests/patterns.o: XFLAGS := -Wno-unused-parameter

UNIT_TESTS += $(BUILD)/unit/bitmap_codec_test
SELFTESTS += $(BUILD)/selftests/vmtrace/bitmap_test

.PHONY: bench-bitmap fuzz-bitmap bitmap-corpus

$(BUILD)/unit/bitmap_codec_test: $(call objs,san, \
		ctl/bitmap/tests/bitmap_codec_test.c $(BITMAP_TEST_SRCS))
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^ -lm

# The lab test links the userspace codec to compare it with the kernel's.
SELFTEST_OBJS_bitmap_test = $(call objs,rel,$(BITMAP_TEST_SRCS))

# libFuzzer on the decoder; scripts/check runs it for a bounded time.
$(BITMAP_FUZZ): $(call objs,fuzz,ctl/bitmap/tests/fuzz_decode.c $(BITMAP_CODEC))
	@mkdir -p $(@D)
	$(LD_fuzz) -o $@ $^

check: $(BITMAP_FUZZ)

fuzz-bitmap: $(BITMAP_FUZZ)
	mkdir -p $(BUILD)/fuzz/corpus
	$(BITMAP_FUZZ) -max_total_time=$${FUZZ_SECONDS:-300} \
		$(BUILD)/fuzz/corpus ctl/bitmap/fuzz-corpus

# Seeds for the fuzzer's corpus: the encodings of every pattern.
bitmap-corpus: $(BUILD)/bench/bitmap_bench
	$(BUILD)/bench/bitmap_bench --corpus ctl/bitmap/fuzz-corpus

$(BUILD)/bench/bitmap_bench: $(call objs,bench, \
		bench/bitmap_bench.c $(BITMAP_TEST_SRCS))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lroaring -lm

$(BUILD)/obj/bench/bench/bitmap_bench.o: XFLAGS := -Wno-unused-parameter

# Also measures the captured real-guest sets in bench/captured/ (its README),
# found relative to the top directory, where make runs the bench.
bench-bitmap: $(BUILD)/bench/bitmap_bench
	$(BUILD)/bench/bitmap_bench --json $(BUILD)/bench/bitmap.json
