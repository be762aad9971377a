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
#include "../lib/report.h"
#include "migrate.h"
#include "fault_relay.h"
#include "kselftest_harness.h"

/*
 * KVM's dirty log: the handoff does not depend on the tracker, and this
 * needs no module.  A wide window, so that pre-copy always converges and
 * the switchover -- where the faults are -- always comes.
 */
#define MIGRATE_ARGS	"--tracker", "kvm", "--max-stun", "2000"

static const char *const dirty_64m[] = {
	"--payload", "dirty", "--mem", "64M", "--cpus", "2",
	"--rate", "8M/s", "--wss", "30%", NULL
};

enum where { ON_SOURCE, ON_DESTINATION };

/* Source VMM, receiver, and the relay between them; one per test. */
struct pair {
	struct vmm src, dst;
	char relay_to[64], direct_to[64], json[128], out[128], fired[128];
	struct fault fault;
	pid_t relay, migrate;
};

static int pair_up(struct pair *p)
{
	if (vmm_init(&p->src) || vmm_init(&p->dst))
		return -1;
	snprintf(p->direct_to, sizeof(p->direct_to), "127.0.0.1:%d", mt_port(0));
	snprintf(p->relay_to, sizeof(p->relay_to), "127.0.0.1:%d", mt_port(3));
	snprintf(p->json, sizeof(p->json), "%s/report.json", p->src.dir);
	snprintf(p->out, sizeof(p->out), "%s/migrate.out", p->src.dir);
	snprintf(p->fired, sizeof(p->fired), "%s/fault-fired", p->src.dir);
	p->relay = p->migrate = -1;
	if (vmm_start(&p->src, dirty_64m, 30) ||
	    mt_receiver_start(&p->dst, p->direct_to, NULL))
		return -1;
	usleep(300000);	/* some memory written, so the switchover has pages */
	return 0;
}

/* Start the relay with @f, striking on its first connection. */
static int relay_up(struct pair *p, const struct fault *f)
{
	p->fault = *f;
	p->fault.fired = p->fired;
	p->relay = fault_relay(mt_port(3), mt_port(0), &p->fault);
	return p->relay > 0 ? 0 : -1;
}

static void pair_down(struct pair *p, bool failed)
{
	if (p->relay > 0) {
		kill(p->relay, SIGKILL);
		waitpid(p->relay, NULL, 0);
	}
	if (p->migrate > 0)
		mt_wait(p->migrate, 1);
	if (failed) {
		fprintf(stderr, "# --- migrate\n%s", mt_slurp(p->out));
		vmm_dump(&p->src);
		vmm_dump(&p->dst);
	}
	vmm_kill(&p->src);
	vmm_kill(&p->dst);
	vmm_cleanup(&p->src);
	vmm_cleanup(&p->dst);
}

FIXTURE(ho) {
	struct pair p;
};

FIXTURE_VARIANT(ho) {
	enum fault_dir dir;
	int cmd;
	bool after, stall;
	enum where ends;
	/* What the receiver must have said: how the fault was settled. */
	const char *settled;
};

/* Towards the destination: each frame of the switchover, cut before it. */
FIXTURE_VARIANT_ADD(ho, cut_before_dirty_set) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_DIRTY_SET, .ends = ON_SOURCE,
	.settled = "migration discarded",
};
FIXTURE_VARIANT_ADD(ho, cut_before_switchover_pages) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_PAGES, .ends = ON_SOURCE,
	.settled = "migration discarded",
};
FIXTURE_VARIANT_ADD(ho, cut_before_checkpoint) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_CHECKPOINT, .ends = ON_SOURCE,
	.settled = "migration discarded",
};
/* The destination restores, then loses the source: it holds a copy. */
FIXTURE_VARIANT_ADD(ho, cut_after_checkpoint) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_CHECKPOINT, .after = true,
	.ends = ON_SOURCE,
	.settled = "the source did not commit migration",
};
FIXTURE_VARIANT_ADD(ho, cut_answer_to_checkpoint) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT, .ends = ON_SOURCE,
	.settled = "the source did not commit migration",
};
/* The source has committed: the lost VM. */
FIXTURE_VARIANT_ADD(ho, cut_before_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .ends = ON_DESTINATION,
	.settled = "the source committed migration",
};
FIXTURE_VARIANT_ADD(ho, cut_after_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .after = true,
	.ends = ON_DESTINATION,
	.settled = ": running",
};
FIXTURE_VARIANT_ADD(ho, cut_answer_to_commit) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_COMMIT, .ends = ON_DESTINATION,
	.settled = ": running",
};
/* A link gone silent: both sides must time out, and still agree. */
FIXTURE_VARIANT_ADD(ho, stall_answer_to_checkpoint) {
	.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT, .stall = true,
	.ends = ON_SOURCE,
	.settled = "the source did not commit migration",
};
FIXTURE_VARIANT_ADD(ho, stall_before_commit) {
	.dir = FAULT_TO_DST, .cmd = VMOTION_CMD_COMMIT, .stall = true,
	.ends = ON_DESTINATION,
	.settled = "the source committed migration",
};

