// SPDX-License-Identifier: GPL-2.0
/*
 * A dirty set as a stream of compacted-bitmap chunks (see dirty_set.h).
 * The codec itself is kmod/bitmap_codec.c, shared with the kernel; this
 * file only strings chunks together and checks that they tile the set.
 */
#include "dirty_set.h"

/**
 * dirty_set_encode_bound() - room that always holds a set's encoding
 * @npages: pages in the set
 * @chunk_size: chunk size the encoder will be given
 *
 * A chunk holds at least one region, and a record is never larger than a
 * raw region plus a head, so this is the raw bitmap plus a header and a
 * worst-case head per region, plus the room the encoder asks for on its
 * last call.
 *
 * Return: bytes.
 */
size_t dirty_set_encode_bound(u64 npages, size_t chunk_size)
{
	u64 nregions = vmtrace_bitmap_nregions(npages);

	(void)chunk_size;
	/* the encoder wants room for its largest record at every call */
	return DIV_ROUND_UP(npages, 64) * 8 +
	       nregions * (VMTRACE_BITMAP_HEADER_MAX +
			   VMTRACE_BITMAP_VARINT_MAX) +
	       VMTRACE_BITMAP_CHUNK_MIN;
}

/**
 * dirty_set_encode() - encode a whole set as chunks of at most @chunk_size
 * @src: the set
 * @chunk_size: VMTRACE_BITMAP_CHUNK_MIN .. as large as wanted
 * @buf: output
 * @size: room at @buf; dirty_set_encode_bound() always suffices
 *
 * Return: bytes written, or a negative errno (-ENOSPC: @buf too small).
 */
ssize_t dirty_set_encode(const struct vmtrace_bitmap_src *src,
			 size_t chunk_size, void *buf, size_t size)
{
	u8 *out = buf;
	size_t used = 0;
	u64 region = 0;

	for (;;) {
		size_t room = size - used;
		ssize_t n;

		if (room > chunk_size)
			room = chunk_size;
		n = vmtrace_bitmap_encode(src, &region, out + used, room);
		if (n <= 0)
			return n ? n : (ssize_t)used;
		used += n;
	}
}

struct bitmap_sink {
	unsigned long *bitmap;
	u64 first;
	u64 npages;
};

/* Sets bits [start, start + n) of @map, a word at a time where it can. */
static void set_bits(unsigned long *map, u64 start, u64 n)
{
	u64 end = start + n;

	while (start < end && start % 64) {
		map[start / 64] |= 1UL << (start % 64);
		start++;
	}
	while (end - start >= 64) {
		map[start / 64] = ~0UL;
		start += 64;
	}
	while (start < end) {
		map[start / 64] |= 1UL << (start % 64);
		start++;
	}
}

static int bitmap_run(void *priv, u64 page, u64 n)
{
	struct bitmap_sink *s = priv;

	/* decode_stream() placed the chunk; this is the last line of defence */
	if (page < s->first || n > s->npages - (page - s->first))
		return -ERANGE;
	set_bits(s->bitmap, page - s->first, n);
	return 0;
}

static int bitmap_words(void *priv, u64 page, const u8 *words,
			unsigned int nwords)
{
	struct bitmap_sink *s = priv;
	u64 off = page - s->first;
	unsigned int i, shift = off % 64;

	if (page < s->first || off >= s->npages ||
	    nwords > DIV_ROUND_UP(s->npages - off, 64))
		return -ERANGE;
	for (i = 0; i < nwords; i++) {
		u64 w = get_unaligned_le64(words + 8 * i);
		u64 idx = off / 64 + i;

		if (!w)
			continue;
		/* a chunk need not start on a word: spread over two */
		s->bitmap[idx] |= w << shift;
		if (shift && w >> (64 - shift)) {
			if (idx + 1 >= DIV_ROUND_UP(s->npages, 64))
				return -ERANGE;
			s->bitmap[idx + 1] |= w >> (64 - shift);
		}
	}
	return 0;
}

static int decode_stream(const void *buf, size_t len, u64 first_page,
			 u64 npages, const struct vmtrace_bitmap_sink *sink)
{
	const u8 *in = buf;
	u64 next = first_page;

	if (!npages || npages > VMTRACE_BITMAP_MAX_PAGES ||
	    first_page > VMTRACE_BITMAP_MAX_PAGES - npages)
		return -EINVAL;
	while (len) {
		u64 chunk_first, chunk_pages;
		ssize_t n;

		/* place the chunk before its records reach the sink */
		n = vmtrace_bitmap_chunk_range(in, len, &chunk_first,
					       &chunk_pages);
		if (n < 0)
			return n;
		if (chunk_first != next ||
		    chunk_pages > first_page + npages - next)
			return -EBADMSG;
		n = vmtrace_bitmap_decode(in, len, sink, &chunk_first,
					  &chunk_pages);
		if (n < 0)
			return n;
		next += chunk_pages;
		in += n;
		len -= n;
	}
	return next == first_page + npages ? 0 : -EBADMSG;
}

/**
 * dirty_set_decode_bitmap() - OR a stream's pages into a bitmap
 * @buf: the chunks
 * @len: their total length
 * @first_page: page of bit 0 of @bitmap
 * @npages: pages in the set, which the chunks must tile
 * @bitmap: DIV_ROUND_UP(@npages, 64) words
 *
 * On error the bitmap may hold part of the stream.
 *
 * Return: 0, -EBADMSG or -EOPNOTSUPP for a bad stream, -ERANGE for a
 * chunk outside the set, -EINVAL for a bad page range.
 */
int dirty_set_decode_bitmap(const void *buf, size_t len, u64 first_page,
			    u64 npages, unsigned long *bitmap)
{
	struct bitmap_sink s = {
		.bitmap = bitmap, .first = first_page, .npages = npages,
	};
	struct vmtrace_bitmap_sink sink = {
		.run = bitmap_run, .words = bitmap_words, .priv = &s,
	};

	return decode_stream(buf, len, first_page, npages, &sink);
}

struct run_filter {
	dirty_set_run_fn fn;
	void *priv;
	u64 first;
	u64 npages;
};

static int filter_run(void *priv, u64 page, u64 n)
{
	struct run_filter *f = priv;

	if (page < f->first || n > f->npages - (page - f->first))
		return -ERANGE;
	return f->fn(f->priv, page, n);
}

/**
 * dirty_set_for_each_run() - call @fn for each run of set pages
 * @buf: the chunks
 * @len: their total length
 * @first_page: the set's first page
 * @npages: pages in the set, which the chunks must tile
 * @fn: called with absolute page numbers, in increasing order; runs that
 *	touch are merged within a chunk, not across chunks
 * @priv: passed to @fn
 *
 * Return: as dirty_set_decode_bitmap(), or what @fn returned.
 */
int dirty_set_for_each_run(const void *buf, size_t len, u64 first_page,
			   u64 npages, dirty_set_run_fn fn, void *priv)
{
	struct run_filter f = {
		.fn = fn, .priv = priv, .first = first_page, .npages = npages,
	};
	struct vmtrace_bitmap_sink sink = { .run = filter_run, .priv = &f };

	return decode_stream(buf, len, first_page, npages, &sink);
}
