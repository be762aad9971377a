// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the compacted dirty bitmap (kmod/bitmap_codec.c built
 * in userspace, ctl/bitmap/dirty_set.c): every pattern and many random
 * sets survive the round trip, the summary changes nothing but speed,
 * sizes stay within the format's promises, and malformed input of every
 * kind is an error, never an out-of-bounds access (ASan/UBSan watch).
 */
#include <stdlib.h>

#include "patterns.h"
#include "kselftest_harness.h"

#define HDR	sizeof(struct vmtrace_bitmap_chunk)

static const u64 test_sizes[] = {
	1, 2, 63, 64, 65, 4095, 32767, 32768, 32769, 65536 + 100,
	(1 << 20), (1 << 22) + 13,
};

static const size_t chunk_sizes[] = {
	VMTRACE_BITMAP_CHUNK_MIN, VMTRACE_BITMAP_CHUNK_MAX, 1 << 30,
};

static size_t raw_bytes(u64 npages)
{
	return DIV_ROUND_UP(npages, 64) * 8;
}

/* The format's promise: never more than raw + max(1 %, 64 bytes). */
static size_t size_limit(u64 npages)
{
	size_t raw = raw_bytes(npages);

	return raw + (raw / 100 > 64 ? raw / 100 : 64);
}

static u8 *encode(const struct vmtrace_bitmap_src *src, size_t chunk,
		  ssize_t *len)
{
	size_t room = dirty_set_encode_bound(src->npages, chunk);
	u8 *buf = malloc(room);

	*len = buf ? dirty_set_encode(src, chunk, buf, room) : -ENOMEM;
	return buf;
}

/* Decodes @buf and compares it with @s, bit for bit, including the tail. */
static int decode_matches(const u8 *buf, size_t len, u64 first,
			  const struct test_set *s)
{
	size_t words = DIV_ROUND_UP(s->npages, 64);
	unsigned long *got = calloc(words, sizeof(*got));
	size_t i;
	int err;

	if (!got)
		return -ENOMEM;
	err = dirty_set_decode_bitmap(buf, len, first, s->npages, got);
	for (i = 0; !err && i < words; i++) {
		unsigned long want = s->bitmap[i];

		if (i == words - 1 && s->npages % 64)
			want &= (1UL << (s->npages % 64)) - 1;
		if (got[i] != want)
			err = -EILSEQ;
	}
	free(got);
	return err;
}

struct run_check {
	const struct test_set *s;
	u64 first;
	u64 next;
	u64 pages;
	int bad;
};

/* Runs come in order, inside the set, and every page of them is set. */
static int check_run(void *priv, u64 page, u64 n)
{
	struct run_check *c = priv;
	u64 i;

	if (page < c->next || !n)
		c->bad++;
	for (i = 0; i < n; i++)
		if (!test_set_test(c->s, page - c->first + i))
			c->bad++;
	c->next = page + n;
	c->pages += n;
	return 0;
}

