// SPDX-License-Identifier: GPL-2.0
/*
 * vmtrace tracking, end to end, on the dirty payload (2 vCPUs):
 *
 * nothing is missed -- while the guest writes, harvest repeatedly and copy
 * each harvested page into a shadow; after a last harvest with the VM
 * paused, the shadow equals guest memory byte for byte -- in stock and
 * hierarchical mode, both flush modes, both harvest formats (raw words,
 * and the compacted bitmap decoded by the userspace codec) and on
 * hugetlb-backed guests; and every way a session can end leaves the VM
 * as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ctl/bitmap/dirty_set.h"
#include "../../uapi/linux/vmtrace.h"
#include "../lib/genl.h"
#include "../lib/module.h"
#include "../lib/report.h"
#include "../lib/vmm.h"
#include "kselftest_harness.h"

#define MEM_BYTES	(64ULL << 20)
#define PAGE		4096ULL
#define HARVESTS	100

struct guest {
	struct vmm v;
	struct vm_client ctl;	/* holds the VM fds and, later, a pause */
	int vm_fd, mem_fd;
	uint8_t *mem;
};

/* @tick_hz: the payload's LAPIC timer, NULL for none. */
static int guest_start_ticking(struct guest *gu, const char *hugepages,
			       const char *tick_hz)
{
	const char *args[16] = { "--payload", "dirty", "--mem", "64M",
				 "--cpus", "2", "--rate", "32M/s",
				 "--wss", "30%" };
	int fds[2], n = 10;

	if (hugepages) {
		args[n++] = "--hugepages";
		args[n++] = hugepages;
	}
	if (tick_hz) {
		args[n++] = "--tick-hz";
		args[n++] = tick_hz;
	}
	args[n] = NULL;
	gu->vm_fd = gu->mem_fd = -1;
	if (vmm_init(&gu->v) || vmm_start(&gu->v, args, 30) ||
	    vm_client_connect(&gu->ctl, gu->v.control) ||
	    vm_client_request(&gu->ctl, "get-fds", fds))
		return -1;
	gu->vm_fd = fds[0];
	gu->mem_fd = fds[1];
	gu->mem = mmap(NULL, MEM_BYTES, PROT_READ, MAP_SHARED, gu->mem_fd, 0);
	return gu->mem == MAP_FAILED ? -1 : 0;
}

static int guest_start(struct guest *gu, const char *hugepages)
{
	return guest_start_ticking(gu, hugepages, NULL);
}

static void guest_stop(struct guest *gu)
{
	if (gu->mem && gu->mem != MAP_FAILED)
		munmap(gu->mem, MEM_BYTES);
	if (gu->vm_fd >= 0)
		close(gu->vm_fd);
	if (gu->mem_fd >= 0)
		close(gu->mem_fd);
	vm_client_close(&gu->ctl);
	vmm_cleanup(&gu->v);
}

/* The mode the life tests attach in (their variant); 0: the default. */
static uint32_t life_mode;

/* attach in life_mode; the session id, or -errno. */
static int attach(struct vt_genl *g, int vm_fd, uint32_t flush)
{
	return vt_session_attach(g, vm_fd, life_mode, flush);
}

#define session_cmd vt_session_cmd
#define ack vt_session_ack

struct harvest {
	const uint8_t *mem;
	uint8_t *shadow;	/* NULL: only count */
	uint32_t format;	/* enum vmtrace_harvest_format, 0: default */
	uint64_t seq, header_pages, pages;
	uint64_t base;		/* of the compacted chunk being read */
};

/* Copy (or count) one harvested page. */
static int harvest_page(struct harvest *h, uint64_t gfn)
{
	if ((gfn + 1) * PAGE > MEM_BYTES)
		return -ERANGE;
	if (h->shadow)
		memcpy(h->shadow + gfn * PAGE, h->mem + gfn * PAGE, PAGE);
	h->pages++;
	return 0;
}

static int harvest_run(void *priv, u64 page, u64 n)
{
	struct harvest *h = priv;
	uint64_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = harvest_page(h, h->base + page + i);
	return err;
}

