// SPDX-License-Identifier: GPL-2.0
/* Compression of PAGES batches, and auto's rule (compress.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "compress.h"
#include "wire.h"

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int compress_parse(const char *spec, enum compress_mode *mode, int *level,
		   char *err, size_t errlen)
{
	char *end;

	*level = 1;
	if (!strcmp(spec, "none")) {
		*mode = COMPRESS_NONE;
	} else if (!strcmp(spec, "auto")) {
		*mode = COMPRESS_AUTO;
	} else if (!strcmp(spec, "zstd")) {
		*mode = COMPRESS_ZSTD;
	} else if (!strncmp(spec, "zstd:", 5)) {
		*mode = COMPRESS_ZSTD;
		*level = strtol(spec + 5, &end, 10);
		if (end == spec + 5 || *end || *level < 1 || *level > 19) {
			snprintf(err, errlen, "zstd's level is 1 to 19");
			return -1;
		}
	} else {
		snprintf(err, errlen, "one of none, zstd, zstd:LEVEL or auto");
		return -1;
	}
	return 0;
}

int compressor_init(struct compressor *c, const char *spec, char *err,
		    size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (compress_parse(spec, &c->mode, &c->level, err, errlen))
		return -1;
	if (c->mode == COMPRESS_NONE)
		return 0;
	/* auto compresses until the rates say otherwise */
	c->on = c->mode == COMPRESS_AUTO;
	c->cap = ZSTD_compressBound((size_t)VMOTION_MAX_BATCH * VMOTION_PAGE_SIZE);
	c->buf = malloc(c->cap);
	c->cctx = ZSTD_createCCtx();
	if (!c->buf || !c->cctx) {
		compressor_free(c);
		snprintf(err, errlen, "out of memory for compression");
		return -1;
	}
	compressor_restart(c);
	return 0;
}

void compressor_free(struct compressor *c)
{
	ZSTD_freeCCtx(c->cctx);
	free(c->buf);
	c->cctx = NULL;
	c->buf = NULL;
}

void compressor_restart(struct compressor *c)
{
	c->batches = 0;
	c->win_t0 = clock_s(CLOCK_MONOTONIC);
	c->win_raw = 0;
}

bool compress_auto_next(unsigned int windows, double rate_on,
			double rate_off)
{
	if (!rate_on)
		return true;
	if (!rate_off)
		return false;
	if (windows % COMPRESS_PROBE == 0)
		return rate_on <= rate_off;	/* try the slower way again */
	return rate_on > rate_off;
}

size_t compressor_run(struct compressor *c, const void *data, size_t len)
{
	double t0, dt;
	size_t n;

	c->raw_bytes += len;
	if (c->mode == COMPRESS_NONE || !len ||
	    (c->mode == COMPRESS_AUTO && !c->on))
		return 0;
	t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	n = ZSTD_compressCCtx(c->cctx, c->buf, c->cap, data, len, c->level);
	dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	c->cpu_s += dt;
	if (ZSTD_isError(n))
		return 0;
	/* What the data does now counts most: a short moving average. */
	if (dt > 0)
		c->speed = c->speed ? 0.75 * c->speed + 0.25 * (len / dt) :
				      len / dt;
	c->ratio = c->ratio ? 0.75 * c->ratio + 0.25 * ((double)n / len) :
			      (double)n / len;
	return n < len ? n : 0;
}

void compressor_sent(struct compressor *c, size_t raw, size_t wire)
{
	double wall, rate, *r;

	c->wire_bytes += wire;
	if (wire < raw)
		c->zstd_batches++;
	else
		c->raw_batches++;
	if (c->mode != COMPRESS_AUTO)
		return;
	c->win_raw += raw;
	if (++c->batches < COMPRESS_WINDOW)
		return;
	wall = clock_s(CLOCK_MONOTONIC) - c->win_t0;
	if (wall > 0) {
		rate = c->win_raw / wall;
		r = c->on ? &c->rate_on : &c->rate_off;
		*r = *r ? 0.5 * *r + 0.5 * rate : rate;
	}
	c->windows++;
	c->on = compress_auto_next(c->windows, c->rate_on, c->rate_off);
	compressor_restart(c);
}

const char *compressor_state(const struct compressor *c)
{
	static char s[32];

	switch (c->mode) {
	case COMPRESS_NONE:
		return "none";
	case COMPRESS_ZSTD:
		snprintf(s, sizeof(s), "zstd:%d", c->level);
		return s;
	default:
		return c->on ? "auto (compressing)" : "auto (raw)";
	}
}
