// SPDX-License-Identifier: GPL-2.0
/* PAGES batches and per-page hashes. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "pages.h"

static const uint8_t zero_page[VMOTION_PAGE_SIZE];

uint64_t page_hash(const void *page)
{
	return XXH3_64bits(page, VMOTION_PAGE_SIZE);
}

uint64_t page_zero_hash(void)
{
	static uint64_t zero_hash;
	uint64_t h = __atomic_load_n(&zero_hash, __ATOMIC_RELAXED);

	if (!h) {
		h = page_hash(zero_page);
		__atomic_store_n(&zero_hash, h, __ATOMIC_RELAXED);
	}
	return h;
}

bool page_is_zero(const void *page)
{
	const uint64_t *w = page;
	unsigned int i;

	for (i = 0; i < VMOTION_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

uint64_t page_hash_zero(const void *page, bool *zero)
{
	uint64_t h = page_hash(page);

	*zero = h == page_zero_hash() && page_is_zero(page);
	return h;
}

uint64_t *page_hashes_new(uint64_t nr_pages)
{
	uint64_t *h = malloc(nr_pages * sizeof(*h));
	uint64_t z = page_zero_hash(), i;

	if (h)
		for (i = 0; i < nr_pages; i++)
			h[i] = z;
	return h;
}

uint64_t page_hashes_fold(const uint64_t *hashes, uint64_t nr_pages)
{
	return XXH64(hashes, nr_pages * sizeof(*hashes), 0);
}

/*
 * @n pages of @data at page @pfn of the target: written into the memfd
 * when they are @fresh (not allocated yet), else copied into the mapping
 * (the pages exist; shmem's write path would cost more per page).
 */
static int install(const struct page_target *t, bool fresh, uint64_t pfn,
		   const uint8_t *data, uint64_t n, char *err, size_t errlen)
{
	size_t len = n * VMOTION_PAGE_SIZE;
	off_t off = pfn * VMOTION_PAGE_SIZE;

	if (!fresh) {
		memcpy(t->mem + off, data, len);
		return 0;
	}
	while (len) {
		ssize_t w = pwrite(t->fd, data, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "installing guest page %llu: %s",
				 (unsigned long long)(off / VMOTION_PAGE_SIZE),
				 w < 0 ? strerror(errno) : "short write");
			return -1;
		}
		data += w;
		len -= w;
		off += w;
	}
	return 0;
}