TEST(patterns_round_trip)
{
	unsigned int si, pi, ci, fi;
	static const u64 firsts[] = { 0, 0x12345 };

	for (si = 0; si < sizeof(test_sizes) / sizeof(test_sizes[0]); si++) {
		struct test_set s;

		ASSERT_EQ(0, test_set_alloc(&s, test_sizes[si]));
		for (pi = 0; pi < test_patterns_count; pi++) {
			const struct pattern *p = &test_patterns[pi];

			test_set_clear(&s);
			p->fill(&s, p, 42);
			for (ci = 0; ci < 3; ci++) {
				for (fi = 0; fi < 2; fi++) {
					struct vmtrace_bitmap_src src = {
						.bitmap = s.bitmap,
						.first_page = firsts[fi],
						.npages = s.npages,
					};
					struct run_check rc = {
						.s = &s, .first = firsts[fi],
					};
					ssize_t len, len2;
					u8 *buf, *buf2;

					buf = encode(&src, chunk_sizes[ci], &len);
					src.summary = s.summary;
					buf2 = encode(&src, chunk_sizes[ci], &len2);
					ASSERT_LT(0, len) TH_LOG("%s %llu", p->name,
						(unsigned long long)s.npages);
					/* the summary only saves time */
					ASSERT_EQ(len, len2);
					EXPECT_EQ(0, memcmp(buf, buf2, len));
					EXPECT_GE(size_limit(s.npages), (size_t)len)
						TH_LOG("%s %llu pages: %zd bytes",
						       p->name,
						       (unsigned long long)s.npages,
						       len);
					EXPECT_EQ(0, decode_matches(buf, len,
								    firsts[fi],
								    &s))
						TH_LOG("%s %llu pages chunk %zu",
						       p->name,
						       (unsigned long long)s.npages,
						       chunk_sizes[ci]);
					EXPECT_EQ(0, dirty_set_for_each_run(buf,
						len, firsts[fi], s.npages,
						check_run, &rc));
					EXPECT_EQ(0, rc.bad);
					EXPECT_EQ(s.dirty, rc.pages);
					free(buf);
					free(buf2);
				}
			}
		}
		test_set_free(&s);
	}
}

TEST(random_sets_round_trip)
{
	u64 rng = 42;
	unsigned int iter;

	for (iter = 0; iter < 300; iter++) {
		u64 npages = 1 + test_rand(&rng) % (5 * VMTRACE_BITMAP_REGION_PAGES);
		u64 first = test_rand(&rng) % 3 ? test_rand(&rng) % (1ULL << 40) : 0;
		size_t chunk = VMTRACE_BITMAP_CHUNK_MIN +
			       test_rand(&rng) % (3 * VMTRACE_BITMAP_CHUNK_MIN);
		struct vmtrace_bitmap_src src = {
			.first_page = first, .npages = npages,
		};
		u8 *buf, *buf2;
		ssize_t len, len2;
		struct test_set s;

		ASSERT_EQ(0, test_set_alloc(&s, npages));
		test_fill_mixed(&s, &rng);
		src.bitmap = s.bitmap;
		/* garbage past the end must not be encoded */
		if (npages % 64)
			s.bitmap[npages / 64] |= ~0UL << (npages % 64);
		buf = encode(&src, chunk, &len);
		ASSERT_LT(0, len);
		EXPECT_GE(size_limit(npages), (size_t)len);
		EXPECT_EQ(0, decode_matches(buf, len, first, &s))
			TH_LOG("iteration %u, %llu pages", iter,
			       (unsigned long long)npages);
		/* a conservative summary gives the same bytes */
		memset(s.summary, 0xff, s.summary_bytes);
		src.summary = s.summary;
		buf2 = encode(&src, chunk, &len2);
		ASSERT_EQ(len, len2);
		EXPECT_EQ(0, memcmp(buf, buf2, len));
		free(buf);
		free(buf2);
		test_set_free(&s);
	}
}

static unsigned int varint_bytes(u64 v)
{
	unsigned int n = 1;

	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

/* The type of the only record of a one-chunk encoding of a set at page 0. */
static int only_record_type(const struct test_set *s)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = s->bitmap, .npages = s->npages,
	};
	u8 buf[VMTRACE_BITMAP_CHUNK_MAX];
	size_t head = HDR + 1 + varint_bytes(s->npages);
	u64 region = 0, fp, np;
	ssize_t len;

	len = vmtrace_bitmap_encode(&src, &region, buf, sizeof(buf));
	if (len <= (ssize_t)head || region != 1 ||
	    vmtrace_bitmap_decode(buf, len, NULL, &fp, &np) != len)
		return -1;
	return buf[head] & 7;
}

