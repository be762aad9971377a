// SPDX-License-Identifier: GPL-2.0
/*
 * vmotion-workload: rewrites whole pages of a working set at a set rate,
 * prints a heartbeat every few milliseconds and a progress line at least
 * every 200 ms, and checks every page on request (SIGUSR1), on a timer,
 * after a gap in its own heartbeat, and before it exits.
 *
 * Output goes to stdout with write(2), unbuffered, because in the guest
 * stdout is the 115200 baud serial console (about 11 KB/s) read by the
 * host: the heartbeat is one character, progress lines are ~60 bytes, so
 * the two together stay below 500 B/s.  A heartbeat line is a run of '.'
 * characters; every "workload:" line starts at column 0.
 *
 * Time is CLOCK_MONOTONIC, as the guest sees it.  With kvm-clock a guest
 * that was stalled (the blackout of a migration) sees its clock jump, and
 * the jump shows up as a heartbeat gap here.  A VM that was paused may or
 * may not see the jump: KVM_SET_CLOCK on the destination decides whether
 * the paused time is hidden, so the blackout is measured on the host from
 * the arrival times of the heartbeats (largest gap minus the interval),
 * and the gap printed here is the guest's own view.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

/* At most this many BAD lines per check: the console is slow. */
#define WL_MAX_BAD_LINES	32
/* Heartbeat gaps this many intervals long get a line of their own. */
#define WL_GAP_LINE_FACTOR	10
/* Writes missed in a stall are caught up for at most this long (us). */
#define WL_MAX_BACKLOG_US	50000
/* How often (pages) a check or a write burst looks at the clock. */
#define WL_SERVICE_PAGES	64

struct wl {
	struct wl_options o;
	uint64_t *mem;		/* fill pages, stamped */
	uint64_t *gens;		/* generation last written, per page */
	uint64_t pages, wss_pages;
	uint64_t writes;	/* rewrites since the fill */
	uint64_t next_page;	/* --order seq */
	uint64_t rng;		/* --order random */
	uint64_t t0;
	uint64_t rate_base, rate_done;	/* pacing: writes due since rate_base */
	uint64_t next_hb, last_hb, max_gap, period_gap;
	uint64_t next_progress, last_progress, last_progress_writes;
	uint64_t next_verify;
	uint64_t bad_total;
	bool hb_on_line;
	bool gap_verify;	/* a long gap asked for a check */
	bool hooks_done;
};

static volatile sig_atomic_t verify_requested;
static volatile sig_atomic_t stop_requested;

static void on_usr1(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* write(2) all of it: the console may take it in pieces. */
static void out_raw(const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* nobody listens: keep writing pages */
		buf += n;
		len -= n;
	}
}

/* One "workload: ..." line, at column 0 even after heartbeat dots. */
static void __attribute__((format(printf, 2, 3)))
out_line(struct wl *w, const char *fmt, ...)
{
	char buf[256];
	size_t n = 0;
	va_list ap;
	int len;

	if (w->hb_on_line)
		buf[n++] = '\n';
	w->hb_on_line = false;
	memcpy(buf + n, "workload: ", 10);
	n += 10;
	va_start(ap, fmt);
	len = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	n += (size_t)len < sizeof(buf) - n - 1 ? (size_t)len : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	out_raw(buf, n);
}

/* A number formatted for a line, alive until the end of the statement. */
struct wl_num {
	char s[24];
};

/* Microseconds as seconds with three decimals: guest timestamps. */
static struct wl_num secs(uint64_t us)
{
	struct wl_num n;

	snprintf(n.s, sizeof(n.s), "%llu.%03llu",
		 (unsigned long long)(us / 1000000),
		 (unsigned long long)(us / 1000 % 1000));
	return n;
}

/* Microseconds as milliseconds with one decimal: gaps and durations. */
static struct wl_num msecs(uint64_t us)
{
	struct wl_num n;

	snprintf(n.s, sizeof(n.s), "%llu.%llums",
		 (unsigned long long)(us / 1000),
		 (unsigned long long)(us / 100 % 10));
	return n;
}

/*
 * Heartbeat and progress, due or not.  Called between pages, by writes
 * and checks alike, so a long check does not look like a blackout.
 */
