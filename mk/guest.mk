# The guest workload (guest/workload/): a static program copied into the
# test guest's initramfs as /bin/vmotion-workload, and a host build of the
# same sources under ASan/UBSan that its unit test runs as a process.

WORKLOAD_SRCS := guest/workload/main.c guest/workload/options.c \
		 guest/workload/pages.c ctl/parse.c
WORKLOAD_HDRS := guest/workload/workload.h ctl/parse.h
WORKLOAD := $(BUILD)/guest/vmotion-workload
# Not *_test: scripts/check runs every build/unit/*_test.
WORKLOAD_HOST := $(BUILD)/unit/vmotion-workload

UNIT_TESTS += $(WORKLOAD_HOST) $(BUILD)/unit/workload_test

# glibc's static libc.a (libc6-dev): the initramfs has no shared libraries.
$(WORKLOAD): $(WORKLOAD_SRCS) $(WORKLOAD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $(WORKLOAD_SRCS)

$(WORKLOAD_HOST): $(WORKLOAD_SRCS) $(WORKLOAD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANITIZE) -o $@ $(WORKLOAD_SRCS)

# The test finds the workload next to itself in $(BUILD)/unit/.
$(BUILD)/unit/workload_test: guest/workload/tests/workload_test.c \
		guest/workload/pages.c $(WORKLOAD_HDRS) $(WORKLOAD_HOST) \
		$(LINUX_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SANITIZE) -I$(HARNESS) -o $@ $< \
		guest/workload/pages.c