/* A compacted chunk, decoded by the userspace build of the codec. */
static int harvest_chunk(struct nlattr **tb, struct harvest *h)
{
	const void *buf = nla_data(tb[VMTRACE_A_HARVEST_CHUNK]);
	size_t len = nla_len(tb[VMTRACE_A_HARVEST_CHUNK]);
	u64 first, n;

	if (!tb[VMTRACE_A_HARVEST_BASE_GFN] ||
	    vmtrace_bitmap_chunk_range(buf, len, &first, &n) < 0)
		return -EPROTO;
	h->base = nla_get_u64(tb[VMTRACE_A_HARVEST_BASE_GFN]);
	return dirty_set_for_each_run(buf, len, first, n, harvest_run, h);
}

static int harvest_msg(struct nlattr **tb, void *arg)
{
	struct harvest *h = arg;
	const uint64_t *bits;
	uint64_t base, first, n, i;

	if (tb[VMTRACE_A_HARVEST_SEQ])
		h->seq = nla_get_u64(tb[VMTRACE_A_HARVEST_SEQ]);
	if (tb[VMTRACE_A_HARVEST_DIRTY_PAGES])
		h->header_pages = nla_get_u64(tb[VMTRACE_A_HARVEST_DIRTY_PAGES]);
	if (tb[VMTRACE_A_HARVEST_CHUNK])
		return harvest_chunk(tb, h);
	if (!tb[VMTRACE_A_HARVEST_BITMAP])
		return 0;
	base = nla_get_u64(tb[VMTRACE_A_HARVEST_BASE_GFN]);
	first = nla_get_u64(tb[VMTRACE_A_HARVEST_FIRST_PAGE]);
	n = nla_get_u64(tb[VMTRACE_A_HARVEST_NR_PAGES]);
	if (nla_len(tb[VMTRACE_A_HARVEST_BITMAP]) < (int)((n + 63) / 64 * 8))
		return -EPROTO;
	bits = nla_data(tb[VMTRACE_A_HARVEST_BITMAP]);
	for (i = 0; i < n; i++) {
		if (!(bits[i / 64] & (1ULL << (i % 64))))
			continue;
		if (harvest_page(h, base + first + i))
			return -ERANGE;
	}
	return 0;
}

static int harvest(struct vt_genl *g, uint32_t id, struct harvest *h)
{
	struct nl_msg *msg = vt_genl_dump_msg(g, VMTRACE_CMD_HARVEST);

	h->pages = h->header_pages = 0;
	nla_put_u32(msg, VMTRACE_A_HARVEST_SESSION_ID, id);
	if (h->format)
		nla_put_u32(msg, VMTRACE_A_HARVEST_FORMAT, h->format);
	return vt_genl_dump(g, msg, VMTRACE_A_HARVEST_MAX, harvest_msg, h);
}

static uint64_t pages_differing(const uint8_t *a, const uint8_t *b)
{
	uint64_t p, n = 0;

	for (p = 0; p < MEM_BYTES / PAGE; p++)
		n += !!memcmp(a + p * PAGE, b + p * PAGE, PAGE);
	return n;
}

static int hugepages_reserve(long delta)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r+");
	long n = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	rewind(f);
	fprintf(f, "%ld\n", n + delta);
	return fclose(f);
}

/*
 * What each mode's counters must show after a run with a writing guest:
 * stock protects 4 KB pages only; hierarchical protects 1 GB entries and
 * opens regions on write faults, which protects their children.
 */
static void expect_protection_stats(struct __test_metadata *_metadata,
				    struct vt_genl *g, uint32_t mode)
{
	uint64_t w4k = vt_session_u64(g, VMTRACE_A_SESSION_WRPROT_4K);
	uint64_t w2m = vt_session_u64(g, VMTRACE_A_SESSION_WRPROT_2M);
	uint64_t w1g = vt_session_u64(g, VMTRACE_A_SESSION_WRPROT_1G);
	uint64_t o2m = vt_session_u64(g, VMTRACE_A_SESSION_OPENED_2M);
	uint64_t o1g = vt_session_u64(g, VMTRACE_A_SESSION_OPENED_1G);
	uint64_t faults = vt_session_u64(g, VMTRACE_A_SESSION_MODULE_FAULTS);

