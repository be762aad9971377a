/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmtrace: the compacted dirty bitmap.
 *
 * A set of guest pages (a harvest, or the pages still missing at
 * switchover) travels as a sequence of chunks.  Each chunk is a
 * &struct vmtrace_bitmap_chunk followed by @length bytes: two varints,
 * first_page and npages, then region records.  A chunk describes exactly
 * the pages [first_page, first_page + npages) and is decodable on its
 * own, so it fits in one netlink attribute or one network frame.  Chunks
 * of one set tile its page range in order.  Everything is little-endian.
 *
 * Varints are unsigned LEB128: 7 bits a byte, least significant group
 * first, high bit set on every byte but the last, at most 10 bytes.
 *
 * The pages of a chunk are cut into regions of VMTRACE_BITMAP_REGION_PAGES
 * pages, counted from first_page (the last one may be shorter).  Each
 * record describes one non-empty region (or a row of full ones) and
 * starts with a varint "head" = (skip << 3) | type, where skip is the
 * number of empty regions between the previous record's last region and
 * this one (the first record counts from region 0).  Empty regions
 * therefore cost nothing.
 *
 * VMTRACE_BITMAP_REC_FULL     varint count - 1: that many regions, every
 *                             page set
 * VMTRACE_BITMAP_REC_RUNS     varint n - 1, then n pairs (varint gap,
 *                             varint length - 1); the first gap is the
 *                             offset of the first run in the region,
 *                             later ones the clear pages between runs
 *                             minus one
 * VMTRACE_BITMAP_REC_OFFSETS  varint n - 1, then n varints: the first
 *                             set page's offset, then for each next one
 *                             the clear pages since the previous minus one
 * VMTRACE_BITMAP_REC_WORDS    the region's bitmap, one __le64 per 64
 *                             pages (bit i of word j: page 64 * j + i),
 *                             DIV_ROUND_UP(pages in region, 64) words;
 *                             bits past the region's end are zero
 *
 * The encoder picks, per region, whichever record is smallest, so a chunk
 * is never larger than the raw bitmap of its pages plus the header and one
 * head byte per region.  A decoder must reject (never guess at) anything
 * else: a magic, version or flag it does not know, npages of 0, a range
 * past VMTRACE_BITMAP_MAX_PAGES, a record past the chunk's pages, a run or
 * offset past its region, set bits past a region's end, a varint longer
 * than 10 bytes or running past @length, and bytes left over.  A new
 * record type or region size needs a new version.
 */
#ifndef _UAPI_LINUX_VMTRACE_BITMAP_H
#define _UAPI_LINUX_VMTRACE_BITMAP_H

#include <linux/const.h>
#include <linux/types.h>

#define VMTRACE_BITMAP_MAGIC		0x4256		/* "VB" on the wire */
#define VMTRACE_BITMAP_VERSION		1

/*
 * 2^15 pages (128 MiB of guest memory) a region: a raw region is 4 KiB,
 * so a one-byte head costs 0.025 % over raw, and offsets inside a region
 * fit in 15 bits (a varint of at most 3 bytes).
 */
#define VMTRACE_BITMAP_REGION_SHIFT	15
#define VMTRACE_BITMAP_REGION_PAGES	_BITUL(VMTRACE_BITMAP_REGION_SHIFT)
#define VMTRACE_BITMAP_REGION_BYTES	(VMTRACE_BITMAP_REGION_PAGES / 8)

/* Page numbers of 4 KiB pages in a 64-bit physical address space. */
#define VMTRACE_BITMAP_MAX_PAGES	_BITULL(52)

#define VMTRACE_BITMAP_REC_FULL		1
#define VMTRACE_BITMAP_REC_RUNS		2
#define VMTRACE_BITMAP_REC_OFFSETS	3
#define VMTRACE_BITMAP_REC_WORDS	4
#define VMTRACE_BITMAP_REC_TYPE_BITS	3

#define VMTRACE_BITMAP_VARINT_MAX	10

/* The largest record: a head and a raw region. */
#define VMTRACE_BITMAP_RECORD_MAX \
	(VMTRACE_BITMAP_VARINT_MAX + VMTRACE_BITMAP_REGION_BYTES)

/*
 * Encoders fill chunks of at most this size; netlink attributes hold at
 * most 64 KiB including their 4-byte header.
 */
#define VMTRACE_BITMAP_CHUNK_MAX	65532

/**
 * struct vmtrace_bitmap_chunk - the fixed start of a chunk
 * @magic: VMTRACE_BITMAP_MAGIC
 * @version: VMTRACE_BITMAP_VERSION
 * @flags: none defined; must be 0
 * @length: bytes that follow: varint first_page, varint npages (at least
 *	1; first_page + npages at most VMTRACE_BITMAP_MAX_PAGES), records
 *
 * The page range is in varints so that a small set costs a few bytes:
 * an empty 1 GiB set is 12 bytes in all.
 */
struct vmtrace_bitmap_chunk {
	__le16 magic;
	__u8 version;
	__u8 flags;
	__le32 length;
};

/* Page numbers below 2^52 take at most 8 varint bytes. */
#define VMTRACE_BITMAP_HEADER_MAX	(sizeof(struct vmtrace_bitmap_chunk) + 16)

/*
 * The smallest buffer an encoder accepts: a header and two records, so a
 * chunk's header costs under 0.4 % of the raw regions it carries.
 */
#define VMTRACE_BITMAP_CHUNK_MIN \
	(VMTRACE_BITMAP_HEADER_MAX + 2 * VMTRACE_BITMAP_RECORD_MAX)

/*
 * Test interface, not ABI: debugfs file vmtrace/bitmap_encode.  Write a
 * &struct vmtrace_bitmap_encode_req followed by the set's raw bitmap
 * (__le64 words, DIV_ROUND_UP(@npages, 64) of them), then read back the
 * kernel encoder's chunks, concatenated.
 *
 * @first_page, @npages: the set's page range
 * @chunk_size: size of each chunk buffer, VMTRACE_BITMAP_CHUNK_MIN ..
 *	VMTRACE_BITMAP_CHUNK_MAX
 * @flags: VMTRACE_BITMAP_ENCODE_SUMMARY: build a summary of non-empty
 *	regions first and encode through it, as a harvest does
 */
struct vmtrace_bitmap_encode_req {
	__le64 first_page;
	__le64 npages;
	__le32 chunk_size;
	__le32 flags;
};

#define VMTRACE_BITMAP_ENCODE_SUMMARY	1
#define VMTRACE_BITMAP_ENCODE_MAX_PAGES	_BITULL(28)

#endif /* _UAPI_LINUX_VMTRACE_BITMAP_H */
