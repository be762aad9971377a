// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the guest workload: its page stamps (pages.c, linked
 * in), and the program itself (build/unit/vmotion-workload, the same
 * sources under ASan/UBSan) run as an ordinary process with a small
 * working set.  Timing bounds are loose on purpose: the machine is loaded,
 * and a test that fails on a busy machine tests the machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../workload.h"
#include "kselftest_harness.h"

/* ---- pages.c ---- */

TEST(page_roundtrip_and_every_word_changes)
{
	static uint64_t a[WL_PAGE_WORDS], b[WL_PAGE_WORDS];
	struct wl_page_fault f;
	size_t k, same = 0;

	wl_page_write(a, 42, 7);
	ASSERT_EQ(WL_OK, wl_page_check(a, 42, 7, &f));
	wl_page_write(b, 42, 8);
	for (k = 0; k < WL_PAGE_WORDS; k++)
		same += a[k] == b[k];
	/* Magic and index stay; every other word is rewritten. */
	EXPECT_EQ(2, same);
	EXPECT_EQ(WL_BAD_GEN, wl_page_check(a, 42, 8, &f));
	EXPECT_EQ(8, f.expected);
	EXPECT_EQ(7, f.found);
	EXPECT_EQ(WL_BAD_INDEX, wl_page_check(a, 43, 7, &f));
	EXPECT_EQ(43, f.expected);
	EXPECT_EQ(42, f.found);
}

TEST(page_damage_is_caught)
{
	static uint64_t a[WL_PAGE_WORDS];
	struct wl_page_fault f;
	uint64_t t;

	wl_page_write(a, 1, 3);
	a[WL_PAGE_WORDS - 1] ^= 1;
	EXPECT_EQ(WL_BAD_SUM, wl_page_check(a, 1, 3, &f));

	/* Two data words swapped: same bits, wrong place. */
	wl_page_write(a, 1, 3);
	t = a[WL_W_DATA];
	a[WL_W_DATA] = a[WL_W_DATA + 1];
	a[WL_W_DATA + 1] = t;
	EXPECT_EQ(WL_BAD_SUM, wl_page_check(a, 1, 3, &f));

	/* A zeroed page (never copied) has no magic. */
	memset(a, 0, sizeof(a));
	EXPECT_EQ(WL_BAD_MAGIC, wl_page_check(a, 1, 3, &f));
	EXPECT_EQ(0, f.found);
}

/* ---- the program ---- */

#define MAX_HB		20000
#define OUT_MAX		(1 << 20)

struct run {
	pid_t pid;
	int status;
	char out[OUT_MAX];
	size_t out_len;
	char err[8192];
	/* Host arrival time (us) of every heartbeat character. */
	uint64_t hb[MAX_HB];
	size_t nhb;
	/* At progress line number act_at (1-based), do act(). */
	int act_at;
	void (*act)(struct run *r);
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void workload_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		n = 0;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/vmotion-workload", self);
}

/*
 * Run the workload with @args (NULL-terminated), reading its stdout as it
 * comes, until it exits or @timeout_ms passes (then it is killed and the
 * run fails).  Returns 0 when it exited by itself.
 */
