# make bench-migrate: vmotion against QEMU's own live migration (7.2 and
# 10.0) on the same nested Linux guest and workload, in one lab run
# (scripts/bench-migrate, bench/migrate/, Documentation/admin-guide/
# benchmarks.rst).  QUICK=1: the quick set; SET=name: any set of
# bench/migrate/scenarios.  Not part of make check, which runs the
# parser's test on recorded runs (bench-migrate-parser).
.PHONY: bench-migrate bench-migrate-parser

bench-migrate: all lab-image guest-image
	@scripts/bench-migrate

bench-migrate-parser:
	python3 bench/migrate/tests/record_test.py

