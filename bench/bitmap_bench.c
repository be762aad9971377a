// SPDX-License-Identifier: GPL-2.0
/*
 * make bench-bitmap: the compacted dirty bitmap against the raw bitmap and
 * against Roaring bitmaps (CRoaring, portable serialization after
 * run_optimize, one 32-bit Roaring bitmap per 2^32 pages, summed).
 *
 * Guests of 1 GiB .. 24 TiB are simulated: the bitmap is a lazy anonymous
 * mapping of the full raw size, and only the words a pattern sets are ever
 * touched, because the encoder is given the summary of non-empty regions
 * a harvest will have.  Patterns: ctl/bitmap/tests/patterns.c.  Dense
 * patterns (most pages' words written) run up to 1 TiB only; 24 TiB gets
 * the sparse ones and "full".
 *
 * Captured sets: each bench/captured/<name>/phaseN.bin (the directory is
 * --captured DIR) is one pre-copy harvest of a real Linux guest, as
 * "vmotionctl migrate ... --dump-dirty DIR" writes it: the raw bitmap,
 * little-endian 64-bit words, bit i = guest page i, so the guest is taken
 * to be 8 pages per byte of the file.  Each file is a row
 * "captured:<name>/phaseN", measured like the patterns, the encoder given
 * the summary of non-empty regions a harvest of those words would have.
 * They come from the migration's own tracker, not from soft-dirty bits of
 * QEMU's guest RAM inside the lab: those miss the writes of a nested KVM
 * guest (212 soft-dirty pages of 25962 present while the guest rewrote
 * over 8192 pages a second) and would mislead.  To add one, run
 * "vmotionctl migrate ... --dump-dirty DIR" in the lab while the guest
 * does the workload, copy DIR to bench/captured/<name>/ and describe it
 * in its "source" file (see bench/captured/README).  A missing directory
 * is no captured rows; a malformed capture is an error, so that none is
 * silently left out.
 *
 * "fixed-26k" is one set -- clustered-10 % of a 1 GiB guest, ~26 k pages in
 * 8 regions -- placed in every guest size with its regions spread evenly,
 * to show that encode time follows the dirty pages, not the guest.
 *
 * Times are medians of 1 .. 101 repetitions (about 0.2 s of each) in one
 * process on this machine; the first, cold run is not counted.
 * encode_ns: our encoder with the summary, whole set in 64 KiB chunks;
 * decode_ns: decoding that stream into a bitmap (the receiver's use);
 * roaring_encode_ns: building the Roaring bitmaps from the same words
 * (runs of >= 16 pages added as ranges), run_optimize and serialize;
 * roaring_decode_ns: portable_deserialize_safe only (no bitmap made).
 *
 *   bitmap_bench [--json FILE] [--quick] [--captured DIR]
 *   bitmap_bench --corpus DIR      write fuzzer seeds and exit
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../ctl/bitmap/tests/patterns.h"

#define GIB_PAGES	(1ULL << 18)
#define SEED		42

struct row {
	u64 guest_bytes;
	const char *pattern;
	u64 dirty;
	u64 raw;
	u64 encoded;
	u64 roaring;
	double encode_ns;
	double encode_nosummary_ns;
	double decode_ns;
	double roaring_encode_ns;
	double roaring_decode_ns;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define MAX_REPS	101

/*
 * Repetitions: enough for ~0.2 s per measurement, 1 .. MAX_REPS, so that
 * the medians of microsecond-long runs are not one scheduler hiccup.
 */
static int reps_for(double first_ns)
{
	int n = first_ns > 0 ? 2e8 / first_ns : MAX_REPS;

	return n < 1 ? 1 : n > MAX_REPS ? MAX_REPS : n;
}

static double median(double *t, int n)
{
	qsort(t, n, sizeof(*t), cmp_double);
	return t[n / 2];
}

