// SPDX-License-Identifier: GPL-2.0
/*
 * vmtrace: the compacted dirty bitmap, encoder and decoder.  The format is
 * described in uapi/linux/vmtrace_bitmap.h and
 * Documentation/userspace-api/vmtrace-bitmap.rst.
 *
 * The encoder looks only at regions the caller's summary says may be
 * non-empty, and spends on each a fixed pass over its 512 words plus time
 * proportional to its set pages or runs: the cost follows the dirty set,
 * not the guest.  It allocates nothing and uses a few words of stack.
 *
 * The decoder parses data from the network: every count, length and
 * offset is checked against what is left before it is used.
 *
 * The same file is built into vmtrace.ko and, through ctl/bitmap/kcompat.h,
 * into the userspace controller, its tests and its fuzzer.
 */
#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/byteorder.h>
#include <asm/unaligned.h>
#endif

#include "bitmap_codec.h"

#define REGION_WORDS	(VMTRACE_BITMAP_REGION_PAGES / 64)
#define HEADER_SIZE	sizeof(struct vmtrace_bitmap_chunk)
#define TYPE_MASK	((1U << VMTRACE_BITMAP_REC_TYPE_BITS) - 1)

/* The wire's words and KVM's dirty bitmap words are both 64 pages. */
static_assert(BITS_PER_LONG == 64);
static_assert(sizeof(struct vmtrace_bitmap_chunk) == 8);

/**
 * vmtrace_bitmap_nregions() - regions needed for a number of pages
 * @npages: pages, at most VMTRACE_BITMAP_MAX_PAGES
 *
 * Return: the number of regions covering @npages pages.
 */
u64 vmtrace_bitmap_nregions(u64 npages)
{
	return (npages + VMTRACE_BITMAP_REGION_PAGES - 1) >>
	       VMTRACE_BITMAP_REGION_SHIFT;
}

/* One region of the source bitmap; the last one of a set may be short. */
struct region {
	const unsigned long *words;
	unsigned int npages;
	unsigned int nwords;
	u64 last_mask;		/* valid bits of the last word */
	/* which words hold a set bit, so later passes skip the others */
	u64 nonzero[REGION_WORDS / 64];
};

static void region_init(struct region *r, const struct vmtrace_bitmap_src *src,
			u64 index)
{
	u64 first = index << VMTRACE_BITMAP_REGION_SHIFT;
	u64 left = src->npages - first;

	r->words = src->bitmap + index * REGION_WORDS;
	r->npages = left < VMTRACE_BITMAP_REGION_PAGES ?
		    left : VMTRACE_BITMAP_REGION_PAGES;
	r->nwords = DIV_ROUND_UP(r->npages, 64);
	r->last_mask = r->npages % 64 ? (1ULL << (r->npages % 64)) - 1 : ~0ULL;
}

/* Bits past the set's end may hold anything: they are never encoded. */
static u64 region_word(const struct region *r, unsigned int i)
{
	u64 w = r->words[i];

	return i == r->nwords - 1 ? w & r->last_mask : w;
}

/*
 * Set pages and maximal runs of them, word-parallel: no per-bit work.
 * Also notes the non-zero words, for the passes that follow.
 */
static void region_count(struct region *r, unsigned int *set,
			 unsigned int *runs)
{
	unsigned int i, n = 0, starts = 0;
	u64 carry = 0;

	memset(r->nonzero, 0, sizeof(r->nonzero));
	for (i = 0; i < r->nwords; i++) {
		u64 w = region_word(r, i);

		if (!w) {
			carry = 0;
			continue;
		}
		r->nonzero[i / 64] |= 1ULL << (i % 64);
		n += hweight64(w);
		/* a run starts at each set bit whose lower neighbour is clear */
		starts += hweight64(w & ~((w << 1) | carry));
		carry = w >> 63;
	}
	*set = n;
	*runs = starts;
}

