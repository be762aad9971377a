// SPDX-License-Identifier: GPL-2.0
/*
 * SDPS in vmtrace: set-throttle slows a running guest's vCPUs by the
 * fraction asked for, counts each vCPU's sleeps, and never outlives what
 * it belongs to -- set to 0, the owning socket closed, the session
 * detached, or the module removed, the sleeps stop (the per-vCPU stun
 * counters stop growing) and the guest writes at full speed again.
 *
 * The guest is the dirty payload on 2 vCPUs writing flat out, so its
 * speed is the CPU time it gets; its pages_written counter (control
 * socket status) is the measure.  Not a paced guest (--rate): the
 * payload's pacer catches up after any stall, so a paced guest whose
 * throttled speed still exceeds its pace writes at the pace whatever the
 * throttle does.  That made this test flaky: paced at 6,144 pages/s, a
 * guest slowed by 90 % sleeps could still do 3,000-12,000 pages/s, and
 * in one run wrote 7,643 pages/s, catching up, with the sleeps in force.
 *
 * The lab has one CPU for the guest's two vCPU threads.  Free, they share
 * it; throttled, one runs while the other sleeps, so the guest keeps up
 * to 2 (P + P/4) / (P + S) of a CPU (24 % at S = 9 ms; a vCPU runs P to
 * P + P/4, the timer's tick), not P / (P + S).
 * The throttled window is a fixed number of sleeps of every vCPU, and
 * what the module did in it is checked on its own counters: every sleep
 * at least S and not much more, most of each vCPU's time asleep.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../uapi/linux/vmtrace.h"
#include "../lib/genl.h"
#include "../lib/module.h"
#include "../lib/vmm.h"
#include "kselftest_harness.h"

#define MEASURE_US	1000000
/* Sleeps of every vCPU in the throttled window. */
#define THROTTLED_SLEEPS	50
#define MAX_VCPUS	8

FIXTURE(thr) {
	struct vmm v;
	struct vm_client ctl;	/* holds the VM fd */
	int vm_fd;
	struct vt_genl g;
	int id;
};

/* A status field of the payload, or -1. */
static long long status_field(struct vmm *v, const char *name)
{
	char reply[256];
	const char *p;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return -1;
	p = strstr(reply, name);
	return p ? strtoll(p + strlen(name), NULL, 10) : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE_SETUP(thr)
{
	static const char *const args[] = {
		"--payload", "dirty", "--mem", "64M", "--cpus", "2",
		"--wss", "50%", NULL
	};
	struct nl_msg *msg;
	double deadline;
	int fds[2];

	self->vm_fd = -1;
	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, vmm_init(&self->v));
	ASSERT_EQ(0, vmm_start(&self->v, args, 30));
	ASSERT_EQ(0, vm_client_connect(&self->ctl, self->v.control));
	ASSERT_EQ(0, vm_client_request(&self->ctl, "get-fds", fds));
	self->vm_fd = fds[0];
	close(fds[1]);
	ASSERT_EQ(0, vt_genl_open(&self->g));
	msg = vt_genl_msg(&self->g, VMTRACE_CMD_ATTACH);
	nla_put_u32(msg, VMTRACE_A_SESSION_VM_FD, self->vm_fd);
	ASSERT_EQ(0, vt_genl_call(&self->g, msg, VMTRACE_A_SESSION_MAX));
	self->id = nla_get_u32(self->g.tb[VMTRACE_A_SESSION_ID]);
	/*
	 * The first pass faults the working set in (slow NPT faults): wait
	 * for two passes of each vCPU, so that every rate is the guest's
	 * steady speed.
	 */
	deadline = now_s() + 20;
	while (status_field(&self->v, "passes=") < 4) {
		ASSERT_GT(deadline, now_s())
			TH_LOG("the payload did not finish its first passes");
		usleep(10000);
	}
}

FIXTURE_TEARDOWN(thr)
{
	if (!_metadata->passed)
		vmm_dump(&self->v);
	vt_genl_close(&self->g);
	if (self->vm_fd >= 0)
		close(self->vm_fd);
	vm_client_close(&self->ctl);
	vmm_cleanup(&self->v);
	vt_module_ensure_loaded();
}