/* Each run of set pages, in order, visiting only summarized regions. */
static void for_each_run(const struct test_set *s,
			 void (*fn)(void *priv, u64 start, u64 len), void *priv)
{
	u64 nregions = vmtrace_bitmap_nregions(s->npages), r, w, next = 0;
	u64 nwords = DIV_ROUND_UP(s->npages, 64), start = 0;
	bool in_run = false;

	for (r = 0; r < nregions; r++) {
		u64 first = r * (VMTRACE_BITMAP_REGION_PAGES / 64);
		u64 last = first + VMTRACE_BITMAP_REGION_PAGES / 64;

		if (!(s->summary[r / 64] >> (r % 64) & 1))
			continue;
		if (last > nwords)
			last = nwords;
		for (w = first; w < last; w++) {
			unsigned long word = s->bitmap[w];
			unsigned int bit = 0;

			/* a run cannot continue over a skipped region */
			if (in_run && w != next) {
				fn(priv, start, next * 64 - start);
				in_run = false;
			}
			next = w + 1;
			while (bit < 64) {
				unsigned long m = in_run ? ~word >> bit :
						  word >> bit;

				if (!m)
					break;
				bit += __builtin_ctzl(m);
				if (in_run)
					fn(priv, start, w * 64 + bit - start);
				else
					start = w * 64 + bit;
				in_run = !in_run;
			}
		}
	}
	if (in_run)
		fn(priv, start, next * 64 - start);
}

struct roaring_build {
	roaring_bitmap_t **maps;
	uint32_t *batch;
	size_t nbatch;
	u64 batch_chunk;
};

#define BATCH 65536

static void batch_flush(struct roaring_build *b)
{
	if (b->nbatch)
		roaring_bitmap_add_many(b->maps[b->batch_chunk], b->nbatch,
					b->batch);
	b->nbatch = 0;
}

static void roaring_add_run(void *priv, u64 start, u64 len)
{
	struct roaring_build *b = priv;

	while (len) {
		u64 chunk = start >> 32;
		u64 n = len;

		if ((start & 0xffffffffULL) + n > (1ULL << 32))
			n = (1ULL << 32) - (start & 0xffffffffULL);
		if (chunk != b->batch_chunk)
			batch_flush(b);
		b->batch_chunk = chunk;
		if (n >= 16) {
			batch_flush(b);
			roaring_bitmap_add_range_closed(b->maps[chunk],
							(uint32_t)start,
							(uint32_t)(start + n - 1));
		} else {
			u64 i;

			for (i = 0; i < n; i++) {
				if (b->nbatch == BATCH)
					batch_flush(b);
				b->batch[b->nbatch++] = (uint32_t)(start + i);
			}
		}
		start += n;
		len -= n;
	}
}

/* Builds, optimizes and serializes; returns the summed portable size. */
static u64 roaring_encode(const struct test_set *s, char **out, size_t *nout,
			  u64 *nchunks)
{
	struct roaring_build b = { .batch_chunk = 0 };
	u64 n = DIV_ROUND_UP(s->npages, 1ULL << 32), i, total = 0;

	b.maps = calloc(n, sizeof(*b.maps));
	b.batch = malloc(BATCH * sizeof(*b.batch));
	for (i = 0; i < n; i++)
		b.maps[i] = roaring_bitmap_create();
	for_each_run(s, roaring_add_run, &b);
	batch_flush(&b);
	for (i = 0; i < n; i++) {
		roaring_bitmap_run_optimize(b.maps[i]);
		total += roaring_bitmap_portable_size_in_bytes(b.maps[i]);
	}
	*out = malloc(total);
	for (i = 0, *nout = 0; i < n; i++) {
		*nout += roaring_bitmap_portable_serialize(b.maps[i],
							   *out + *nout);
		roaring_bitmap_free(b.maps[i]);
	}
	free(b.maps);
	free(b.batch);
	*nchunks = n;
	return total;
}

/* Deserializes every chunk; returns the total cardinality, as a check. */
static u64 roaring_decode(const char *buf, size_t len, u64 nchunks)
{
	u64 i, card = 0;
	size_t off = 0;

	for (i = 0; i < nchunks; i++) {
		roaring_bitmap_t *r;

		r = roaring_bitmap_portable_deserialize_safe(buf + off,
							     len - off);
		if (!r)
			return ~0ULL;
		off += roaring_bitmap_portable_size_in_bytes(r);
		card += roaring_bitmap_get_cardinality(r);
		roaring_bitmap_free(r);
	}
	return card;
}

