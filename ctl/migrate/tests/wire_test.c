// SPDX-License-Identifier: GPL-2.0
/*
 * The receiver's side of the wire, on the host: frames go through a
 * socketpair; good ones arrive intact, and every kind of bad one (magic,
 * command, flags, oversize length, checksum, PAGES descriptors and sizes)
 * is refused before anything reaches guest memory.
 */
#include <endian.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "../compress.h"
#include "../pages.h"
#include "../wire.h"
#include "kselftest_harness.h"

#define PAGES	64

FIXTURE(wire) {
	int sv[2];
	int mem_fd;
	uint8_t *mem;
	uint64_t *hashes;
	char err[256];
};

FIXTURE_SETUP(wire)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	/* Guest memory as the VMM has it: a memfd, mapped shared. */
	self->mem_fd = memfd_create("wire-test", MFD_CLOEXEC);
	ASSERT_LE(0, self->mem_fd);
	ASSERT_EQ(0, ftruncate(self->mem_fd, PAGES * VMOTION_PAGE_SIZE));
	self->mem = mmap(NULL, PAGES * VMOTION_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->mem_fd, 0);
	self->hashes = page_hashes_new(PAGES);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_NE(NULL, self->hashes);
}

FIXTURE_TEARDOWN(wire)
{
	close(self->sv[0]);
	close(self->sv[1]);
	munmap(self->mem, PAGES * VMOTION_PAGE_SIZE);
	close(self->mem_fd);
	free(self->hashes);
}

TEST_F(wire, round_trip)
{
	struct wire_frame f;

	ASSERT_EQ(0, wire_send(self->sv[0], NULL, VMOTION_CMD_ITER_END, 7,
			       "abc", 3));
	ASSERT_EQ(0, wire_recv(self->sv[1], NULL, &f, self->err,
			       sizeof(self->err)));
	EXPECT_EQ(VMOTION_CMD_ITER_END, f.command);
	EXPECT_EQ(7, f.arg);
	EXPECT_EQ(3, f.length);
	EXPECT_EQ(0, memcmp(f.payload, "abc", 3));
	wire_frame_free(&f);
}

/* Send raw bytes as if from a hostile peer; expect a refusal naming @why. */
static void expect_refused(struct __test_metadata *_metadata, int sv[2],
			   const void *buf, size_t len, const char *why)
{
	struct wire_frame f;
	char err[256] = "";

	ASSERT_EQ((ssize_t)len, write(sv[0], buf, len));
	shutdown(sv[0], SHUT_WR);
	ASSERT_EQ(-1, wire_recv(sv[1], NULL, &f, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, why)) {
		TH_LOG("error was \"%s\"", err);
	}
}

static struct vmotion_frame header(uint16_t cmd, uint64_t len)
{
	struct vmotion_frame h = {
		.magic = htole32(VMOTION_WIRE_MAGIC),
		.command = htole16(cmd),
		.length = htole64(len),
	};

	h.checksum = htole64(wire_checksum(&h, NULL, 0));
	return h;
}

TEST_F(wire, bad_magic)
{
	struct vmotion_frame h = header(VMOTION_CMD_HELLO, 0);

	h.magic = 0x12345678;
	expect_refused(_metadata, self->sv, &h, sizeof(h), "bad magic");
}

TEST_F(wire, unknown_command)
{
	struct vmotion_frame h = header(VMOTION_CMD_MAX, 0);

	expect_refused(_metadata, self->sv, &h, sizeof(h), "unknown frame command");
}

TEST_F(wire, flags_set)
{
	struct vmotion_frame h = header(VMOTION_CMD_HELLO, 0);

	h.flags = htole16(1);
	expect_refused(_metadata, self->sv, &h, sizeof(h), "flags");
}

TEST_F(wire, oversize)
{
	struct vmotion_frame h = header(VMOTION_CMD_PAGES, 1ULL << 40);

	expect_refused(_metadata, self->sv, &h, sizeof(h), "exceeds");
}

TEST_F(wire, truncated)
{
	struct vmotion_frame h = header(VMOTION_CMD_HELLO, 100);

	expect_refused(_metadata, self->sv, &h, sizeof(h), "connection lost");
}

TEST_F(wire, corrupted_payload)
{
	struct {
		struct vmotion_frame h;
		char p[4];
	} fr = { .h = header(VMOTION_CMD_ABORT, 4), .p = "abcd" };

	fr.h.checksum = htole64(wire_checksum(&fr.h, fr.p, 4));
	fr.p[2] ^= 1;
	expect_refused(_metadata, self->sv, &fr, sizeof(fr), "checksum");
}