static int run_workload(struct run *r, int timeout_ms, const char *const *args)
{
	char path[PATH_MAX + 32];
	const char *argv[32];
	int out[2], err[2];
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	bool in_msg = false, at_bol = true;
	int progress = 0, i, killed = 0;
	char buf[4096];
	ssize_t n, k;

	workload_path(path, sizeof(path));
	argv[0] = path;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe(out) || pipe(err))
		return -1;
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		int64_t left = (int64_t)(deadline - now_us()) / 1000;

		if (left <= 0) {
			kill(r->pid, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(&p, 1, left) <= 0)
			continue;
		n = read(out[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		for (k = 0; k < n; k++) {
			char c = buf[k];

			if (r->out_len < OUT_MAX - 1)
				r->out[r->out_len++] = c;
			if (at_bol && c == 'w')
				in_msg = true;
			if (!in_msg && c == '.' && r->nhb < MAX_HB)
				r->hb[r->nhb++] = now_us();
			if (c == '\n') {
				at_bol = true;
				in_msg = false;
				continue;
			}
			at_bol = false;
		}
		r->out[r->out_len] = '\0';
		/* Count progress lines seen so far, to act at the right one. */
		if (r->act) {
			const char *s = r->out;
			int seen = 0;

			while ((s = strstr(s, "\nworkload: t=")) != NULL) {
				seen++;
				s++;
			}
			if (seen >= r->act_at && progress < r->act_at) {
				progress = seen;
				r->act(r);
			}
		}
	}
	close(out[0]);
	waitpid(r->pid, &r->status, 0);
	n = read(err[0], r->err, sizeof(r->err) - 1);
	r->err[n > 0 ? n : 0] = '\0';
	close(err[0]);
	r->out[r->out_len] = '\0';
	return killed ? -1 : 0;
}

static int exit_code(const struct run *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* The value of "key=" in the last line that starts with @prefix, or -1. */
static double last_field(const struct run *r, const char *prefix,
			 const char *key)
{
	const char *s = r->out, *line = NULL, *v, *eol;
	size_t plen = strlen(prefix);

	while ((s = strstr(s, prefix)) != NULL) {
		if (s == r->out || s[-1] == '\n')
			line = s;
		s += plen;
	}
	if (!line)
		return -1;
	eol = strchr(line, '\n');
	v = strstr(line, key);
	if (!v || (eol && v > eol))
		return -1;
	return strtod(v + strlen(key), NULL);
}

static int count_lines(const struct run *r, const char *prefix)
{
	const char *s = r->out;
	int n = 0;

	while ((s = strstr(s, prefix)) != NULL) {
		if (s == r->out || s[-1] == '\n')
			n++;
		s++;
	}
	return n;
}

static struct run *new_run(void)
{
	return calloc(1, sizeof(struct run));
}

TEST(help_prints_usage)
{
	struct run *r = new_run();
	const char *args[] = { "--help", NULL };

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, run_workload(r, 10000, args));
	EXPECT_EQ(0, exit_code(r));
	EXPECT_NE(NULL, strstr(r->out, "usage: vmotion-workload"));
	EXPECT_NE(NULL, strstr(r->out, "--rate SIZE/s"));
	free(r);
}

TEST(bad_input_is_refused_clearly)
{
	static const struct {
		const char *args[6];
		const char *msg;
	} cases[] = {
		{ { "--rate", "32M", NULL }, "--rate \"32M\": not a rate" },
		{ { "--rate", "1K/s", NULL }, "4K/s to 16G/s" },
		{ { "--rate", "17G/s", NULL }, "4K/s to 16G/s" },
		{ { "--wss", "6000", NULL }, "multiple of 4K" },
		{ { "--wss", "lots", NULL }, "not a size" },
		{ { "--order", "backwards", NULL }, "must be seq or random" },
		{ { "--heartbeat", "20ms", NULL }, "must be 1ms..10ms" },
		{ { "--heartbeat", "5", NULL }, "must be 1ms..10ms" },
		{ { "--progress", "1s", NULL }, "must be 10ms..200ms" },
		{ { "--wss", "8M", "--fill", "4M" }, "--fill is smaller than --wss" },
		{ { "--wss", "1M", "--test-corrupt", "256" }, "beyond --fill" },
		{ { "--frobnicate", NULL }, "unknown option \"--frobnicate\"" },
		{ { "stray", NULL }, "unexpected argument \"stray\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run *r = new_run();

		ASSERT_NE(NULL, r);
		ASSERT_EQ(0, run_workload(r, 10000, cases[i].args));
		EXPECT_EQ(2, exit_code(r));
		EXPECT_NE(NULL, strstr(r->err, cases[i].msg))
			TH_LOG("case %zu: stderr \"%s\"", i, r->err);
		/* Refused before it starts: nothing on stdout. */
		EXPECT_EQ(0, r->out_len);
		free(r);
	}
}

FIXTURE(paced) {
	struct run *r;
};

FIXTURE_VARIANT(paced) {
	const char *order;
};

FIXTURE_VARIANT_ADD(paced, seq) { .order = "seq" };
FIXTURE_VARIANT_ADD(paced, random) { .order = "random" };

FIXTURE_SETUP(paced)
{
	self->r = new_run();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(paced)
{
	free(self->r);
}

/*
 * 2 s at 4 MiB/s over a 2 MiB set: about 2048 rewrites, ~200 heartbeats,
 * ~10 progress lines, and a clean check at the end.
 */
TEST_F(paced, rate_heartbeat_progress_and_clean_check)
{
	const char *args[] = { "--wss", "2M", "--fill", "3M", "--rate", "4M/s",
			       "--order", variant->order, "--duration", "2s",
			       "--stall-verify", "0", NULL };
	struct run *r = self->r;
	const char *s;
	double t, prev_t = 0, w, prev_w = -1, max_dt = 0;
	uint64_t max_gap = 0;
	size_t i;
	int lines = 0;

	ASSERT_EQ(0, run_workload(r, 30000, args));
	ASSERT_EQ(0, exit_code(r)) TH_LOG("stderr: %s", r->err);

	/* Rewrites: 1024 pages/s asked; at most that, at least half of it. */
	w = last_field(r, "workload: done", "writes=");
	EXPECT_LE(w, 2048 * 1.05 + 2);
	EXPECT_GE(w, 2048 * 0.5);

	/* Heartbeats: one per 10 ms at most, and most of them there. */
	EXPECT_LE(r->nhb, 2000 / 10 + 2);
	EXPECT_GE(r->nhb, 2000 / 10 / 2);
	for (i = 1; i < r->nhb; i++)
		if (r->hb[i] - r->hb[i - 1] > max_gap)
			max_gap = r->hb[i] - r->hb[i - 1];
	/* Arrival at the host: loose, the machine is shared. */
	EXPECT_LT(max_gap, 500000);

	/* Progress lines: ~every 200 ms of the program's clock, counter up. */
	for (s = r->out; (s = strstr(s, "\nworkload: t=")) != NULL; s++) {
		t = strtod(s + 13, NULL);
		w = strtod(strstr(s, " w=") + 3, NULL);
		if (lines && t - prev_t > max_dt)
			max_dt = t - prev_t;
		EXPECT_GE(w, prev_w);
		EXPECT_NE(NULL, strstr(s, "M/s gap="));
		prev_t = t;
		prev_w = w;
		lines++;
	}
	EXPECT_GE(lines, 2000 / 200 / 2);
	EXPECT_LE(lines, 2000 / 200 + 1);
	EXPECT_LT(max_dt, 1.0);
	EXPECT_GT(max_dt, 0.15);

	/* Lines stay short for a 115200 baud console. */
	for (s = r->out; (s = strstr(s, "workload: ")) != NULL; s++)
		EXPECT_LT(strchrnul(s, '\n') - s, 120);

	EXPECT_EQ(1, count_lines(r, "workload: verify pages=768 bad=0 "));
	EXPECT_EQ(0, count_lines(r, "workload: BAD"));
	TH_LOG("%s: writes %.0f of 2048 asked, %zu heartbeats, host max gap %.1f ms",
	       variant->order, last_field(r, "workload: done", "writes="),
	       r->nhb, max_gap / 1000.0);
}

static void send_usr1(struct run *r)
{
	kill(r->pid, SIGUSR1);
}

TEST(sigusr1_asks_for_a_check)
{
	const char *args[] = { "--wss", "1M", "--rate", "2M/s",
			       "--duration", "1500ms", NULL };
	struct run *r = new_run();

	ASSERT_NE(NULL, r);
	r->act_at = 2;
	r->act = send_usr1;
	ASSERT_EQ(0, run_workload(r, 30000, args));
	EXPECT_EQ(0, exit_code(r));
	/* The check asked for, then the one at the end. */
	EXPECT_EQ(2, count_lines(r, "workload: verify pages=256 bad=0 "));
	EXPECT_NE(NULL, strstr(r->out, "why=request"));
	EXPECT_NE(NULL, strstr(r->out, "why=end"));
	free(r);
}

/* A stall of the process (as a blackout is, to the guest): gap and check. */
static void stall(struct run *r)
{
	kill(r->pid, SIGSTOP);
	usleep(400000);
	kill(r->pid, SIGCONT);
}

TEST(stall_is_seen_and_checked)
{
	const char *args[] = { "--wss", "1M", "--rate", "2M/s",
			       "--duration", "1500ms", NULL };
	struct run *r = new_run();
	double gap;

	ASSERT_NE(NULL, r);
	r->act_at = 2;
	r->act = stall;
	ASSERT_EQ(0, run_workload(r, 30000, args));
	EXPECT_EQ(0, exit_code(r));
	gap = last_field(r, "workload: gap ", "gap ");
	EXPECT_GE(gap, 390);
	EXPECT_NE(NULL, strstr(r->out, "why=gap"));
	EXPECT_GE(last_field(r, "workload: done", "maxgap="), 390);
	EXPECT_EQ(0, count_lines(r, "workload: BAD"));
	free(r);
}

TEST(test_hooks_name_the_page)
{
	const char *args[] = { "--wss", "1M", "--fill", "2M", "--rate", "2M/s",
			       "--duration", "300ms", "--test-corrupt", "5",
			       "--test-stale", "300", NULL };
	struct run *r = new_run();

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, run_workload(r, 30000, args));
	EXPECT_EQ(1, exit_code(r));
	EXPECT_EQ(1, count_lines(r, "workload: BAD page 5 sum expected "));
	/* Page 300 is outside the set: still generation 1 from the fill. */
	EXPECT_EQ(1, count_lines(r, "workload: BAD page 300 gen expected 1 found 0\n"));
	EXPECT_EQ(2, count_lines(r, "workload: BAD"));
	EXPECT_EQ(1, count_lines(r, "workload: verify pages=512 bad=2 "));
	free(r);
}

/*
 * The address of page @index of the fill in the workload, found through
 * /proc/PID/maps and mem: the page that starts with the magic and @index,
 * in a read-write mapping small enough not to be ASan's shadow.  Returns
 * an open fd of /proc/PID/mem (and the address in @addr), or -1.
 */
static int find_page(struct run *r, uint64_t index, unsigned long *addr)
{
	char path[64], line[256], perms[8];
	unsigned long lo, hi, a;
	uint64_t head[2];
	FILE *maps;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", r->pid);
	maps = fopen(path, "r");
	if (!maps)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", r->pid);
	mem = open(path, O_RDWR);
	while (mem >= 0 && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strncmp(perms, "rw", 2) || hi - lo > (64UL << 20))
			continue;
		for (a = lo; a < hi; a += WL_PAGE_SIZE) {
			if (pread(mem, head, sizeof(head), a) != sizeof(head) ||
			    head[0] != WL_MAGIC || head[1] != index)
				continue;
			fclose(maps);
			*addr = a;
			return mem;
		}
	}
	fclose(maps);
	if (mem >= 0)
		close(mem);
	return -1;
}

/*
 * Damage from outside, as a broken migration would: flip a bit of page
 * 400, beyond the 1 MiB working set, so no rewrite repairs it before the
 * check asked for right after.
 */
static void corrupt_via_proc(struct run *r)
{
	unsigned long a;
	uint64_t word;
	int mem = find_page(r, 400, &a);

	if (mem < 0)
		return;
	a += 1024;
	if (pread(mem, &word, 8, a) == 8) {
		word ^= 1ULL << 40;
		if (pwrite(mem, &word, 8, a) == 8)
			kill(r->pid, SIGUSR1);
	}
	close(mem);
}

TEST(page_damaged_from_outside_is_named)
{
	const char *args[] = { "--wss", "1M", "--fill", "3076K", "--rate", "2M/s",
			       "--duration", "1500ms", NULL };
	struct run *r = new_run();

	ASSERT_NE(NULL, r);
	r->act_at = 2;
	r->act = corrupt_via_proc;
	ASSERT_EQ(0, run_workload(r, 30000, args));
	EXPECT_EQ(1, exit_code(r));
	ASSERT_NE(NULL, strstr(r->out, "why=request"))
		TH_LOG("the fill mapping was not found in /proc/%d/maps", r->pid);
	EXPECT_EQ(2, count_lines(r, "workload: BAD page 400 sum expected "));
	EXPECT_EQ(2, count_lines(r, "workload: BAD"));
	/* Named by the check asked for and again by the one at the end. */
	EXPECT_EQ(2, count_lines(r, "workload: verify pages=769 bad=1 writes="));
	free(r);
}

/*
 * A stale page, the way a migration that missed a dirty page delivers it:
 * page 10 of the working set is copied at one progress line and put back,
 * whole, at a later one once the writer has rewritten it.  The workload is
 * stopped (and seen stopped) while that happens, so the generation the
 * check expects is the one read here.
 */
static uint64_t saved_page[WL_PAGE_WORDS];
static uint64_t saved_gen, current_gen;

static void save_then_restore(struct run *r)
{
	uint64_t head[WL_W_DATA];
	unsigned long a;
	int status, mem;

	kill(r->pid, SIGSTOP);
	waitpid(r->pid, &status, WUNTRACED);
	mem = find_page(r, 10, &a);
	if (mem < 0)
		goto cont;
	if (!saved_gen) {
		if (pread(mem, saved_page, WL_PAGE_SIZE, a) == WL_PAGE_SIZE)
			saved_gen = saved_page[WL_W_GEN];
	} else if (pread(mem, head, sizeof(head), a) == sizeof(head) &&
		   head[WL_W_GEN] > saved_gen &&
		   pwrite(mem, saved_page, WL_PAGE_SIZE, a) == WL_PAGE_SIZE) {
		current_gen = head[WL_W_GEN];
		kill(r->pid, SIGUSR1);
		r->act_at = 1000;
	}
	close(mem);
cont:
	/* Not rewritten yet (a loaded machine): try at the next line. */
	if (r->act_at < 1000)
		r->act_at++;
	kill(r->pid, SIGCONT);
}

TEST(stale_page_put_back_from_outside_is_named)
{
	const char *args[] = { "--wss", "64K", "--rate", "64K/s",
			       "--duration", "4s", "--stall-verify", "0",
			       NULL };
	struct run *r = new_run();
	char want[96];

	ASSERT_NE(NULL, r);
	r->act_at = 1;
	r->act = save_then_restore;
	ASSERT_EQ(0, run_workload(r, 30000, args));
	ASSERT_EQ(1000, r->act_at) TH_LOG("page 10 not found or not rewritten");
	EXPECT_EQ(1, exit_code(r));
	snprintf(want, sizeof(want),
		 "workload: BAD page 10 gen expected %llu found %llu\n",
		 (unsigned long long)current_gen, (unsigned long long)saved_gen);
	/* By the asked-for check; the end check sees it too unless rewritten. */
	EXPECT_GE(count_lines(r, want), 1) TH_LOG("%s", r->out);
	EXPECT_EQ(count_lines(r, want), count_lines(r, "workload: BAD"));
	EXPECT_LE(count_lines(r, "workload: BAD"), 2);
	free(r);
}

TEST_HARNESS_MAIN
