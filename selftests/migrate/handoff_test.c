// SPDX-License-Identifier: GPL-2.0
/*
 * The switchover under faults: exactly one running copy, every time.
 *
 * A relay between migrate and receive (fault_relay.h) cuts or stalls the
 * link at each frame of the switchover, in both directions: the dirty set,
 * its first pages, the checkpoint, the destination's answer to it, COMMIT,
 * and the answer to COMMIT.  Before the source commits, the VM must end
 * up running on the source and the destination's copy dropped; after, it
 * must end up running on the destination -- settled by migrate's RESOLVE
 * over a new connection -- and the source gone.  Then the sides' own
 * deaths: migrate killed on either side of the commit, the receiver
 * killed after the source committed, the source VMM killed while the
 * destination restores; where a doubt is left the operator settles it
 * with `vmotionctl handoff`, and the test checks that the VM can
 * always be resumed in exactly one place.  In each case the guest that
 * runs in the end verifies every page of its memory.
 */
#include "migrate.h"
#include "fault_relay.h"
#include "kselftest_harness.h"

static const char *const dirty_64m[] = {
	"--payload", "dirty", "--mem", "64M", "--cpus", "2",
	"--rate", "16M/s", "--wss", "30%", NULL
};

enum where { ON_SOURCE, ON_DESTINATION };

FIXTURE(ho) {
	struct vmm src, dst;
	char relay_to[64], direct_to[64], json[128], out[128], fired[128];
	struct fault fault;
	pid_t relay;
};

FIXTURE_VARIANT(ho) {
	enum fault_dir dir;
	int cmd;
	bool after, stall;
	enum where ends;
};

/* Towards the destination: each frame of the switchover, cut before it. */
FIXTURE_VARIANT_ADD(ho, cut_before_dirty_set) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_DIRTY_SET, .ends = ON_SOURCE,
};
FIXTURE_VARIANT_ADD(ho, cut_before_switchover_pages) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_PAGES, .ends = ON_SOURCE,
};
FIXTURE_VARIANT_ADD(ho, cut_before_checkpoint) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_CHECKPOINT, .ends = ON_SOURCE,
};
/* The destination restores, then loses the source: it holds a copy. */
FIXTURE_VARIANT_ADD(ho, cut_after_checkpoint) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_CHECKPOINT, .after = true,
	.ends = ON_SOURCE,
};
FIXTURE_VARIANT_ADD(ho, cut_answer_to_checkpoint) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT, .ends = ON_SOURCE,
};
/* The source has committed: the lost VM. */
FIXTURE_VARIANT_ADD(ho, cut_before_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .ends = ON_DESTINATION,
};
FIXTURE_VARIANT_ADD(ho, cut_after_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .after = true,
	.ends = ON_DESTINATION,
};
FIXTURE_VARIANT_ADD(ho, cut_answer_to_commit) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_COMMIT, .ends = ON_DESTINATION,
};
/* A link gone silent: both sides must time out, and still agree. */
FIXTURE_VARIANT_ADD(ho, stall_answer_to_checkpoint) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT, .stall = true,
	.ends = ON_SOURCE,
};
FIXTURE_VARIANT_ADD(ho, stall_before_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .stall = true,
	.ends = ON_DESTINATION,
};

FIXTURE_SETUP(ho)
{
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->direct_to, sizeof(self->direct_to), "127.0.0.1:%d",
		 mt_port(0));
	snprintf(self->relay_to, sizeof(self->relay_to), "127.0.0.1:%d",
		 mt_port(3));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->src.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->src.dir);
	snprintf(self->fired, sizeof(self->fired), "%s/fault-fired",
		 self->src.dir);
	self->fault = (struct fault) {
		.dir = variant->dir, .cmd = variant->cmd,
		.after = variant->after, .stall = variant->stall,
		.fired = self->fired,
	};
	self->relay = -1;
	ASSERT_EQ(0, vmm_start(&self->src, dirty_64m, 30));
	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->direct_to, NULL));
	self->relay = fault_relay(mt_port(3), mt_port(0), &self->fault);
	ASSERT_LT(0, self->relay);
	usleep(300000);	/* some memory written, so the switchover has pages */
}

