// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty-set patterns, defined precisely (the benchmark's table and
 * JSON name them):
 *
 * empty        no page
 * one          page npages / 2
 * random-P     each page independently with probability P, drawn as
 *              geometric gaps between set pages (same distribution,
 *              O(set pages) to draw)
 * clustered-P  alternating clean gaps and dirty runs from page 0: run
 *              lengths 1 + Geometric, mean 32 pages (128 KiB); gaps
 *              1 + Geometric with mean 32 * (1 - P) / P, so a fraction P
 *              of pages is dirty, in runs, like a working set
 * stride-K     pages 0, K, 2K, ...
 * full         every page
 *
 * Randomness is splitmix64 from the caller's seed (the bench and the
 * tests use 42 unless told otherwise); a "1 + Geometric, mean m" length is
 * 1 + floor(log(U) / log(1 - 1/m)) for U uniform in (0, 1].
 */
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "patterns.h"

u64 test_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so its log is finite. */
static double rand_unit(u64 *state)
{
	return ((test_rand(state) >> 11) + 1) * 0x1.0p-53;
}

/*
 * Failures before the first success, success probability 1 / @mean: one
 * plus this is a positive length with mean @mean.
 */
static u64 rand_geometric(u64 *state, double mean)
{
	if (mean <= 1.0)
		return 0;
	return floor(log(rand_unit(state)) / log1p(-1.0 / mean));
}

int test_set_alloc(struct test_set *s, u64 npages)
{
	u64 nregions = vmtrace_bitmap_nregions(npages);

	memset(s, 0, sizeof(*s));
	s->npages = npages;
	s->bitmap_bytes = DIV_ROUND_UP(npages, 64) * 8;
	s->summary_bytes = DIV_ROUND_UP(nregions, 64) * 8;
	s->bitmap = mmap(NULL, s->bitmap_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->bitmap == MAP_FAILED)
		return -ENOMEM;
	s->summary = calloc(1, s->summary_bytes);
	if (!s->summary) {
		munmap(s->bitmap, s->bitmap_bytes);
		return -ENOMEM;
	}
	return 0;
}

void test_set_free(struct test_set *s)
{
	munmap(s->bitmap, s->bitmap_bytes);
	free(s->summary);
}

/* Gives the touched memory back, so the next pattern starts lazy again. */
void test_set_clear(struct test_set *s)
{
	madvise(s->bitmap, s->bitmap_bytes, MADV_DONTNEED);
	memset(s->summary, 0, s->summary_bytes);
	s->dirty = 0;
}

static void mark_region(struct test_set *s, u64 page)
{
	u64 r = page >> VMTRACE_BITMAP_REGION_SHIFT;

	s->summary[r / 64] |= 1UL << (r % 64);
}

void test_set_page(struct test_set *s, u64 page)
{
	unsigned long bit = 1UL << (page % 64);

	if (!(s->bitmap[page / 64] & bit)) {
		s->bitmap[page / 64] |= bit;
		s->dirty++;
	}
	mark_region(s, page);
}

/* For fresh ranges only: @dirty counts every page of it as new. */
void test_set_range(struct test_set *s, u64 page, u64 n)
{
	u64 end = page + n, r;

	s->dirty += n;
	for (r = page >> VMTRACE_BITMAP_REGION_SHIFT;
	     r <= (end - 1) >> VMTRACE_BITMAP_REGION_SHIFT; r++)
		mark_region(s, r << VMTRACE_BITMAP_REGION_SHIFT);
	for (; page < end && page % 64; page++)
		s->bitmap[page / 64] |= 1UL << (page % 64);
	if (end - page >= 64) {
		memset(&s->bitmap[page / 64], 0xff, (end - page) / 64 * 8);
		page += (end - page) / 64 * 64;
	}
	for (; page < end; page++)
		s->bitmap[page / 64] |= 1UL << (page % 64);
}

bool test_set_test(const struct test_set *s, u64 page)
{
	return s->bitmap[page / 64] >> (page % 64) & 1;
}

static void fill_empty(struct test_set *s, const struct pattern *p, u64 seed)
{
}

