// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl handoff: see and settle a switchover left in doubt.
 *
 *   vmotionctl handoff --control PATH
 *	which migration the VM at PATH belongs to, and in what state
 *   vmotionctl handoff --control SOURCE --resolve ADDR:PORT
 *	on a committed source: ask the destination again; if it holds the
 *	VM in doubt it is told to run it; once it runs, the source quits
 *   vmotionctl handoff --control PATH --force-resume
 *	resume the VM here by hand, whatever the other side does
 *   vmotionctl handoff --control DESTINATION --discard
 *	drop a destination's copy held in doubt
 *
 * migrate settles a lost COMMIT answer by itself while it can reach the
 * destination (--resolve-timeout); this is for what is left after that.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/handoff.h"
#include "vm_client.h"
#include "vmotionctl.h"

static const struct option handoff_options[] = {
	{ "control", required_argument, NULL, 'C' },
	{ "resolve", required_argument, NULL, 'r' },
	{ "force-resume", no_argument, NULL, 'f' },
	{ "discard", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
	"usage: vmotionctl handoff --control PATH [--resolve ADDR:PORT | --force-resume | --discard]\n"
	"  (no option)          show the migration state of the VM at PATH\n"
	"  --resolve ADDR:PORT  committed source: have the destination run the VM, then quit here\n"
	"  --force-resume       run the VM here by hand; if the other side runs it too, two copies run\n"
	"  --discard            destination in doubt: drop its copy; if the source committed, none is left\n";

/* Print the reply without "ok "/"error "; 0 for ok. */
static int request(struct vm_client *c, const char *req)
{
	int r = vm_client_request(c, req, NULL);

	if (r < 0)
		return fail("%s: the VMM closed the connection", req);
	if (r)
		return fail("%s", c->reply + (strncmp(c->reply, "error ", 6) ? 0 : 6));
	printf("%s\n", c->reply[2] ? c->reply + 3 : "ok");
	return 0;
}

static int resolve(struct vm_client *c, const char *to)
{
	unsigned long long id;
	char err[256];
	const char *p;
	int state;

	if (vm_client_request(c, "migration", NULL))
		return fail("migration: %s", c->reply);
	if (!strstr(c->reply, "role=source state=committed") ||
	    !(p = strstr(c->reply, " id=")))
		return fail("--resolve: the VM at this socket is no committed source (%s)",
			    c->reply + 3);
	id = strtoull(p + 4, NULL, 16);
	state = handoff_resolve(to, id, HANDOFF_COMMIT, 10, err, sizeof(err));
	if (state < 0)
		return fail("--resolve %s: %s; the VM stays paused here, and may be paused or running there: run this again",
			    to, err);
	if (state == VMOTION_HANDOFF_UNKNOWN)
		return fail("--resolve %s: it does not hold migration %016llx. If it never ran the VM there (check its log), --force-resume runs it here",
			    to, id);
	printf("migration %016llx runs at %s; the source quits\n", id, to);
	return request(c, "quit");
}

int cmd_handoff(int argc, char **argv)
{
	const char *control = NULL, *to = NULL;
	int c, force = 0, discard = 0, ret;
	struct vm_client vc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", handoff_options, NULL)) != -1) {
		switch (c) {
		case 'C': control = optarg; break;
		case 'r': to = optarg; break;
		case 'f': force = 1; break;
		case 'd': discard = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 1;
		}
	}
	if (optind < argc)
		return fail("handoff: unexpected argument \"%s\"", argv[optind]);
	if (!control)
		return fail("handoff: --control PATH is required (see --help)");
	if (!!to + force + discard > 1)
		return fail("handoff: --resolve, --force-resume and --discard exclude each other");
	if (vm_client_connect(&vc, control))
		return 1;
	if (to)
		ret = resolve(&vc, to);
	else if (force)
		ret = request(&vc, "force-resume");
	else if (discard)
		ret = request(&vc, "discard");
	else
		ret = request(&vc, "migration");
	vm_client_close(&vc);
	return ret ? 1 : 0;
}
