// SPDX-License-Identifier: GPL-2.0
/* Command-line options of vmotion-workload. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctl/parse.h"
#include "workload.h"

static const char usage[] =
"usage: vmotion-workload [options]\n"
"  --wss SIZE           working set rewritten, e.g. 64M (default 16M)\n"
"  --fill SIZE          memory filled and checked, >= wss (default: wss)\n"
"  --rate SIZE/s        rewrite rate, e.g. 32M/s (default 16M/s)\n"
"  --order seq|random   order of the rewrites (default seq)\n"
"  --heartbeat TIME     heartbeat interval, 1ms..10ms (default 10ms)\n"
"  --progress TIME      progress line interval, 10ms..200ms (default 200ms)\n"
"  --verify-every TIME  check every page this often (default: on request)\n"
"  --stall-verify TIME  check every page after a heartbeat gap this long,\n"
"                       0 for never (default 100ms)\n"
"  --duration TIME      stop after this long, check, exit (default: run\n"
"                       until SIGTERM or SIGINT, which also check first)\n"
"  --seed N             seed of the random order (default 1)\n"
"  --no-heartbeat       no heartbeat characters (progress lines only)\n"
"  --test-corrupt N     test hook: flip a bit of page N before the first check\n"
"  --test-stale N       test hook: roll page N back one generation before\n"
"                       the first check\n"
"  --help               this text\n"
"TIME is a number with us, ms or s.  SIGUSR1 asks for a check of every page.\n";

/* "10ms", "2s", "500us": a time in microseconds. */
static int parse_time(const char *s, uint64_t *us)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "us", 1 }, { "ms", 1000 }, { "s", 1000000 },
	};
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	size_t i;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].unit))
			continue;
		if (parse_uint(num, 0, UINT64_MAX / units[i].mul, &v))
			return -ERANGE;
		*us = v * units[i].mul;
		return 0;
	}
	return -EINVAL;
}

/* "32M/s": a size followed by "/s". */
static int parse_rate(const char *s, uint64_t *rate)
{
	size_t n = strlen(s);
	char buf[64];

	if (n < 3 || n >= sizeof(buf) || strcmp(s + n - 2, "/s"))
		return -EINVAL;
	memcpy(buf, s, n - 2);
	buf[n - 2] = '\0';
	return parse_size(buf, rate);
}

static int bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "vmotion-workload: --%s \"%s\": %s\n", opt, arg, why);
	return -1;
}

