/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmtrace: encoder and decoder of the compacted dirty bitmap
 * (uapi/linux/vmtrace_bitmap.h).  One source for both sides: the module
 * builds it as it is, userspace through ctl/bitmap/kcompat.h.
 */
#ifndef _VMTRACE_BITMAP_CODEC_H
#define _VMTRACE_BITMAP_CODEC_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "kcompat.h"
#endif

#include <uapi/linux/vmtrace_bitmap.h>

/**
 * struct vmtrace_bitmap_src - a dirty set to encode
 * @bitmap: bit i set means page @first_page + i is in the set, as in a
 *	KVM memslot's dirty_bitmap; must not change while being encoded
 * @summary: optional; bit r clear means region r (pages r << 15 ..) is
 *	known to be empty, so its words are never read.  Set bits may be
 *	conservative.  NULL: every region is scanned.
 * @first_page: page number of bit 0
 * @npages: pages in the set, 1 .. VMTRACE_BITMAP_MAX_PAGES - @first_page
 */
struct vmtrace_bitmap_src {
	const unsigned long *bitmap;
	const unsigned long *summary;
	u64 first_page;
	u64 npages;
};

/**
 * struct vmtrace_bitmap_sink - where a decoder puts what it finds
 * @run: called for each run of set pages, in increasing order
 * @words: optional; called for each raw region instead of one @run per
 *	run in it, with @page a multiple of 64 pages from the chunk's start
 *	and @words little-endian and possibly unaligned
 * @priv: passed to both
 *
 * A non-zero return from either stops decoding and is returned.
 */
struct vmtrace_bitmap_sink {
	int (*run)(void *priv, u64 page, u64 npages);
	int (*words)(void *priv, u64 page, const u8 *words,
		     unsigned int nwords);
	void *priv;
};

u64 vmtrace_bitmap_nregions(u64 npages);

ssize_t vmtrace_bitmap_encode(const struct vmtrace_bitmap_src *src,
			      u64 *region, void *buf, size_t size);

ssize_t vmtrace_bitmap_chunk_range(const void *buf, size_t len,
				   u64 *first_page, u64 *npages);

ssize_t vmtrace_bitmap_decode(const void *buf, size_t len,
			      const struct vmtrace_bitmap_sink *sink,
			      u64 *first_page, u64 *npages);

#endif /* _VMTRACE_BITMAP_CODEC_H */