/* The payload's progress at one moment. */
struct progress {
	long long pages;
	double t;
};

static int progress(struct vmm *v, struct progress *p)
{
	p->pages = status_field(v, "pages_written=");
	p->t = now_s();
	return p->pages < 0 ? -1 : 0;
}

static double rate_between(const struct progress *a,
			   const struct progress *b)
{
	return (b->pages - a->pages) / (b->t - a->t);
}

/* Pages the payload wrote in @us microseconds, per second. */
static double write_rate(struct vmm *v, unsigned int us)
{
	struct progress a, b;

	if (progress(v, &a))
		return -1;
	usleep(us);
	if (progress(v, &b))
		return -1;
	return rate_between(&a, &b);
}

/*
 * The guest's speed once it runs free again: windows of @us until one is
 * faster than @min pages/s, for up to @timeout_s.  Returns the fastest
 * window; @windows says how many it took.  A throttle still in force
 * keeps every window under a tenth of the free speed in this lab, but a
 * free guest may need more than one window: the lab's own speed drifts
 * by up to a third from one second to the next with the host's load.
 */
static double free_again_rate(struct vmm *v, double min, unsigned int us,
			      int timeout_s, unsigned int *windows)
{
	double best = -1, deadline = now_s() + timeout_s, r;

	*windows = 0;
	do {
		r = write_rate(v, us);
		(*windows)++;
		if (r > best)
			best = r;
	} while (best <= min && now_s() < deadline);
	return best;
}

struct throttle {
	uint32_t sleep_us;
	uint64_t stun_ns;
	unsigned int nr_vcpus;
	uint64_t vcpu_stun_ns[MAX_VCPUS];
	uint64_t vcpu_sleeps[MAX_VCPUS];
};

static void parse_throttle(struct vt_genl *g, struct throttle *t)
{
	struct nlattr *a;
	int rem;

	memset(t, 0, sizeof(*t));
	if (g->tb[VMTRACE_A_THROTTLE_SLEEP_US])
		t->sleep_us = nla_get_u32(g->tb[VMTRACE_A_THROTTLE_SLEEP_US]);
	if (g->tb[VMTRACE_A_THROTTLE_STUN_NS])
		t->stun_ns = nla_get_u64(g->tb[VMTRACE_A_THROTTLE_STUN_NS]);
	/* g->tb keeps only the last VCPU nest: walk the message for all. */
	nlmsg_for_each_attr(a, nlmsg_hdr(g->reply), GENL_HDRLEN, rem) {
		struct nlattr *tb[VMTRACE_A_VCPU_STUN_MAX + 1];

		if (nla_type(a) != VMTRACE_A_THROTTLE_VCPU ||
		    t->nr_vcpus >= MAX_VCPUS ||
		    nla_parse_nested(tb, VMTRACE_A_VCPU_STUN_MAX, a, NULL) ||
		    !tb[VMTRACE_A_VCPU_STUN_STUN_NS] ||
		    !tb[VMTRACE_A_VCPU_STUN_SLEEPS])
			continue;
		t->vcpu_stun_ns[t->nr_vcpus] =
			nla_get_u64(tb[VMTRACE_A_VCPU_STUN_STUN_NS]);
		t->vcpu_sleeps[t->nr_vcpus++] =
			nla_get_u64(tb[VMTRACE_A_VCPU_STUN_SLEEPS]);
	}
}

static int set_throttle(struct vt_genl *g, int id, uint32_t us,
			struct throttle *t)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_SET_THROTTLE);
	int err;

	nla_put_u32(msg, VMTRACE_A_THROTTLE_SESSION_ID, id);
	nla_put_u32(msg, VMTRACE_A_THROTTLE_SLEEP_US, us);
	err = vt_genl_call(g, msg, VMTRACE_A_THROTTLE_MAX);
	if (!err && t)
		parse_throttle(g, t);
	return err;
}