struct bench {
	struct test_set s;
	u8 *enc;
	size_t enc_room;
	unsigned long *dec;
	size_t dec_bytes;
};

/* The set and the buffers to encode and decode it, all mapped lazily. */
static int bench_alloc(struct bench *b, u64 npages)
{
	memset(b, 0, sizeof(*b));
	if (test_set_alloc(&b->s, npages))
		return -1;
	b->enc_room = dirty_set_encode_bound(npages, VMTRACE_BITMAP_CHUNK_MAX);
	b->enc = mmap(NULL, b->enc_room, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	b->dec_bytes = b->s.bitmap_bytes;
	b->dec = mmap(NULL, b->dec_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->enc == MAP_FAILED || b->dec == MAP_FAILED)
		return -1;
	return 0;
}

static void bench_free(struct bench *b)
{
	munmap(b->enc, b->enc_room);
	munmap(b->dec, b->dec_bytes);
	test_set_free(&b->s);
}

static int measure(struct bench *b, struct row *row)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = b->s.bitmap, .summary = b->s.summary,
		.npages = b->s.npages,
	};
	double t[MAX_REPS + 1], t0;
	ssize_t len = 0;
	int i, reps;
	char *rbuf = NULL;
	size_t rlen = 0;
	u64 nchunks = 0;

	row->dirty = b->s.dirty;
	row->raw = b->s.bitmap_bytes;

	t0 = now_ns();
	len = dirty_set_encode(&src, VMTRACE_BITMAP_CHUNK_MAX, b->enc,
			       b->enc_room);
	reps = reps_for(now_ns() - t0);
	for (i = 0; i < reps; i++) {
		t0 = now_ns();
		len = dirty_set_encode(&src, VMTRACE_BITMAP_CHUNK_MAX, b->enc,
				       b->enc_room);
		t[i] = now_ns() - t0;
	}
	if (len <= 0)
		return -1;
	row->encoded = len;
	row->encode_ns = median(t, reps);

	src.summary = NULL;
	for (i = 0; i < (reps < 3 ? reps : 3); i++) {
		t0 = now_ns();
		if (dirty_set_encode(&src, VMTRACE_BITMAP_CHUNK_MAX, b->enc,
				     b->enc_room) != len)
			return -1;
		t[i] = now_ns() - t0;
	}
	row->encode_nosummary_ns = median(t, i);

	/* decoding ORs, so repeating it needs no clearing in between */
	madvise(b->dec, b->dec_bytes, MADV_DONTNEED);
	for (i = 0; i < reps + 1; i++) {
		t0 = now_ns();
		if (dirty_set_decode_bitmap(b->enc, len, 0, b->s.npages,
					    b->dec))
			return -1;
		if (i)
			t[i - 1] = now_ns() - t0;
	}
	row->decode_ns = median(t, reps);
	if (memcmp(b->dec, b->s.bitmap, b->s.bitmap_bytes))
		return -1;

	for (i = 0; i < reps; i++) {
		free(rbuf);
		t0 = now_ns();
		row->roaring = roaring_encode(&b->s, &rbuf, &rlen, &nchunks);
		t[i] = now_ns() - t0;
	}
	row->roaring_encode_ns = median(t, reps);
	for (i = 0; i < reps; i++) {
		u64 card;

		t0 = now_ns();
		card = roaring_decode(rbuf, rlen, nchunks);
		t[i] = now_ns() - t0;
		if (card != b->s.dirty)
			return -1;
	}
	row->roaring_decode_ns = median(t, reps);
	free(rbuf);
	return 0;
}