TEST(each_record_type_where_it_is_smallest)
{
	struct test_set s;
	u64 i;

	ASSERT_EQ(0, test_set_alloc(&s, VMTRACE_BITMAP_REGION_PAGES));
	test_set_range(&s, 100, 5000);
	EXPECT_EQ(VMTRACE_BITMAP_REC_RUNS, only_record_type(&s));
	test_set_clear(&s);
	for (i = 0; i < 1000; i++)
		test_set_page(&s, i * 31);
	EXPECT_EQ(VMTRACE_BITMAP_REC_OFFSETS, only_record_type(&s));
	test_set_clear(&s);
	for (i = 0; i < s.npages; i += 2)
		test_set_page(&s, i);
	EXPECT_EQ(VMTRACE_BITMAP_REC_WORDS, only_record_type(&s));
	test_set_clear(&s);
	test_set_range(&s, 0, s.npages);
	EXPECT_EQ(VMTRACE_BITMAP_REC_FULL, only_record_type(&s));
	test_set_free(&s);
}

TEST(empty_and_full_sets_fit_in_64_bytes)
{
	static const u64 sizes[] = {
		1, 64, 32768, 32769, 1ULL << 18, (1ULL << 28) + 1,
		24ULL << 28,	/* 24 TiB, empty only */
	};
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vmtrace_bitmap_src src = { .npages = sizes[i] };
		struct test_set s;
		ssize_t len;
		u8 *buf;

		ASSERT_EQ(0, test_set_alloc(&s, sizes[i]));
		src.bitmap = s.bitmap;
		src.summary = s.summary;
		buf = encode(&src, VMTRACE_BITMAP_CHUNK_MAX, &len);
		/* the header and the page range, no record */
		EXPECT_EQ(HDR + 1 + varint_bytes(sizes[i]), len);
		free(buf);
		if (sizes[i] <= (1ULL << 28) + 1) {
			test_set_range(&s, 0, sizes[i]);
			buf = encode(&src, VMTRACE_BITMAP_CHUNK_MIN, &len);
			EXPECT_GE(64, len) TH_LOG("%zd bytes", len);
			EXPECT_EQ(0, decode_matches(buf, len, 0, &s));
			free(buf);
		}
		test_set_free(&s);
	}
}

TEST(encoder_arguments)
{
	unsigned long word = 1;
	struct vmtrace_bitmap_src src = { .bitmap = &word, .npages = 1 };
	u8 buf[VMTRACE_BITMAP_CHUNK_MIN];
	u64 region = 0;

	EXPECT_EQ(-ENOSPC, vmtrace_bitmap_encode(&src, &region, buf,
						 sizeof(buf) - 1));
	src.npages = 0;
	EXPECT_EQ(-EINVAL, vmtrace_bitmap_encode(&src, &region, buf,
						 sizeof(buf)));
	src.npages = 2;
	src.first_page = VMTRACE_BITMAP_MAX_PAGES - 1;
	EXPECT_EQ(-EINVAL, vmtrace_bitmap_encode(&src, &region, buf,
						 sizeof(buf)));
	src.npages = 1;
	EXPECT_LT(0, vmtrace_bitmap_encode(&src, &region, buf, sizeof(buf)));
	EXPECT_EQ(1, region);
	EXPECT_EQ(0, vmtrace_bitmap_encode(&src, &region, buf, sizeof(buf)));
}

static size_t put_varint(u8 *p, u64 v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (v & 0x7f) | 0x80;
	p[n++] = v;
	return n;
}

/* A one-chunk stream with the given records, for hand-made input. */
static size_t make_chunk(u8 *buf, u64 first, u64 npages, const u8 *records,
			 u32 length)
{
	struct vmtrace_bitmap_chunk h = {
		.magic = cpu_to_le16(VMTRACE_BITMAP_MAGIC),
		.version = VMTRACE_BITMAP_VERSION,
	};
	size_t n = HDR;

	n += put_varint(buf + n, first);
	n += put_varint(buf + n, npages);
	memcpy(buf + n, records, length);
	n += length;
	h.length = cpu_to_le32(n - HDR);
	memcpy(buf, &h, HDR);
	return n;
}