static int get_throttle(struct vt_genl *g, int id, struct throttle *t)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_GET_THROTTLE);
	int err;

	nla_put_u32(msg, VMTRACE_A_THROTTLE_SESSION_ID, id);
	err = vt_genl_call(g, msg, VMTRACE_A_THROTTLE_MAX);
	if (!err)
		parse_throttle(g, t);
	return err;
}

/* Whether every vCPU has slept @n times more in @b than in @a. */
static bool all_slept(const struct throttle *a, const struct throttle *b,
		      unsigned int n)
{
	unsigned int i;

	for (i = 0; i < a->nr_vcpus; i++)
		if (b->vcpu_sleeps[i] < a->vcpu_sleeps[i] + n)
			return false;
	return true;
}

TEST_F_TIMEOUT(thr, sleeps_slow_the_guest_and_stop_when_lifted, 60)
{
	const uint64_t sleep_ns = 9000 * 1000ULL;
	struct throttle t1, ta, tb, t2, t3;
	struct progress pa, pb;
	double free_rate, slow, again, deadline;
	unsigned int i, windows;

	free_rate = write_rate(&self->v, MEASURE_US);
	ASSERT_LT(0, free_rate);
	/* Run 1 ms, sleep 9 ms: a tenth of each vCPU's time left. */
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 9000, &t1));
	EXPECT_EQ(9000, t1.sleep_us);
	ASSERT_EQ(2, t1.nr_vcpus);

	/* The throttled window: THROTTLED_SLEEPS periods of every vCPU. */
	ASSERT_EQ(0, get_throttle(&self->g, self->id, &ta));
	ASSERT_EQ(0, progress(&self->v, &pa));
	deadline = now_s() + 10;
	do {
		usleep(20000);
		ASSERT_EQ(0, get_throttle(&self->g, self->id, &tb));
		ASSERT_GT(deadline, now_s())
			TH_LOG("vCPUs did not sleep %u times in 10 s",
			       THROTTLED_SLEEPS);
	} while (!all_slept(&ta, &tb, THROTTLED_SLEEPS));
	ASSERT_EQ(0, progress(&self->v, &pb));
	ASSERT_EQ(2, tb.nr_vcpus);
	slow = rate_between(&pa, &pb);
	TH_LOG("free %.0f pages/s, throttled (S = 9 ms) %.0f pages/s over %.2f s",
	       free_rate, slow, pb.t - pa.t);
	/*
	 * Two vCPUs on one CPU keep at most 2 (P + P/4) / (P + S) = 24 % of
	 * it; measured 4-15 % in 20 runs.  Not 0.5: a throttle that kicked
	 * the vCPUs out every period but did not sleep (a negative control)
	 * left the guest 36-50 % of its speed, the exits alone cost that
	 * much in this lab.
	 */
	EXPECT_LT(slow, 0.3 * free_rate);
	for (i = 0; i < tb.nr_vcpus; i++) {
		uint64_t sleeps = tb.vcpu_sleeps[i] - ta.vcpu_sleeps[i];
		uint64_t stun = tb.vcpu_stun_ns[i] - ta.vcpu_stun_ns[i];

		TH_LOG("vCPU %u: %llu sleeps of %.2f ms on average, asleep %.0f %% of the window",
		       i, (unsigned long long)sleeps, stun / 1e6 / sleeps,
		       stun / 1e7 / (pb.t - pa.t));
		/*
		 * Every sleep counted lasted at least S (the module counts
		 * a sleep after its time).  Not much longer either: the
		 * average, scheduling delays included, below 1.5 S (with
		 * fsleep()'s range it was 2 S).
		 */
		EXPECT_LE(tb.vcpu_sleeps[i] * sleep_ns, tb.vcpu_stun_ns[i]);
		EXPECT_LT(stun, sleeps * sleep_ns * 3 / 2);
		/* P + S per sleep: asleep S / (P + S) = 90 % of the time. */
		EXPECT_LT(0.5 * (pb.t - pa.t), stun / 1e9);
	}

	/* Lifted: the counters stop, the guest runs free again. */
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 0, &t2));
	EXPECT_EQ(0, t2.sleep_us);
	again = free_again_rate(&self->v, 0.5 * free_rate, MEASURE_US / 2, 5,
				&windows);
	ASSERT_EQ(0, get_throttle(&self->g, self->id, &t3));
	TH_LOG("lifted: %.0f pages/s (window %u of 0.5 s)", again, windows);
	EXPECT_EQ(t2.stun_ns, t3.stun_ns);
	ASSERT_EQ(2, t3.nr_vcpus);
	for (i = 0; i < t3.nr_vcpus; i++) {
		EXPECT_EQ(t2.vcpu_sleeps[i], t3.vcpu_sleeps[i]);
		EXPECT_EQ(t2.vcpu_stun_ns[i], t3.vcpu_stun_ns[i]);
	}
	EXPECT_LT(0.5 * free_rate, again);
}

