// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl run boots Debian's 6.1 bzImage with the test guest's busybox
 * initramfs on 2 vCPUs: it reaches init, sees both CPUs and answers on its
 * serial console; saved, killed and restored in a new process, its shell
 * still answers and its clock has not gone backwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/vmm.h"
#include "kselftest_harness.h"

FIXTURE(guest) {
	struct vmm v;
	int console;
};

/* Timings are reported, never asserted: the lab is emulated. */
static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE_SETUP(guest)
{
	const char *args[] = { "--kernel", vmm_kernel(), "--initrd",
			       vmm_initrd(), "--cmdline",
			       "console=ttyS0 panic=-1 quiet", "--mem", "256M",
			       "--cpus", "2", NULL };

	double t0 = seconds();

	self->console = -1;
	ASSERT_EQ(0, vmm_init(&self->v));
	ASSERT_EQ(0, vmm_start(&self->v, args, 30));
	if (!vmm_log_wait(&self->v, "VMOTION-GUEST-UP", 120)) {
		/* A failed setup skips the teardown. */
		vmm_dump(&self->v);
		vmm_cleanup(&self->v);
		ASSERT_TRUE(false) TH_LOG("the guest did not reach init");
	}
	TH_LOG("boot to init: %.1f s", seconds() - t0);
}

FIXTURE_TEARDOWN(guest)
{
	if (self->console >= 0)
		close(self->console);
	if (!_metadata->passed)
		vmm_dump(&self->v);
	vmm_cleanup(&self->v);
}

TEST_F_TIMEOUT(guest, boots_to_init_with_two_cpus_and_answers, 240)
{
	EXPECT_TRUE(vmm_log_wait(&self->v, "VMOTION-GUEST-UP cpus=2", 1));
	self->console = vmm_console_open(&self->v);
	ASSERT_LE(0, self->console);
	EXPECT_EQ(42, vmm_console_ask(self->console, "echo $((40 + 2))", "ANSWER"));
	EXPECT_EQ(2, vmm_console_ask(self->console, "grep -c ^processor /proc/cpuinfo",
			 "CPUS"));
}

TEST_F_TIMEOUT(guest, save_kill_restore_keeps_shell_and_clock, 300)
{
	char state[128], mem[128];
	const char *save[] = { "save", "--control", self->v.control,
			       "--state", state, "--mem-file", mem, NULL };
	const char *restore[] = { "--restore", state, "--mem-file", mem, NULL };
	double before, after, t0, t1;

	snprintf(state, sizeof(state), "%s/state", self->v.dir);
	snprintf(mem, sizeof(mem), "%s/mem", self->v.dir);
	self->console = vmm_console_open(&self->v);
	ASSERT_LE(0, self->console);
	before = vmm_console_ask(self->console, "cut -d' ' -f1 /proc/uptime", "UP");
	ASSERT_LT(0, before);
	close(self->console);
	self->console = -1;

	t0 = seconds();
	ASSERT_EQ(0, vmm_cmd(save, NULL, 0));
	t1 = seconds();
	vmm_kill(&self->v);
	unlink(self->v.control);
	unlink(self->v.console);

	ASSERT_EQ(0, vmm_start(&self->v, restore, 30));
	TH_LOG("256 MiB guest: save %.2f s, restore %.2f s",
		       t1 - t0, seconds() - t1);
	self->console = vmm_console_open(&self->v);
	ASSERT_LE(0, self->console);
	after = vmm_console_ask(self->console, "cut -d' ' -f1 /proc/uptime", "UP");
	EXPECT_LE(before, after);
	EXPECT_EQ(42, vmm_console_ask(self->console, "echo $((40 + 2))", "ANSWER"));
}

TEST_HARNESS_MAIN
