/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A dirty set as a stream of compacted-bitmap chunks: encode a whole set,
 * decode a stream into a bitmap, or walk its runs.  A stream must tile
 * the set's page range exactly, chunk after chunk, or it is rejected.
 */
#ifndef _VMOTION_DIRTY_SET_H
#define _VMOTION_DIRTY_SET_H

#include "../../kmod/bitmap_codec.h"

typedef int (*dirty_set_run_fn)(void *priv, u64 page, u64 npages);

ssize_t dirty_set_encode(const struct vmtrace_bitmap_src *src,
			 size_t chunk_size, void *buf, size_t size);
size_t dirty_set_encode_bound(u64 npages, size_t chunk_size);

int dirty_set_decode_bitmap(const void *buf, size_t len, u64 first_page,
			    u64 npages, unsigned long *bitmap);
int dirty_set_for_each_run(const void *buf, size_t len, u64 first_page,
			   u64 npages, dirty_set_run_fn fn, void *priv);

#endif /* _VMOTION_DIRTY_SET_H */
