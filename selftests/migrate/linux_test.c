// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest (Debian's 6.1 bzImage, busybox initramfs, 2 vCPUs,
 * 128 MiB) live-migrates over loopback TCP, three hops (A -> B -> C ->
 * D): after each its shell answers on the new VMM's console, its uptime
 * has not gone backwards and the memory hashes were equal.  One boot
 * (~30 s in the lab) serves all hops.
 */
#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

#define HOPS	3

FIXTURE(hops) {
	struct vmm v[HOPS + 1];
	int console;
};

FIXTURE_SETUP(hops)
{
	const char *args[] = { "--kernel", vmm_kernel(), "--initrd",
			       vmm_initrd(), "--cmdline",
			       "console=ttyS0 panic=-1 quiet", "--mem", "128M",
			       "--cpus", "2", NULL };
	int i;

	self->console = -1;
	for (i = 0; i <= HOPS; i++)
		ASSERT_EQ(0, vmm_init(&self->v[i]));
	ASSERT_EQ(0, vmm_start(&self->v[0], args, 30));
	ASSERT_TRUE(vmm_log_wait(&self->v[0], "VMOTION-GUEST-UP", 120))
		TH_LOG("the guest did not reach init; see %s", self->v[0].log);
}

FIXTURE_TEARDOWN(hops)
{
	int i;

	if (self->console >= 0)
		close(self->console);
	for (i = 0; i <= HOPS; i++)
		vmm_cleanup(&self->v[i]);
}

TEST_F_TIMEOUT(hops, three_hops_shell_answers, 280)
{
	char to[64], json[128], out[128];
	double up = 0, now;
	int i;

	self->console = vmm_console_open(&self->v[0]);
	ASSERT_LE(0, self->console);
	up = vmm_console_ask(self->console, "cut -d' ' -f1 /proc/uptime", "UP");
	ASSERT_LT(0, up);
	close(self->console);
	self->console = -1;
	for (i = 1; i <= HOPS; i++) {
		const char *report;
		pid_t pid;

		snprintf(to, sizeof(to), "127.0.0.1:%d", mt_port(i));
		snprintf(json, sizeof(json), "%s/report.json", self->v[i].dir);
		snprintf(out, sizeof(out), "%s/migrate.out", self->v[i].dir);
		ASSERT_EQ(0, mt_receiver_start(&self->v[i], to, NULL));
		pid = mt_migrate_bg(self->v[i - 1].control, to, json, out, NULL);
		ASSERT_EQ(0, mt_wait(pid, 120)) {
			fprintf(stderr, "# %s", mt_slurp(out));
			fprintf(stderr, "# %s", mt_slurp(self->v[i].out));
			/* Why the source is gone, if it is. */
			vmm_dump(&self->v[i - 1]);
		}
		report = mt_slurp(json);
		EXPECT_EQ(1, report_bool(report, "memory_hash_equal"));
		TH_LOG("hop %d: total %.0f ms, stun %.1f ms (predicted %.1f), %.0f bytes",
		       i, report_num(report, "total_ms"),
		       report_num(report, "stun_ms"),
		       report_num(report, "predicted_stun_ms"),
		       report_num(report, "bytes_sent"));
		EXPECT_EQ(0, vmm_wait(&self->v[i - 1], 10));
		self->console = vmm_console_open(&self->v[i]);
		ASSERT_LE(0, self->console);
		EXPECT_EQ(42, vmm_console_ask(self->console, "echo $((40 + 2))", "ANSWER"));
		now = vmm_console_ask(self->console, "cut -d' ' -f1 /proc/uptime", "UP");
		EXPECT_GE(now, up) TH_LOG("uptime went from %.2f to %.2f", up, now);
		up = now;
		close(self->console);
		self->console = -1;
	}
}

TEST_HARNESS_MAIN