	TH_LOG("write-protected 4K %llu 2M %llu 1G %llu; opened 2M %llu 1G %llu; module faults %llu",
	       (unsigned long long)w4k, (unsigned long long)w2m,
	       (unsigned long long)w1g, (unsigned long long)o2m,
	       (unsigned long long)o1g, (unsigned long long)faults);
	if (mode != VMTRACE_MODE_HIERARCHICAL) {
		EXPECT_LT(0, w4k);
		EXPECT_EQ(0, w2m + w1g + o2m + o1g + faults);
		return;
	}
	/* The guest wrote between harvests: regions were opened again. */
	EXPECT_LT(1, o1g);
	EXPECT_LT(o1g, o2m);
	EXPECT_LE(o1g, w1g);
	EXPECT_LT(0, w2m);
	EXPECT_LT(0, w4k);
	/* Each fault opened at least one region; several vCPUs may race. */
	EXPECT_LE(faults, o1g + o2m);
}

FIXTURE(trace) {
	struct guest gu;
	struct vt_genl g;
	uint8_t *shadow;
};

FIXTURE_VARIANT(trace) {
	uint32_t mode;
	uint32_t flush;
	const char *hugepages;
	uint32_t format;	/* of harvests: both are run in both modes */
};

FIXTURE_VARIANT_ADD(trace, stock_lazy) {
	.flush = VMTRACE_FLUSH_LAZY,
};

FIXTURE_VARIANT_ADD(trace, stock_sync) {
	.flush = VMTRACE_FLUSH_SYNC,
	.format = VMTRACE_HARVEST_FORMAT_COMPACTED,
};

FIXTURE_VARIANT_ADD(trace, stock_lazy_hugetlb) {
	.flush = VMTRACE_FLUSH_LAZY,
	.hugepages = "2M",
};

FIXTURE_VARIANT_ADD(trace, hier_lazy) {
	.mode = VMTRACE_MODE_HIERARCHICAL,
	.flush = VMTRACE_FLUSH_LAZY,
	.format = VMTRACE_HARVEST_FORMAT_COMPACTED,
};

FIXTURE_VARIANT_ADD(trace, hier_sync) {
	.mode = VMTRACE_MODE_HIERARCHICAL,
	.flush = VMTRACE_FLUSH_SYNC,
};

FIXTURE_VARIANT_ADD(trace, hier_lazy_hugetlb) {
	.mode = VMTRACE_MODE_HIERARCHICAL,
	.flush = VMTRACE_FLUSH_LAZY,
	.hugepages = "2M",
	.format = VMTRACE_HARVEST_FORMAT_COMPACTED,
};

FIXTURE_SETUP(trace)
{
	ASSERT_EQ(0, vt_module_ensure_loaded());
	if (variant->hugepages)
		ASSERT_EQ(0, hugepages_reserve(MEM_BYTES >> 21));
	ASSERT_EQ(0, guest_start(&self->gu, variant->hugepages));
	ASSERT_EQ(0, vt_genl_open(&self->g));
	self->shadow = malloc(MEM_BYTES);
	ASSERT_NE(NULL, self->shadow);
}

FIXTURE_TEARDOWN(trace)
{
	free(self->shadow);
	vt_genl_close(&self->g);
	if (!_metadata->passed)
		vmm_dump(&self->gu.v);
	guest_stop(&self->gu);
	if (variant->hugepages)
		hugepages_reserve(-(long)(MEM_BYTES >> 21));
}

