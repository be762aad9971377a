// SPDX-License-Identifier: GPL-2.0
/*
 * The source VM stops by itself in the middle of a migration (here the
 * Linux guest reboots, which this VMM treats as the end of the VM, as it
 * would a triple fault): migrate says so -- "the source VM stopped: guest
 * ..." -- rather than reporting whatever of its own failed next (a
 * harvest, say), rolls back what is left, and the destination drops its
 * half-built copy.  With both trackers.
 */
#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

FIXTURE(stop) {
	struct vmm src, dst;
	int console;
};

FIXTURE_VARIANT(stop) {
	const char *tracker;
};

FIXTURE_VARIANT_ADD(stop, kvm) {
	.tracker = "kvm",
};

FIXTURE_VARIANT_ADD(stop, vmtrace) {
	.tracker = "vmtrace",
};

FIXTURE_SETUP(stop)
{
	const char *args[] = { "--kernel", vmm_kernel(), "--initrd",
			       vmm_initrd(), "--cmdline",
			       "console=ttyS0 panic=-1 quiet", "--mem", "128M",
			       "--cpus", "1", NULL };

	self->console = -1;
	if (!strcmp(variant->tracker, "vmtrace"))
		ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	ASSERT_EQ(0, vmm_start(&self->src, args, 30));
	ASSERT_TRUE(vmm_log_wait(&self->src, "VMOTION-GUEST-UP", 120))
		TH_LOG("the guest did not reach init; see %s", self->src.log);
}

FIXTURE_TEARDOWN(stop)
{
	if (self->console >= 0)
		close(self->console);
	if (!_metadata->passed) {
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_kill(&self->src);
	vmm_kill(&self->dst);
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
}

TEST_F_TIMEOUT(stop, guest_reboot_during_precopy_is_named, 200)
{
	/* A window nobody can meet keeps it in pre-copy until the reboot. */
	const char *const never[] = {
		"--tracker", variant->tracker, "--max-stun", "1",
		"--max-iterations", "10000", "--sdps", "off", NULL
	};
	char to[64], json[128], out[128];
	const char *report;
	pid_t pid;

	snprintf(to, sizeof(to), "127.0.0.1:%d", mt_port(0));
	snprintf(json, sizeof(json), "%s/report.json", self->src.dir);
	snprintf(out, sizeof(out), "%s/migrate.out", self->src.dir);
	ASSERT_EQ(0, mt_receiver_start(&self->dst, to, NULL));
	self->console = vmm_console_open(&self->src);
	ASSERT_LE(0, self->console);
	pid = mt_migrate_bg(self->src.control, to, json, out, never);
	ASSERT_TRUE(mt_file_wait(out, "phase 1:", 90))
		fprintf(stderr, "# %s", mt_slurp(out));
	ASSERT_EQ(0, vmm_console_send(self->console, "reboot -f\n"));
	EXPECT_EQ(1, mt_wait(pid, 60));
	report = mt_slurp(json);
	fprintf(stderr, "# report: %s", report);
	EXPECT_STREQ("rolled-back", report_str(report, "result"))
		TH_LOG("%s", report);
	EXPECT_NE(NULL, strstr(report_str(report, "reason"),
			       "the source VM stopped: guest"))
		TH_LOG("%s", report);
	EXPECT_EQ(NULL, strstr(report_str(report, "reason"), "harvest"))
		TH_LOG("%s", report);
	/* The source VMM ended with its guest; the destination copy went. */
	EXPECT_EQ(0, vmm_wait(&self->src, 10));
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 20));
	EXPECT_FALSE(file_exists(self->dst.control));
	EXPECT_EQ(0, mt_vmtrace_sessions(NULL));
}

TEST_HARNESS_MAIN