static void service(struct wl *w)
{
	uint64_t now = mono_us();
	uint64_t gap, dt, dw, rate10;

	if (now >= w->next_hb) {
		gap = now - w->last_hb;
		if (gap > w->max_gap)
			w->max_gap = gap;
		if (gap > w->period_gap)
			w->period_gap = gap;
		if (!w->o.quiet_heartbeat) {
			out_raw(".", 1);
			w->hb_on_line = true;
		}
		if (gap >= WL_GAP_LINE_FACTOR * w->o.heartbeat_us)
			out_line(w, "gap %s t=%s", msecs(gap).s,
				 secs(now - w->t0).s);
		if (w->o.stall_verify_us && gap >= w->o.stall_verify_us)
			w->gap_verify = true;
		w->last_hb = now;
		/* From now, not from the missed deadline: no burst after a stall. */
		w->next_hb = now + w->o.heartbeat_us;
	}
	if (now >= w->next_progress) {
		dt = now - w->last_progress;
		dw = w->writes - w->last_progress_writes;
		/* Rate in MiB/s with one decimal, in integers. */
		rate10 = dt ? dw * WL_PAGE_SIZE * 10 * 1000000 / dt >> 20 : 0;
		out_line(w, "t=%s w=%llu r=%llu.%lluM/s gap=%s",
			 secs(now - w->t0).s, (unsigned long long)w->writes,
			 (unsigned long long)rate10 / 10,
			 (unsigned long long)rate10 % 10, msecs(w->period_gap).s);
		w->period_gap = 0;
		w->last_progress = now;
		w->last_progress_writes = w->writes;
		w->next_progress += w->o.progress_us;
		if (w->next_progress <= now)
			w->next_progress = now + w->o.progress_us;
	}
}

/* xorshift64*: cheap and good enough to spread writes over the set. */
static uint64_t wl_random(struct wl *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dULL;
}

static void rewrite_one(struct wl *w)
{
	uint64_t i;

	if (w->o.order == WL_ORDER_SEQ) {
		i = w->next_page;
		w->next_page = (i + 1) % w->wss_pages;
	} else {
		i = wl_random(w) % w->wss_pages;
	}
	/* Page first, then the record of it: a check never runs in between. */
	wl_page_write(w->mem + i * WL_PAGE_WORDS, i, w->gens[i] + 1);
	w->gens[i]++;
	w->writes++;
}

/* The test hooks: damage a page the way a broken migration would. */
static void apply_test_hooks(struct wl *w)
{
	uint64_t *page;

	if (w->hooks_done)
		return;
	w->hooks_done = true;
	if (w->o.test_corrupt >= 0) {
		page = w->mem + w->o.test_corrupt * WL_PAGE_WORDS;
		page[WL_PAGE_WORDS / 2] ^= 1ULL << 17;
	}
	if (w->o.test_stale >= 0) {
		/* A whole, self-consistent page of the previous generation. */
		page = w->mem + w->o.test_stale * WL_PAGE_WORDS;
		wl_page_write(page, w->o.test_stale,
			      w->gens[w->o.test_stale] - 1);
	}
}

/*
 * Check every page against its recorded generation, and the write counter
 * against the records: each rewrite adds one to one generation, so their
 * sum is pages + writes.  A counter that went backwards (its page migrated
 * older than the generation array's pages) or forwards breaks that.
 */
static uint64_t verify(struct wl *w, const char *why)
{
	struct wl_page_fault f;
	uint64_t i, bad = 0, sum = 0;
	uint64_t start = mono_us();

	apply_test_hooks(w);
	for (i = 0; i < w->pages; i++) {
		if (i % WL_SERVICE_PAGES == 0)
			service(w);
		sum += w->gens[i];
		if (wl_page_check(w->mem + i * WL_PAGE_WORDS, i, w->gens[i],
				  &f) == WL_OK)
			continue;
		if (++bad > WL_MAX_BAD_LINES)
			continue;
		/* Generations and indices are counts; sums are bit patterns. */
		if (f.fault == WL_BAD_GEN || f.fault == WL_BAD_INDEX)
			out_line(w, "BAD page %llu %s expected %llu found %llu",
				 (unsigned long long)i, wl_fault_name(f.fault),
				 (unsigned long long)f.expected,
				 (unsigned long long)f.found);
		else
			out_line(w, "BAD page %llu %s expected %#llx found %#llx",
				 (unsigned long long)i, wl_fault_name(f.fault),
				 (unsigned long long)f.expected,
				 (unsigned long long)f.found);
	}
	if (bad > WL_MAX_BAD_LINES)
		out_line(w, "BAD %llu more pages not listed",
			 (unsigned long long)(bad - WL_MAX_BAD_LINES));
	if (sum != w->pages + w->writes) {
		out_line(w, "BAD counter writes=%llu gens=%llu",
			 (unsigned long long)w->writes,
			 (unsigned long long)(sum - w->pages));
		bad++;
	}
	out_line(w, "verify pages=%llu bad=%llu writes=%llu why=%s took=%s"
		 " maxgap=%s t=%s",
		 (unsigned long long)w->pages, (unsigned long long)bad,
		 (unsigned long long)w->writes, why, msecs(mono_us() - start).s,
		 msecs(w->max_gap).s, secs(mono_us() - w->t0).s);
	w->bad_total += bad;
	return bad;
}