/* Apply a PAGES frame, through the memfd or (@fd false) the mapping. */
static long apply_via(FIXTURE_DATA(wire) *self, bool fd, uint64_t n,
		      const void *p, size_t len)
{
	struct wire_frame f = {
		.command = VMOTION_CMD_PAGES, .arg = n, .length = len,
		.payload = (void *)p,
	};
	struct page_target t = {
		.mem = self->mem, .fd = fd ? self->mem_fd : -1,
		.nr_pages = PAGES, .hashes = self->hashes,
	};

	return pages_apply(&t, &f, self->err, sizeof(self->err));
}

static long apply(FIXTURE_DATA(wire) *self, uint64_t n, const void *p,
		  size_t len)
{
	return apply_via(self, true, n, p, len);
}

/* Bytes of the memfd the kernel has allocated. */
static long long allocated(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long long)st.st_blocks * 512;
}

/*
 * A PAGES payload: a descriptor per entry of @pfns (with its flags), each
 * data page filled with @fill + its index and hashed right.  malloc'ed;
 * its length in *len.
 */
static uint8_t *build(const uint64_t *pfns, size_t n, int fill, size_t *len)
{
	const size_t dsz = sizeof(struct vmotion_page_desc);
	uint8_t *buf = calloc(1, n * dsz + n * VMOTION_PAGE_SIZE), *data;
	size_t i;

	if (!buf)
		abort();
	data = buf + n * dsz;
	for (i = 0; i < n; i++) {
		struct vmotion_page_desc d = { .pfn = htole64(pfns[i]) };

		if (!(pfns[i] & VMOTION_PAGE_ZERO)) {
			memset(data, fill + i, VMOTION_PAGE_SIZE);
			d.hash = htole64(page_hash(data));
			data += VMOTION_PAGE_SIZE;
		}
		memcpy(buf + i * dsz, &d, dsz);
	}
	*len = data - buf;
	return buf;
}

TEST_F(wire, pages_good)
{
	static const uint64_t pfns[] = { 3, 5 | VMOTION_PAGE_ZERO };
	size_t len;
	uint8_t *b = build(pfns, 2, 0xab, &len);

	memset(self->mem + 5 * VMOTION_PAGE_SIZE, 0x55, VMOTION_PAGE_SIZE);
	ASSERT_EQ(2, apply(self, 2, b, len)) TH_LOG("%s", self->err);
	EXPECT_EQ(0xab, self->mem[3 * VMOTION_PAGE_SIZE + 100]);
	EXPECT_EQ(0, self->mem[5 * VMOTION_PAGE_SIZE + 100]);
	EXPECT_EQ(page_hash(self->mem + 3 * VMOTION_PAGE_SIZE), self->hashes[3]);
	EXPECT_EQ(page_zero_hash(), self->hashes[5]);
	free(b);
}

TEST_F(wire, pages_both_ways_agree)
{
	/* pfns 7, 8, 9 (one run), zero 10, 20 (a run of its own), zero 30 */
	static const uint64_t pfns[] = { 7, 8, 9, 10 | VMOTION_PAGE_ZERO, 20,
					 30 | VMOTION_PAGE_ZERO };
	size_t n = sizeof(pfns) / sizeof(pfns[0]), len;
	uint8_t *buf = build(pfns, n, 0x10, &len);
	uint64_t ref[PAGES];
	int way;

	for (way = 0; way < 2; way++) {
		/* Pages 10 and 30 held data before: they must read zero. */
		memset(self->mem, 0x77, PAGES * VMOTION_PAGE_SIZE);
		ASSERT_EQ((long)n, apply_via(self, way, n, buf, len)) TH_LOG("%s", self->err);
		EXPECT_EQ(0x10, self->mem[7 * VMOTION_PAGE_SIZE]);
		EXPECT_EQ(0x12, self->mem[10 * VMOTION_PAGE_SIZE - 1]);
		EXPECT_EQ(0, self->mem[10 * VMOTION_PAGE_SIZE]);
		EXPECT_EQ(0, self->mem[11 * VMOTION_PAGE_SIZE - 1]);
		EXPECT_EQ(0x14, self->mem[21 * VMOTION_PAGE_SIZE - 1]);
		EXPECT_EQ(0, self->mem[30 * VMOTION_PAGE_SIZE + 5]);
		EXPECT_EQ(0x77, self->mem[11 * VMOTION_PAGE_SIZE]);
		if (way == 0)
			memcpy(ref, self->hashes, sizeof(ref));
		else
			EXPECT_EQ(0, memcmp(ref, self->hashes, sizeof(ref)));
	}
	EXPECT_EQ(page_hash(self->mem + 20 * VMOTION_PAGE_SIZE), self->hashes[20]);
	EXPECT_EQ(page_zero_hash(), self->hashes[10]);
	free(buf);
}

