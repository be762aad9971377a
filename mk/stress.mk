# make stress: heavy writers migrated for about an hour in a two-CPU lab
# (scripts/stress; STRESS_ROWS, STRESS_SECONDS).  Not part of make check,
# which runs a short version.
STRESS_BIN := $(BUILD)/selftests/stress/stress

.PHONY: stress
stress: all $(STRESS_BIN) lab-image guest-image
	@scripts/stress
SELFTESTS += $(STRESS_BIN)