static const char *human(u64 bytes, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, 16, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

/* Wide enough for the longest pattern name, captured ones included. */
static int pattern_width = 15;

static void print_row(const struct row *r)
{
	char g[16], raw[16], enc[16], ro[16];

	printf("%-9s %-*s %11llu %10s %10s %7.3f%% %10s %6.2f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
	       human(r->guest_bytes, g), pattern_width, r->pattern,
	       (unsigned long long)r->dirty, human(r->raw, raw),
	       human(r->encoded, enc), 100.0 * r->encoded / r->raw,
	       human(r->roaring, ro), (double)r->encoded / r->roaring,
	       r->encode_ns / 1e6, r->encode_nosummary_ns / 1e6,
	       r->decode_ns / 1e6, r->roaring_encode_ns / 1e6,
	       r->roaring_decode_ns / 1e6);
	fflush(stdout);
}

static void json_row(FILE *f, const struct row *r, bool last)
{
	fprintf(f, "  {\"guest_bytes\": %llu, \"pattern\": \"%s\", \"dirty_pages\": %llu, \"raw_bytes\": %llu, \"encoded_bytes\": %llu, \"roaring_bytes\": %llu, \"encode_ns\": %.0f, \"decode_ns\": %.0f, \"encode_nosummary_ns\": %.0f, \"roaring_encode_ns\": %.0f, \"roaring_decode_ns\": %.0f}%s\n",
		(unsigned long long)r->guest_bytes, r->pattern,
		(unsigned long long)r->dirty, (unsigned long long)r->raw,
		(unsigned long long)r->encoded, (unsigned long long)r->roaring,
		r->encode_ns, r->decode_ns, r->encode_nosummary_ns,
		r->roaring_encode_ns, r->roaring_decode_ns, last ? "" : ",");
}

/* The fixed set: clustered-10 % of 1 GiB, regions spread over the guest. */
static void fill_fixed(struct test_set *s, const struct test_set *small)
{
	u64 nsmall = vmtrace_bitmap_nregions(small->npages);
	u64 stride = vmtrace_bitmap_nregions(s->npages) / nsmall, r;

	for (r = 0; r < nsmall; r++) {
		u64 from = r * (VMTRACE_BITMAP_REGION_PAGES / 64);
		u64 to = r * stride * (VMTRACE_BITMAP_REGION_PAGES / 64);
		u64 w;

		for (w = 0; w < VMTRACE_BITMAP_REGION_PAGES / 64; w++) {
			s->bitmap[to + w] = small->bitmap[from + w];
			s->dirty += __builtin_popcountl(small->bitmap[from + w]);
		}
		to = r * stride;
		s->summary[to / 64] |= 1UL << (to % 64);
	}
}

/**
 * struct capture - one captured harvest
 * @path: DIR/<name>/phaseN.bin
 * @name: <name>, inside @path
 * @name_len: its length
 * @phase: N
 * @bytes: the file's size, checked when found
 * @pattern: "captured:<name>/phaseN", the row's pattern
 */
struct capture {
	char *path;
	const char *name;
	size_t name_len;
	u64 phase;
	u64 bytes;
	char *pattern;
};

/* A bitmap of 2^33 pages: a 32 TiB guest, more than the bench's largest. */
#define CAPTURE_MAX_BYTES	(1ULL << 30)

/* By capture, then by phase as a number: phase10 after phase9. */
static int cmp_capture(const void *a, const void *b)
{
	const struct capture *x = a, *y = b;
	int c = strncmp(x->name, y->name,
			x->name_len < y->name_len ? x->name_len : y->name_len);

	if (c)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return x->phase < y->phase ? -1 : x->phase > y->phase;
}

/* A raw bitmap of whole 64-bit words, not absurdly large. */
static bool capture_size_ok(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		fprintf(stderr, "bitmap_bench: %s: not a regular file\n", path);
		return false;
	}
	if (st->st_size <= 0 || st->st_size % 8 ||
	    (u64)st->st_size > CAPTURE_MAX_BYTES) {
		fprintf(stderr, "bitmap_bench: %s: %lld bytes, not a bitmap of 64-bit words (8 .. %llu bytes)\n",
			path, (long long)st->st_size,
			(unsigned long long)CAPTURE_MAX_BYTES);
		return false;
	}
	return true;
}