static int install_zero(const struct page_target *t, uint64_t pfn,
			char *err, size_t errlen)
{
	off_t off = pfn * VMOTION_PAGE_SIZE;

	if (t->fd < 0) {
		memset(t->mem + off, 0, VMOTION_PAGE_SIZE);
		return 0;
	}
	if (fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      VMOTION_PAGE_SIZE)) {
		snprintf(err, errlen, "zeroing guest page %llu: %s",
			 (unsigned long long)pfn, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The page data of a compressed PAGES frame, after its descriptors (@off
 * bytes): exactly @nr_data pages, decompressed into a buffer of this
 * thread's.  NULL with the reason in @err.
 */
static __thread uint8_t *unzip_buf;
static __thread ZSTD_DCtx *unzip_ctx;

void pages_apply_done(void)
{
	free(unzip_buf);
	ZSTD_freeDCtx(unzip_ctx);
	unzip_buf = NULL;
	unzip_ctx = NULL;
}

static const uint8_t *decompress(const struct wire_frame *f, size_t off,
				 uint64_t nr_data, char *err, size_t errlen)
{
	size_t need = nr_data * VMOTION_PAGE_SIZE, clen = f->length - off, n;
	const uint8_t *src = (const uint8_t *)f->payload + off;
	unsigned long long size;

	if (!nr_data) {
		snprintf(err, errlen, "PAGES frame: compressed, but no data pages");
		return NULL;
	}
	size = ZSTD_getFrameContentSize(src, clen);
	if (size != need) {
		snprintf(err, errlen, "PAGES frame: a compressed %zu bytes that %s, where %llu data pages need %zu",
			 clen, size == ZSTD_CONTENTSIZE_ERROR ? "are no zstd frame" :
			 size == ZSTD_CONTENTSIZE_UNKNOWN ? "do not say their size" :
			 "hold another size", (unsigned long long)nr_data, need);
		return NULL;
	}
	if (!unzip_buf)
		unzip_buf = malloc((size_t)VMOTION_MAX_BATCH * VMOTION_PAGE_SIZE);
	if (!unzip_ctx)
		unzip_ctx = ZSTD_createDCtx();
	if (!unzip_buf || !unzip_ctx) {
		snprintf(err, errlen, "PAGES frame: out of memory to decompress");
		return NULL;
	}
	n = ZSTD_decompressDCtx(unzip_ctx, unzip_buf, need, src, clen);
	if (ZSTD_isError(n) || n != need) {
		snprintf(err, errlen, "PAGES frame: its zstd data does not decompress: %s",
			 ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
		return NULL;
	}
	return unzip_buf;
}

long pages_apply(const struct page_target *t, const struct wire_frame *f,
		 char *err, size_t errlen)
{
	const size_t dsz = sizeof(struct vmotion_page_desc);
	uint64_t n = f->arg, i, nr_data = 0, pfn, hash[VMOTION_MAX_BATCH];
	uint64_t run_pfn = 0, run_len = 0, zero_hash = page_zero_hash();
	const uint8_t *data, *pages, *run_data = NULL;
	struct vmotion_page_desc d;
	bool fresh, run_fresh = false;

	if (n == 0 || n > VMOTION_MAX_BATCH || f->length < n * dsz) {
		snprintf(err, errlen, "PAGES frame: %llu descriptors in %llu bytes",
			 (unsigned long long)n, (unsigned long long)f->length);
		return -1;
	}
	for (i = 0; i < n; i++) {
		memcpy(&d, (const uint8_t *)f->payload + i * dsz, dsz);
		pfn = le64toh(d.pfn);
		if (pfn & ~(VMOTION_PAGE_ZERO | VMOTION_PFN_MASK) ||
		    (pfn & VMOTION_PFN_MASK) >= t->nr_pages ||
		    (pfn & VMOTION_PAGE_ZERO && d.hash)) {
			snprintf(err, errlen, "PAGES frame: bad descriptor %#llx/%#llx for a guest of %llu pages",
				 (unsigned long long)pfn,
				 (unsigned long long)le64toh(d.hash),
				 (unsigned long long)t->nr_pages);
			return -1;
		}
		if (!(pfn & VMOTION_PAGE_ZERO))
			nr_data++;
	}
	if (f->flags & VMOTION_FRAME_ZSTD) {
		data = decompress(f, n * dsz, nr_data, err, errlen);
		if (!data)
			return -1;
	} else if (f->length != n * dsz + nr_data * VMOTION_PAGE_SIZE) {
		snprintf(err, errlen, "PAGES frame: %llu bytes, %llu descriptors need %llu",
			 (unsigned long long)f->length, (unsigned long long)n,
			 (unsigned long long)(n * dsz + nr_data * VMOTION_PAGE_SIZE));
		return -1;
	} else {
		data = (const uint8_t *)f->payload + n * dsz;
	}
	pages = data;
	/* Every page against its hash, before any of them is installed. */
	for (i = 0; i < n; i++) {
		memcpy(&d, (const uint8_t *)f->payload + i * dsz, dsz);
		if (le64toh(d.pfn) & VMOTION_PAGE_ZERO) {
			hash[i] = page_zero_hash();
			continue;
		}
		hash[i] = page_hash(data);
		if (hash[i] != le64toh(d.hash)) {
			snprintf(err, errlen, "PAGES frame: checksum mismatch in guest page %llu (its hash is %#llx, the descriptor says %#llx)",
				 (unsigned long long)(le64toh(d.pfn) & VMOTION_PFN_MASK),
				 (unsigned long long)hash[i],
				 (unsigned long long)le64toh(d.hash));
			return -1;
		}
		data += VMOTION_PAGE_SIZE;
	}
	/*
	 * Data pages lie back to back in the frame, so a run of consecutive
	 * page numbers (a first pass is nothing else) is one write.  A page
	 * whose hash here is still the zero page's has never been installed
	 * (or was punched out): it is fresh.
	 */
	data = pages;
	for (i = 0; i < n; i++) {
		bool zero;

		memcpy(&d, (const uint8_t *)f->payload + i * dsz, dsz);
		pfn = le64toh(d.pfn) & VMOTION_PFN_MASK;
		zero = le64toh(d.pfn) & VMOTION_PAGE_ZERO;
		fresh = t->fd >= 0 && t->hashes[pfn] == zero_hash;
		if (run_len && (zero || pfn != run_pfn + run_len ||
				fresh != run_fresh)) {
			if (install(t, run_fresh, run_pfn, run_data, run_len,
				    err, errlen))
				return -1;
			run_len = 0;
		}
		t->hashes[pfn] = hash[i];
		if (zero) {
			if (install_zero(t, pfn, err, errlen))
				return -1;
			continue;
		}
		if (!run_len) {
			run_pfn = pfn;
			run_data = data;
			run_fresh = fresh;
		}
		run_len++;
		data += VMOTION_PAGE_SIZE;
	}
	if (run_len && install(t, run_fresh, run_pfn, run_data, run_len, err,
			       errlen))
		return -1;
	return n;
}

int page_batch_init(struct page_batch *b, int fd, struct wire_stats *st)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->st = st;
	b->data = malloc((size_t)VMOTION_MAX_BATCH * VMOTION_PAGE_SIZE);
	return b->data ? 0 : -1;
}

void page_batch_free(struct page_batch *b)
{
	free(b->data);
	b->data = NULL;
}

int page_batch_flush(struct page_batch *b)
{
	int ret;
	size_t raw = (size_t)b->nr_data * VMOTION_PAGE_SIZE, z = 0;

	if (!b->n)
		return 0;
	if (b->comp)
		z = compressor_run(b->comp, b->data, raw);
	ret = wire_send2(b->fd, b->st, VMOTION_CMD_PAGES,
			 z ? VMOTION_FRAME_ZSTD : 0, b->n, b->desc,
			 b->n * sizeof(b->desc[0]), z ? b->comp->buf : b->data,
			 z ? z : raw);
	if (b->comp && raw)
		compressor_sent(b->comp, raw, z ? z : raw);
	b->n = b->nr_data = 0;
	return ret;
}

int page_batch_add(struct page_batch *b, const uint8_t *mem, uint64_t pfn,
		   uint64_t *hashes, bool skip_zero)
{
	uint8_t *slot = b->data + (size_t)b->nr_data * VMOTION_PAGE_SIZE;

	bool zero;

	/*
	 * Copy first: the guest may be writing this page as we read it, and
	 * what is sent must be what was hashed.
	 */
	memcpy(slot, mem + pfn * VMOTION_PAGE_SIZE, VMOTION_PAGE_SIZE);
	hashes[pfn] = page_hash_zero(slot, &zero);
	if (zero) {
		b->zero_pages++;
		if (skip_zero)
			return 0;
		b->desc[b->n++] = (struct vmotion_page_desc){
			.pfn = htole64(pfn | VMOTION_PAGE_ZERO),
		};
	} else {
		b->data_pages++;
		b->desc[b->n++] = (struct vmotion_page_desc){
			.pfn = htole64(pfn), .hash = htole64(hashes[pfn]),
		};
		b->nr_data++;
	}
	return b->n == VMOTION_MAX_BATCH ? page_batch_flush(b) : 0;
}
