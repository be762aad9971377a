// SPDX-License-Identifier: GPL-2.0
/*
 * vmotion-workload: the test guest's heavy writer.
 *
 *   vmotion-workload [--wss SIZE] [--rate RATE] [--order seq|random]
 *                    [--heartbeat-ms N] [--progress-ms N] [--seconds N]
 *                    [--test-corrupt-page N]
 *
 * It rewrites whole 4 KB pages of a working set (--wss, 64M) at a set
 * rate (--rate, 32M/s; 0 = flat out), in order or at random.  Every write
 * stamps the page with its index and a new generation and fills the rest
 * from both, so a page's whole content is known from two numbers; the
 * generation of every page is also kept apart, in this process's memory,
 * which migrates with the guest.  On SIGUSR1 it checks every page against
 * that record and names any stale or wrong one:
 *
 *   workload: verify pages=16384 bad=0
 *   workload: BAD page 123: stale, gen expected 5 found 4
 *   workload: BAD page 124: gen 7, wrong from byte 2048
 *
 * On stdout, for whoever watches the serial console: a '.' every
 * --heartbeat-ms (10) -- the largest gap between two of them, as the host
 * sees them arrive, less the interval, is the blackout -- and every
 * --progress-ms (200) a line
 *
 *   W t=SECONDS pages=WRITTEN rate=MIB/S gap=MS
 *
 * with the guest's own clock, the pages written so far (a counter that
 * must never go backwards across a migration) and the largest gap this
 * process saw in its own clock since the last line.  Short lines: a
 * 115200-baud console carries about 11 KB/s.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define STAMP_MAGIC	0x564d4f54574b4c44ULL	/* "VMOTWKLD" */

/* The head of every page; the rest follows from index and gen. */
struct stamp {
	uint64_t magic, index, gen;
};

struct opts {
	uint64_t wss, rate;
	bool random;
	unsigned int heartbeat_ms, progress_ms, seconds;
	long corrupt;		/* page to spoil before the first check, or -1 */
};

static volatile sig_atomic_t verify_asked;

static void on_usr1(int sig)
{
	(void)sig;
	verify_asked = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The filler of word @w of page @index at generation @gen. */
static uint64_t filler(uint64_t index, uint64_t gen, uint64_t w)
{
	uint64_t x = (index << 24) ^ (gen << 1) ^ (w * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void write_page(uint8_t *page, uint64_t index, uint64_t gen)
{
	uint64_t *w = (uint64_t *)page;
	size_t i;

	w[0] = STAMP_MAGIC;
	w[1] = index;
	w[2] = gen;
	for (i = sizeof(struct stamp) / 8; i < PAGE / 8; i++)
		w[i] = filler(index, gen, i);
}

/*
 * 0 if page @index holds generation @gen exactly; else -1, with the
 * generation it is stamped with in @found and the first wrong byte in
 * @at (-1 when only the stamp is wrong).
 */
static int check_page(const uint8_t *page, uint64_t index, uint64_t gen,
		      uint64_t *found, long *at)
{
	const uint64_t *w = (const uint64_t *)page;
	size_t i;

	*found = w[2];
	*at = -1;
	if (w[0] != STAMP_MAGIC || w[1] != index || w[2] != gen)
		return -1;
	for (i = sizeof(struct stamp) / 8; i < PAGE / 8; i++) {
		if (w[i] != filler(index, gen, i)) {
			*at = i * 8;
			return -1;
		}
	}
	return 0;
}

static uint64_t verify(const uint8_t *mem, const uint64_t *gens,
		       uint64_t pages)
{
	uint64_t i, bad = 0, found;
	long at;

	for (i = 0; i < pages; i++) {
		if (!check_page(mem + i * PAGE, i, gens[i], &found, &at))
			continue;
		if (bad++ >= 16)
			continue;
		if (at < 0)
			printf("\nworkload: BAD page %llu: stale, gen expected %llu found %llu\n",
			       (unsigned long long)i,
			       (unsigned long long)gens[i],
			       (unsigned long long)found);
		else
			printf("\nworkload: BAD page %llu: gen %llu, wrong from byte %ld\n",
			       (unsigned long long)i,
			       (unsigned long long)gens[i], at);
	}
	printf("\nworkload: verify pages=%llu bad=%llu\n",
	       (unsigned long long)pages, (unsigned long long)bad);
	fflush(stdout);
	return bad;
}

/* "64M", "1G", "4096", "32M/s": bytes (per second). */
static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': n <<= 30; end++; break;
	case 'M': n <<= 20; end++; break;
	case 'K': n <<= 10; end++; break;
	}
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end)
		return -1;
	*v = n;
	return 0;
}

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