TEST_F_TIMEOUT(trace, nothing_missed, 240)
{
	struct harvest h = { .mem = self->gu.mem, .shadow = self->shadow,
			     .format = variant->format };
	uint64_t total = 0, diff;
	int id, i;

	id = vt_session_attach(&self->g, self->gu.vm_fd, variant->mode,
			       variant->flush);
	ASSERT_LT(0, id) TH_LOG("attach: %d %s", id, self->g.extack);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id))
		TH_LOG("start: %s", self->g.extack);
	/* Phase -1: everything, after protection is in place. */
	memcpy(self->shadow, self->gu.mem, MEM_BYTES);

	for (i = 0; i < HARVESTS; i++) {
		ASSERT_EQ(0, harvest(&self->g, id, &h))
			TH_LOG("harvest %d: %s", i, self->g.extack);
		ASSERT_EQ(h.header_pages, h.pages);
		ASSERT_EQ(0, ack(&self->g, id, h.seq));
		total += h.pages;
		usleep(rand() % 20000);
	}
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "pause", NULL));
	ASSERT_EQ(0, harvest(&self->g, id, &h));
	ASSERT_EQ(0, ack(&self->g, id, h.seq));
	total += h.pages;

	diff = pages_differing(self->shadow, self->gu.mem);
	EXPECT_EQ(0, diff);
	/* The guest did write meanwhile: the check had something to miss. */
	EXPECT_LT(1000, total);

	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_GET_SESSION, id));
	EXPECT_EQ(HARVESTS + 1,
		  nla_get_u64(self->g.tb[VMTRACE_A_SESSION_HARVESTS]));
	expect_protection_stats(_metadata, &self->g, variant->mode);
	if (variant->flush == VMTRACE_FLUSH_LAZY) {
		uint64_t req = nla_get_u64(self->g.tb[VMTRACE_A_SESSION_FLUSH_REQUESTS]);
		uint64_t nat = nla_get_u64(self->g.tb[VMTRACE_A_SESSION_FLUSH_NATURAL]);
		uint64_t kick = nla_get_u64(self->g.tb[VMTRACE_A_SESSION_FLUSH_KICKS]);

		EXPECT_EQ(2 * (HARVESTS + 1), req);
		EXPECT_EQ(req, nat + kick);
		TH_LOG("lazy flush: %llu requests, %llu natural, %llu kicked",
		       (unsigned long long)req, (unsigned long long)nat,
		       (unsigned long long)kick);
	} else {
		EXPECT_EQ(HARVESTS + 1,
			  nla_get_u64(self->g.tb[VMTRACE_A_SESSION_FLUSH_SYNC]));
	}
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_DETACH, id));
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "resume", NULL));
}

/* The control: without tracking, the same comparison sees the writes. */
TEST_F(trace, untraced_shadow_goes_stale)
{
	memcpy(self->shadow, self->gu.mem, MEM_BYTES);
	usleep(300000);
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "pause", NULL));
	EXPECT_LT(100, pages_differing(self->shadow, self->gu.mem));
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "resume", NULL));
}

TEST_F(trace, unacknowledged_harvest_comes_back)
{
	struct harvest h1 = { .mem = self->gu.mem, .format = variant->format };
	struct harvest h2 = h1, h3 = h1;
	int id = vt_session_attach(&self->g, self->gu.vm_fd, variant->mode,
				   variant->flush);

	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	usleep(200000);
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "pause", NULL));
	ASSERT_EQ(0, harvest(&self->g, id, &h1));
	ASSERT_LT(0, h1.pages);
	/* not acknowledged: the next harvest hands the pages out again */
	ASSERT_EQ(0, harvest(&self->g, id, &h2));
	EXPECT_EQ(h1.pages, h2.pages);
	EXPECT_EQ(-ESTALE, ack(&self->g, id, h1.seq));
	ASSERT_EQ(0, ack(&self->g, id, h2.seq));
	ASSERT_EQ(0, harvest(&self->g, id, &h3));
	EXPECT_EQ(0, h3.pages);
	ASSERT_EQ(0, vm_client_request(&self->gu.ctl, "resume", NULL));
}

static int set_flush_deadline(struct vt_genl *g, uint32_t us)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_SET_CONFIG);

	nla_put_u32(msg, VMTRACE_A_CONFIG_FLUSH_DEADLINE_US, us);
	return vt_genl_call(g, msg, 0);
}

