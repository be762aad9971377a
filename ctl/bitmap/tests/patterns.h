/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty-set patterns shared by the unit tests, the lab test and the
 * benchmark, so all three speak of exactly the same sets.  Every random
 * pattern is a function of (guest size, seed): see patterns.c.
 */
#ifndef _VMOTION_BITMAP_PATTERNS_H
#define _VMOTION_BITMAP_PATTERNS_H

#include "../dirty_set.h"

/**
 * struct test_set - a dirty set in the form the encoder takes
 * @bitmap: DIV_ROUND_UP(@npages, 64) words, mapped lazily: pages of it
 *	never written cost no memory, so a huge sparse guest is cheap
 * @summary: one bit per region, set for regions the pattern touched
 * @npages: pages in the guest
 * @dirty: set pages
 */
struct test_set {
	unsigned long *bitmap;
	unsigned long *summary;
	u64 npages;
	u64 dirty;
	size_t bitmap_bytes;
	size_t summary_bytes;
};

/**
 * struct pattern - a named way to fill a test_set
 * @name: as printed by the bench and the tests
 * @fill: sets the pages; @p gives its parameters
 * @density: fraction of pages (random and clustered patterns)
 * @param: stride (strided), mean run length (clustered)
 * @any_size: cheap enough to generate for any guest size (24 TiB)
 */
struct pattern {
	const char *name;
	void (*fill)(struct test_set *s, const struct pattern *p, u64 seed);
	double density;
	u64 param;
	bool any_size;
};

extern const struct pattern test_patterns[];
extern const unsigned int test_patterns_count;

int test_set_alloc(struct test_set *s, u64 npages);
void test_set_free(struct test_set *s);
void test_set_clear(struct test_set *s);
void test_set_page(struct test_set *s, u64 page);
void test_set_range(struct test_set *s, u64 page, u64 n);
bool test_set_test(const struct test_set *s, u64 page);
u64 test_rand(u64 *state);
void test_fill_mixed(struct test_set *s, u64 *rng);

#endif /* _VMOTION_BITMAP_PATTERNS_H */
