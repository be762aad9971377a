// SPDX-License-Identifier: GPL-2.0
/*
 * make bench-pages: the migration's per-page data path on the host, with
 * no VM and no network: a sender thread batches the pages of a buffer as
 * migrate does (ctl/migrate/pages.c: copy, hash and zero test, frame),
 * over a UNIX socketpair, to a receiver thread that checks and installs
 * them into a memfd as receive does.  What it prints per side is CPU
 * nanoseconds per page (the thread's own CPU clock, so the other core's
 * load does not count) and the wall rate, the best of --reps runs.
 *
 *   page_path_bench [--mib N] [--zero PERCENT] [--reps N] [--copy]
 *                   [--compress SPEC] [--text]
 *
 * --copy installs through the mapping (memcpy), as receive does for
 * hugetlbfs memory, instead of with pwrite() into the memfd.  --compress
 * is migrate's (none by default here); --text fills pages with letters,
 * which compress, instead of random words, which do not.
 * Zero pages are left out, as in a first pass (the destination starts
 * zeroed).  The first run installs into new memory (the kernel allocates
 * every page), as a first pass does; later runs rewrite the same pages,
 * as later passes do.  Both are printed.
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../ctl/migrate/compress.h"
#include "../ctl/migrate/pages.h"
#include "../ctl/migrate/wire.h"

struct side {
	struct compressor *comp;	/* the sender's, or NULL */
	int fd;			/* its end of the socketpair */
	int mem_fd;		/* the receiver's memory */
	uint8_t *mem;
	uint64_t nr_pages;
	uint64_t *hashes;
	double cpu_s;
	int err;
};

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *send_all(void *arg)
{
	struct side *s = arg;
	struct page_batch b;
	double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	uint64_t pfn;

	if (page_batch_init(&b, s->fd, NULL)) {
		s->err = ENOMEM;
		return NULL;
	}
	b.comp = s->comp;
	for (pfn = 0; pfn < s->nr_pages && !s->err; pfn++)
		if (page_batch_add(&b, s->mem, pfn, s->hashes, true))
			s->err = errno;
	if (!s->err && (page_batch_flush(&b) ||
			wire_send(s->fd, NULL, VMOTION_CMD_ITER_END, 0, NULL, 0)))
		s->err = errno;
	page_batch_free(&b);
	s->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	return NULL;
}