static void fill_one(struct test_set *s, const struct pattern *p, u64 seed)
{
	test_set_page(s, s->npages / 2);
}

static void fill_random(struct test_set *s, const struct pattern *p,
			u64 seed)
{
	double mean = 1.0 / p->density;
	u64 page = rand_geometric(&seed, mean);

	while (page < s->npages) {
		test_set_page(s, page);
		page += 1 + rand_geometric(&seed, mean);
	}
}

static void fill_clustered(struct test_set *s, const struct pattern *p,
			   u64 seed)
{
	double run_mean = p->param;
	double gap_mean = run_mean * (1 - p->density) / p->density;
	u64 page = 0;

	for (;;) {
		u64 len;

		page += 1 + rand_geometric(&seed, gap_mean);
		len = 1 + rand_geometric(&seed, run_mean);
		if (page >= s->npages)
			break;
		if (len > s->npages - page)
			len = s->npages - page;
		test_set_range(s, page, len);
		page += len;
	}
}

static void fill_stride(struct test_set *s, const struct pattern *p,
			u64 seed)
{
	u64 page;

	for (page = 0; page < s->npages; page += p->param)
		test_set_page(s, page);
}

static void fill_full(struct test_set *s, const struct pattern *p, u64 seed)
{
	test_set_range(s, 0, s->npages);
}

/*
 * Random sets built region by region from the forms a region can take,
 * so every record type, rows of full regions and region edges all occur.
 */
void test_fill_mixed(struct test_set *s, u64 *rng)
{
	u64 r, nregions = vmtrace_bitmap_nregions(s->npages);

	for (r = 0; r < nregions; r++) {
		u64 base = r << VMTRACE_BITMAP_REGION_SHIFT;
		u64 n = s->npages - base, i, k;

		if (n > VMTRACE_BITMAP_REGION_PAGES)
			n = VMTRACE_BITMAP_REGION_PAGES;
		switch (test_rand(rng) % 7) {
		case 0:		/* empty */
			break;
		case 1:		/* full */
			test_set_range(s, base, n);
			break;
		case 2:		/* a few pages, often at the edges */
			for (k = test_rand(rng) % 40; k; k--) {
				i = test_rand(rng) % 3 ? test_rand(rng) % n :
				    (test_rand(rng) % 2 ? 0 : n - 1);
				test_set_page(s, base + i);
			}
			break;
		case 3:		/* dense random */
			k = 1 + test_rand(rng) % 8;
			for (i = 0; i < n; i++)
				if (test_rand(rng) % 16 < k)
					test_set_page(s, base + i);
			break;
		case 4:		/* runs */
			for (i = test_rand(rng) % 100; i < n;
			     i += 1 + test_rand(rng) % 300) {
				k = 1 + test_rand(rng) % 200;
				for (; k && i < n; k--, i++)
					test_set_page(s, base + i);
			}
			break;
		case 5:		/* full but for one page */
			for (i = 0, k = test_rand(rng) % n; i < n; i++)
				if (i != k)
					test_set_page(s, base + i);
			break;
		default:	/* alternate pages: nothing beats raw */
			for (i = test_rand(rng) % 2; i < n; i += 2)
				test_set_page(s, base + i);
			break;
		}
	}
}

const struct pattern test_patterns[] = {
	{ "empty", fill_empty, 0, 0, true },
	{ "one", fill_one, 0, 0, true },
	{ "random-0.1%", fill_random, 0.001, 0, true },
	{ "random-1%", fill_random, 0.01, 0, false },
	{ "random-10%", fill_random, 0.10, 0, false },
	{ "clustered-0.1%", fill_clustered, 0.001, 32, true },
	{ "clustered-10%", fill_clustered, 0.10, 32, false },
	{ "clustered-20%", fill_clustered, 0.20, 32, false },
	{ "clustered-30%", fill_clustered, 0.30, 32, false },
	{ "stride-512", fill_stride, 0, 512, true },
	{ "stride-8", fill_stride, 0, 8, false },
	{ "full", fill_full, 0, 0, true },
};

const unsigned int test_patterns_count =
	sizeof(test_patterns) / sizeof(test_patterns[0]);
