# The test guest's heavy writer (guest/workload.c): a static binary in the
# guest's initramfs, and its host unit test (it runs on the host as well).
WORKLOAD := $(BUILD)/guest/vmotion-workload

$(WORKLOAD): guest/workload.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $<

UNIT_TESTS += $(BUILD)/unit/workload_test

$(BUILD)/unit/workload_test: guest/tests/workload_test.c $(WORKLOAD) \
		$(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SANITIZE) -I$(HARNESS) \
		-DWORKLOAD='"$(abspath $(WORKLOAD))"' -o $@ $<