static unsigned long long guest_ticks(struct vmm *v)
{
	char reply[512];
	const char *p;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return 0;
	p = strstr(reply, "ticks=");
	return p ? strtoull(p + 6, NULL, 10) : 0;
}

/*
 * A guest that takes a 1 kHz timer tick, as a kernel does: with a flush
 * deadline of two ticks, its vCPUs flush at their natural exits, and
 * kicks stay rare.  Every request is accounted for (natural or kicked)
 * when each harvest is handed out: none is handed out before its barrier.
 */
TEST(lazy_flush_rides_the_guest_tick)
{
	struct guest gu;
	struct vt_genl g;
	unsigned long long t0, t1, req = 0, nat = 0, kick = 0;
	int id, i;

	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, guest_start_ticking(&gu, NULL, "1000"));
	ASSERT_EQ(0, vt_genl_open(&g));
	t0 = guest_ticks(&gu.v);
	usleep(200000);
	t1 = guest_ticks(&gu.v);
	TH_LOG("guest ticks: %llu in 200 ms", t1 - t0);
	ASSERT_LT(t0, t1);

	ASSERT_EQ(0, set_flush_deadline(&g, 2000));
	id = vt_session_attach(&g, gu.vm_fd, VMTRACE_MODE_HIERARCHICAL,
			       VMTRACE_FLUSH_LAZY);
	ASSERT_LT(0, id) TH_LOG("%s", g.extack);
	ASSERT_EQ(0, vt_session_cmd(&g, VMTRACE_CMD_START, id));
	for (i = 0; i < 50; i++) {
		uint64_t seq;

		ASSERT_LE(0, vt_session_harvest_count(&g, id, &seq));
		ASSERT_EQ(0, vt_session_ack(&g, id, seq));
		ASSERT_EQ(0, vt_session_cmd(&g, VMTRACE_CMD_GET_SESSION, id));
		req = vt_session_u64(&g, VMTRACE_A_SESSION_FLUSH_REQUESTS);
		nat = vt_session_u64(&g, VMTRACE_A_SESSION_FLUSH_NATURAL);
		kick = vt_session_u64(&g, VMTRACE_A_SESSION_FLUSH_KICKS);
		ASSERT_EQ(2ULL * (i + 1), req);
		ASSERT_EQ(req, nat + kick);
		usleep(10000);
	}
	TH_LOG("lazy flush, 2 ms deadline: %llu requests, %llu natural, %llu kicked",
	       req, nat, kick);
	EXPECT_LE(kick * 10, req);
	EXPECT_EQ(0, set_flush_deadline(&g, VMTRACE_FLUSH_DEADLINE_DEFAULT_US));
	EXPECT_EQ(0, vt_session_cmd(&g, VMTRACE_CMD_DETACH, id));
	vt_genl_close(&g);
	guest_stop(&gu);
}

FIXTURE(life) {
	struct guest gu;
	struct vt_genl g;
};

/*
 * Every way a session ends, in both modes: hierarchical leaves W=0
 * entries that only its fault hook opens, so each end must undo them
 * before the hook goes -- the guest writing on afterwards shows it did.
 */
FIXTURE_VARIANT(life) {
	uint32_t mode;
};

FIXTURE_VARIANT_ADD(life, stock) {
	.mode = VMTRACE_MODE_STOCK,
};

FIXTURE_VARIANT_ADD(life, hier) {
	.mode = VMTRACE_MODE_HIERARCHICAL,
};

static unsigned long long guest_written(struct vmm *v)
{
	char reply[512];
	const char *p;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return 0;
	p = strstr(reply, "pages_written=");
	return p ? strtoull(p + 14, NULL, 10) : 0;
}

/* The guest is still writing (no vCPU stuck on a fault nobody fixes). */
#define EXPECT_GUEST_WRITES(v) do {					\
	unsigned long long w0 = guest_written(v);			\
									\
	usleep(300000);							\
	EXPECT_LT(w0, guest_written(v));				\
} while (0)

