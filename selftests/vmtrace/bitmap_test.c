// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's bitmap encoder agrees with userspace: the same sets (the
 * unit tests' patterns and random mixed sets, ctl/bitmap/tests/patterns.c)
 * go through vmtrace's debugfs file vmtrace/bitmap_encode, and the bytes
 * that come back must equal the userspace encoder's, with and without a
 * summary, and decode to the set that went in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/module.h"
#include "../../ctl/bitmap/tests/patterns.h"
#include "kselftest_harness.h"

#define ENCODE_FILE "/sys/kernel/debug/vmtrace/bitmap_encode"

static const u64 sizes[] = {
	1, 65, 32768, 32769, 3 * 32768 + 1000, (1 << 20) + 13,
};

/*
 * Has the kernel encode @s; returns its output (malloc'ed) and sets *@len,
 * or returns NULL with *@len = -errno.
 */
static const char *kernel_step;

static u8 *kernel_encode(const struct test_set *s, u64 first, u32 chunk,
			 u32 flags, ssize_t *len)
{
	struct vmtrace_bitmap_encode_req req = {
		.first_page = cpu_to_le64(first),
		.npages = cpu_to_le64(s->npages),
		.chunk_size = cpu_to_le32(chunk),
		.flags = cpu_to_le32(flags),
	};
	size_t words = DIV_ROUND_UP(s->npages, 64), i;
	size_t room = dirty_set_encode_bound(s->npages, chunk), got = 0;
	u8 *in = malloc(sizeof(req) + words * 8);
	u8 *out = malloc(room);
	ssize_t n = -ENOMEM;
	int fd = -1;

	if (!in || !out)
		goto fail;
	memcpy(in, &req, sizeof(req));
	for (i = 0; i < words; i++)
		put_unaligned_le64(s->bitmap[i], in + sizeof(req) + 8 * i);
	kernel_step = "open";
	fd = open(ENCODE_FILE, O_RDWR);
	if (fd < 0) {
		n = -errno;
		goto fail;
	}
	kernel_step = "write";
	/* in two writes, as a streaming writer would */
	n = write(fd, in, sizeof(req) + 8);
	if (n == (ssize_t)(sizeof(req) + 8) && words > 1)
		n = write(fd, in + sizeof(req) + 8, (words - 1) * 8);
	if (n < 0) {
		n = -errno;
		goto fail;
	}
	kernel_step = "read";
	while ((n = read(fd, out + got, room - got)) > 0)
		got += n;
	if (n < 0) {
		n = -errno;
		goto fail;
	}
	close(fd);
	free(in);
	*len = got;
	return out;
fail:
	if (fd >= 0)
		close(fd);
	free(in);
	free(out);
	*len = n;
	return NULL;
}

static u8 *user_encode(const struct test_set *s, u64 first, size_t chunk,
		       bool summary, ssize_t *len)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = s->bitmap, .first_page = first, .npages = s->npages,
		.summary = summary ? s->summary : NULL,
	};
	size_t room = dirty_set_encode_bound(s->npages, chunk);
	u8 *buf = malloc(room);

	*len = buf ? dirty_set_encode(&src, chunk, buf, room) : -ENOMEM;
	return buf;
}

static int decodes_to(const u8 *buf, size_t len, u64 first,
		      const struct test_set *s)
{
	size_t words = DIV_ROUND_UP(s->npages, 64), i;
	unsigned long *got = calloc(words, sizeof(*got));
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

FIXTURE(kenc) {
	struct test_set s;
};

FIXTURE_SETUP(kenc)
{
	ASSERT_EQ(0, vt_module_ensure_loaded());
	if (access(ENCODE_FILE, R_OK | W_OK))
		SKIP(return, "no %s (debugfs not mounted?)", ENCODE_FILE);
	memset(&self->s, 0, sizeof(self->s));
}

FIXTURE_TEARDOWN(kenc)
{
	if (self->s.bitmap)
		test_set_free(&self->s);
}

/* Kernel bytes == userspace bytes, and they decode to the set. */
static void check_same(struct __test_metadata *_metadata,
		       const struct test_set *s, u64 first, u32 chunk,
		       const char *what)
{
	unsigned int summary;

	for (summary = 0; summary < 2; summary++) {
		ssize_t klen, ulen;
		u8 *k = kernel_encode(s, first, chunk,
				      summary ? VMTRACE_BITMAP_ENCODE_SUMMARY : 0,
				      &klen);
		u8 *u = user_encode(s, first, chunk, summary, &ulen);

		ASSERT_NE(NULL, k) TH_LOG("%s: kernel encoder: %s: %zd", what,
					  kernel_step, klen);
		ASSERT_LT(0, ulen);
		EXPECT_EQ(ulen, klen) TH_LOG("%s, %llu pages, chunk %u",
					     what,
					     (unsigned long long)s->npages,
					     chunk);
		if (ulen == klen)
			EXPECT_EQ(0, memcmp(k, u, klen))
				TH_LOG("%s: bytes differ", what);
		EXPECT_EQ(0, decodes_to(k, klen, first, s))
			TH_LOG("%s: kernel encoding decodes wrong", what);
		free(k);
		free(u);
	}
}

TEST_F(kenc, patterns_match_userspace)
{
	unsigned int si, pi;

	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		ASSERT_EQ(0, test_set_alloc(&self->s, sizes[si]));
		for (pi = 0; pi < test_patterns_count; pi++) {
			const struct pattern *p = &test_patterns[pi];

			test_set_clear(&self->s);
			p->fill(&self->s, p, 42);
			check_same(_metadata, &self->s, 0,
				   VMTRACE_BITMAP_CHUNK_MAX, p->name);
			check_same(_metadata, &self->s, 0x12345,
				   VMTRACE_BITMAP_CHUNK_MIN, p->name);
		}
		test_set_free(&self->s);
		self->s.bitmap = NULL;
	}
}

