// SPDX-License-Identifier: GPL-2.0
/*
 * Migration between two "hosts": network namespaces joined by a veth pair
 * shaped with tc (rate and delay).  The dirty payload migrates over it
 * with equal hashes and verifies on the destination; a link cut during
 * pre-copy ends in a rollback that leaves the source running and intact.
 * Both trackers (KVM's dirty log, vmtrace.ko from inside the namespace).
 */
#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

static const char *const dirty_64m[] = {
	"--payload", "dirty", "--mem", "64M", "--cpus", "2",
	"--rate", "2M/s", "--wss", "30%", NULL
};

FIXTURE(ns) {
	struct mt_hosts h;
	const char *tracker[3];
};

FIXTURE_VARIANT(ns) {
	const char *tracker;
};

FIXTURE_VARIANT_ADD(ns, kvm) {
	.tracker = "kvm",
};

FIXTURE_VARIANT_ADD(ns, vmtrace) {
	.tracker = "vmtrace",
};

FIXTURE_SETUP(ns)
{
	self->tracker[0] = "--tracker";
	self->tracker[1] = variant->tracker;
	if (!strcmp(variant->tracker, "vmtrace"))
		ASSERT_EQ(0, vt_module_ensure_loaded());

	ASSERT_EQ(0, mt_hosts_up(&self->h, dirty_64m));
}

FIXTURE_TEARDOWN(ns)
{
	mt_hosts_down(&self->h, !_metadata->passed);
}

static void expect_healthy(struct __test_metadata *_metadata, struct vmm *v)
{
	char reply[256];

	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "state=running")) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "locked=0")) TH_LOG("%s", reply);
	ASSERT_EQ(0, vmm_request(v, "verify 20000", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	EXPECT_STREQ("ok bad_pages=0", reply);
}

TEST_F_TIMEOUT(ns, dirty_64m_over_veth, 200)
{
	const char *json;
	pid_t pid;

	sleep(1);
	pid = mt_migrate_bg(self->h.src.control, self->h.to, self->h.json,
			    self->h.out, self->tracker);
	ASSERT_EQ(0, mt_wait(pid, 150)) {
		fprintf(stderr, "# %s# %s", mt_slurp(self->h.out),
			mt_slurp(self->h.dst.out));
	}
	fprintf(stderr, "# %s", mt_slurp(self->h.out));
	json = mt_slurp(self->h.json);
	fprintf(stderr, "# report: %s", json);
	EXPECT_EQ(1, report_bool(json, "memory_hash_equal"));
	EXPECT_STREQ(variant->tracker, report_str(json, "tracker"));
	EXPECT_LE(report_num(json, "stun_ms"), 500);
	EXPECT_EQ(0, vmm_wait(&self->h.src, 10));
	expect_healthy(_metadata, &self->h.dst);
}

TEST_F_TIMEOUT(ns, link_cut_in_precopy_rolls_back, 200)
{
	const char *never[] = {
		"--max-stun", "1", "--max-iterations", "10000",
		"--tracker", variant->tracker, NULL
	};
	const char *json;
	pid_t pid;

	pid = mt_migrate_bg(self->h.src.control, self->h.to, self->h.json,
			    self->h.out, never);
	ASSERT_TRUE(mt_file_wait(self->h.out, "phase 0:", 60))
		fprintf(stderr, "# %s", mt_slurp(self->h.out));
	ASSERT_EQ(0, mt_sh("ip -n %s link set va%d down",
			   self->h.link.nsa, self->h.link.id));
	EXPECT_EQ(1, mt_wait(pid, 60));
	json = mt_slurp(self->h.json);
	EXPECT_STREQ("rolled-back", report_str(json, "result"))
		TH_LOG("%s", json);
	expect_healthy(_metadata, &self->h.src);
	EXPECT_EQ(0, mt_vmtrace_sessions(self->h.link.nsa));
}

TEST_HARNESS_MAIN
