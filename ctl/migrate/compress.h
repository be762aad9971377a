/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compression of PAGES batches (migrate --compress): zstd over a batch's
 * page data, sent only when it shrinks, and with `auto` only while the
 * link, not the CPU, is what limits the transfer.
 *
 * How auto decides, from what it measures: the batches go in windows of
 * COMPRESS_WINDOW, and each window measures the rate at which page data
 * (before compression) left, compressed or raw.  The next window takes
 * the way whose rate was higher; one window in COMPRESS_PROBE takes the
 * other way, so that both rates follow the data and the link.  This is
 * the comparison that matters whatever limits the transfer: a slow link
 * favours compression, a CPU shared with the receiver or the guest (or
 * data that does not shrink) favours raw.
 */
#ifndef VMOTION_MIGRATE_COMPRESS_H
#define VMOTION_MIGRATE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPRESS_WINDOW		16	/* batches */
#define COMPRESS_PROBE		8	/* windows */

enum compress_mode {
	COMPRESS_NONE,
	COMPRESS_ZSTD,
	COMPRESS_AUTO,
};

struct compressor {
	enum compress_mode mode;
	int level;
	void *cctx;		/* ZSTD_CCtx */
	uint8_t *buf;		/* the compressed batch */
	size_t cap;

	/* auto */
	bool on;		/* compressing in this window */
	unsigned int batches, windows;
	double win_t0;
	uint64_t win_raw;
	double rate_on, rate_off;	/* page data per second, each way */
	double speed;		/* raw bytes compressed per CPU second */
	double ratio;		/* compressed / raw, last batches */

	/* totals, for the report */
	uint64_t raw_bytes;	/* page data offered */
	uint64_t wire_bytes;	/* page data sent, compressed or not */
	uint64_t zstd_batches, raw_batches;
	double cpu_s;		/* spent compressing */
};

/*
 * @spec: "none", "zstd", "zstd:LEVEL" (1 to 19) or "auto".  0, or -1
 * with what is wrong with it in @err.  Allocates nothing.
 */
int compress_parse(const char *spec, enum compress_mode *mode, int *level,
		   char *err, size_t errlen);
/* A compressor for @spec (as compress_parse()); 0, or -1 and @err. */
int compressor_init(struct compressor *c, const char *spec, char *err,
		    size_t errlen);
void compressor_free(struct compressor *c);

/*
 * A batch's @len bytes of page data: the size of its compressed form in
 * c->buf, or 0 to send it raw (off, or it would not shrink).
 */
size_t compressor_run(struct compressor *c, const void *data, size_t len);
/* After sending a batch of @raw bytes of page data as @wire bytes. */
void compressor_sent(struct compressor *c, size_t raw, size_t wire);
/* A new run of batches (a phase) starts: windows do not span the gap. */
void compressor_restart(struct compressor *c);
/* "none", "zstd:1", "auto (on)"...: for progress lines. */
const char *compressor_state(const struct compressor *c);

/*
 * auto's rule: whether the window after @windows finished ones
 * compresses, given the rates measured each way (0: not yet).
 */
bool compress_auto_next(unsigned int windows, double rate_on,
			double rate_off);

#endif
