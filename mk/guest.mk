# The guest workload (guest/workload/): a static program copied into the
# test guest's initramfs as /bin/vmotion-workload, and a host build of the
# same sources under ASan/UBSan that its unit test runs as a process.

WORKLOAD_SRCS := guest/workload/main.c guest/workload/options.c \
		 guest/workload/pages.c ctl/parse.c
WORKLOAD := $(BUILD)/guest/vmotion-workload
# Not *_test: scripts/check runs every build/unit/*_test.
WORKLOAD_HOST := $(BUILD)/unit/vmotion-workload

UNIT_TESTS += $(WORKLOAD_HOST) $(BUILD)/unit/workload_test

# glibc's static libc.a (libc6-dev): the initramfs has no shared libraries.
$(WORKLOAD): $(call objs,rel,$(WORKLOAD_SRCS))
	@mkdir -p $(@D)
	$(CC) -static -o $@ $^

$(WORKLOAD_HOST): $(call objs,san,$(WORKLOAD_SRCS))
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^

# The test finds the workload next to itself in $(BUILD)/unit/.
$(BUILD)/unit/workload_test: $(call objs,san, \
		guest/workload/tests/workload_test.c guest/workload/pages.c) \
		| $(WORKLOAD_HOST)
	@mkdir -p $(@D)
	$(LD_san) -o $@ $^
