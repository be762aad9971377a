// SPDX-License-Identifier: GPL-2.0
/*
 * Migration between two "hosts": network namespaces joined by a veth pair
 * shaped with tc (rate and delay).  The dirty payload migrates over it
 * with equal hashes and verifies on the destination; a link cut during
 * pre-copy ends in a rollback that leaves the source running and intact.
 * Both trackers (KVM's dirty log, vmtrace.ko from inside the namespace).
 */
#include "migrate.h"
#include "kselftest_harness.h"

static const char *const dirty_64m[] = {
	"--payload", "dirty", "--mem", "64M", "--cpus", "2",
	"--rate", "2M/s", "--wss", "30%", NULL
};

FIXTURE(ns) {
	struct vmm src, dst;
	struct mt_link link;
	char to[64], json[128], out[128];
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

	/* A 200 Mbit/s link with 1 ms each way. */
	ASSERT_EQ(0, mt_link_up(&self->link, 200));
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->to, sizeof(self->to), "10.77.0.2:%d", mt_port(0));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->src.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->src.dir);
	ASSERT_EQ(0, vmm_start(&self->src, dirty_64m, 30));
	mt_netns = self->link.nsb;
	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	mt_netns = self->link.nsa;
}

FIXTURE_TEARDOWN(ns)
{
	if (!_metadata->passed) {
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
	mt_link_down(&self->link);
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
	pid = mt_migrate_bg(self->src.control, self->to, self->json,
			    self->out, self->tracker);
	ASSERT_EQ(0, mt_wait(pid, 150)) {
		fprintf(stderr, "# %s# %s", mt_slurp(self->out),
			mt_slurp(self->dst.out));
	}
	fprintf(stderr, "# %s", mt_slurp(self->out));
	json = mt_slurp(self->json);
	fprintf(stderr, "# report: %s", json);
	EXPECT_NE(NULL, strstr(json, "\"memory_hash_equal\": true"));
	EXPECT_NE(NULL, strstr(json, variant->tracker));
	EXPECT_LE(mt_json_num(json, "stun_ms"), 500);
	EXPECT_EQ(0, vmm_wait(&self->src, 10));
	expect_healthy(_metadata, &self->dst);
}

TEST_F_TIMEOUT(ns, link_cut_in_precopy_rolls_back, 200)
{
	const char *never[] = {
		"--max-stun", "1", "--max-iterations", "10000",
		"--tracker", variant->tracker, NULL
	};
	const char *json;
	pid_t pid;

	pid = mt_migrate_bg(self->src.control, self->to, self->json,
			    self->out, never);
	ASSERT_TRUE(mt_file_wait(self->out, "phase 0:", 60))
		fprintf(stderr, "# %s", mt_slurp(self->out));
	ASSERT_EQ(0, mt_sh("ip -n %s link set va%d down",
			   self->link.nsa, self->link.id));
	EXPECT_EQ(1, mt_wait(pid, 60));
	json = mt_slurp(self->json);
	EXPECT_NE(NULL, strstr(json, "\"result\": \"rolled-back\""))
		TH_LOG("%s", json);
	expect_healthy(_metadata, &self->src);
	EXPECT_EQ(0, mt_vmtrace_sessions(self->link.nsa));
}

TEST_HARNESS_MAIN