FIXTURE_SETUP(ho)
{
	const struct fault f = {
		.dir = variant->dir, .cmd = variant->cmd,
		.after = variant->after, .stall = variant->stall,
	};

	ASSERT_EQ(0, pair_up(&self->p));
	ASSERT_EQ(0, relay_up(&self->p, &f));
}

FIXTURE_TEARDOWN(ho)
{
	pair_down(&self->p, !_metadata->passed);
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
				       struct pair *self)
{
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 40))
		TH_LOG("destination: %s", state_of(&self->dst));
	EXPECT_FALSE(file_exists(self->dst.control));
}

TEST_F_TIMEOUT(ho, exactly_one_copy_runs, 150)
{
	struct pair *p = &self->p;
	const char *json;
	int rc;

	rc = mt_wait(mt_migrate_bg(p->src.control, p->relay_to,
				   p->json, p->out,
				   (const char *const[]){ MIGRATE_ARGS, NULL }), 120);
	json = mt_slurp(p->json);
	ASSERT_TRUE(file_exists(p->fired))
		TH_LOG("the fault never struck; migrate exited %d: %s", rc, json);
	if (variant->ends == ON_SOURCE) {
		EXPECT_EQ(1, rc);
		EXPECT_STREQ("rolled-back", report_str(json, "result"))
			TH_LOG("%s", json);
		expect_running_intact(_metadata, &p->src);
		expect_no_destination_copy(_metadata, p);
	} else {
		EXPECT_EQ(0, rc);
		EXPECT_STREQ("ok", report_str(json, "result")) TH_LOG("%s", json);
		EXPECT_NE(NULL, strstr(mt_slurp(p->out), "resolved: the VM runs at the destination"));
		expect_running_intact(_metadata, &p->dst);
		/* The source copy is gone for good. */
		EXPECT_EQ(0, vmm_wait(&p->src, 10));
	}
	/* mt_slurp()'s buffer: json is spent from here. */
	EXPECT_TRUE(mt_file_wait(p->dst.out, variant->settled, 40))
		TH_LOG("the receiver never said \"%s\"", variant->settled);
}

/* vmotionctl handoff ARGS... against @v; its exit status. */
static int handoff(struct vmm *v, const char *a, const char *b, char *out,
		   size_t len)
{
	const char *args[] = { "handoff", "--control", v->control, a, b, NULL };

	return vmm_cmd(args, out, len);
}

FIXTURE(kill) {
	struct pair p;
};

FIXTURE_SETUP(kill)
{
	ASSERT_EQ(0, pair_up(&self->p));
}

FIXTURE_TEARDOWN(kill)
{
	pair_down(&self->p, !_metadata->passed);
}

/*
 * Stall the link at @cmd (towards @dir) and wait for the fault; migrate
 * still waits for an answer then.  @resolve_timeout for migrate.
 */
/* Wait up to a minute for the relay's fault to strike. */
static bool fault_wait(struct pair *p)
{
	for (int i = 0; i < 600 && !file_exists(p->fired); i++)
		usleep(100000);
	return file_exists(p->fired);
}

static void stall_at(struct __test_metadata *_metadata, struct pair *p,
		     enum fault_dir dir, int cmd, const char *resolve_timeout)
{
	const struct fault f = { .dir = dir, .cmd = cmd, .stall = true };

	ASSERT_EQ(0, relay_up(p, &f));
	p->migrate = mt_migrate_bg(p->src.control, p->relay_to, p->json,
				   p->out, (const char *const[]){
					   MIGRATE_ARGS, "--resolve-timeout",
					   resolve_timeout, NULL });
	ASSERT_LT(0, p->migrate);
	ASSERT_TRUE(fault_wait(p));
}

/* The link, cut for good: the destination learns at once. */
static void cut_link(struct pair *p)
{
	kill(p->relay, SIGKILL);
	waitpid(p->relay, NULL, 0);
	p->relay = -1;
}

/*
 * migrate dies before the commit, the destination holding a restored
 * copy: the source VMM resumes by itself (its controller is gone, and it
 * never committed); the destination keeps its copy paused, in doubt,
 * until the operator drops it.
 */