TEST_F(wire, pages_install_without_clearing_and_free_zeroes)
{
	static const uint64_t two[] = { 40, 41 }, zero[] = { 41 | VMOTION_PAGE_ZERO };
	size_t len, zlen;
	uint8_t *b = build(two, 2, 0xcd, &len), *z = build(zero, 1, 0, &zlen);

	/* Written through the memfd, two pages are two pages of memory. */
	ASSERT_EQ(0, allocated(self->mem_fd));
	ASSERT_EQ(2, apply(self, 2, b, len));
	EXPECT_EQ(2 * VMOTION_PAGE_SIZE, allocated(self->mem_fd));
	EXPECT_EQ(0xce, self->mem[42 * VMOTION_PAGE_SIZE - 1]);
	/* A page that became zero gives its memory back. */
	ASSERT_EQ(1, apply(self, 1, z, zlen));
	EXPECT_EQ(VMOTION_PAGE_SIZE, allocated(self->mem_fd));
	EXPECT_EQ(0, self->mem[41 * VMOTION_PAGE_SIZE]);
	free(b);
	free(z);
}

/* Descriptor @i of payload @b, to be spoiled. */
static struct vmotion_page_desc *desc(uint8_t *b, size_t i)
{
	return (struct vmotion_page_desc *)(b + i * sizeof(struct vmotion_page_desc));
}

TEST_F(wire, pages_bad)
{
	static const uint64_t pfns[] = { 1, 2 };
	const size_t dsz = sizeof(struct vmotion_page_desc);
	size_t len;
	uint8_t *b = build(pfns, 2, 0x42, &len), *orig = malloc(len);

	ASSERT_NE(NULL, orig);
	memcpy(orig, b, len);
#define SPOIL(what) do { memcpy(b, orig, len); what; } while (0)
	/* a page past the guest's end */
	SPOIL(desc(b, 0)->pfn = htole64(PAGES));
	EXPECT_EQ(-1, apply(self, 2, b, len));
	/* reserved descriptor bits */
	SPOIL(desc(b, 0)->pfn = htole64(1ULL << 60));
	EXPECT_EQ(-1, apply(self, 2, b, len));
	/* a zero page with a hash */
	SPOIL(desc(b, 1)->pfn = htole64(2 | VMOTION_PAGE_ZERO));
	EXPECT_EQ(-1, apply(self, 2, b, len - VMOTION_PAGE_SIZE));
	EXPECT_NE(NULL, strstr(self->err, "bad descriptor"));
	/* one page of data missing */
	SPOIL();
	EXPECT_EQ(-1, apply(self, 2, b, len - VMOTION_PAGE_SIZE));
	/* more descriptors than bytes, and too many */
	EXPECT_EQ(-1, apply(self, 3, b, 2 * dsz));
	EXPECT_EQ(-1, apply(self, VMOTION_MAX_BATCH + 1, b, len));
	EXPECT_EQ(-1, apply(self, 0, b, 0));
	/* a bit flipped in the second page's data: its hash says so */
	SPOIL(b[2 * dsz + VMOTION_PAGE_SIZE + 17] ^= 4);
	EXPECT_EQ(-1, apply(self, 2, b, len));
	EXPECT_NE(NULL, strstr(self->err, "checksum mismatch in guest page 2"))
		TH_LOG("%s", self->err);
	/* nothing reached memory, not even the good first page */
	EXPECT_EQ(0, allocated(self->mem_fd));
	EXPECT_EQ(0, self->mem[1 * VMOTION_PAGE_SIZE]);
#undef SPOIL
	free(orig);
	free(b);
}

/*
 * On the wire, a PAGES frame's checksum covers its descriptors; its data
 * is covered by their hashes.  Both kinds of damage are refused.
 */
