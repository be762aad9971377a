// SPDX-License-Identifier: GPL-2.0
/*
 * SDPS in vmtrace: set-throttle slows a running guest's vCPUs by the
 * fraction asked for, counts each vCPU's sleeps, and never outlives what
 * it belongs to -- set to 0, the owning socket closed, the session
 * detached, or the module removed, the sleeps stop (the per-vCPU stun
 * counters stop growing) and the guest writes at full speed again.
 *
 * The guest is the dirty payload on 2 vCPUs, paced at a rate it can
 * sustain; its pages_written counter (control socket status) is the
 * measure of its speed.
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

FIXTURE(thr) {
	struct vmm v;
	struct vm_client ctl;	/* holds the VM fd */
	int vm_fd;
	struct vt_genl g;
	int id;
};

FIXTURE_SETUP(thr)
{
	static const char *const args[] = {
		"--payload", "dirty", "--mem", "64M", "--cpus", "2",
		"--rate", "24M/s", "--wss", "50%", NULL
	};
	struct nl_msg *msg;
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

/* Pages the payload wrote in @us microseconds, per second. */
static double write_rate(struct vmm *v, unsigned int us)
{
	char reply[256];
	unsigned long long w0, w1;
	struct timespec a, b;
	const char *p;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	p = strstr(reply, "pages_written=");
	w0 = p ? strtoull(p + 14, NULL, 10) : 0;
	usleep(us);
	if (vmm_request(v, "status", reply, sizeof(reply)))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	p = strstr(reply, "pages_written=");
	w1 = p ? strtoull(p + 14, NULL, 10) : 0;
	return (w1 - w0) / (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9);
}

struct throttle {
	uint32_t sleep_us;
	uint64_t stun_ns;
	unsigned int nr_vcpus;
	uint64_t vcpu_stun_ns[8];
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
		    t->nr_vcpus >= 8 ||
		    nla_parse_nested(tb, VMTRACE_A_VCPU_STUN_MAX, a, NULL) ||
		    !tb[VMTRACE_A_VCPU_STUN_STUN_NS])
			continue;
		t->vcpu_stun_ns[t->nr_vcpus++] =
			nla_get_u64(tb[VMTRACE_A_VCPU_STUN_STUN_NS]);
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

TEST_F_TIMEOUT(thr, sleeps_slow_the_guest_and_stop_when_lifted, 60)
{
	struct throttle t1, t2, t3;
	double free_rate, slow, again;
	unsigned int i;

	free_rate = write_rate(&self->v, MEASURE_US);
	ASSERT_LT(0, free_rate);
	/* Run 1 ms, sleep 9 ms: a tenth of the time left. */
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 9000, &t1));
	EXPECT_EQ(9000, t1.sleep_us);
	ASSERT_EQ(2, t1.nr_vcpus);
	usleep(300000);
	slow = write_rate(&self->v, MEASURE_US);
	ASSERT_EQ(0, get_throttle(&self->g, self->id, &t2));
	TH_LOG("free %.0f pages/s, throttled to 10%%: %.0f pages/s; stun %.1f ms",
	       free_rate, slow, t2.stun_ns / 1e6);
	EXPECT_LT(slow, 0.5 * free_rate);
	for (i = 0; i < t2.nr_vcpus; i++)
		EXPECT_LT(100000000ULL, t2.vcpu_stun_ns[i])
			TH_LOG("vCPU %u slept only %llu ns", i,
			       (unsigned long long)t2.vcpu_stun_ns[i]);

	/* Lifted: the counters stop, the guest catches up. */
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 0, &t2));
	EXPECT_EQ(0, t2.sleep_us);
	again = write_rate(&self->v, MEASURE_US);
	ASSERT_EQ(0, get_throttle(&self->g, self->id, &t3));
	EXPECT_EQ(t2.stun_ns, t3.stun_ns);
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
	double free_rate, after;
	char reply[256];

	free_rate = write_rate(&self->v, MEASURE_US);
	ASSERT_EQ(0, set_throttle(&self->g, self->id, 20000, NULL));
	usleep(300000);
	end(self);
	after = write_rate(&self->v, MEASURE_US);
	TH_LOG("free %.0f pages/s, after the end %.0f pages/s",
	       free_rate, after);
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