static const char usage[] =
	"usage: vmotion-workload [--wss SIZE] [--rate RATE|0] [--order seq|random]\n"
	"         [--heartbeat-ms N] [--progress-ms N] [--seconds N] [--test-corrupt-page N]\n"
	"  kill -USR1 checks every page: \"workload: verify pages=N bad=B\"\n";

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "wss", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "order", required_argument, NULL, 'o' },
		{ "heartbeat-ms", required_argument, NULL, 'b' },
		{ "progress-ms", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "test-corrupt-page", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int v;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (parse_size(optarg, &o->wss) || o->wss < PAGE)
				goto bad;
			break;
		case 'r':
			if (parse_size(optarg, &o->rate))
				goto bad;
			break;
		case 'o':
			if (strcmp(optarg, "seq") && strcmp(optarg, "random"))
				goto bad;
			o->random = !strcmp(optarg, "random");
			break;
		case 'b':
			if (parse_uint(optarg, 1, 1000, &o->heartbeat_ms))
				goto bad;
			break;
		case 'p':
			if (parse_uint(optarg, 10, 60000, &o->progress_ms))
				goto bad;
			break;
		case 's':
			if (parse_uint(optarg, 1, 1000000, &o->seconds))
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, 0, 1u << 30, &v))
				goto bad;
			o->corrupt = v;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmotion-workload: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (o->corrupt >= (long)(o->wss / PAGE)) {
		fprintf(stderr, "vmotion-workload: --test-corrupt-page beyond --wss\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "vmotion-workload: \"%s\": not a valid value (see --help)\n",
		optarg);
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.wss = 64UL << 20, .rate = 32UL << 20, .heartbeat_ms = 10,
		.progress_ms = 200, .corrupt = -1,
	};
	double t0, next_beat, next_line, last, gap = 0, t;
	uint64_t pages, written = 0, line_written = 0, i, pfn = 0, rnd = 88172645463325252ULL;
	uint64_t *gens;
	uint8_t *mem;
	struct sigaction sa = { .sa_handler = on_usr1 };

	if (parse(argc, argv, &o))
		return 2;
	pages = o.wss / PAGE;
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	gens = calloc(pages, sizeof(*gens));
	if (mem == MAP_FAILED || !gens) {
		fprintf(stderr, "vmotion-workload: cannot allocate %llu MiB\n",
			(unsigned long long)(o.wss >> 20));
		return 1;
	}
	/* The fill: every page written once, at generation 1. */
	for (i = 0; i < pages; i++) {
		gens[i] = 1;
		write_page(mem + i * PAGE, i, 1);
	}
	sigaction(SIGUSR1, &sa, NULL);
	setvbuf(stdout, NULL, _IOFBF, 4096);
	printf("workload: pages=%llu rate=%llu order=%s\n",
	       (unsigned long long)pages, (unsigned long long)o.rate,
	       o.random ? "random" : "seq");
	fflush(stdout);
	t0 = last = now_s();
	next_beat = t0 + o.heartbeat_ms / 1e3;
	next_line = t0 + o.progress_ms / 1e3;
	for (;;) {
		t = now_s();
		if (t - last > gap)
			gap = t - last;
		last = t;
		if (verify_asked) {
			verify_asked = 0;
			if (o.corrupt >= 0) {
				mem[o.corrupt * PAGE + PAGE / 2] ^= 0x5a;
				o.corrupt = -1;
			}
			verify(mem, gens, pages);
		}
		if (t >= next_line) {
			printf("\nW t=%.3f pages=%llu rate=%.1f gap=%.0f\n", t - t0,
			       (unsigned long long)written,
			       (written - line_written) * (double)PAGE /
			       (1 << 20) / (o.progress_ms / 1e3), gap * 1e3);
			fflush(stdout);
			line_written = written;
			gap = 0;
			next_line += o.progress_ms / 1e3;
			if (next_line < t)
				next_line = t + o.progress_ms / 1e3;
		} else if (t >= next_beat) {
			putchar('.');
			fflush(stdout);
		}
		while (next_beat <= t)
			next_beat += o.heartbeat_ms / 1e3;
		if (o.seconds && t - t0 >= o.seconds)
			break;
		/* Ahead of the pace: sleep until the next page is due. */
		if (o.rate && written * PAGE > (t - t0) * o.rate) {
			double due = t0 + (double)written * PAGE / o.rate;
			double until = due < next_beat ? due : next_beat;
			struct timespec ts = {
				.tv_sec = (time_t)(until - t),
				.tv_nsec = (long)((until - t - (time_t)(until - t)) * 1e9),
			};

			nanosleep(&ts, NULL);
			continue;
		}
		if (o.random) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			pfn = rnd % pages;
		} else {
			pfn = (pfn + 1) % pages;
		}
		write_page(mem + pfn * PAGE, pfn, ++gens[pfn]);
		written++;
	}
	printf("\nworkload: done pages=%llu\n", (unsigned long long)written);
	return verify(mem, gens, pages) ? 1 : 0;
}
