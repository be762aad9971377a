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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/handoff.h"
#include "vm_client.h"
#include "vmotionctl.h"

static const struct cli_option handoff_options[] = {
	{ "control", 'C', "PATH", "the VM's control socket, on either side (required)" },
	{ "resolve", 'r', "ADDR:PORT",
	  "committed source: have the destination run the VM, then quit here" },
	{ "force-resume", 'f', NULL,
	  "run the VM here by hand; if the other side runs it too, two copies run" },
	{ "discard", 'd', NULL,
	  "destination in doubt: drop its copy; if the source committed, none is left" },
	{ NULL },
};

static int cmd_handoff(int argc, char **argv);

const struct cli_command handoff_command = {
	.name = "handoff",
	.fn = cmd_handoff,
	.summary = "Show or settle a switchover in doubt (the commit's answer was lost).",
	.synopsis = "--control PATH [--resolve ADDR:PORT | --force-resume | --discard]",
	.description = "Without an option, prints the migration state of the VM at PATH.  "
		       "Documentation/admin-guide/vmotion-protocol.rst has the commit "
		       "protocol and what each choice risks.",
	.options = handoff_options,
};

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

static int cmd_handoff(int argc, char **argv)
{
	const char *control = NULL, *to = NULL;
	int c, force = 0, discard = 0, ret;
	struct vm_client vc;
	struct cli_parser p;

	cli_init(&p, &handoff_command, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'C': control = p.arg; break;
		case 'r': to = p.arg; break;
		case 'f': force = 1; break;
		case 'd': discard = 1; break;
		}
	}
	if (c == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("handoff: unexpected argument \"%s\"", argv[p.optind]);
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