FIXTURE_SETUP(life)
{
	life_mode = variant->mode;
	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, guest_start(&self->gu, NULL));
	ASSERT_EQ(0, vt_genl_open(&self->g));
}

FIXTURE_TEARDOWN(life)
{
	vt_genl_close(&self->g);
	if (!_metadata->passed)
		vmm_dump(&self->gu.v);
	guest_stop(&self->gu);
	vt_module_ensure_loaded();
}

/* Wait for the session-gone event of @id; its reason, or -1. */
static int gone_reason(struct vt_genl *ev, int id)
{
	int cmd;

	while (!vt_genl_wait_event(ev, VMTRACE_A_EVENT_MAX, &cmd, 5000)) {
		if (cmd == VMTRACE_CMD_SESSION_GONE &&
		    ev->tb[VMTRACE_A_EVENT_SESSION_ID] &&
		    (int)nla_get_u32(ev->tb[VMTRACE_A_EVENT_SESSION_ID]) == id)
			return nla_get_u32(ev->tb[VMTRACE_A_EVENT_REASON]);
	}
	return -1;
}

TEST_F(life, double_attach_is_busy)
{
	int id = attach(&self->g, self->gu.vm_fd, 0);

	ASSERT_LT(0, id);
	EXPECT_EQ(-EBUSY, attach(&self->g, self->gu.vm_fd, 0));
	EXPECT_STREQ("vmtrace: the VM is already traced", self->g.extack);
}

TEST_F(life, not_a_vm_fd)
{
	int fd = open("/dev/null", O_RDONLY);

	EXPECT_EQ(-EBADF, attach(&self->g, fd, 0));
	EXPECT_STREQ("vmtrace: not a KVM VM file descriptor", self->g.extack);
	close(fd);
	EXPECT_EQ(-EBADF, attach(&self->g, 1000, 0));
	EXPECT_STREQ("no such file descriptor", self->g.extack);
}

TEST_F(life, malformed_attributes)
{
	struct nl_msg *msg = vt_genl_msg(&self->g, VMTRACE_CMD_ATTACH);

	nla_put_u32(msg, VMTRACE_A_SESSION_VM_FD, self->gu.vm_fd);
	nla_put_u32(msg, VMTRACE_A_SESSION_FLUSH, 99);
	EXPECT_EQ(-ERANGE, vt_genl_call(&self->g, msg, 0));
	EXPECT_LT(0, self->g.extack_offs);

	msg = vt_genl_msg(&self->g, VMTRACE_CMD_ATTACH);
	EXPECT_EQ(-EINVAL, vt_genl_call(&self->g, msg, 0));

	EXPECT_EQ(-ENOENT, session_cmd(&self->g, VMTRACE_CMD_START, 12345));
	EXPECT_STREQ("no such session", self->g.extack);
}

TEST_F(life, other_socket_cannot_use_the_session)
{
	struct vt_genl other;
	int id = attach(&self->g, self->gu.vm_fd, 0);

	ASSERT_LT(0, id);
	ASSERT_EQ(0, vt_genl_open(&other));
	EXPECT_EQ(-EPERM, session_cmd(&other, VMTRACE_CMD_START, id));
	EXPECT_STREQ("the session belongs to another socket", other.extack);
	vt_genl_close(&other);
}

static int nobody_attach_fd = -1;

static int nobody_attach(void)
{
	struct vt_genl g;
	int ret;

	if (vt_genl_open(&g))
		return 1;
	ret = attach(&g, nobody_attach_fd, 0) == -EPERM ? 0 : 2;
	vt_genl_close(&g);
	return ret;
}

