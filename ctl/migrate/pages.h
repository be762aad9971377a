/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest pages on the wire: PAGES batches (descriptors with each page's
 * hash, then the data of the non-zero pages), and the per-page hashes
 * both sides keep so that their memories can be compared at switchover
 * without rereading them.  Each page is hashed once on each side: the
 * hash is at once the zero test (sender), the page's integrity check
 * (receiver) and its entry in the memory comparison.
 */
#ifndef VMOTION_MIGRATE_PAGES_H
#define VMOTION_MIGRATE_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compress.h"
#include "wire.h"

/* The XXH3 of one page; all-zero pages have page_zero_hash(). */
uint64_t page_hash(const void *page);
uint64_t page_zero_hash(void);
bool page_is_zero(const void *page);
/*
 * The hash of @page, and whether it is all zeroes, in one pass over it:
 * only a page whose hash is the zero page's is scanned again.
 */
uint64_t page_hash_zero(const void *page, bool *zero);

/* An array of @nr_pages hashes, all of the zero page; NULL if no memory. */
uint64_t *page_hashes_new(uint64_t nr_pages);
/* One hash over all the per-page hashes: equal iff the memories are. */
uint64_t page_hashes_fold(const uint64_t *hashes, uint64_t nr_pages);

/*
 * The receiving side's guest memory.  With its memfd, a page that arrives
 * for the first time is written with pwrite(): shmem then allocates it
 * without clearing it first, where a store through the mapping would
 * fault in a cleared page only to overwrite it.  A page that is there
 * already is copied through the mapping, which costs less than shmem's
 * write path.  Zero pages are punched out, which frees them.  Without the
 * memfd (fd -1, as for hugetlbfs, which has no write()), every page is
 * copied through the mapping.
 */
struct page_target {
	uint8_t *mem;
	int fd;
	uint64_t nr_pages;
	uint64_t *hashes;	/* updated for every page installed */
};

/*
 * Check a PAGES frame against the target (a compressed one decompressed
 * first) and, only if all of it is well formed, install it.  The number of pages, or -1 with the reason in @err
 * (a frame that is not well formed, or memory the host would not give).
 */
long pages_apply(const struct page_target *t, const struct wire_frame *f,
		 char *err, size_t errlen);
/* What pages_apply() keeps per thread to decompress, freed. */
void pages_apply_done(void);

/* The sending side: a batch being filled. */
struct page_batch {
	int fd;
	struct wire_stats *st;
	struct compressor *comp;	/* NULL: never compress */
	struct vmotion_page_desc desc[VMOTION_MAX_BATCH];
	uint8_t *data;		/* VMOTION_MAX_BATCH pages */
	unsigned int n, nr_data;
	uint64_t zero_pages, data_pages;
};

int page_batch_init(struct page_batch *b, int fd, struct wire_stats *st);
void page_batch_free(struct page_batch *b);
/*
 * Queue guest page @pfn from @mem, recording its hash; a zero page goes
 * as a flag only, or not at all with @skip_zero (the destination starts
 * zeroed, so the first pass need not mention zero pages).  0 or -1.
 */
int page_batch_add(struct page_batch *b, const uint8_t *mem, uint64_t pfn,
		   uint64_t *hashes, bool skip_zero);
int page_batch_flush(struct page_batch *b);

#endif
