// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-copy (source.h): phase -1 sends every populated page, each later
 * phase the pages the tracker harvested since the one before, while the
 * guest runs; after each harvest the convergence check predicts the stun
 * a switchover would cost now, and pre-copy ends when it fits the window.
 * SDPS sizes the vCPUs' sleeps for the next phase when the guest dirties
 * faster than the link carries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bitmap/dirty_set.h"
#include "../vmm/vm.h"
#include "../vmotionctl.h"
#include "source.h"

/* Chunks of the compacted dirty set: 64 KiB, as a netlink attribute. */
#define DIRTY_SET_CHUNK		(64 << 10)

/* Pages holding data in the memfd; holes were never touched by anyone. */
void mig_mask_populated(struct migration *m, uint64_t *bitmap)
{
	uint64_t words = tracker_bitmap_bytes(m->pages) / 8, pfn, end;
	uint64_t *pop = calloc(words, 8);
	off_t off = 0, data, hole;

	if (!pop)
		return;		/* send everything; still correct */
	while (off < (off_t)m->mem_size) {
		data = lseek(m->mem_fd, off, SEEK_DATA);
		if (data < 0)
			break;
		hole = lseek(m->mem_fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = m->mem_size;
		end = ((uint64_t)hole + VM_PAGE_SIZE - 1) / VM_PAGE_SIZE;
		for (pfn = data / VM_PAGE_SIZE; pfn < end && pfn < m->pages; pfn++)
			pop[pfn / 64] |= 1ULL << (pfn % 64);
		off = hole;
	}
	if (off == 0 && errno != ENXIO) {
		free(pop);
		return;		/* no SEEK_DATA here: send everything */
	}
	for (pfn = 0; pfn < words; pfn++)
		bitmap[pfn] &= pop[pfn];
	free(pop);
}

int mig_send_pages(struct migration *m, const uint64_t *bitmap, bool first)
{
	uint64_t w, words = tracker_bitmap_bytes(m->pages) / 8;

	compressor_restart(&m->comp);
	for (w = 0; w < words; w++) {
		uint64_t bits = bitmap[w];

		while (bits) {
			uint64_t pfn = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if (page_batch_add(&m->batch, m->mem, pfn, m->hashes,
					   first))
				return mig_failed(m, "lost the destination: %s",
					      strerror(errno));
		}
	}
	if (page_batch_flush(&m->batch))
		return mig_failed(m, "lost the destination: %s", strerror(errno));
	return 0;
}

/* Wait for the destination's OK to @what; the frame in @f. */
int mig_await_ok(struct migration *m, struct wire_frame *f,
		    const char *what)
{
	char err[256];
	int r = wire_await(m->fd, &m->st, f, err, sizeof(err));

	if (r < 0)
		return mig_failed(m, "lost the destination at %s: %s", what, err);
	if (r > 0)
		return mig_failed(m, "%s", err);
	return 0;
}

static int end_iteration(struct migration *m, int64_t number)
{
	struct wire_frame f;

	if (wire_send(m->fd, &m->st, VMOTION_CMD_ITER_END, (uint64_t)number,
		      NULL, 0))
		return mig_failed(m, "lost the destination: %s", strerror(errno));
	if (mig_await_ok(m, &f, "the end of a phase"))
		return -1;
	wire_frame_free(&f);
	return 0;
}

/*
 * --dump-dirty: a harvest's raw bitmap (little-endian 64-bit words, bit N
 * = page N) as DIR/phaseN.bin, to study real dirty sets (the bitmap
 * benchmark reads such captures).
 */
static void dump_dirty(struct migration *m, int64_t number)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/phase%lld.bin", m->dump_dirty,
		 (long long)number);
	f = fopen(path, "w");
	if (!f || fwrite(m->bitmap, tracker_bitmap_bytes(m->pages), 1, f) != 1)
		fail("--dump-dirty %s: %s", path, strerror(errno));
	if (f)
		fclose(f);
}

/*
 * The compacted encoding of a dirty set (the format of vmtrace_bitmap.h):
 * malloc'ed into *@out, its length, or -1.
 */
ssize_t mig_encode_dirty_set(struct migration *m, const uint64_t *bitmap,
				void **out)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = (const unsigned long *)bitmap,
		.first_page = 0,
		.npages = m->pages,
	};
	size_t bound = dirty_set_encode_bound(m->pages, DIRTY_SET_CHUNK);
	void *buf = malloc(bound);
	ssize_t n;

	if (!buf)
		return -1;
	n = dirty_set_encode(&src, DIRTY_SET_CHUNK, buf, bound);
	if (n < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return n;
}

/*
 * The stun a switchover now would cost, in seconds: every cost measured
 * so far.  The last pages (compressed as the data has been so far) and
 * the checkpoint at the last phase's sending rate; the pause, save and
 * resume of the calibration; the destination's restore (its last one, or
 * as long as the save until one is measured); a harvest and an encoding
 * of the dirty set as the last phase's took; the two round trips of
 * CHECKPOINT and COMMIT.
 */
