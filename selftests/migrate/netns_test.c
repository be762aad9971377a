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
	char nsa[32], nsb[32], to[64], json[128], out[128];
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

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

FIXTURE_SETUP(ns)
{
	int id = getpid() % 10000;

	self->tracker[0] = "--tracker";
	self->tracker[1] = variant->tracker;
	if (!strcmp(variant->tracker, "vmtrace"))
		ASSERT_EQ(0, vt_module_ensure_loaded());

	snprintf(self->nsa, sizeof(self->nsa), "vmsrc%d", id);
	snprintf(self->nsb, sizeof(self->nsb), "vmdst%d", id);
	ASSERT_EQ(0, sh("ip netns add %s && ip netns add %s", self->nsa,
			self->nsb));
	ASSERT_EQ(0, sh("ip link add va%d type veth peer name vb%d && "
			"ip link set va%d netns %s && ip link set vb%d netns %s",
			id, id, id, self->nsa, id, self->nsb));
	ASSERT_EQ(0, sh("ip -n %s addr add 10.77.0.1/24 dev va%d && "
			"ip -n %s link set va%d up && ip -n %s link set lo up && "
			"ip -n %s addr add 10.77.0.2/24 dev vb%d && "
			"ip -n %s link set vb%d up && ip -n %s link set lo up",
			self->nsa, id, self->nsa, id, self->nsa,
			self->nsb, id, self->nsb, id, self->nsb));
	/* A 200 Mbit/s link with 1 ms each way. */
	ASSERT_EQ(0, sh("tc -n %s qdisc add dev va%d root netem delay 1ms rate 200mbit limit 10000",
			self->nsa, id));
	ASSERT_EQ(0, sh("tc -n %s qdisc add dev vb%d root netem delay 1ms rate 200mbit limit 10000",
			self->nsb, id));
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->to, sizeof(self->to), "10.77.0.2:%d", mt_port(0));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->src.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->src.dir);
	ASSERT_EQ(0, vmm_start(&self->src, dirty_64m, 30));
	mt_netns = self->nsb;
	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	mt_netns = self->nsa;
}

FIXTURE_TEARDOWN(ns)
{
	if (!_metadata->passed) {
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
	sh("ip netns del %s; ip netns del %s", self->nsa, self->nsb);
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
	ASSERT_EQ(0, sh("ip -n %s link set va%d down",
			self->nsa, getpid() % 10000));
	EXPECT_EQ(1, mt_wait(pid, 60));
	json = mt_slurp(self->json);
	EXPECT_NE(NULL, strstr(json, "\"result\": \"rolled-back\""))
		TH_LOG("%s", json);
	expect_healthy(_metadata, &self->src);
	EXPECT_EQ(0, mt_vmtrace_sessions(self->nsa));
}

TEST_HARNESS_MAIN