/* Write the pages due by now at --rate, looking at the clock as it goes. */
static void write_due(struct wl *w, uint64_t now)
{
	uint64_t pps = w->o.rate / WL_PAGE_SIZE;
	uint64_t due = (now - w->rate_base) * pps / 1000000;
	uint64_t cap = pps * WL_MAX_BACKLOG_US / 1000000 + 1;
	uint64_t n = 0;

	/* After a stall, catch up 50 ms at most: the rate stays the rate. */
	if (due > w->rate_done + cap)
		w->rate_done = due - cap;
	while (w->rate_done < due && !verify_requested && !stop_requested) {
		rewrite_one(w);
		w->rate_done++;
		if (++n % WL_SERVICE_PAGES == 0)
			service(w);
	}
}

/* The next moment something is due: a heartbeat, progress, or a page. */
static uint64_t next_event(struct wl *w, uint64_t now)
{
	uint64_t pps = w->o.rate / WL_PAGE_SIZE;
	uint64_t page_at = w->rate_base + (w->rate_done + 1) * 1000000 / pps;
	uint64_t t = w->next_hb;

	/* Pages in bursts of 1 ms or more: fewer wake-ups in a slow guest. */
	if (page_at < now + 1000)
		page_at = now + 1000;
	if (page_at < t)
		t = page_at;
	if (w->next_progress < t)
		t = w->next_progress;
	if (w->next_verify && w->next_verify < t)
		t = w->next_verify;
	return t;
}

static void sleep_until(uint64_t us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000,
		.tv_nsec = us % 1000000 * 1000,
	};

	/* EINTR is a signal (SIGUSR1, SIGTERM): the loop looks at it. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *map_or_die(uint64_t bytes, const char *what)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "vmotion-workload: %s: cannot map %llu bytes: %s\n",
			what, (unsigned long long)bytes, strerror(errno));
		exit(2);
	}
	return p;
}

static void setup_signals(void)
{
	struct sigaction sa = { 0 };

	/* No SA_RESTART: the sleep must end when a check is asked for. */
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct wl w = { 0 };
	uint64_t i, now, end = 0;
	int ret;

	ret = wl_parse_options(argc, argv, &w.o);
	if (ret)
		return ret > 0 ? 0 : 2;
	w.pages = w.o.fill / WL_PAGE_SIZE;
	w.wss_pages = w.o.wss / WL_PAGE_SIZE;
	w.rng = w.o.seed ? w.o.seed : 1;	/* xorshift's one bad state */
	/* Two mappings: a page and the record of it never share a page. */
	w.mem = map_or_die(w.o.fill, "fill");
	w.gens = map_or_die(w.pages * sizeof(uint64_t), "generations");
	setup_signals();

	w.t0 = mono_us();
	for (i = 0; i < w.pages; i++) {
		wl_page_write(w.mem + i * WL_PAGE_WORDS, i, 1);
		w.gens[i] = 1;
	}
	now = mono_us();
	out_line(&w, "start pages=%llu wss=%llu rate=%lluK/s order=%s hb=%llums"
		 " fill=%s", (unsigned long long)w.pages,
		 (unsigned long long)w.wss_pages,
		 (unsigned long long)(w.o.rate >> 10),
		 w.o.order == WL_ORDER_SEQ ? "seq" : "random",
		 (unsigned long long)(w.o.heartbeat_us / 1000),
		 msecs(now - w.t0).s);

	w.rate_base = now;
	w.last_hb = now;
	w.next_hb = now + w.o.heartbeat_us;
	w.last_progress = now;
	w.next_progress = now + w.o.progress_us;
	if (w.o.verify_every_us)
		w.next_verify = now + w.o.verify_every_us;
	if (w.o.duration_us)
		end = now + w.o.duration_us;

	while (!stop_requested) {
		now = mono_us();
		if (end && now >= end)
			break;
		service(&w);
		if (verify_requested) {
			verify_requested = 0;
			verify(&w, "request");
		}
		if (w.gap_verify) {
			w.gap_verify = false;
			verify(&w, "gap");
		}
		if (w.next_verify && now >= w.next_verify) {
			verify(&w, "timer");
			w.next_verify = mono_us() + w.o.verify_every_us;
		}
		write_due(&w, mono_us());
		if (verify_requested || stop_requested)
			continue;
		now = mono_us();
		sleep_until(end && end < next_event(&w, now) ?
			    end : next_event(&w, now));
	}
	verify(&w, "end");
	out_line(&w, "done writes=%llu maxgap=%s bad=%llu t=%s",
		 (unsigned long long)w.writes, msecs(w.max_gap).s,
		 (unsigned long long)w.bad_total, secs(mono_us() - w.t0).s);
	return w.bad_total ? 1 : 0;
}