static void *receive_all(void *arg)
{
	struct side *s = arg;
	struct page_target t = {
		.mem = s->mem, .fd = s->mem_fd, .nr_pages = s->nr_pages,
		.hashes = s->hashes,
	};
	double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	struct wire_frame f;
	char err[256];

	for (;;) {
		if (wire_recv(s->fd, NULL, &f, err, sizeof(err))) {
			fprintf(stderr, "page_path_bench: %s\n", err);
			s->err = EPROTO;
			break;
		}
		if (f.command != VMOTION_CMD_PAGES) {
			wire_frame_free(&f);
			break;
		}
		if (pages_apply(&t, &f, err, sizeof(err)) < 0) {
			fprintf(stderr, "page_path_bench: %s\n", err);
			s->err = EPROTO;
			wire_frame_free(&f);
			break;
		}
		wire_frame_free(&f);
	}
	s->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	pages_apply_done();
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: page_path_bench [--mib N] [--zero PERCENT] [--reps N] [--copy] [--compress SPEC] [--text]\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long mib = 256, zero = 10, reps = 5, r, i;
	double best_tx = 1e9, best_rx = 1e9, best_wall = 1e9;
	double first_tx = 0, first_rx = 0, first_wall = 0;
	struct side tx = { 0 }, rx = { 0 };
	uint64_t nr_pages, pfn;
	int memfd, sv[2];
	const char *compress = "none";
	bool copy = false, text = false;
	struct compressor comp;
	char err[128];
	uint8_t *src;

	for (i = 1; i < (unsigned long)argc; i++) {
		unsigned long *v = !strcmp(argv[i], "--mib") ? &mib :
				   !strcmp(argv[i], "--zero") ? &zero :
				   !strcmp(argv[i], "--reps") ? &reps : NULL;

		if (!strcmp(argv[i], "--copy") || !strcmp(argv[i], "--text")) {
			*(argv[i][2] == 'c' ? &copy : &text) = true;
			continue;
		}
		if (!strcmp(argv[i], "--compress") && i + 1 < (unsigned long)argc) {
			compress = argv[++i];
			continue;
		}
		if (!v || i + 1 == (unsigned long)argc)
			return usage();
		*v = strtoul(argv[++i], NULL, 10);
	}
	if (!mib || zero > 100 || !reps)
		return usage();
	if (compressor_init(&comp, compress, err, sizeof(err)))
		return fprintf(stderr, "page_path_bench: --compress %s\n", err), 2;
	nr_pages = (uint64_t)mib << 8;
	src = malloc(nr_pages * VMOTION_PAGE_SIZE);
	memfd = memfd_create("page-path-bench", MFD_CLOEXEC);
	if (!src || memfd < 0 || ftruncate(memfd, nr_pages * VMOTION_PAGE_SIZE))
		return perror("page_path_bench: memory"), 1;
	/* Pages of pseudo-random words; every (100 / zero)th one zero. */
	srand(1);
	for (pfn = 0; pfn < nr_pages; pfn++) {
		uint32_t *w = (uint32_t *)(src + pfn * VMOTION_PAGE_SIZE);

		if (zero && pfn % 100 < zero) {
			memset(w, 0, VMOTION_PAGE_SIZE);
			continue;
		}
		for (i = 0; i < VMOTION_PAGE_SIZE / 4; i++)
			w[i] = text ? 0x61616161 + (rand() & 0x0f0f0f0f) : rand();
	}
	tx.mem = src;
	tx.comp = comp.mode == COMPRESS_NONE ? NULL : &comp;
	rx.mem = mmap(NULL, nr_pages * VMOTION_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, memfd, 0);
	tx.hashes = page_hashes_new(nr_pages);
	rx.hashes = page_hashes_new(nr_pages);
	if (rx.mem == MAP_FAILED || !tx.hashes || !rx.hashes)
		return perror("page_path_bench: memory"), 1;
	tx.nr_pages = rx.nr_pages = nr_pages;
	rx.mem_fd = copy ? -1 : memfd;
	for (r = 0; r < reps; r++) {
		pthread_t a, b;
		double t0, wall;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return perror("page_path_bench: socketpair"), 1;
		tx.fd = sv[0];
		rx.fd = sv[1];
		t0 = clock_s(CLOCK_MONOTONIC);
		pthread_create(&a, NULL, send_all, &tx);
		pthread_create(&b, NULL, receive_all, &rx);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		wall = clock_s(CLOCK_MONOTONIC) - t0;
		close(sv[0]);
		close(sv[1]);
		if (tx.err || rx.err)
			return fprintf(stderr, "page_path_bench: failed\n"), 1;
		if (page_hashes_fold(tx.hashes, nr_pages) !=
		    page_hashes_fold(rx.hashes, nr_pages) ||
		    memcmp(src, rx.mem, nr_pages * VMOTION_PAGE_SIZE))
			return fprintf(stderr, "page_path_bench: memories differ\n"), 1;
		if (!r) {
			first_tx = tx.cpu_s;
			first_rx = rx.cpu_s;
			first_wall = wall;
		}
		best_tx = tx.cpu_s < best_tx ? tx.cpu_s : best_tx;
		best_rx = rx.cpu_s < best_rx ? rx.cpu_s : best_rx;
		best_wall = wall < best_wall ? wall : best_wall;
	}
	printf("page path, %lu MiB, %lu%% zero pages of %s, wire protocol %u, installed by %s, compression %s:\n",
	       mib, zero, text ? "letters" : "random words", VMOTION_WIRE_VERSION,
	       copy ? "memcpy" : "pwrite", compress);
	printf("  into new memory:   send %4.0f ns/page, receive %4.0f ns/page, %6.0f MiB/s\n",
	       first_tx * 1e9 / nr_pages, first_rx * 1e9 / nr_pages,
	       mib / first_wall);
	printf("  best of %lu runs:   send %4.0f ns/page, receive %4.0f ns/page, %6.0f MiB/s\n",
	       reps, best_tx * 1e9 / nr_pages, best_rx * 1e9 / nr_pages,
	       mib / best_wall);
	if (comp.raw_bytes)
		printf("  compressed to %.3f of the data, %llu zstd and %llu raw batches, %.0f ns/page compressing\n",
		       (double)comp.wire_bytes / comp.raw_bytes,
		       (unsigned long long)comp.zstd_batches,
		       (unsigned long long)comp.raw_batches,
		       comp.cpu_s * 1e9 / (reps * nr_pages));
	compressor_free(&comp);
	return 0;
}
