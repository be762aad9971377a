# The compacted dirty bitmap: one codec (kmod/bitmap_codec.c) built for the
# kernel and for userspace, its unit tests, fuzzer, lab test and benchmark.

BITMAP_CODEC := kmod/bitmap_codec.c ctl/bitmap/dirty_set.c
BITMAP_HDRS := kmod/bitmap_codec.h ctl/bitmap/dirty_set.h \
	       ctl/bitmap/kcompat.h uapi/linux/vmtrace_bitmap.h
BITMAP_TEST_SRCS := $(BITMAP_CODEC) ctl/bitmap/tests/patterns.c
BITMAP_TEST_HDRS := $(BITMAP_HDRS) ctl/bitmap/tests/patterns.h
BITMAP_INC := -I. -Ictl/bitmap
BITMAP_FUZZ := $(BUILD)/fuzz/bitmap_decode_fuzz

UNIT_TESTS += $(BUILD)/unit/bitmap_codec_test
SELFTESTS += $(BUILD)/selftests/vmtrace/bitmap_test

.PHONY: bench-bitmap fuzz-bitmap bitmap-corpus

$(BUILD)/unit/bitmap_codec_test: ctl/bitmap/tests/bitmap_codec_test.c \
		$(BITMAP_TEST_SRCS) $(BITMAP_TEST_HDRS) $(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SANITIZE) $(BITMAP_INC) -I$(HARNESS) -o $@ \
		$< $(BITMAP_TEST_SRCS) -lm

# The lab test links the userspace codec to compare it with the kernel's.
$(BUILD)/selftests/vmtrace/bitmap_test: selftests/vmtrace/bitmap_test.c \
		$(BITMAP_TEST_SRCS) $(BITMAP_TEST_HDRS) $(SELFTEST_LIB) \
		$(wildcard selftests/lib/*.h) $(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(LIBNL_CFLAGS) $(BITMAP_INC) -I$(HARNESS) -o $@ \
		$< $(BITMAP_TEST_SRCS) $(SELFTEST_LIB) $(LIBNL_LIBS) -lm

# libFuzzer on the decoder; scripts/check runs it for a bounded time.
$(BITMAP_FUZZ): ctl/bitmap/tests/fuzz_decode.c $(BITMAP_CODEC) $(BITMAP_HDRS)
	@mkdir -p $(@D)
	clang-14 -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(BITMAP_INC) -o $@ $< $(BITMAP_CODEC)

check: $(BITMAP_FUZZ)

fuzz-bitmap: $(BITMAP_FUZZ)
	mkdir -p $(BUILD)/fuzz/corpus
	$(BITMAP_FUZZ) -max_total_time=$${FUZZ_SECONDS:-300} \
		$(BUILD)/fuzz/corpus ctl/bitmap/fuzz-corpus

# Seeds for the fuzzer's corpus: the encodings of every pattern.
bitmap-corpus: $(BUILD)/bench/bitmap_bench
	$(BUILD)/bench/bitmap_bench --corpus ctl/bitmap/fuzz-corpus

$(BUILD)/bench/bitmap_bench: bench/bitmap_bench.c $(BITMAP_TEST_SRCS) \
		$(BITMAP_TEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-unused-parameter -mpopcnt $(BITMAP_INC) -o $@ \
		$< $(BITMAP_TEST_SRCS) -lroaring -lm

# Also measures the captured real-guest sets in bench/captured/ (its README),
# found relative to the top directory, where make runs the bench.
bench-bitmap: $(BUILD)/bench/bitmap_bench
	$(BUILD)/bench/bitmap_bench --json $(BUILD)/bench/bitmap.json