TEST_F(wire, pages_frame_coverage)
{
	static const uint64_t pfns[] = { 9, 11 };
	const size_t dsz = sizeof(struct vmotion_page_desc);
	struct wire_frame f;
	size_t len;
	uint8_t *b = build(pfns, 2, 0x60, &len);
	struct page_target t = {
		.mem = self->mem, .fd = self->mem_fd, .nr_pages = PAGES,
		.hashes = self->hashes,
	};
	struct {
		struct vmotion_frame h;
		uint8_t p[2 * sizeof(struct vmotion_page_desc) + 2 * VMOTION_PAGE_SIZE];
	} *raw = malloc(sizeof(*raw));

	ASSERT_NE(NULL, raw);
	ASSERT_EQ(len, sizeof(raw->p));
	/* Intact: received and installed. */
	ASSERT_EQ(0, wire_send2(self->sv[0], NULL, VMOTION_CMD_PAGES, 0, 2, b,
				2 * dsz, b + 2 * dsz, len - 2 * dsz));
	ASSERT_EQ(0, wire_recv(self->sv[1], NULL, &f, self->err, sizeof(self->err)));
	EXPECT_EQ(2, pages_apply(&t, &f, self->err, sizeof(self->err)));
	wire_frame_free(&f);
	/* A bit of data flipped in flight: the frame passes, its page not. */
	raw->h = header(VMOTION_CMD_PAGES, len);
	raw->h.arg = htole64(2);
	memcpy(raw->p, b, len);
	raw->h.checksum = htole64(wire_checksum(&raw->h, raw->p, len));
	raw->p[2 * dsz + 5] ^= 1;
	ASSERT_EQ(sizeof(*raw), write(self->sv[0], raw, sizeof(*raw)));
	ASSERT_EQ(0, wire_recv(self->sv[1], NULL, &f, self->err, sizeof(self->err)));
	EXPECT_EQ(-1, pages_apply(&t, &f, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "checksum mismatch in guest page 9"));
	wire_frame_free(&f);
	/* A bit of a descriptor's hash flipped: the frame is refused. */
	raw->p[2 * dsz + 5] ^= 1;
	raw->p[8] ^= 1;
	expect_refused(_metadata, self->sv, raw, sizeof(*raw), "checksum");
	free(raw);
	free(b);
}

/* A PAGES frame of @b (@n descriptors), its data zstd-compressed. */
static struct wire_frame zframe(const uint8_t *b, size_t n, size_t len,
				size_t data_len)
{
	const size_t dsz = sizeof(struct vmotion_page_desc);
	size_t bound = ZSTD_compressBound(data_len), z;
	uint8_t *p = malloc(n * dsz + bound);
	struct wire_frame f = {
		.command = VMOTION_CMD_PAGES, .flags = VMOTION_FRAME_ZSTD,
		.arg = n, .payload = p,
	};

	if (!p)
		abort();
	memcpy(p, b, n * dsz);
	z = ZSTD_compress(p + n * dsz, bound, b + n * dsz, data_len, 1);
	if (ZSTD_isError(z) || n * dsz + data_len > len)
		abort();
	f.length = n * dsz + z;
	return f;
}