TEST_F(life, unprivileged_caller_cannot_attach)
{
	int status;
	pid_t pid;

	nobody_attach_fd = self->gu.vm_fd;
	pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		_exit(nobody_attach());
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(life, owner_socket_close_stops_tracing)
{
	struct vt_genl owner, ev;
	int id;

	ASSERT_EQ(0, vt_genl_open(&ev));
	ASSERT_EQ(0, vt_genl_join_events(&ev));
	ASSERT_EQ(0, vt_genl_open(&owner));
	id = attach(&owner, self->gu.vm_fd, 0);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&owner, VMTRACE_CMD_START, id));
	usleep(100000);		/* let it write into protected regions */
	vt_genl_close(&owner);
	EXPECT_EQ(VMTRACE_GONE_OWNER_CLOSED, gone_reason(&ev, id));
	EXPECT_GUEST_WRITES(&self->gu.v);
	/* Dirty logging is off again, or this attach would be refused. */
	id = attach(&self->g, self->gu.vm_fd, 0);
	EXPECT_LT(0, id) TH_LOG("%s", self->g.extack);
	EXPECT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	vt_genl_close(&ev);
}

TEST_F(life, controller_killed_mid_harvest)
{
	int pipefd[2], id, status;
	struct vt_genl ev;
	char c;
	pid_t pid;

	ASSERT_EQ(0, vt_genl_open(&ev));
	ASSERT_EQ(0, vt_genl_join_events(&ev));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	if (pid == 0) {
		struct vt_genl g;
		struct nl_msg *msg;

		if (vt_genl_open(&g))
			_exit(1);
		id = attach(&g, self->gu.vm_fd, 0);
		if (id <= 0 || session_cmd(&g, VMTRACE_CMD_START, id))
			_exit(2);
		/* Ask for a harvest and never read it. */
		msg = vt_genl_dump_msg(&g, VMTRACE_CMD_HARVEST);
		nla_put_u32(msg, VMTRACE_A_HARVEST_SESSION_ID, id);
		nl_send_auto(g.sk, msg);
		if (write(pipefd[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		pause();
		_exit(0);
	}
	ASSERT_EQ(sizeof(id), read(pipefd[0], &id, sizeof(id)));
	usleep(100000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(VMTRACE_GONE_OWNER_CLOSED, gone_reason(&ev, id));
	EXPECT_GUEST_WRITES(&self->gu.v);
	EXPECT_LT(0, attach(&self->g, self->gu.vm_fd, 0)) TH_LOG("%s",
								  self->g.extack);
	close(pipefd[0]);
	close(pipefd[1]);
	vt_genl_close(&ev);
	(void)c;
}

TEST_F(life, vmm_exit_ends_the_session)
{
	struct vt_genl ev;
	int id;

	ASSERT_EQ(0, vt_genl_open(&ev));
	ASSERT_EQ(0, vt_genl_join_events(&ev));
	id = attach(&self->g, self->gu.vm_fd, 0);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	vmm_kill(&self->gu.v);
	EXPECT_EQ(VMTRACE_GONE_VM_EXITED, gone_reason(&ev, id));
	EXPECT_EQ(-ENOENT, session_cmd(&self->g, VMTRACE_CMD_GET_SESSION, id));
	vt_genl_close(&ev);
}

TEST_F(life, rmmod_while_tracing)
{
	char reply[128];
	int id = attach(&self->g, self->gu.vm_fd, 0);

	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	usleep(100000);
	vt_genl_close(&self->g);
	ASSERT_EQ(0, vt_module_unload());
	/* The guest runs on, untraced, with its memory intact. */
	EXPECT_GUEST_WRITES(&self->gu.v);
	ASSERT_EQ(0, vmm_request(&self->gu.v, "verify", reply, sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
	ASSERT_EQ(0, vt_module_load(NULL));
	ASSERT_EQ(0, vt_genl_open(&self->g));
	EXPECT_LT(0, attach(&self->g, self->gu.vm_fd, 0)) TH_LOG("%s",
								  self->g.extack);
}

/* vmotionctl's libmnl client decodes what this libnl client set up. */
TEST_F(life, vmotionctl_status_shows_the_session)
{
	const char *args[] = { "-j", "status", NULL };
	const char *trace[] = { "-j", "trace", NULL };
	bool stock = variant->mode == VMTRACE_MODE_STOCK;
	char out[4096], *s;
	int id = attach(&self->g, self->gu.vm_fd, VMTRACE_FLUSH_SYNC);

	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	ASSERT_EQ(0, vmm_cmd(args, out, sizeof(out)));
	s = report_item(out, "session", id);
	ASSERT_NE(NULL, s) TH_LOG("%s", out);
	EXPECT_STREQ("tracking", report_str(s, "state"));
	EXPECT_STREQ(stock ? "stock" : "hierarchical", report_str(s, "mode"));
	EXPECT_STREQ("sync", report_str(s, "flush"));
	EXPECT_EQ(2, report_num(s, "vcpus"));
	EXPECT_EQ(16384, report_num(s, "pages"));
	/* status is the summary; trace has every counter. */
	EXPECT_EQ(-1, report_num(s, "wrprot_4k")) TH_LOG("%s", s);
	free(s);
	ASSERT_EQ(0, vmm_cmd(trace, out, sizeof(out)));
	s = report_item(out, "session", id);
	ASSERT_NE(NULL, s) TH_LOG("%s", out);
	/* Stock protects every page at start; hierarchical the 1 GB level. */
	EXPECT_EQ(stock ? 16384 : 1,
		  report_num(s, stock ? "wrprot_4k" : "wrprot_1g"))
		TH_LOG("%s", s);
	EXPECT_LE(0, report_num(s, "module_faults")) TH_LOG("%s", s);
	free(s);
}

/* get-stats: the counters without the session's identity and state. */
TEST_F(life, get_stats_has_the_counters_only)
{
	int id = attach(&self->g, self->gu.vm_fd, 0);

	ASSERT_LT(0, id);
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_START, id));
	ASSERT_EQ(0, session_cmd(&self->g, VMTRACE_CMD_GET_STATS, id));
	ASSERT_NE(NULL, self->g.tb[VMTRACE_A_SESSION_ID]);
	EXPECT_EQ(id, (int)nla_get_u32(self->g.tb[VMTRACE_A_SESSION_ID]));
	EXPECT_NE(NULL, self->g.tb[VMTRACE_A_SESSION_HARVESTS]);
	EXPECT_NE(NULL, self->g.tb[VMTRACE_A_SESSION_MODULE_FAULTS]);
	/* Start protected something, at the mode's own level. */
	EXPECT_LT(0, vt_session_u64(&self->g,
				    variant->mode == VMTRACE_MODE_STOCK ?
				    VMTRACE_A_SESSION_WRPROT_4K :
				    VMTRACE_A_SESSION_WRPROT_1G));
	EXPECT_EQ(NULL, self->g.tb[VMTRACE_A_SESSION_MODE]);
	EXPECT_EQ(NULL, self->g.tb[VMTRACE_A_SESSION_STATE]);
	EXPECT_EQ(-ENOENT, session_cmd(&self->g, VMTRACE_CMD_GET_STATS, 999999));
}

TEST(dirty_ring_vm_is_refused)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING,
				      .args = { 4096 } };
	int kvm = open("/dev/kvm", O_RDWR), vm;
	struct vt_genl g;

	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_LE(0, kvm);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, ioctl(vm, KVM_ENABLE_CAP, &cap));
	ASSERT_EQ(0, vt_genl_open(&g));
	EXPECT_EQ(-EBUSY, attach(&g, vm, 0));
	EXPECT_STREQ("vmtrace: the VM uses a KVM dirty ring", g.extack);
	vt_genl_close(&g);
	close(vm);
	close(kvm);
}

TEST(vm_using_dirty_logging_is_refused)
{
	int kvm = open("/dev/kvm", O_RDWR), vm;
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.memory_size = 1 << 20,
	};
	struct vt_genl g;
	void *mem;

	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_LE(0, kvm);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r.userspace_addr = (unsigned long)mem;
	ASSERT_EQ(0, ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r));
	ASSERT_EQ(0, vt_genl_open(&g));
	EXPECT_EQ(-EBUSY, attach(&g, vm, 0));
	EXPECT_STREQ("vmtrace: the VMM already uses KVM dirty logging",
		     g.extack);
	vt_genl_close(&g);
	close(vm);
	close(kvm);
	munmap(mem, 1 << 20);
}

TEST_HARNESS_MAIN
