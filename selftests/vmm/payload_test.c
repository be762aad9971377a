// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl run with the built-in dirty payload on 2 vCPUs: it runs and
 * verifies its memory; save-state, kill -9 of the VMM and restore in a new
 * process continue it with every page intact; a page corrupted in between
 * is caught.  The control socket's lock and pause belong to the connection.
 * --order random scatters each pass's writes; the default order does not.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../ctl/payload/payload_abi.h"
#include "../lib/vmm.h"
#include "kselftest_harness.h"

#define MEM	"64M"
#define MEM_BYTES	(64ULL << 20)

static const char *const dirty_args[] = {
	"--payload", "dirty", "--mem", MEM, "--cpus", "2",
	"--rate", "16M/s", "--wss", "30%", NULL
};

FIXTURE(dirty) {
	struct vmm v;
	char state[128], mem[128];
};

FIXTURE_SETUP(dirty)
{
	ASSERT_EQ(0, vmm_init(&self->v));
	snprintf(self->state, sizeof(self->state), "%s/state", self->v.dir);
	snprintf(self->mem, sizeof(self->mem), "%s/mem", self->v.dir);
	ASSERT_EQ(0, vmm_start(&self->v, dirty_args, 30));
}

FIXTURE_TEARDOWN(dirty)
{
	if (!_metadata->passed)
		vmm_dump(&self->v);
	vmm_cleanup(&self->v);
}

