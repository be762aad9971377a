// SPDX-License-Identifier: GPL-2.0
/*
 * Writing and checking one stamped page.  Pure functions of the page's
 * memory, its index and its generation, so the unit test and the guest use
 * the same code.
 */
#include "workload.h"

/*
 * A 64-bit mixer (the splitmix64 finaliser constants): every word of a
 * page differs from the same word of the previous generation, so a stale
 * page cannot pass as a fresh one by accident.
 */
static inline uint64_t wl_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * The checksum is order-sensitive (a multiply-add chain) so that two words
 * swapped within the page are caught too, not just flipped bits.
 */
static uint64_t wl_page_sum(const uint64_t *page)
{
	uint64_t sum = 0;
	size_t k;

	for (k = WL_W_DATA; k < WL_PAGE_WORDS; k++)
		sum = (sum ^ page[k]) * 0x100000001b3ULL + k;
	return sum;
}

/**
 * wl_page_write() - rewrite every word of a page for (index, gen)
 * @page: the page, WL_PAGE_SIZE bytes, 8-byte aligned
 * @index: its index in the filled region
 * @gen: the generation written
 *
 * The stamp goes in last: a page caught half-written (which would mean the
 * migration copied it mid-write and never again) fails its checksum.
 */
void wl_page_write(uint64_t *page, uint64_t index, uint64_t gen)
{
	uint64_t seed = wl_mix(index * 0x9e3779b97f4a7c15ULL ^ gen);
	size_t k;

	for (k = WL_W_DATA; k < WL_PAGE_WORDS; k++)
		page[k] = wl_mix(seed + k);
	page[WL_W_MAGIC] = WL_MAGIC;
	page[WL_W_INDEX] = index;
	page[WL_W_GEN] = gen;
	page[WL_W_SUM] = wl_page_sum(page);
}

/**
 * wl_page_check() - compare a page with what was last written to it
 * @page: the page
 * @index: the index it must carry
 * @gen: the generation last written to it
 * @f: filled with the first thing found wrong
 *
 * Return: WL_OK, or the fault (also in @f->fault).
 */
enum wl_fault wl_page_check(const uint64_t *page, uint64_t index, uint64_t gen,
			    struct wl_page_fault *f)
{
	uint64_t sum;

	f->fault = WL_OK;
	f->expected = 0;
	f->found = 0;
	if (page[WL_W_MAGIC] != WL_MAGIC) {
		f->fault = WL_BAD_MAGIC;
		f->expected = WL_MAGIC;
		f->found = page[WL_W_MAGIC];
	} else if (page[WL_W_INDEX] != index) {
		f->fault = WL_BAD_INDEX;
		f->expected = index;
		f->found = page[WL_W_INDEX];
	} else if (page[WL_W_GEN] != gen) {
		f->fault = WL_BAD_GEN;
		f->expected = gen;
		f->found = page[WL_W_GEN];
	} else {
		sum = wl_page_sum(page);
		if (sum != page[WL_W_SUM]) {
			f->fault = WL_BAD_SUM;
			f->expected = page[WL_W_SUM];
			f->found = sum;
		}
	}
	return f->fault;
}

const char *wl_fault_name(enum wl_fault fault)
{
	switch (fault) {
	case WL_OK:
		return "ok";
	case WL_BAD_MAGIC:
		return "magic";
	case WL_BAD_INDEX:
		return "index";
	case WL_BAD_GEN:
		return "gen";
	case WL_BAD_SUM:
		return "sum";
	}
	return "?";
}