static int decode_one(const u8 *records, u32 length, u64 npages)
{
	unsigned long map[2 * VMTRACE_BITMAP_REGION_PAGES / 64] = { };
	u8 buf[HDR + 64];
	size_t len = make_chunk(buf, 0, npages, records, length);

	return dirty_set_decode_bitmap(buf, len, 0, npages, map);
}

TEST(malformed_headers)
{
	unsigned long map[1] = { };
	const u8 none[1] = { };
	u8 buf[HDR + 32], good[HDR + 32];
	size_t len = make_chunk(good, 0, 64, none, 0);
	u64 fp, np;

	EXPECT_EQ(HDR + 2, len);
	EXPECT_EQ(0, dirty_set_decode_bitmap(good, len, 0, 64, map));
	EXPECT_EQ(len, vmtrace_bitmap_chunk_range(good, len, &fp, &np));
	EXPECT_EQ(0, fp);
	EXPECT_EQ(64, np);
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(good, HDR - 1, NULL, &fp, &np));
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(good, len - 1, NULL, &fp, &np));
	memcpy(buf, good, len);
	buf[0] ^= 1;
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	memcpy(buf, good, len);
	buf[2] = 2;
	EXPECT_EQ(-EOPNOTSUPP, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	memcpy(buf, good, len);
	buf[3] = 0x80;
	EXPECT_EQ(-EOPNOTSUPP, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));

	len = make_chunk(buf, 0, 0, none, 0);
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	len = make_chunk(buf, 0, VMTRACE_BITMAP_MAX_PAGES + 1, none, 0);
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	len = make_chunk(buf, VMTRACE_BITMAP_MAX_PAGES - 10, 11, none, 0);
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	len = make_chunk(buf, VMTRACE_BITMAP_MAX_PAGES - 10, 10, none, 0);
	EXPECT_EQ(len, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	len = make_chunk(buf, ~0ULL, 2, none, 0);
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	/* length past the buffer */
	len = make_chunk(buf, 0, 64, none, 0);
	buf[4]++;
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	/* length cutting the page range short */
	buf[4] -= 2;
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
	buf[4] = 0;
	EXPECT_EQ(-EBADMSG, vmtrace_bitmap_decode(buf, len, NULL, &fp, &np));
}

