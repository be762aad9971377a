# make bench-trace: what dirty tracking costs the guest and the host, mode
# against mode (vmtrace hierarchical, vmtrace stock, KVM's dirty log from
# userspace), with 1 and 2 GiB guests on 4 KB and 2 MB hugetlb memory, in
# the lab (bench/trace_bench.c).  Not part of make check: it writes
# $(BUILD)/bench/trace.json and prints a table.  TRACE_BENCH_ARGS=-q: one
# 256 MiB size only.

.PHONY: bench-trace

$(BUILD)/bench/trace_bench: $(call objs,rel,bench/trace_bench.c $(SELFTEST_LIB))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBNL_LIBS) -ljson-c

$(BUILD)/obj/rel/bench/trace_bench.o: XFLAGS := $(HARNESS_CFLAGS)

bench-trace: all lab-image $(BUILD)/bench/trace_bench
	rm -f $(BUILD)/lab/results/trace.json
	LAB_MEM=6G lab/run -t 2400 $(BUILD)/bench/trace_bench \
		$(TRACE_BENCH_ARGS) -j /run/lab/trace.json
	cp $(BUILD)/lab/results/trace.json $(BUILD)/bench/trace.json

# track_test reads compacted harvests with the userspace build of the codec.
SELFTEST_OBJS_track_test = $(call objs,rel,$(BITMAP_CODEC))

# make throttle-loop: throttle_test THROTTLE_RUNS times in a row (default
# 20) in one lab boot, for its flakiness (issue 13); ends with the line
# "throttle-loop: N runs, F failed" and fails if F is not 0.  About 25 s a
# run.  LAB_RESULTS= chooses where the lab's results go.
THROTTLE_RUNS ?= 20

.PHONY: throttle-loop
throttle-loop: all selftests lab-image guest-image
	@results=$${LAB_RESULTS:-$(BUILD)/lab/results}; \
	LAB_RESULTS=$$results lab/run -t $$(( $(THROTTLE_RUNS) * 45 + 120 )) \
		selftests/vmtrace/throttle-loop $(THROTTLE_RUNS); rc=$$?; \
	if [ -f $$results/throttle-loop/summary ]; then \
		cat $$results/throttle-loop/summary; \
	else \
		echo "throttle-loop: the lab did not finish (lab/run exit $$rc)"; \
		[ $$rc != 0 ] || rc=1; \
	fi; \
	exit $$rc