TEST_F_TIMEOUT(thr, out_of_range_and_foreign_requests_refused, 30)
{
	struct vt_genl other;

	EXPECT_EQ(-ERANGE, set_throttle(&self->g, self->id,
					VMTRACE_THROTTLE_MAX_US + 1, NULL));
	EXPECT_EQ(-ENOENT, set_throttle(&self->g, self->id + 1000, 10, NULL));
	/* Only the socket that attached may throttle the VM. */
	ASSERT_EQ(0, vt_genl_open(&other));
	EXPECT_EQ(-EPERM, set_throttle(&other, self->id, 10, NULL));
	vt_genl_close(&other);
}

/* Throttle; @end ends it some way; the guest must then run free. */
static void expect_throttle_ends(struct __test_metadata *_metadata,
				 FIXTURE_DATA(thr) *self,
				 void (*end)(FIXTURE_DATA(thr) *self))
{
	double free_rate, slow, after;
	unsigned int windows;
	char reply[256];

	free_rate = write_rate(&self->v, MEASURE_US);
	ASSERT_LT(0, free_rate);
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 20000, NULL));
	/*
	 * The throttle held, so what follows is its end: at S = 20 ms the
	 * guest keeps at most 12 % of the CPU (measured 3-10 % in 60 runs;
	 * kicks without sleeps, 36-50 %).
	 */
	slow = write_rate(&self->v, MEASURE_US / 2);
	end(self);
	after = free_again_rate(&self->v, 0.5 * free_rate, MEASURE_US / 2, 5,
				&windows);
	TH_LOG("free %.0f pages/s, throttled %.0f, after the end %.0f (window %u of 0.5 s)",
	       free_rate, slow, after, windows);
	EXPECT_LT(slow, 0.25 * free_rate);
	EXPECT_LT(0.5 * free_rate, after);
	/* Still a healthy guest. */
	ASSERT_EQ(0, vmm_request(&self->v, "verify 20000", reply,
				 sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
}

static void close_socket(FIXTURE_DATA(thr) *self)
{
	vt_genl_close(&self->g);
	memset(&self->g, 0, sizeof(self->g));
}

static void detach(FIXTURE_DATA(thr) *self)
{
	struct nl_msg *msg = vt_genl_msg(&self->g, VMTRACE_CMD_DETACH);

	nla_put_u32(msg, VMTRACE_A_SESSION_ID, self->id);
	vt_genl_call(&self->g, msg, 0);
}

static void unload(FIXTURE_DATA(thr) *self)
{
	close_socket(self);
	vt_module_unload();
}

TEST_F_TIMEOUT(thr, owner_socket_close_ends_the_throttle, 60)
{
	expect_throttle_ends(_metadata, self, close_socket);
}

TEST_F_TIMEOUT(thr, detach_ends_the_throttle, 60)
{
	expect_throttle_ends(_metadata, self, detach);
}

TEST_F_TIMEOUT(thr, rmmod_ends_the_throttle, 60)
{
	expect_throttle_ends(_metadata, self, unload);
	EXPECT_FALSE(vt_module_loaded());
}

TEST_HARNESS_MAIN