TEST_F_TIMEOUT(kill, migrate_killed_before_commit, 120)
{
	struct pair *p = &self->p;
	char out[512];

	stall_at(_metadata, p, FAULT_TO_SRC, VMOTION_CMD_CHECKPOINT, "5");
	kill(p->migrate, SIGKILL);
	mt_wait(p->migrate, 10);
	p->migrate = -1;
	cut_link(p);
	expect_running_intact(_metadata, &p->src);
	ASSERT_TRUE(mt_file_wait(p->dst.out, "in doubt", 40));
	EXPECT_NE(NULL, strstr(state_of(&p->dst), "state=in-doubt"))
		TH_LOG("%s", state_of(&p->dst));
	/* Held, not running: requests that need vCPUs are refused. */
	EXPECT_EQ(1, vmm_request(&p->dst, "pause", out, sizeof(out)));
	EXPECT_EQ(0, handoff(&p->dst, NULL, NULL, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "role=destination state=in-doubt")) TH_LOG("%s", out);
	EXPECT_EQ(0, handoff(&p->dst, "--discard", NULL, out, sizeof(out)))
		TH_LOG("%s", out);
	EXPECT_TRUE(mt_file_wait(p->dst.out, "listening again", 10));
	expect_running_intact(_metadata, &p->src);
}

/*
 * migrate dies after the commit, COMMIT never delivered: both copies are
 * paused; `handoff --resolve` on the source has the destination run it
 * and the source quit.
 */
TEST_F_TIMEOUT(kill, migrate_killed_after_commit, 120)
{
	struct pair *p = &self->p;
	char out[512];

	stall_at(_metadata, p, FAULT_TO_DST, VMOTION_CMD_COMMIT, "5");
	kill(p->migrate, SIGKILL);
	mt_wait(p->migrate, 10);
	p->migrate = -1;
	cut_link(p);
	ASSERT_TRUE(mt_file_wait(p->dst.out, "in doubt", 40));
	/* Neither runs it: the source is committed, the destination waits. */
	EXPECT_NE(NULL, strstr(state_of(&p->src), "state=migrated"));
	EXPECT_EQ(1, vmm_request(&p->src, "resume", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(state_of(&p->dst), "state=in-doubt"));
	EXPECT_EQ(0, handoff(&p->src, NULL, NULL, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "role=source state=committed")) TH_LOG("%s", out);
	EXPECT_EQ(0, handoff(&p->src, "--resolve", p->direct_to, out,
			     sizeof(out))) TH_LOG("%s", out);
	expect_running_intact(_metadata, &p->dst);
	EXPECT_EQ(0, vmm_wait(&p->src, 10));
}

/*
 * The destination dies after the source committed: no copy runs, and
 * migrate cannot settle it.  The source's copy stays, paused, and the
 * operator can bring it back -- with a warning of what that risks.
 */
TEST_F_TIMEOUT(kill, receiver_killed_after_commit, 120)
{
	struct pair *p = &self->p;
	char out[512];
	int rc;

	stall_at(_metadata, p, FAULT_TO_DST, VMOTION_CMD_COMMIT, "3");
	vmm_kill(&p->dst);
	cut_link(p);
	rc = mt_wait(p->migrate, 60);
	p->migrate = -1;
	EXPECT_EQ(1, rc);
	EXPECT_NE(NULL, strstr(mt_slurp(p->json), "\"result\": \"in-doubt\""))
		TH_LOG("%s", mt_slurp(p->json));
	EXPECT_NE(NULL, strstr(mt_slurp(p->out), "vmotionctl handoff"));
	EXPECT_NE(NULL, strstr(state_of(&p->src), "state=migrated"));
	EXPECT_NE(0, handoff(&p->src, "--resolve", p->direct_to, out,
			     sizeof(out)));
	EXPECT_EQ(0, handoff(&p->src, "--force-resume", NULL, out,
			     sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "two copies")) TH_LOG("%s", out);
	expect_running_intact(_metadata, &p->src);
}

/*
 * The source VMM dies while the destination restores: the destination's
 * copy, verified, is the only one left, and migrate commits it there.
 */
TEST_F_TIMEOUT(kill, source_vmm_killed_at_the_restore, 120)
{
	struct pair *p = &self->p;
	int rc;

	p->fault = (struct fault) {
		.dir = FAULT_TO_SRC, .cmd = VMOTION_CMD_CHECKPOINT,
		.delay_ms = 8000, .fired = p->fired,
	};
	p->relay = fault_relay(mt_port(3), mt_port(0), &p->fault);
	ASSERT_LT(0, p->relay);
	p->migrate = mt_migrate_bg(p->src.control, p->relay_to,
				      p->json, p->out,
				      (const char *const[]){ MIGRATE_ARGS, NULL });
	for (int i = 0; i < 600 && !file_exists(p->fired); i++)
		usleep(100000);
	ASSERT_TRUE(file_exists(p->fired));
	vmm_kill(&p->src);
	rc = mt_wait(p->migrate, 60);
	p->migrate = -1;
	EXPECT_EQ(0, rc);
	EXPECT_NE(NULL, strstr(mt_slurp(p->out), "source VMM died"));
	expect_running_intact(_metadata, &p->dst);
}

TEST_HARNESS_MAIN