FIXTURE_TEARDOWN(ho)
{
	if (self->relay > 0) {
		kill(self->relay, SIGKILL);
		waitpid(self->relay, NULL, 0);
	}
	if (!_metadata->passed) {
		fprintf(stderr, "# --- migrate\n%s", mt_slurp(self->out));
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_kill(&self->src);
	vmm_kill(&self->dst);
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
}

/* "ok state=..." of @v's VMM, or "" if it does not answer. */
static const char *state_of(struct vmm *v)
{
	static char reply[256];

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return "";
	return reply;
}

/* The VM runs at @v, writes on, and every page of its memory is right. */
static void expect_running_intact(struct __test_metadata *_metadata,
				  struct vmm *v)
{
	unsigned long long w0, w1;
	char reply[256];

	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	ASSERT_NE(NULL, strstr(reply, "state=running")) TH_LOG("%s", reply);
	w0 = mt_field(reply, "pages_written=");
	usleep(300000);
	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	w1 = mt_field(reply, "pages_written=");
	EXPECT_GT(w1, w0) TH_LOG("the guest does not progress: %s", reply);
	ASSERT_EQ(0, vmm_request(v, "verify 20000", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	EXPECT_STREQ("ok bad_pages=0", reply);
}

/*
 * The destination holds no copy: it dropped it (or never made one), and
 * listens for migrations again, without a control socket.
 */
static void expect_no_destination_copy(struct __test_metadata *_metadata,
				       FIXTURE_DATA(ho) *self)
{
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 40))
		TH_LOG("destination: %s", state_of(&self->dst));
	EXPECT_FALSE(file_exists(self->dst.control));
}

TEST_F_TIMEOUT(ho, exactly_one_copy_runs, 150)
{
	const char *json;
	int rc;

	rc = mt_wait(mt_migrate_bg(self->src.control, self->relay_to,
				   self->json, self->out,
				   (const char *const[]){ "--tracker", "kvm",
							  NULL }), 120);
	json = mt_slurp(self->json);
	ASSERT_TRUE(file_exists(self->fired))
		TH_LOG("the fault never struck; migrate exited %d: %s", rc, json);
	if (variant->ends == ON_SOURCE) {
		EXPECT_EQ(1, rc);
		EXPECT_NE(NULL, strstr(json, "\"result\": \"rolled-back\""))
			TH_LOG("%s", json);
		expect_running_intact(_metadata, &self->src);
		expect_no_destination_copy(_metadata, self);
	} else {
		EXPECT_EQ(0, rc);
		EXPECT_NE(NULL, strstr(json, "\"result\": \"ok\"")) TH_LOG("%s", json);
		EXPECT_NE(NULL, strstr(mt_slurp(self->out), "resolved: the VM runs at the destination"));
		expect_running_intact(_metadata, &self->dst);
		/* The source copy is gone for good. */
		EXPECT_EQ(0, vmm_wait(&self->src, 10));
	}
}

/* vmotionctl handoff ARGS... against @v; its exit status. */
static int handoff(struct vmm *v, const char *a, const char *b, char *out,
		   size_t len)
{
	const char *args[] = { "handoff", "--control", v->control, a, b, NULL };

	return vmm_cmd(args, out, len);
}

FIXTURE(kill) {
	struct vmm src, dst;
	char relay_to[64], direct_to[64], json[128], out[128], fired[128];
	struct fault fault;
	pid_t relay, migrate;
};

FIXTURE_SETUP(kill)
{
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->direct_to, sizeof(self->direct_to), "127.0.0.1:%d",
		 mt_port(0));
	snprintf(self->relay_to, sizeof(self->relay_to), "127.0.0.1:%d",
		 mt_port(3));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->src.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->src.dir);
	snprintf(self->fired, sizeof(self->fired), "%s/fault-fired",
		 self->src.dir);
	self->relay = self->migrate = -1;
	ASSERT_EQ(0, vmm_start(&self->src, dirty_64m, 30));
	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->direct_to, NULL));
	usleep(300000);
}