static unsigned long long field(const char *reply, const char *key)
{
	const char *p = strstr(reply, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : ~0ULL;
}

/* Wait until the payload has written at least @pages more pages. */
static unsigned long long wait_progress(struct vmm *v, unsigned long long pages)
{
	char reply[256];
	unsigned long long start, now;
	int i;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return 0;
	start = field(reply, "pages_written=");
	for (i = 0; i < 300; i++) {
		usleep(50000);
		if (vmm_request(v, "status", reply, sizeof(reply)))
			return 0;
		now = field(reply, "pages_written=");
		if (now != ~0ULL && now >= start + pages)
			return now;
	}
	return 0;
}

static int save(struct vmm *v, const char *state, const char *mem)
{
	const char *args[] = { "save", "--control", v->control, "--state",
			       state, "--mem-file", mem, NULL };

	return vmm_cmd(args, NULL, 0);
}

TEST_F(dirty, runs_and_verifies)
{
	char reply[256];

	ASSERT_NE(0, wait_progress(&self->v, 2000));
	ASSERT_EQ(0, vmm_request(&self->v, "verify", reply, sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
	ASSERT_EQ(0, vmm_request(&self->v, "status", reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "state=running cpus=2"));
	EXPECT_TRUE(vmm_log_wait(&self->v, "dirty: vcpu 1 verified", 5));
}

TEST_F(dirty, save_kill_restore_continues_intact)
{
	const char *restore[] = { "--restore", self->state, "--mem-file",
				  self->mem, NULL };
	unsigned long long before;
	char reply[256];

	before = wait_progress(&self->v, 2000);
	ASSERT_NE(0, before);
	ASSERT_EQ(0, save(&self->v, self->state, self->mem));
	/* The VMM dies without warning; the checkpoint is all there is. */
	vmm_kill(&self->v);
	unlink(self->v.control);

	ASSERT_EQ(0, vmm_start(&self->v, restore, 30));
	ASSERT_EQ(0, vmm_request(&self->v, "verify", reply, sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
	/* and it goes on writing from where it was */
	EXPECT_LT(before, wait_progress(&self->v, 1000));
	ASSERT_EQ(0, vmm_request(&self->v, "verify", reply, sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
}

TEST_F(dirty, corrupted_page_is_caught)
{
	const char *restore[] = { "--restore", self->state, "--mem-file",
				  self->mem, NULL };
	unsigned char *m;
	char reply[256];
	int fd;

	ASSERT_NE(0, wait_progress(&self->v, 4000));
	ASSERT_EQ(0, save(&self->v, self->state, self->mem));
	vmm_kill(&self->v);
	unlink(self->v.control);

	/*
	 * Flip a byte in the middle of the working set: 4 MiB in is the
	 * generation table, the pages follow it.
	 */
	fd = open(self->mem, O_RDWR);
	ASSERT_LE(0, fd);
	m = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	m[(4 << 20) + 64 * 1024 + 1000] ^= 0x5a;
	munmap(m, MEM_BYTES);
	close(fd);

	ASSERT_EQ(0, vmm_start(&self->v, restore, 30));
	ASSERT_EQ(0, vmm_request(&self->v, "verify", reply, sizeof(reply)));
	/*
	 * The payload may meet the page in its write loop before the verify
	 * request: either way it lands in the cumulative count.
	 */
	ASSERT_EQ(0, vmm_request(&self->v, "status", reply, sizeof(reply)));
	EXPECT_LT(0, field(reply, "bad_pages="));
	EXPECT_NE(~0ULL, field(reply, "bad_pages="));
}

TEST_F(dirty, lock_and_pause_belong_to_the_connection)
{
	struct vm_client a, b;
	int fds[2];
	struct stat st;
	struct payload_params *pp;

	ASSERT_EQ(0, vm_client_connect(&a, self->v.control));
	ASSERT_EQ(0, vm_client_connect(&b, self->v.control));
	ASSERT_EQ(0, vm_client_request(&a, "lock", NULL));
	ASSERT_EQ(0, vm_client_request(&a, "pause", NULL));
	EXPECT_EQ(1, vm_client_request(&b, "resume", NULL));
	EXPECT_STREQ("error locked by another control connection", b.reply);
	EXPECT_EQ(1, vm_client_request(&b, "quit", NULL));

	/* get-fds hands out the guest memory: the payload's params are there. */
	ASSERT_EQ(0, vm_client_request(&a, "get-fds", fds));
	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(0, fstat(fds[1], &st));
	EXPECT_EQ(MEM_BYTES, st.st_size);
	pp = mmap(NULL, 0x6000, PROT_READ, MAP_SHARED, fds[1], 0);
	ASSERT_NE(MAP_FAILED, pp);
	EXPECT_EQ(PAYLOAD_PARAMS_MAGIC, ((struct payload_params *)
					 ((char *)pp + 0x5000))->magic);
	munmap(pp, 0x6000);
	close(fds[0]);
	close(fds[1]);

	/* The owner goes away: lock released, VM running again. */
	vm_client_close(&a);
	usleep(200000);
	ASSERT_EQ(0, vm_client_request(&b, "status", NULL));
	EXPECT_NE(NULL, strstr(b.reply, "state=running"));
	EXPECT_NE(NULL, strstr(b.reply, "locked=0"));
	EXPECT_EQ(0, vm_client_request(&b, "pause", NULL));
	EXPECT_EQ(0, vm_client_request(&b, "resume", NULL));
	vm_client_close(&b);
}

TEST_F(dirty, get_dirty_reports_what_the_vmm_wrote)
{
	struct vm_client c;
	size_t len;
	unsigned long long *bits;

	ASSERT_EQ(0, vm_client_connect(&c, self->v.control));
	/* Drain: the boot wrote page tables, image and params. */
	ASSERT_EQ(0, vm_client_request(&c, "get-dirty", NULL));
	ASSERT_EQ(1, sscanf(c.reply, "ok %zu", &len));
	ASSERT_EQ(MEM_BYTES / 4096 / 8, len);
	bits = malloc(len);
	ASSERT_EQ(0, vm_client_read_body(&c, bits, len));
	EXPECT_TRUE(bits[0x5000 / 4096 / 64] & (1ULL << (0x5000 / 4096 % 64)));
	EXPECT_TRUE(bits[0x100000 / 4096 / 64] & (1ULL << (0x100000 / 4096 % 64)));

	/* verify makes the VMM write the params page, and nothing else */
	ASSERT_EQ(0, vm_client_request(&c, "verify", NULL));
	ASSERT_EQ(0, vm_client_request(&c, "get-dirty", NULL));
	ASSERT_EQ(0, vm_client_read_body(&c, bits, len));
	EXPECT_EQ(1ULL << 5, bits[0]);
	for (size_t i = 1; i < len / 8; i++)
		EXPECT_EQ(0, bits[i]);
	free(bits);
	vm_client_close(&c);
}

static int set_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", n) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

static long get_hugepages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

TEST(dirty_on_2m_hugepages)
{
	const char *args[] = { "--payload", "dirty", "--mem", MEM, "--cpus",
			       "2", "--hugepages", "2M", "--wss", "50%", NULL };
	long before = get_hugepages();
	char reply[256];
	struct vmm v;
	int started;

	ASSERT_LE(0, before);
	ASSERT_EQ(0, set_hugepages(before + MEM_BYTES / (2 << 20)));
	ASSERT_EQ(0, vmm_init(&v));
	started = vmm_start(&v, args, 30);
	if (!started) {
		usleep(500000);
		EXPECT_EQ(0, vmm_request(&v, "verify", reply, sizeof(reply)));
		EXPECT_STREQ("ok bad_pages=0", reply);
		EXPECT_EQ(0, vmm_request(&v, "quit", NULL, 0));
		EXPECT_EQ(0, vmm_wait(&v, 10));
	}
	vmm_cleanup(&v);
	set_hugepages(before);
	ASSERT_EQ(0, started);
}

/*
 * How often the generation of page i differs from page i+1's in the
 * working set of a 1-vCPU dirty payload in @order, a little over one pass
 * in, from a checkpoint of its memory: the table of generations is at
 * 4 MiB (the region's start), one uint32_t per page.  -1 on error.
 */
static int generation_steps(const char *order)
{
	const char *args[] = { "--payload", "dirty", "--mem", MEM, "--rate",
			       "16M/s", "--wss", "30%", "--order", order, NULL };
	/* Region pages less the table's own pages, 30 % of them. */
	const size_t region = (MEM_BYTES - (4 << 20)) / 4096;
	const size_t wss = (region - (region * 4 + 4095) / 4096) * 30 / 100;
	char state[160], mem[160];
	uint32_t gen[8192];
	int fd, steps = -1;
	struct vmm v;

	if (vmm_init(&v))
		return -1;
	snprintf(state, sizeof(state), "%s/state", v.dir);
	snprintf(mem, sizeof(mem), "%s/mem", v.dir);
	if (vmm_start(&v, args, 30) || !wait_progress(&v, wss * 3 / 2) ||
	    save(&v, state, mem))
		goto out;
	fd = open(mem, O_RDONLY);
	if (fd < 0)
		goto out;
	if (pread(fd, gen, wss * 4, 4 << 20) == (ssize_t)(wss * 4)) {
		steps = 0;
		for (size_t i = 0; i + 1 < wss; i++)
			steps += gen[i] != gen[i + 1];
	}
	close(fd);
out:
	vmm_cleanup(&v);
	return steps;
}

TEST(order_random_scatters_every_pass)
{
	int seq = generation_steps("seq"), random = generation_steps("random");

	/* In order: pages before the write cursor are one generation ahead. */
	ASSERT_LE(0, seq);
	EXPECT_GE(2, seq);
	/* Scattered: the pass so far is all over the working set. */
	EXPECT_LE(500, random) TH_LOG("%d steps", random);
}

TEST(order_random_verifies)
{
	const char *args[] = { "--payload", "dirty", "--mem", MEM, "--cpus",
			       "2", "--rate", "16M/s", "--wss", "30%",
			       "--order", "random", NULL };
	char reply[256];
	struct vmm v;

	ASSERT_EQ(0, vmm_init(&v));
	ASSERT_EQ(0, vmm_start(&v, args, 30));
	/* More than a whole pass: every page written at least once. */
	EXPECT_NE(0, wait_progress(&v, 6000));
	EXPECT_EQ(0, vmm_request(&v, "verify", reply, sizeof(reply)));
	EXPECT_STREQ("ok bad_pages=0", reply);
	EXPECT_EQ(0, vmm_request(&v, "status", reply, sizeof(reply)));
	EXPECT_LE(1, field(reply, "passes=")) TH_LOG("%s", reply);
	vmm_cleanup(&v);
}

TEST_HARNESS_MAIN