TEST(malformed_records)
{
	const u8 full_ok[] = { VMTRACE_BITMAP_REC_FULL, 0 };
	const u8 full_two[] = { VMTRACE_BITMAP_REC_FULL, 1 };
	const u8 skip_past[] = { (1 << 3) | VMTRACE_BITMAP_REC_FULL, 0 };
	const u8 type0[] = { 0 };
	const u8 type5[] = { 5 };
	const u8 type7[] = { 7 };
	const u8 runs_ok[] = { VMTRACE_BITMAP_REC_RUNS, 1, 0, 9, 4, 0 };
	const u8 runs_many[] = { VMTRACE_BITMAP_REC_RUNS, 100, 0, 0 };
	const u8 runs_past[] = { VMTRACE_BITMAP_REC_RUNS, 0, 60, 4 };
	const u8 runs_start_past[] = { VMTRACE_BITMAP_REC_RUNS, 0, 64, 0 };
	const u8 runs_cut[] = { VMTRACE_BITMAP_REC_RUNS, 1, 0, 9 };
	const u8 runs_after_end[] = { VMTRACE_BITMAP_REC_RUNS, 1, 0, 62, 0, 0 };
	const u8 offs_ok[] = { VMTRACE_BITMAP_REC_OFFSETS, 1, 3, 59 };
	const u8 offs_past[] = { VMTRACE_BITMAP_REC_OFFSETS, 1, 3, 60 };
	const u8 words_ok[] = { VMTRACE_BITMAP_REC_WORDS, 1, 0, 0, 0, 0, 0, 0, 0x80 };
	const u8 words_cut[] = { VMTRACE_BITMAP_REC_WORDS, 1, 0, 0, 0, 0, 0, 0 };
	const u8 words_tail[] = { VMTRACE_BITMAP_REC_WORDS, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	const u8 varint_long[] = {
		VMTRACE_BITMAP_REC_FULL, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0x80, 0,
	};
	const u8 varint_wide[] = {
		VMTRACE_BITMAP_REC_FULL, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0x02,
	};
	const u8 varint_cut[] = { VMTRACE_BITMAP_REC_FULL, 0x80 };
	const u8 two_records_same[] = {
		VMTRACE_BITMAP_REC_FULL, 0, VMTRACE_BITMAP_REC_OFFSETS, 0, 0,
	};

	EXPECT_EQ(0, decode_one(full_ok, 2, 64));
	EXPECT_EQ(-EBADMSG, decode_one(full_two, 2, 64));
	EXPECT_EQ(0, decode_one(full_two, 2, VMTRACE_BITMAP_REGION_PAGES + 1));
	EXPECT_EQ(-EBADMSG, decode_one(skip_past, 2, 64));
	EXPECT_EQ(-EBADMSG, decode_one(type0, 1, 64));
	EXPECT_EQ(-EBADMSG, decode_one(type5, 1, 64));
	EXPECT_EQ(-EBADMSG, decode_one(type7, 1, 64));
	EXPECT_EQ(0, decode_one(runs_ok, 6, 64));
	EXPECT_EQ(-EBADMSG, decode_one(runs_many, 4, 64));
	EXPECT_EQ(-EBADMSG, decode_one(runs_past, 4, 64));
	EXPECT_EQ(-EBADMSG, decode_one(runs_start_past, 4, 64));
	EXPECT_EQ(-EBADMSG, decode_one(runs_cut, 4, 64));
	EXPECT_EQ(-EBADMSG, decode_one(runs_after_end, 6, 64));
	EXPECT_EQ(0, decode_one(offs_ok, 4, 64));
	EXPECT_EQ(-EBADMSG, decode_one(offs_past, 4, 64));
	EXPECT_EQ(0, decode_one(words_ok, 9, 64));
	EXPECT_EQ(-EBADMSG, decode_one(words_cut, 8, 64));
	EXPECT_EQ(-EBADMSG, decode_one(words_tail, 9, 36));
	EXPECT_EQ(0, decode_one(words_tail, 9, 37));
	EXPECT_EQ(-EBADMSG, decode_one(varint_long, 12, 64));
	EXPECT_EQ(-EBADMSG, decode_one(varint_wide, 11, 64));
	EXPECT_EQ(-EBADMSG, decode_one(varint_cut, 2, 64));
	EXPECT_EQ(-EBADMSG, decode_one(two_records_same, 5, 64));
	/* the same records are fine when there is a region for each */
	EXPECT_EQ(0, decode_one(two_records_same, 5,
				VMTRACE_BITMAP_REGION_PAGES + 64));
}

static u8 *encode_pattern(const char *name, u64 npages, size_t chunk,
			  ssize_t *len, struct test_set *s)
{
	struct vmtrace_bitmap_src src = { .npages = npages };
	unsigned int i;

	if (test_set_alloc(s, npages))
		return NULL;
	for (i = 0; i < test_patterns_count; i++)
		if (!strcmp(test_patterns[i].name, name))
			test_patterns[i].fill(s, &test_patterns[i], 7);
	src.bitmap = s->bitmap;
	return encode(&src, chunk, len);
}

TEST(streams_must_tile_the_set)
{
	struct test_set s;
	unsigned long *map;
	ssize_t len;
	u8 *buf = encode_pattern("random-10%", 200000,
				 VMTRACE_BITMAP_CHUNK_MIN, &len, &s);
	u64 fp, np;
	ssize_t first;

	ASSERT_NE(NULL, buf);
	ASSERT_LT(0, len);
	map = calloc(DIV_ROUND_UP(200000, 64) + 1, sizeof(*map));
	ASSERT_NE(NULL, map);
	first = vmtrace_bitmap_decode(buf, len, NULL, &fp, &np);
	ASSERT_LT(0, first);
	ASSERT_GT(len, first) TH_LOG("want several chunks");
	EXPECT_EQ(0, dirty_set_decode_bitmap(buf, len, 0, 200000, map));
	/* a chunk missing, at either end */
	EXPECT_EQ(-EBADMSG, dirty_set_decode_bitmap(buf, first, 0, 200000, map));
	EXPECT_EQ(-EBADMSG, dirty_set_decode_bitmap(buf + first, len - first,
						    0, 200000, map));
	/* the set is larger or smaller than the stream */
	EXPECT_EQ(-EBADMSG, dirty_set_decode_bitmap(buf, len, 0, 200001, map));
	EXPECT_EQ(-EBADMSG, dirty_set_decode_bitmap(buf, len, 0, 199999, map));
	EXPECT_EQ(-EBADMSG, dirty_set_decode_bitmap(buf, len, 1, 200000, map));
	EXPECT_EQ(-EINVAL, dirty_set_decode_bitmap(buf, len, 0, 0, map));
	free(map);
	free(buf);
	test_set_free(&s);
}

/*
 * Every truncation and every single-bit flip of real encodings: an error
 * or a set inside the bitmap, never a stray access.
 */
TEST(truncations_and_bit_flips)
{
	static const char *const names[] = {
		"one", "random-1%", "clustered-10%", "stride-512", "full",
	};
	unsigned int n, i, bit;

	for (n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		u64 npages = 3 * VMTRACE_BITMAP_REGION_PAGES / 2 + 7;
		size_t words = DIV_ROUND_UP(npages, 64);
		unsigned long *map = calloc(words, sizeof(*map));
		struct test_set s;
		ssize_t len;
		u8 *buf = encode_pattern(names[n], npages, 1 << 20, &len, &s);
		int bad = 0;

		ASSERT_NE(NULL, buf);
		ASSERT_NE(NULL, map);
		for (i = 0; i < (size_t)len; i++)
			if (!dirty_set_decode_bitmap(buf, i, 0, npages, map))
				bad++;
		EXPECT_EQ(0, bad) TH_LOG("%s: truncation accepted", names[n]);
		for (i = 0; i < (size_t)len && i < 2048; i++) {
			for (bit = 0; bit < 8; bit++) {
				buf[i] ^= 1 << bit;
				memset(map, 0, words * sizeof(*map));
				dirty_set_decode_bitmap(buf, len, 0, npages, map);
				buf[i] ^= 1 << bit;
			}
		}
		free(map);
		free(buf);
		test_set_free(&s);
	}
}

/* The worked example in Documentation/userspace-api/vmtrace-bitmap.rst. */
TEST(documented_example)
{
	static const u8 want[] = {
		0x56, 0x42, 0x01, 0x00, 0x0c, 0x00, 0x00, 0x00,
		0x00, 0x80, 0x80, 0x10,
		0x02, 0x00, 0x64, 0x09,
		0x03, 0x00, 0xc0, 0x38,
	};
	struct vmtrace_bitmap_src src = { .npages = 1 << 18 };
	struct test_set s;
	ssize_t len;
	u8 *buf;

	ASSERT_EQ(0, test_set_alloc(&s, 1 << 18));
	test_set_range(&s, 100, 10);
	test_set_page(&s, 40000);
	src.bitmap = s.bitmap;
	buf = encode(&src, VMTRACE_BITMAP_CHUNK_MAX, &len);
	ASSERT_EQ(sizeof(want), len);
	EXPECT_EQ(0, memcmp(want, buf, len));
	free(buf);
	test_set_free(&s);
}

TEST_HARNESS_MAIN