static bool capture_name_ok(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._+-", name[i]))
			return false;
	return true;
}

/*
 * Every DIR/<name>/phaseN.bin, sorted, its name and size checked here so
 * that a bad one fails before the synthetic rows' half minute.  Names go
 * unquoted into the table and the JSON, so they are held to
 * [A-Za-z0-9._+-].  Returns the number found, 0 if DIR does not exist,
 * -1 (said on stderr) on a malformed capture.
 */
static int find_captures(const char *dir, struct capture **out)
{
	struct capture *c;
	struct stat st;
	char *pat;
	glob_t g;
	size_t i;
	int rc;

	*out = NULL;
	if (stat(dir, &st)) {
		fprintf(stderr, "bitmap_bench: %s: %s%s\n", dir, strerror(errno),
			errno == ENOENT ? ", so no captured sets" : "");
		return errno == ENOENT ? 0 : -1;
	}
	if (asprintf(&pat, "%s/*/phase*.bin", dir) < 0)
		return -1;
	rc = glob(pat, 0, NULL, &g);
	free(pat);
	if (rc == GLOB_NOMATCH) {
		fprintf(stderr, "bitmap_bench: no */phase*.bin in %s, so no captured sets\n",
			dir);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "bitmap_bench: %s: cannot list captures\n", dir);
		return -1;
	}
	c = calloc(g.gl_pathc, sizeof(*c));
	if (!c)
		return -1;
	for (i = 0; i < g.gl_pathc; i++) {
		char *path = g.gl_pathv[i];
		char *base = strrchr(path, '/') + 1;
		char *name = base - 1;
		size_t digits;

		while (name > path && name[-1] != '/')
			name--;
		digits = strspn(base + 5, "0123456789");
		if (!digits || strcmp(base + 5 + digits, ".bin")) {
			fprintf(stderr, "bitmap_bench: %s: not phaseN.bin\n",
				path);
			return -1;
		}
		if (!capture_name_ok(name, base - 1 - name)) {
			fprintf(stderr, "bitmap_bench: %s: capture names are [A-Za-z0-9._+-]\n",
				path);
			return -1;
		}
		c[i].path = path;
		c[i].name = name;
		c[i].name_len = base - 1 - name;
		if (stat(path, &st)) {
			fprintf(stderr, "bitmap_bench: %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		if (!capture_size_ok(path, &st))
			return -1;
		c[i].bytes = st.st_size;
		c[i].phase = strtoull(base + 5, NULL, 10);
		if (asprintf(&c[i].pattern, "captured:%.*s/phase%llu",
			     (int)c[i].name_len, name,
			     (unsigned long long)c[i].phase) < 0)
			return -1;
	}
	qsort(c, g.gl_pathc, sizeof(*c), cmp_capture);
	*out = c;
	/* the paths stay in g, used until the process exits */
	return g.gl_pathc;
}

/*
 * Loads a capture as the set of a new @b: the file's words are the bitmap,
 * their popcount the dirty pages, and the summary marks each region with
 * a set page, as a harvest's would.
 */
static int load_capture(const struct capture *c, struct bench *b)
{
	const char *why = NULL;
	struct stat st;
	size_t done = 0;
	u64 w;
	int fd;

	fd = open(c->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		goto err;
	if (!capture_size_ok(c->path, &st))
		goto out;
	if ((u64)st.st_size != c->bytes) {
		why = "changed since the bench started";
		goto err;
	}
	if (bench_alloc(b, c->bytes * 8))
		goto err;
	while (done < b->s.bitmap_bytes) {
		ssize_t n = read(fd, (char *)b->s.bitmap + done,
				 b->s.bitmap_bytes - done);

		if (n <= 0) {
			why = n ? NULL : "shorter than it was";
			bench_free(b);
			goto err;
		}
		done += n;
	}
	close(fd);
	for (w = 0; w < b->s.bitmap_bytes / 8; w++) {
		u64 r = w / (VMTRACE_BITMAP_REGION_PAGES / 64);

		b->s.bitmap[w] = le64toh(b->s.bitmap[w]);
		if (!b->s.bitmap[w])
			continue;
		b->s.dirty += __builtin_popcountl(b->s.bitmap[w]);
		b->s.summary[r / 64] |= 1UL << (r % 64);
	}
	return 0;
err:
	fprintf(stderr, "bitmap_bench: %s: %s\n", c->path,
		why ? why : strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int write_corpus(const char *dir)
{
	static const u64 sizes[] = { 1000, 40000, 100000 };
	unsigned int si, pi;
	u64 rng = SEED;
	int n = 0;

	mkdir(dir, 0755);
	for (si = 0; si < 3 + 8; si++) {
		u64 npages = si < 3 ? sizes[si] : 1 + test_rand(&rng) % 150000;
		struct vmtrace_bitmap_src src = { .npages = npages };
		struct test_set s;
		size_t room;
		u8 *buf;

		if (test_set_alloc(&s, npages))
			return 1;
		room = dirty_set_encode_bound(npages, VMTRACE_BITMAP_CHUNK_MIN);
		buf = malloc(room);
		for (pi = 0; pi < (si < 3 ? test_patterns_count : 1); pi++) {
			char path[512];
			ssize_t len;
			FILE *f;

			test_set_clear(&s);
			if (si < 3)
				test_patterns[pi].fill(&s, &test_patterns[pi],
						       SEED);
			else
				test_fill_mixed(&s, &rng);
			src.bitmap = s.bitmap;
			src.first_page = si * 1000;
			len = dirty_set_encode(&src, VMTRACE_BITMAP_CHUNK_MIN,
					       buf, room);
			snprintf(path, sizeof(path), "%s/%s-%llu", dir,
				 si < 3 ? test_patterns[pi].name : "mixed",
				 (unsigned long long)npages);
			f = fopen(path, "w");
			if (!f || len <= 0 || fwrite(buf, 1, len, f) != (size_t)len)
				return 1;
			fclose(f);
			n++;
		}
		free(buf);
		test_set_free(&s);
	}
	printf("%d seeds in %s\n", n, dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const u64 guests[] = {
		GIB_PAGES, 64 * GIB_PAGES, 1024 * GIB_PAGES,
		24 * 1024 * GIB_PAGES,
	};
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "corpus", required_argument, NULL, 'c' },
		{ "quick", no_argument, NULL, 'q' },
		{ "captured", required_argument, NULL, 'C' },
		{ }
	};
	const char *json = NULL, *captured_dir = "bench/captured";
	unsigned int gi, pi, nrows = 0, ng = 4;
	struct capture *captures;
	struct test_set fixed;
	double t_start = now_ns();
	struct row *rows;
	int c, ncaptures;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = optarg;
		else if (c == 'c')
			return write_corpus(optarg);
		else if (c == 'q')
			ng = 3;
		else if (c == 'C')
			captured_dir = optarg;
		else
			return 2;
	}

	/* before any measuring: a bad capture should not cost a whole run */
	ncaptures = find_captures(captured_dir, &captures);
	if (ncaptures < 0)
		return 1;
	for (c = 0; c < ncaptures; c++)
		if ((int)strlen(captures[c].pattern) > pattern_width)
			pattern_width = strlen(captures[c].pattern);
	rows = calloc(ng * (test_patterns_count + 1) + ncaptures,
		      sizeof(*rows));
	if (!rows)
		return 1;

	if (test_set_alloc(&fixed, GIB_PAGES))
		return 1;
	for (pi = 0; pi < test_patterns_count; pi++)
		if (!strcmp(test_patterns[pi].name, "clustered-10%"))
			test_patterns[pi].fill(&fixed, &test_patterns[pi], SEED);

	printf("# compacted dirty bitmap vs raw and Roaring; times in ms (median); seed %d\n",
	       SEED);
	printf("# enc: encode with summary, 64 KiB chunks; enc-nosum: same without summary (scans every word);\n");
	printf("# dec: decode into a bitmap; roar-enc: build+run_optimize+serialize; roar-dec: deserialize only\n");
	printf("# guests are lazy mappings: only the words a pattern sets are touched; dense patterns stop at 1 TiB\n");
	if (ncaptures)
		printf("# captured:NAME/phaseN: real guests' harvests, %d in %s (bench/captured/README)\n",
		       ncaptures, captured_dir);
	else
		printf("# no captured real-guest set in %s (bench/captured/README)\n",
		       captured_dir);
	printf("%-9s %-*s %11s %10s %10s %8s %10s %6s %9s %9s %9s %9s %9s\n",
	       "guest", pattern_width, "pattern", "dirty", "raw", "encoded",
	       "enc/raw", "roaring", "/roar", "enc", "enc-nosum", "dec",
	       "roar-enc", "roar-dec");
	for (gi = 0; gi < ng; gi++) {
		struct bench b;

		if (bench_alloc(&b, guests[gi]))
			return 1;
		for (pi = 0; pi <= test_patterns_count; pi++) {
			struct row *r = &rows[nrows];

			test_set_clear(&b.s);
			if (pi == test_patterns_count) {
				fill_fixed(&b.s, &fixed);
				r->pattern = "fixed-26k";
			} else {
				const struct pattern *p = &test_patterns[pi];

				if (guests[gi] > 1024 * GIB_PAGES && !p->any_size)
					continue;
				p->fill(&b.s, p, SEED);
				r->pattern = p->name;
			}
			r->guest_bytes = guests[gi] * 4096;
			if (measure(&b, r)) {
				fprintf(stderr, "%s: round trip failed\n",
					r->pattern);
				return 1;
			}
			print_row(r);
			nrows++;
		}
		bench_free(&b);
	}
	for (c = 0; c < ncaptures; c++) {
		struct row *r = &rows[nrows];
		struct bench b;

		if (load_capture(&captures[c], &b))
			return 1;
		r->pattern = captures[c].pattern;
		r->guest_bytes = b.s.npages * 4096;
		if (measure(&b, r)) {
			fprintf(stderr, "%s: round trip failed\n", r->pattern);
			return 1;
		}
		print_row(r);
		nrows++;
		bench_free(&b);
	}

	printf("\n# targets\n");
	for (pi = 0; pi < nrows; pi++) {
		const struct row *r = &rows[pi];

		if (!strcmp(r->pattern, "clustered-0.1%") &&
		    r->guest_bytes == 24ULL << 40)
			printf("24 TiB clustered-0.1%%: %llu bytes (limit 12500000), %.2f ms on 10 GbE\n",
			       (unsigned long long)r->encoded,
			       r->encoded * 8 / 1e10 * 1e3);
		if (!strncmp(r->pattern, "clustered", 9) &&
		    r->encoded > r->roaring)
			printf("LARGER THAN ROARING: %s at %llu bytes of guest\n",
			       r->pattern, (unsigned long long)r->guest_bytes);
	}
	for (pi = 0; pi < nrows; pi++) {
		const struct row *a = &rows[pi], *z;
		unsigned int k;

		if (strcmp(a->pattern, "fixed-26k") || a->guest_bytes != 1ULL << 30)
			continue;
		for (k = 0; k < nrows; k++) {
			z = &rows[k];
			if (!strcmp(z->pattern, "fixed-26k") && z != a)
				printf("fixed-26k: encode %s / 1 GiB = %.2fx (no summary: %.2fx)\n",
				       human(z->guest_bytes, (char[16]){ }),
				       z->encode_ns / a->encode_ns,
				       z->encode_nosummary_ns /
				       a->encode_nosummary_ns);
		}
	}
	printf("# bench took %.1f s\n", (now_ns() - t_start) / 1e9);

	if (json) {
		FILE *f = fopen(json, "w");

		if (!f)
			return 1;
		fprintf(f, "[\n");
		for (pi = 0; pi < nrows; pi++)
			json_row(f, &rows[pi], pi == nrows - 1);
		fprintf(f, "]\n");
		fclose(f);
		printf("# wrote %s\n", json);
	}
	return 0;
}