TEST_F(wire, pages_compressed)
{
	static const uint64_t pfns[] = { 4, 5, 6 | VMOTION_PAGE_ZERO, 9 };
	const size_t dsz = sizeof(struct vmotion_page_desc);
	size_t len;
	uint8_t *b = build(pfns, 4, 0x30, &len);
	struct page_target t = {
		.mem = self->mem, .fd = self->mem_fd, .nr_pages = PAGES,
		.hashes = self->hashes,
	};
	struct wire_frame f = zframe(b, 4, len, 3 * VMOTION_PAGE_SIZE);
	uint8_t *z = f.payload;

	/* Filled pages shrink to almost nothing, and arrive whole. */
	EXPECT_GT(len / 10, f.length);
	ASSERT_EQ(4, pages_apply(&t, &f, self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	EXPECT_EQ(0x30, self->mem[4 * VMOTION_PAGE_SIZE]);
	EXPECT_EQ(0x31, self->mem[6 * VMOTION_PAGE_SIZE - 1]);
	EXPECT_EQ(0x33, self->mem[10 * VMOTION_PAGE_SIZE - 1]);
	/* A zstd frame that holds two pages where three are announced. */
	free(z);
	f = zframe(b, 4, len, 2 * VMOTION_PAGE_SIZE);
	EXPECT_EQ(-1, pages_apply(&t, &f, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "hold another size")) TH_LOG("%s", self->err);
	/* Garbage where the zstd frame should be. */
	memset((uint8_t *)f.payload + 4 * dsz, 0x5a, f.length - 4 * dsz);
	EXPECT_EQ(-1, pages_apply(&t, &f, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "no zstd frame")) TH_LOG("%s", self->err);
	free(f.payload);
	/* A zstd frame that says its size, then is cut short. */
	f = zframe(b, 4, len, 3 * VMOTION_PAGE_SIZE);
	f.length -= 3;
	EXPECT_EQ(-1, pages_apply(&t, &f, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "does not decompress")) TH_LOG("%s", self->err);
	free(f.payload);
	free(b);
}

TEST_F(wire, compression_flag_only_on_pages)
{
	struct vmotion_frame h = header(VMOTION_CMD_ITER_END, 0);

	h.flags = htole16(VMOTION_FRAME_ZSTD);
	h.checksum = htole64(wire_checksum(&h, NULL, 0));
	expect_refused(_metadata, self->sv, &h, sizeof(h), "not defined for command 4");
}

TEST_F(wire, pages_flag_undefined)
{
	struct vmotion_frame h = header(VMOTION_CMD_PAGES, 0);

	h.flags = htole16(2);
	h.checksum = htole64(wire_checksum(&h, NULL, 0));
	expect_refused(_metadata, self->sv, &h, sizeof(h), "flags 0x2 not defined");
}

TEST(compressor_modes)
{
	static uint8_t random[64 * 1024], filled[64 * 1024];
	struct compressor c;
	char err[128];
	size_t i, n;

	srand(3);
	for (i = 0; i < sizeof(random); i++)
		random[i] = rand();
	memset(filled, 0x11, sizeof(filled));
	ASSERT_EQ(0, compressor_init(&c, "zstd:3", err, sizeof(err)));
	EXPECT_EQ(3, c.level);
	EXPECT_EQ(0, compressor_run(&c, random, sizeof(random)));	/* raw */
	n = compressor_run(&c, filled, sizeof(filled));
	EXPECT_LT(0, n);
	EXPECT_GT(sizeof(filled) / 100, n);
	EXPECT_EQ(sizeof(filled), ZSTD_decompress(random, sizeof(random), c.buf, n));
	EXPECT_EQ(0, memcmp(random, filled, sizeof(filled)));
	compressor_free(&c);
	ASSERT_EQ(0, compressor_init(&c, "none", err, sizeof(err)));
	EXPECT_EQ(0, compressor_run(&c, filled, sizeof(filled)));
	compressor_free(&c);
	ASSERT_EQ(0, compressor_init(&c, "auto", err, sizeof(err)));
	EXPECT_TRUE(c.on);
	compressor_free(&c);
	EXPECT_EQ(-1, compressor_init(&c, "zstd:0", err, sizeof(err)));
	EXPECT_STREQ("zstd's level is 1 to 19", err);
	EXPECT_EQ(-1, compressor_init(&c, "zstd:x", err, sizeof(err)));
	EXPECT_EQ(-1, compressor_init(&c, "lz4", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "one of none, zstd, zstd:LEVEL or auto"));
}

TEST(compress_auto_rule)
{
	/* First compressing, then raw, to measure both ways. */
	EXPECT_TRUE(compress_auto_next(0, 0, 0));
	EXPECT_FALSE(compress_auto_next(1, 50e6, 0));
	/* Then the faster way... */
	EXPECT_TRUE(compress_auto_next(2, 50e6, 12e6));
	EXPECT_FALSE(compress_auto_next(3, 50e6, 190e6));
	/* ...but the slower one every COMPRESS_PROBE windows. */
	EXPECT_FALSE(compress_auto_next(COMPRESS_PROBE, 50e6, 12e6));
	EXPECT_TRUE(compress_auto_next(2 * COMPRESS_PROBE, 50e6, 190e6));
}

/*
 * auto over a link that carries 64 MiB/s: letters compress to half, so
 * compressing wins and most batches are compressed.  (Timing-dependent
 * only in that compressing a batch must take less than the 8 ms the link
 * saves on it.)
 */
TEST(compress_auto_follows_the_link)
{
	static uint8_t pages[256 * 4096];
	struct compressor c;
	char err[128];
	size_t i, z;

	for (i = 0; i < sizeof(pages); i++)
		pages[i] = 'a' + (rand() & 15);
	ASSERT_EQ(0, compressor_init(&c, "auto", err, sizeof(err)));
	for (i = 0; i < 20 * COMPRESS_WINDOW; i++) {
		struct timespec t = { 0 };
		size_t wire;

		z = compressor_run(&c, pages, sizeof(pages));
		wire = z ? z : sizeof(pages);
		/* The link's time for what went on the wire. */
		t.tv_nsec = wire * (1000000000.0 / (64 << 20));
		nanosleep(&t, NULL);
		compressor_sent(&c, sizeof(pages), wire);
	}
	EXPECT_LT(c.rate_off, c.rate_on);
	EXPECT_LT(3 * c.raw_batches, c.zstd_batches) TH_LOG("%llu raw, %llu zstd",
		(unsigned long long)c.raw_batches, (unsigned long long)c.zstd_batches);
	compressor_free(&c);
}

TEST_HARNESS_MAIN
