/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmotion-workload: the test guest's memory writer and checker.
 *
 * Every 4 KB page of the filled region carries a stamp; a separate array
 * (also in guest memory, so it migrates with the pages) holds the
 * generation last written to each page.  A page whose stamp or contents
 * disagree with that array after a migration is a page the migration lost.
 */
#ifndef VMOTION_WORKLOAD_H
#define VMOTION_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WL_PAGE_SIZE	4096UL
#define WL_PAGE_WORDS	(WL_PAGE_SIZE / sizeof(uint64_t))

/*
 * Page layout, in 64-bit words: the stamp first, then a pattern that is a
 * function of (index, generation), so every word of the page changes on
 * every rewrite and dirty tracking sees a real page rewrite.
 */
enum {
	WL_W_MAGIC,		/* WL_MAGIC */
	WL_W_INDEX,		/* page index in the filled region */
	WL_W_GEN,		/* generation: 1 after the fill, +1 per rewrite */
	WL_W_SUM,		/* checksum of words WL_W_DATA.. */
	WL_W_DATA,
};

#define WL_MAGIC	0x65676170564d5756ULL	/* "VWMVpage" */

enum wl_fault {
	WL_OK,
	WL_BAD_MAGIC,
	WL_BAD_INDEX,
	WL_BAD_GEN,
	WL_BAD_SUM,
};

/* What check found wrong with one page; "expected" and "found" of the fault. */
struct wl_page_fault {
	enum wl_fault fault;
	uint64_t expected;
	uint64_t found;
};

void wl_page_write(uint64_t *page, uint64_t index, uint64_t gen);
enum wl_fault wl_page_check(const uint64_t *page, uint64_t index, uint64_t gen,
			    struct wl_page_fault *f);
const char *wl_fault_name(enum wl_fault fault);

enum wl_order { WL_ORDER_SEQ, WL_ORDER_RANDOM };

struct wl_options {
	uint64_t fill;		/* bytes filled and checked */
	uint64_t wss;		/* bytes rewritten, the first part of fill */
	uint64_t rate;		/* bytes per second */
	enum wl_order order;
	uint64_t heartbeat_us;
	uint64_t progress_us;
	uint64_t verify_every_us;	/* 0: only on request */
	uint64_t stall_verify_us;	/* a gap this long triggers a check; 0: off */
	uint64_t duration_us;	/* 0: until SIGTERM/SIGINT */
	uint64_t seed;
	int64_t test_corrupt;	/* page to corrupt before the first check, or -1 */
	int64_t test_stale;	/* page to roll back a generation, or -1 */
	bool quiet_heartbeat;
};

/* 0: run; 1: --help printed; -1: error printed to stderr. */
int wl_parse_options(int argc, char **argv, struct wl_options *o);

#endif
