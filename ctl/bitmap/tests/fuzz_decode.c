// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the bitmap decoder: arbitrary bytes are read as a
 * sequence of chunks.  Each chunk the decoder accepts must then decode the
 * same way through both sink paths (raw words, and runs only), and its set
 * must survive a re-encode and decode.  ASan and UBSan catch the rest.
 *
 *   make fuzz-bitmap        (runs 5 minutes; make check runs it 30 s)
 */
#include <stdlib.h>

#include "../dirty_set.h"

/* Keep each input's memory small: larger chunks are only validated. */
#define FUZZ_MAX_PAGES	(1ULL << 22)

struct runs_into {
	unsigned long *map;
	u64 first;
};

static int set_run(void *priv, u64 page, u64 n)
{
	struct runs_into *r = priv;

	for (page -= r->first; n; n--, page++)
		r->map[page / 64] |= 1UL << (page % 64);
	return 0;
}

static void check_chunk(const u8 *data, size_t len, u64 first, u64 npages)
{
	size_t words = DIV_ROUND_UP(npages, 64);
	unsigned long *a = calloc(words, sizeof(long));
	unsigned long *b = calloc(words, sizeof(long));
	unsigned long *c = calloc(words, sizeof(long));
	struct runs_into r = { .map = b, .first = first };
	struct vmtrace_bitmap_src src = {
		.bitmap = a, .first_page = first, .npages = npages,
	};
	size_t room = dirty_set_encode_bound(npages, VMTRACE_BITMAP_CHUNK_MAX);
	u8 *enc = malloc(room);
	ssize_t n;

	if (!a || !b || !c || !enc)
		abort();
	if (dirty_set_decode_bitmap(data, len, first, npages, a))
		abort();
	if (dirty_set_for_each_run(data, len, first, npages, set_run, &r))
		abort();
	if (memcmp(a, b, words * sizeof(long)))
		abort();
	n = dirty_set_encode(&src, VMTRACE_BITMAP_CHUNK_MAX, enc, room);
	if (n <= 0 || dirty_set_decode_bitmap(enc, n, first, npages, c))
		abort();
	if (memcmp(a, c, words * sizeof(long)))
		abort();
	free(enc);
	free(c);
	free(b);
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size) {
		u64 first, npages;
		ssize_t n;

		n = vmtrace_bitmap_decode(data, size, NULL, &first, &npages);
		if (n < 0)
			break;
		if (npages <= FUZZ_MAX_PAGES)
			check_chunk(data, n, first, npages);
		data += n;
		size -= n;
	}
	return 0;
}
