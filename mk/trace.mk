# make bench-trace: what dirty tracking costs the guest and the host, mode
# against mode (vmtrace hierarchical, vmtrace stock, KVM's dirty log from
# userspace), with 1 and 2 GiB guests on 4 KB and 2 MB hugetlb memory, in
# the lab (bench/trace_bench.c).  Not part of make check: it writes
# $(BUILD)/bench/trace.json and prints a table.  TRACE_BENCH_ARGS=-q: one
# 256 MiB size only.

.PHONY: bench-trace

$(BUILD)/bench/trace_bench: bench/trace_bench.c $(SELFTEST_LIB) \
		$(wildcard selftests/lib/*.h) uapi/linux/vmtrace.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(LIBNL_CFLAGS) -o $@ $< $(SELFTEST_LIB) \
		$(LIBNL_LIBS)

bench-trace: all lab-image $(BUILD)/bench/trace_bench
	rm -f $(BUILD)/lab/results/trace.json
	LAB_MEM=6G lab/run -t 2400 $(BUILD)/bench/trace_bench \
		$(TRACE_BENCH_ARGS) -j /run/lab/trace.json
	cp $(BUILD)/lab/results/trace.json $(BUILD)/bench/trace.json

# track_test reads compacted harvests with the userspace build of the codec.
$(BUILD)/selftests/vmtrace/track_test: selftests/vmtrace/track_test.c \
		$(BITMAP_CODEC) $(BITMAP_HDRS) $(SELFTEST_LIB) \
		$(wildcard selftests/lib/*.h) uapi/linux/vmtrace.h \
		$(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(LIBNL_CFLAGS) $(BITMAP_INC) -I$(HARNESS) -o $@ \
		$< $(BITMAP_CODEC) $(SELFTEST_LIB) $(LIBNL_LIBS)