FIXTURE_TEARDOWN(kill)
{
	if (self->relay > 0) {
		kill(self->relay, SIGKILL);
		waitpid(self->relay, NULL, 0);
	}
	if (self->migrate > 0)
		mt_wait(self->migrate, 1);
	if (!_metadata->passed) {
		fprintf(stderr, "# --- migrate\n%s", mt_slurp(self->out));
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_kill(&self->src);
	vmm_kill(&self->dst);
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
}

/*
 * Stall the link at @cmd (towards @dir) and wait for the fault; migrate
 * still waits for an answer then.  @resolve_timeout for migrate.
 */
static void stall_at(struct __test_metadata *_metadata,
		     FIXTURE_DATA(kill) *self, enum fault_dir dir, int cmd,
		     const char *resolve_timeout)
{
	self->fault = (struct fault) {
		.dir = dir, .cmd = cmd, .stall = true, .fired = self->fired,
	};
	self->relay = fault_relay(mt_port(3), mt_port(0), &self->fault);
	ASSERT_LT(0, self->relay);
	self->migrate = mt_migrate_bg(self->src.control, self->relay_to,
				      self->json, self->out,
				      (const char *const[]){
					      "--tracker", "kvm",
					      "--resolve-timeout",
					      resolve_timeout, NULL });
	ASSERT_LT(0, self->migrate);
	for (int i = 0; i < 600 && !file_exists(self->fired); i++)
		usleep(100000);
	ASSERT_TRUE(file_exists(self->fired));
}

/* The link, cut for good: the destination learns at once. */
static void cut_link(FIXTURE_DATA(kill) *self)
{
	kill(self->relay, SIGKILL);
	waitpid(self->relay, NULL, 0);
	self->relay = -1;
}

/*
 * migrate dies before the commit, the destination holding a restored
 * copy: the source VMM resumes by itself (its controller is gone, and it
 * never committed); the destination keeps its copy paused, in doubt,
 * until the operator drops it.
 */
TEST_F_TIMEOUT(kill, migrate_killed_before_commit, 120)
{
	char out[512];

	stall_at(_metadata, self, FAULT_TO_SRC, VMOTION_CMD_CHECKPOINT, "5");
	kill(self->migrate, SIGKILL);
	mt_wait(self->migrate, 10);
	self->migrate = -1;
	cut_link(self);
	expect_running_intact(_metadata, &self->src);
	ASSERT_TRUE(mt_file_wait(self->dst.out, "in doubt", 40));
	EXPECT_NE(NULL, strstr(state_of(&self->dst), "state=in-doubt"))
		TH_LOG("%s", state_of(&self->dst));
	/* Held, not running: requests that need vCPUs are refused. */
	EXPECT_EQ(1, vmm_request(&self->dst, "pause", out, sizeof(out)));
	EXPECT_EQ(0, handoff(&self->dst, NULL, NULL, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "role=destination state=in-doubt")) TH_LOG("%s", out);
	EXPECT_EQ(0, handoff(&self->dst, "--discard", NULL, out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 10));
	expect_running_intact(_metadata, &self->src);
}

/*
 * migrate dies after the commit, COMMIT never delivered: both copies are
 * paused; `handoff --resolve` on the source has the destination run it
 * and the source quit.
 */
TEST_F_TIMEOUT(kill, migrate_killed_after_commit, 120)
{
	char out[512];

	stall_at(_metadata, self, FAULT_TO_DST, VMOTION_CMD_COMMIT, "5");
	kill(self->migrate, SIGKILL);
	mt_wait(self->migrate, 10);
	self->migrate = -1;
	cut_link(self);
	ASSERT_TRUE(mt_file_wait(self->dst.out, "in doubt", 40));
	/* Neither runs it: the source is committed, the destination waits. */
	EXPECT_NE(NULL, strstr(state_of(&self->src), "state=migrated"));
	EXPECT_EQ(1, vmm_request(&self->src, "resume", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(state_of(&self->dst), "state=in-doubt"));
	EXPECT_EQ(0, handoff(&self->src, NULL, NULL, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "role=source state=committed")) TH_LOG("%s", out);
	EXPECT_EQ(0, handoff(&self->src, "--resolve", self->direct_to, out,
			     sizeof(out))) TH_LOG("%s", out);
	expect_running_intact(_metadata, &self->dst);
	EXPECT_EQ(0, vmm_wait(&self->src, 10));
}

/*
 * The destination dies after the source committed: no copy runs, and
 * migrate cannot settle it.  The source's copy stays, paused, and the
 * operator can bring it back -- with a warning of what that risks.
 */
TEST_F_TIMEOUT(kill, receiver_killed_after_commit, 120)
{
	char out[512];
	int rc;

	stall_at(_metadata, self, FAULT_TO_DST, VMOTION_CMD_COMMIT, "3");
	vmm_kill(&self->dst);
	cut_link(self);
	rc = mt_wait(self->migrate, 60);
	self->migrate = -1;
	EXPECT_EQ(1, rc);
	EXPECT_NE(NULL, strstr(mt_slurp(self->json), "\"result\": \"in-doubt\""))
		TH_LOG("%s", mt_slurp(self->json));
	EXPECT_NE(NULL, strstr(mt_slurp(self->out), "vmotionctl handoff"));
	EXPECT_NE(NULL, strstr(state_of(&self->src), "state=migrated"));
	EXPECT_NE(0, handoff(&self->src, "--resolve", self->direct_to, out,
			     sizeof(out)));
	EXPECT_EQ(0, handoff(&self->src, "--force-resume", NULL, out,
			     sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "two copies")) TH_LOG("%s", out);
	expect_running_intact(_metadata, &self->src);
}

/*
 * The source VMM dies while the destination restores: the destination's
 * copy, verified, is the only one left, and migrate commits it there.
 */
TEST_F_TIMEOUT(kill, source_vmm_killed_at_the_restore, 120)
{
	int rc;

	self->fault = (struct fault) {
		.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT,
		.delay_ms = 2000, .fired = self->fired,
	};
	self->relay = fault_relay(mt_port(3), mt_port(0), &self->fault);
	ASSERT_LT(0, self->relay);
	self->migrate = mt_migrate_bg(self->src.control, self->relay_to,
				      self->json, self->out,
				      (const char *const[]){ "--tracker", "kvm",
							     NULL });
	for (int i = 0; i < 600 && !file_exists(self->fired); i++)
		usleep(100000);
	ASSERT_TRUE(file_exists(self->fired));
	vmm_kill(&self->src);
	rc = mt_wait(self->migrate, 60);
	self->migrate = -1;
	EXPECT_EQ(0, rc);
	EXPECT_NE(NULL, strstr(mt_slurp(self->out), "source VMM died"));
	expect_running_intact(_metadata, &self->dst);
}

TEST_HARNESS_MAIN