TEST_F(kenc, random_sets_match_userspace)
{
	u64 rng = 42;
	unsigned int iter;

	for (iter = 0; iter < 40; iter++) {
		u64 npages = 1 + test_rand(&rng) % (5 * VMTRACE_BITMAP_REGION_PAGES);
		u32 chunk = VMTRACE_BITMAP_CHUNK_MIN +
			    test_rand(&rng) % (VMTRACE_BITMAP_CHUNK_MAX -
					       VMTRACE_BITMAP_CHUNK_MIN);

		ASSERT_EQ(0, test_set_alloc(&self->s, npages));
		test_fill_mixed(&self->s, &rng);
		check_same(_metadata, &self->s, test_rand(&rng) % (1ULL << 40),
			   chunk, "mixed");
		test_set_free(&self->s);
		self->s.bitmap = NULL;
	}
}

/* Writes a request header alone: 0 or -errno. */
static int write_req(u64 first, u64 npages, u32 chunk, u32 flags)
{
	struct vmtrace_bitmap_encode_req req = {
		.first_page = cpu_to_le64(first),
		.npages = cpu_to_le64(npages),
		.chunk_size = cpu_to_le32(chunk),
		.flags = cpu_to_le32(flags),
	};
	int fd = open(ENCODE_FILE, O_RDWR);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, &req, sizeof(req)) != sizeof(req))
		err = -errno;
	close(fd);
	return err;
}

TEST_F(kenc, bad_requests_are_refused)
{
	const u32 min = VMTRACE_BITMAP_CHUNK_MIN, max = VMTRACE_BITMAP_CHUNK_MAX;

	EXPECT_EQ(0, write_req(0, 100, min, VMTRACE_BITMAP_ENCODE_SUMMARY));
	EXPECT_EQ(-EINVAL, write_req(0, 100, min - 1, 0));
	EXPECT_EQ(-EINVAL, write_req(0, 100, max + 1, 0));
	EXPECT_EQ(-EINVAL, write_req(0, 100, min, 2));
	EXPECT_EQ(-EINVAL, write_req(0, 0, min, 0));
	EXPECT_EQ(-EINVAL, write_req(VMTRACE_BITMAP_MAX_PAGES - 99, 100, min, 0));
	EXPECT_EQ(-EINVAL, write_req(0, VMTRACE_BITMAP_ENCODE_MAX_PAGES + 1,
				     min, 0));
}

TEST_F(kenc, read_before_the_bitmap_is_complete)
{
	struct vmtrace_bitmap_encode_req req = {
		.npages = cpu_to_le64(1000),
		.chunk_size = cpu_to_le32(VMTRACE_BITMAP_CHUNK_MAX),
	};
	u8 buf[256] = { };
	int fd = open(ENCODE_FILE, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODATA, errno);
	ASSERT_EQ(sizeof(req), write(fd, &req, sizeof(req)));
	EXPECT_EQ(64, write(fd, buf, 64));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODATA, errno);
	/* more than the bitmap holds */
	EXPECT_EQ(-1, write(fd, buf, 128));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ(64, write(fd, buf, 64));
	/* an empty set: the header, first page 0, 1000 pages (2 bytes) */
	EXPECT_EQ(sizeof(struct vmtrace_bitmap_chunk) + 3,
		  read(fd, buf, sizeof(buf)));
	/* once encoded, the file takes no more input */
	EXPECT_EQ(-1, write(fd, buf, 8));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
}

TEST_HARNESS_MAIN