/* The first word at or after @i that holds a set bit, or nwords. */
static unsigned int next_nonzero(const struct region *r, unsigned int i)
{
	u64 m;

	if (i >= r->nwords)
		return r->nwords;
	m = r->nonzero[i / 64] & (~0ULL << (i % 64));
	while (!m) {
		i = (i / 64 + 1) * 64;
		if (i >= r->nwords)
			return r->nwords;
		m = r->nonzero[i / 64];
	}
	return i / 64 * 64 + __ffs64(m);
}

/*
 * Output that never goes past @end.  With @pos NULL it only counts, which
 * sizes a record with the very code that writes it.
 */
struct out {
	u8 *pos;
	u8 *end;
	size_t len;
};

static void out_byte(struct out *o, u8 b)
{
	if (o->pos) {
		if (o->pos == o->end)
			return;
		*o->pos++ = b;
	}
	o->len++;
}

static void out_varint(struct out *o, u64 v)
{
	while (v >= 0x80) {
		out_byte(o, (v & 0x7f) | 0x80);
		v >>= 7;
	}
	out_byte(o, v);
}

static unsigned int varint_len(u64 v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * Walks the run edges a word at a time: bit b of w ^ (w << 1 | carry) is
 * set where page b differs from page b - 1, i.e. where a run starts or
 * ends, so the cost is a step per non-zero word plus one per edge.
 */
static void put_runs(struct out *o, const struct region *r, unsigned int nruns)
{
	unsigned int i, last = 0, start = 0, base = 0;
	u64 carry = 0;

	out_varint(o, nruns - 1);
	for (i = next_nonzero(r, 0); i < r->nwords;
	     i = next_nonzero(r, i + 1)) {
		u64 w = region_word(r, i);
		u64 edges;

		/* a run open at the end of a word before skipped zero words */
		if (carry && i != last + 1) {
			out_varint(o, start - base);
			out_varint(o, (last + 1) * 64 - start - 1);
			base = (last + 1) * 64 + 1;
			carry = 0;
		}
		edges = w ^ ((w << 1) | carry);
		carry = w >> 63;
		last = i;
		while (edges) {
			unsigned int bit = __ffs64(edges);
			unsigned int page = i * 64 + bit;

			edges &= edges - 1;
			if (w >> bit & 1) {
				start = page;
				continue;
			}
			out_varint(o, start - base);
			out_varint(o, page - start - 1);
			base = page + 1;
		}
	}
	/* a run reaching the end of the last non-zero word ends with it */
	if (carry) {
		out_varint(o, start - base);
		out_varint(o, (last + 1) * 64 - start - 1);
	}
}

static void put_offsets(struct out *o, const struct region *r,
			unsigned int nset)
{
	unsigned int i, base = 0;

	out_varint(o, nset - 1);
	for (i = next_nonzero(r, 0); i < r->nwords;
	     i = next_nonzero(r, i + 1)) {
		u64 w = region_word(r, i);

		while (w) {
			unsigned int page = i * 64 + __ffs64(w);

			out_varint(o, page - base);
			base = page + 1;
			w &= w - 1;
		}
	}
}

static void put_words(struct out *o, const struct region *r)
{
	unsigned int i;

	if (o->pos && (size_t)(o->end - o->pos) < r->nwords * 8ULL) {
		o->pos = o->end;
		return;
	}
	for (i = 0; i < r->nwords; i++) {
		if (o->pos) {
			put_unaligned_le64(region_word(r, i), o->pos);
			o->pos += 8;
		}
		o->len += 8;
	}
}

static void put_record(struct out *o, const struct region *r, u64 head,
		       unsigned int nset, unsigned int nruns)
{
	unsigned int type = head & TYPE_MASK;

	out_varint(o, head);
	if (type == VMTRACE_BITMAP_REC_RUNS)
		put_runs(o, r, nruns);
	else if (type == VMTRACE_BITMAP_REC_OFFSETS)
		put_offsets(o, r, nset);
	else
		put_words(o, r);
}

/*
 * The smallest record for a region that is neither empty nor full, and
 * its size less the head.  Runs are sized first, as they cost a step per
 * run where offsets cost one per page; the cheap lower bounds (two bytes
 * a run, one a page) then spare the sizing of forms that cannot win.
 * Ties go to the form that decodes fastest: runs, then raw words.
 */
static unsigned int choose_record(const struct region *r, unsigned int nset,
				  unsigned int nruns, size_t *size)
{
	unsigned int type = VMTRACE_BITMAP_REC_WORDS;
	size_t best = r->nwords * 8;
	struct out count = { };

	/*
	 * Runs of one page each are the offsets plus a length byte apiece:
	 * they cannot win, and sparse random sets are mostly that.
	 */
	if (nruns < nset && 2 * nruns + varint_len(nruns - 1) <= best) {
		put_runs(&count, r, nruns);
		if (count.len <= best) {
			type = VMTRACE_BITMAP_REC_RUNS;
			best = count.len;
		}
	}
	if (nset + varint_len(nset - 1) < best) {
		count.len = 0;
		put_offsets(&count, r, nset);
		if (count.len < best) {
			type = VMTRACE_BITMAP_REC_OFFSETS;
			best = count.len;
		}
	}
	*size = best;
	return type;
}

/* First region at or after @from that the summary says may be non-empty. */
static u64 next_candidate(const struct vmtrace_bitmap_src *src, u64 from,
			  u64 nregions)
{
	u64 i = from / 64;
	unsigned long w;

	if (!src->summary || from >= nregions)
		return from;
	w = src->summary[i] & (~0UL << (from % 64));
	while (!w) {
		if (++i * 64 >= nregions)
			return nregions;
		w = src->summary[i];
	}
	from = i * 64 + __ffs64(w);
	return from < nregions ? from : nregions;
}

/* A row of full regions, if it fits; @next is updated when it does. */
static bool put_full(struct out *o, u64 *next, u64 first, u64 count)
{
	u64 head = ((first - *next) << VMTRACE_BITMAP_REC_TYPE_BITS) |
		   VMTRACE_BITMAP_REC_FULL;

	if (varint_len(head) + varint_len(count - 1) > (size_t)(o->end - o->pos))
		return false;
	out_varint(o, head);
	out_varint(o, count - 1);
	*next = first + count;
	return true;
}

/**
 * vmtrace_bitmap_encode() - encode the next chunk of a dirty set
 * @src: the set
 * @region: cursor, 0 for the first chunk; advanced past what was encoded
 * @buf: where the chunk goes
 * @size: room in @buf, at least VMTRACE_BITMAP_CHUNK_MIN
 *
 * Encodes regions from *@region on, as many whole region records as fit,
 * and makes the chunk's page range end where the next chunk will start,
 * so the chunks of a set tile it.  Call until it returns 0.
 *
 * Return: bytes written, 0 when the set is done, -EINVAL for a bad page
 * range, -ENOSPC if @size is too small, -EAGAIN if the bitmap changed
 * while it was being encoded (which the caller must prevent).
 */
ssize_t vmtrace_bitmap_encode(const struct vmtrace_bitmap_src *src,
			      u64 *region, void *buf, size_t size)
{
	struct vmtrace_bitmap_chunk hdr = { };
	u64 nregions, start, stop, next, idx;
	u64 full_first = 0, full_count = 0;
	u64 first_page, end_page;
	u8 range[VMTRACE_BITMAP_HEADER_MAX - HEADER_SIZE];
	u8 *records = (u8 *)buf + VMTRACE_BITMAP_HEADER_MAX;
	struct out o, r = { .pos = range, .end = range + sizeof(range) };
	size_t len;

	if (!src->npages || src->npages > VMTRACE_BITMAP_MAX_PAGES ||
	    src->first_page > VMTRACE_BITMAP_MAX_PAGES - src->npages)
		return -EINVAL;
	nregions = vmtrace_bitmap_nregions(src->npages);
	start = *region;
	if (start >= nregions)
		return 0;
	if (size < VMTRACE_BITMAP_CHUNK_MIN)
		return -ENOSPC;
	if (size > HEADER_SIZE + U32_MAX)
		size = HEADER_SIZE + U32_MAX;

	o.pos = records;
	o.end = (u8 *)buf + size;
	o.len = 0;
	stop = nregions;
	next = start;
	for (idx = next_candidate(src, start, nregions); idx < nregions;
	     idx = next_candidate(src, idx + 1, nregions)) {
		unsigned int nset, nruns, type;
		struct region reg;
		size_t rec_len;
		u8 *rec_start;
		u64 head;

		region_init(&reg, src, idx);
		region_count(&reg, &nset, &nruns);
		if (!nset)
			continue;
		if (nset == reg.npages && full_count &&
		    full_first + full_count == idx) {
			full_count++;
			continue;
		}
		if (full_count) {
			if (!put_full(&o, &next, full_first, full_count)) {
				stop = full_first;
				full_count = 0;
				break;
			}
			full_count = 0;
		}
		if (nset == reg.npages) {
			full_first = idx;
			full_count = 1;
			continue;
		}

		type = choose_record(&reg, nset, nruns, &rec_len);
		head = ((idx - next) << VMTRACE_BITMAP_REC_TYPE_BITS) | type;
		rec_len += varint_len(head);
		if (rec_len > (size_t)(o.end - o.pos)) {
			stop = idx;
			break;
		}
		rec_start = o.pos;
		put_record(&o, &reg, head, nset, nruns);
		/* the sizing pass and the writing pass read the same words */
		if ((size_t)(o.pos - rec_start) != rec_len)
			return -EAGAIN;
		next = idx + 1;
	}
	if (full_count && !put_full(&o, &next, full_first, full_count))
		stop = full_first;

	first_page = start << VMTRACE_BITMAP_REGION_SHIFT;
	end_page = stop << VMTRACE_BITMAP_REGION_SHIFT;
	if (end_page > src->npages)
		end_page = src->npages;
	out_varint(&r, src->first_page + first_page);
	out_varint(&r, end_page - first_page);

	/* the range's size was unknown until now: close the gap before it */
	len = o.pos - records;
	memmove((u8 *)buf + HEADER_SIZE + r.len, records, len);
	memcpy((u8 *)buf + HEADER_SIZE, range, r.len);
	len += r.len;

	hdr.magic = cpu_to_le16(VMTRACE_BITMAP_MAGIC);
	hdr.version = VMTRACE_BITMAP_VERSION;
	hdr.length = cpu_to_le32(len);
	memcpy(buf, &hdr, sizeof(hdr));

	*region = stop;
	return HEADER_SIZE + len;
}

/* Input that is checked before every read. */
struct in {
	const u8 *pos;
	const u8 *end;
};

static int get_varint(struct in *in, u64 *v)
{
	unsigned int shift = 0;
	u64 x = 0;

	for (;;) {
		u8 b;

		if (in->pos == in->end)
			return -EBADMSG;
		b = *in->pos++;
		/* the tenth byte may only hold the 64th bit */
		if (shift == 63 && b > 1)
			return -EBADMSG;
		x |= (u64)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	*v = x;
	return 0;
}

/* A run sink that merges adjacent runs, so offsets reach it as runs. */
struct run_acc {
	const struct vmtrace_bitmap_sink *sink;
	u64 start;
	u64 len;
};

static int acc_flush(struct run_acc *acc)
{
	u64 len = acc->len;

	acc->len = 0;
	if (!len || !acc->sink || !acc->sink->run)
		return 0;
	return acc->sink->run(acc->sink->priv, acc->start, len);
}

static int acc_add(struct run_acc *acc, u64 start, u64 len)
{
	int err;

	if (acc->len && acc->start + acc->len == start) {
		acc->len += len;
		return 0;
	}
	err = acc_flush(acc);
	acc->start = start;
	acc->len = len;
	return err;
}

static int get_runs(struct in *in, struct run_acc *acc, u64 page,
		    unsigned int npages)
{
	u64 n, gap, len, base = 0;
	int err;

	err = get_varint(in, &n);
	if (err)
		return err;
	if (n >= npages)
		return -EBADMSG;
	for (n++; n; n--) {
		err = get_varint(in, &gap);
		if (!err)
			err = get_varint(in, &len);
		if (err)
			return err;
		if (base >= npages || gap >= npages - base)
			return -EBADMSG;
		base += gap;
		if (len >= npages - base)
			return -EBADMSG;
		err = acc_add(acc, page + base, len + 1);
		if (err)
			return err;
		base += len + 2;
	}
	return 0;
}

static int get_offsets(struct in *in, struct run_acc *acc, u64 page,
		       unsigned int npages)
{
	u64 n, gap, base = 0;
	int err;

	err = get_varint(in, &n);
	if (err)
		return err;
	if (n >= npages)
		return -EBADMSG;
	for (n++; n; n--) {
		err = get_varint(in, &gap);
		if (err)
			return err;
		if (base >= npages || gap >= npages - base)
			return -EBADMSG;
		base += gap;
		err = acc_add(acc, page + base, 1);
		if (err)
			return err;
		base++;
	}
	return 0;
}

/* Raw words as runs, for sinks that take only runs. */
static int words_to_runs(const u8 *p, unsigned int nwords, u64 page,
			 struct run_acc *acc)
{
	unsigned int i, bit, start = 0;
	bool in_run = false;
	int err;

	for (i = 0; i < nwords; i++) {
		u64 w = get_unaligned_le64(p + 8 * i);

		for (bit = 0; bit < 64; ) {
			u64 m = in_run ? ~w >> bit : w >> bit;

			if (!m)
				break;
			bit += __ffs64(m);
			if (!in_run) {
				start = i * 64 + bit;
			} else {
				err = acc_add(acc, page + start,
					      i * 64 + bit - start);
				if (err)
					return err;
			}
			in_run = !in_run;
		}
	}
	if (in_run)
		return acc_add(acc, page + start, nwords * 64 - start);
	return 0;
}

static int get_words(struct in *in, struct run_acc *acc, u64 page,
		     unsigned int npages)
{
	const struct vmtrace_bitmap_sink *sink = acc->sink;
	unsigned int nwords = DIV_ROUND_UP(npages, 64);
	const u8 *p = in->pos;
	int err;

	if ((size_t)(in->end - p) < nwords * 8ULL)
		return -EBADMSG;
	if (npages % 64 &&
	    get_unaligned_le64(p + 8 * (nwords - 1)) >> (npages % 64))
		return -EBADMSG;
	in->pos += nwords * 8;
	if (!sink)
		return 0;
	if (sink->words) {
		err = acc_flush(acc);
		if (!err)
			err = sink->words(sink->priv, page, p, nwords);
		return err;
	}
	return words_to_runs(p, nwords, page, acc);
}

/* Checks a chunk's header and leaves @in on its records. */
static ssize_t get_header(const void *buf, size_t len, u64 *first_page,
			  u64 *npages, struct in *in)
{
	struct vmtrace_bitmap_chunk hdr;
	u64 first, pages;
	u32 length;
	int err;

	if (len < HEADER_SIZE)
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	if (le16_to_cpu(hdr.magic) != VMTRACE_BITMAP_MAGIC)
		return -EBADMSG;
	if (hdr.version != VMTRACE_BITMAP_VERSION || hdr.flags)
		return -EOPNOTSUPP;
	length = le32_to_cpu(hdr.length);
	if (length > len - HEADER_SIZE)
		return -EBADMSG;
	in->pos = (const u8 *)buf + HEADER_SIZE;
	in->end = in->pos + length;
	err = get_varint(in, &first);
	if (!err)
		err = get_varint(in, &pages);
	if (err)
		return err;
	if (!pages || pages > VMTRACE_BITMAP_MAX_PAGES ||
	    first > VMTRACE_BITMAP_MAX_PAGES - pages)
		return -EBADMSG;
	*first_page = first;
	*npages = pages;
	return HEADER_SIZE + length;
}

/**
 * vmtrace_bitmap_chunk_range() - check a chunk's header, read its range
 * @buf: the chunk, possibly followed by more data
 * @len: bytes at @buf
 * @first_page: set to the chunk's first page
 * @npages: set to the chunk's page count
 *
 * Lets a caller place a chunk before decoding it; the records are not
 * looked at.
 *
 * Return: bytes the chunk takes, or as vmtrace_bitmap_decode().
 */
ssize_t vmtrace_bitmap_chunk_range(const void *buf, size_t len,
				   u64 *first_page, u64 *npages)
{
	struct in in;

	return get_header(buf, len, first_page, npages, &in);
}

/**
 * vmtrace_bitmap_decode() - decode one chunk of a dirty set
 * @buf: the chunk, possibly followed by more data
 * @len: bytes at @buf
 * @sink: gets the chunk's set pages; NULL only validates
 * @first_page: set to the chunk's first page once its header is valid
 * @npages: set to the chunk's page count once its header is valid
 *
 * The sink may already have seen part of a chunk that then turns out to
 * be malformed; validate first with a NULL sink where that matters.
 *
 * Return: bytes the chunk takes (header and records), -EBADMSG if it is
 * malformed, -EOPNOTSUPP for a version or flag this decoder does not
 * know, or what a sink callback returned.
 */
ssize_t vmtrace_bitmap_decode(const void *buf, size_t len,
			      const struct vmtrace_bitmap_sink *sink,
			      u64 *first_page, u64 *npages)
{
	struct run_acc acc = { .sink = sink };
	u64 first, pages, nregions, next = 0;
	ssize_t size;
	struct in in;
	int err = 0;

	size = get_header(buf, len, &first, &pages, &in);
	if (size < 0)
		return size;
	*first_page = first;
	*npages = pages;

	nregions = vmtrace_bitmap_nregions(pages);
	while (in.pos < in.end) {
		u64 head, skip, idx, base, count, left;
		unsigned int rpages;

		err = get_varint(&in, &head);
		if (err)
			return err;
		skip = head >> VMTRACE_BITMAP_REC_TYPE_BITS;
		if (skip >= nregions - next)
			return -EBADMSG;
		idx = next + skip;
		base = idx << VMTRACE_BITMAP_REGION_SHIFT;
		left = pages - base;
		rpages = left < VMTRACE_BITMAP_REGION_PAGES ?
			 left : VMTRACE_BITMAP_REGION_PAGES;
		next = idx + 1;

		switch (head & TYPE_MASK) {
		case VMTRACE_BITMAP_REC_FULL:
			err = get_varint(&in, &count);
			if (err)
				return err;
			if (count >= nregions - idx)
				return -EBADMSG;
			next = idx + count + 1;
			count = next << VMTRACE_BITMAP_REGION_SHIFT;
			if (count > pages)
				count = pages;
			err = acc_add(&acc, first + base, count - base);
			break;
		case VMTRACE_BITMAP_REC_RUNS:
			err = get_runs(&in, &acc, first + base, rpages);
			break;
		case VMTRACE_BITMAP_REC_OFFSETS:
			err = get_offsets(&in, &acc, first + base, rpages);
			break;
		case VMTRACE_BITMAP_REC_WORDS:
			err = get_words(&in, &acc, first + base, rpages);
			break;
		default:
			return -EBADMSG;
		}
		if (err)
			return err;
	}
	err = acc_flush(&acc);
	if (err)
		return err;
	return size;
}