enum {
	OPT_WSS = 256, OPT_FILL, OPT_RATE, OPT_ORDER, OPT_HEARTBEAT,
	OPT_PROGRESS, OPT_VERIFY_EVERY, OPT_STALL_VERIFY, OPT_DURATION,
	OPT_SEED, OPT_NO_HEARTBEAT, OPT_TEST_CORRUPT, OPT_TEST_STALE, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "wss", required_argument, NULL, OPT_WSS },
	{ "fill", required_argument, NULL, OPT_FILL },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "progress", required_argument, NULL, OPT_PROGRESS },
	{ "verify-every", required_argument, NULL, OPT_VERIFY_EVERY },
	{ "stall-verify", required_argument, NULL, OPT_STALL_VERIFY },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "no-heartbeat", no_argument, NULL, OPT_NO_HEARTBEAT },
	{ "test-corrupt", required_argument, NULL, OPT_TEST_CORRUPT },
	{ "test-stale", required_argument, NULL, OPT_TEST_STALE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Page-aligned sizes only: the check works on whole pages. */
static int parse_pages(const char *opt, const char *arg, uint64_t *bytes)
{
	if (parse_size(arg, bytes))
		return bad(opt, arg, "not a size (e.g. 64M)");
	if (*bytes == 0 || *bytes % WL_PAGE_SIZE)
		return bad(opt, arg, "must be a non-zero multiple of 4K");
	if (*bytes > (1ULL << 40))
		return bad(opt, arg, "larger than 1T");
	return 0;
}

/**
 * wl_parse_options() - read the command line into @o
 * @argc: argument count
 * @argv: arguments
 * @o: the options, defaults filled in first
 *
 * Return: 0 to run, 1 when --help was printed, -1 on an error (printed).
 */
int wl_parse_options(int argc, char **argv, struct wl_options *o)
{
	uint64_t v;
	int c;

	*o = (struct wl_options){
		.wss = 16ULL << 20,
		.rate = 16ULL << 20,
		.order = WL_ORDER_SEQ,
		.heartbeat_us = 10000,
		.progress_us = 200000,
		.stall_verify_us = 100000,
		.seed = 1,
		.test_corrupt = -1,
		.test_stale = -1,
	};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		const char *name = c >= OPT_WSS && c <= OPT_HELP ?
				   long_opts[c - OPT_WSS].name : "?";

		switch (c) {
		case OPT_WSS:
			if (parse_pages(name, optarg, &o->wss))
				return -1;
			break;
		case OPT_FILL:
			if (parse_pages(name, optarg, &o->fill))
				return -1;
			break;
		case OPT_RATE:
			/* 16G/s at most keeps the pacing arithmetic in 64 bits for days. */
			if (parse_rate(optarg, &o->rate) || o->rate < WL_PAGE_SIZE ||
			    o->rate > (16ULL << 30))
				return bad(name, optarg,
					   "not a rate of 4K/s to 16G/s (e.g. 32M/s)");
			break;
		case OPT_ORDER:
			if (!strcmp(optarg, "seq"))
				o->order = WL_ORDER_SEQ;
			else if (!strcmp(optarg, "random"))
				o->order = WL_ORDER_RANDOM;
			else
				return bad(name, optarg, "must be seq or random");
			break;
		case OPT_HEARTBEAT:
			/* The blackout is measured from it: 10 ms at most. */
			if (parse_time(optarg, &v) || v < 1000 || v > 10000)
				return bad(name, optarg, "must be 1ms..10ms");
			o->heartbeat_us = v;
			break;
		case OPT_PROGRESS:
			if (parse_time(optarg, &v) || v < 10000 || v > 200000)
				return bad(name, optarg, "must be 10ms..200ms");
			o->progress_us = v;
			break;
		case OPT_VERIFY_EVERY:
			if (parse_time(optarg, &v) || v < 10000)
				return bad(name, optarg, "must be a time of 10ms or more");
			o->verify_every_us = v;
			break;
		case OPT_STALL_VERIFY:
			if (parse_time(optarg, &v) && strcmp(optarg, "0"))
				return bad(name, optarg, "not a time (e.g. 100ms)");
			o->stall_verify_us = strcmp(optarg, "0") ? v : 0;
			break;
		case OPT_DURATION:
			if (parse_time(optarg, &v) || v == 0)
				return bad(name, optarg, "not a time (e.g. 10s)");
			o->duration_us = v;
			break;
		case OPT_SEED:
			if (parse_uint(optarg, 0, UINT64_MAX, &o->seed))
				return bad(name, optarg, "not a number");
			break;
		case OPT_NO_HEARTBEAT:
			o->quiet_heartbeat = true;
			break;
		case OPT_TEST_CORRUPT:
		case OPT_TEST_STALE:
			if (parse_uint(optarg, 0, INT64_MAX, &v))
				return bad(name, optarg, "not a page number");
			if (c == OPT_TEST_CORRUPT)
				o->test_corrupt = v;
			else
				o->test_stale = v;
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage, stdout);
			return 1;
		default:
			fprintf(stderr, "vmotion-workload: unknown option \"%s\"\n%s",
				argv[optind - 1], usage);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmotion-workload: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (!o->fill)
		o->fill = o->wss;
	if (o->fill < o->wss) {
		fprintf(stderr, "vmotion-workload: --fill is smaller than --wss\n");
		return -1;
	}
	if (o->test_corrupt >= (int64_t)(o->fill / WL_PAGE_SIZE) ||
	    o->test_stale >= (int64_t)(o->fill / WL_PAGE_SIZE)) {
		fprintf(stderr, "vmotion-workload: test page beyond --fill\n");
		return -1;
	}
	return 0;
}