static double predict_stun(struct migration *m, uint64_t pages_left,
			   double tx_rate)
{
	double ratio = m->comp.raw_bytes ?
		       (double)m->comp.wire_bytes / m->comp.raw_bytes : 1;
	double bytes = pages_left * (VMOTION_PAGE_SIZE * ratio +
				     sizeof(struct vmotion_page_desc)) +
		       m->state_bytes;
	double restore = m->restore_s ? m->restore_s : m->save_s;

	return bytes / tx_rate + m->save_s + restore + m->harvest_s +
	       m->encode_s + 2 * m->rtt_s;
}

int mig_precopy(struct migration *m)
{
	double last_harvest = mig_now(), deadline = m->t_start + m->timeout_s;
	double tx_rate = 0;
	int64_t number = -1, n;

	for (;;) {
		struct iteration *it;
		uint64_t sent0 = m->st.bytes_sent;
		double t0, ts, t1, dirty_rate;
		size_t compact_bytes;

		if (migration_interrupted)
			return mig_failed(m, "interrupted");
		t0 = mig_now();
		n = tracker_harvest(&m->tracker, m->bitmap);
		if (n < 0)
			return mig_failed(m, "dirty-page harvest failed");
		m->harvest_s = mig_now() - t0;
		dirty_rate = number < 0 ? 0 : n / (t0 - last_harvest);
		if (m->dump_dirty && number >= 0)
			dump_dirty(m, number);
		last_harvest = t0;
		if (number >= 0) {
			double predicted = predict_stun(m, n, tx_rate);

			mig_progress("convergence: %lld pages left, dirty %.0f pages/s, transmit %.1f MiB/s, predicted stun %.1f ms (window %u ms)",
				 (long long)n, dirty_rate, tx_rate / (1 << 20),
				 predicted * 1e3, m->max_stun_ms);
			if (predicted * 1e3 <= m->max_stun_ms) {
				m->predicted_stun_ms = predicted * 1e3;
				return 0;
			}
			if (number + 1 >= (int64_t)m->max_iterations)
				return mig_failed(m, "did not converge after %u iterations: dirty rate %.0f pages/s against a transmit rate of %.0f pages/s",
					      m->max_iterations, dirty_rate,
					      tx_rate / VMOTION_PAGE_SIZE);
			if (mig_now() > deadline)
				return mig_failed(m, "timed out after %u s in pre-copy",
					      m->timeout_s);
			/* SDPS: size the vCPU sleeps for the next phase. */
			if (sdps_active(&m->sdps)) {
				int64_t us = sdps_update(&m->sdps, dirty_rate,
							 tx_rate / VMOTION_PAGE_SIZE);

				if (us < 0)
					return mig_failed(m, "SDPS failed");
				mig_progress("SDPS: vCPUs sleep %lld us per %u us of running",
					 (long long)us, m->sdps.period_us);
			}
		} else {
			mig_mask_populated(m, m->bitmap);
			n = 0;
			for (uint64_t w = 0; w < tracker_bitmap_bytes(m->pages) / 8; w++)
				n += __builtin_popcountll(m->bitmap[w]);
		}
		/* What this phase's set costs in the compacted format. */
		{
			void *enc = NULL;
			double e0 = mig_now();
			ssize_t len = mig_encode_dirty_set(m, m->bitmap, &enc);

			m->encode_s = mig_now() - e0;
			compact_bytes = len < 0 ? 0 : len;
			free(enc);
		}
		ts = mig_now();
		if (mig_send_pages(m, m->bitmap, number < 0) ||
		    end_iteration(m, number))
			return -1;
		t1 = mig_now();
		/* The rate of sending alone: the harvest is counted apart. */
		tx_rate = (m->st.bytes_sent - sent0) / (t1 - ts);
		if (m->nr_iter < MAX_ITER_RECORDS) {
			it = &m->iter[m->nr_iter++];
			*it = (struct iteration) {
				.number = number, .pages = n,
				.bytes = m->st.bytes_sent - sent0,
				.dirty_pages_per_s = dirty_rate,
				.tx_bytes_per_s = tx_rate,
				.seconds = t1 - t0,
				.bitmap_bytes = compact_bytes,
				.sdps_us = m->sdps.sleep_us,
			};
		}
		mig_progress("phase %lld: %lld pages, %.1f MiB in %.2f s (%.1f MiB/s); compression %s, %.2f of the data so far",
			     (long long)number, (long long)n,
			     (m->st.bytes_sent - sent0) / 1048576.0, t1 - t0,
			     tx_rate / (1 << 20), compressor_state(&m->comp),
			     m->comp.raw_bytes ? (double)m->comp.wire_bytes /
						 m->comp.raw_bytes : 1.0);
		/* A tiny phase measures latency, not bandwidth: keep a floor. */
		if (tx_rate < 1e6)
			tx_rate = 1e6;
		number++;
	}
}
