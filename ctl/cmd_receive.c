// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl receive: the destination of a live migration.  Only the
 * command line: the destination itself is ctl/migrate/destination.h.
 *
 *   vmotionctl receive --listen ADDR:PORT --control PATH [OPTIONS]
 */
#include <sched.h>

#include "cli.h"
#include "migrate/destination.h"
#include "parse.h"
#include "vmotionctl.h"

static const struct cli_option receive_options[] = {
	{ "listen", 'L', "ADDR:PORT", "accept the migration here (required)" },
	{ "control", 'C', "PATH", "the received VM's control socket (required)" },
	{ "console", 'S', "PATH", "serve the VM's serial console on this UNIX socket" },
	{ "log", 'l', "FILE", "append the VM's serial console to FILE (default: stdout)" },
	{ "mem-limit", 'm', "SIZE", "refuse VMs with more memory than this" },
	{ "cpuid-clear", 'c', "LEAF.REG.BIT",
	  "offer the source a CPU without this feature, e.g. 7.ebx.5 (up to 16; tests)" },
	{ "wire-version", 'w', "N", "speak this protocol version (tests of the version check)" },
	{ "vcpu-cpu", 'P', "N", "pin the vCPU threads to this host CPU" },
	{ "test-drop", 'D', "checkpoint|restored",
	  "tests: drop the connection at this switchover step" },
	{ NULL },
};

static int cmd_receive(int argc, char **argv);

const struct cli_command receive_command = {
	.name = "receive",
	.fn = cmd_receive,
	.summary = "Be the destination of a live migration: take one VM, then run it.",
	.synopsis = "--listen ADDR:PORT --control PATH [OPTIONS]",
	.description = "Listens until a migration commits here, then runs the VM as vmotionctl run "
		       "would.  A migration that fails or is rolled back is discarded and the "
		       "next one is awaited; a restored VM whose source may have committed is "
		       "kept paused, never dropped (vmotionctl handoff).",
	.options = receive_options,
};

static int parse_receive_opts(int argc, char **argv, struct receiver *r)
{
	struct cli_parser p;
	uint64_t v;
	int c;

	cli_init(&p, &receive_command, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'L': r->listen = p.arg; break;
		case 'C': r->control = p.arg; break;
		case 'S': r->console = p.arg; break;
		case 'l': r->log = p.arg; break;
		case 'm':
			if (parse_size(p.arg, &r->mem_limit))
				return cli_bad_value(&p, "not a size");
			break;
		case 'c':
			if (r->nr_cpuid_clear == 16)
				return fail("--cpuid-clear: at most 16");
			r->cpuid_clear[r->nr_cpuid_clear++] = p.arg;
			break;
		case 'D': {
			static const char *const steps[] = { "checkpoint", "restored", NULL };

			if (cli_choice(&p, steps) < 0)
				return 1;
			r->test_drop = p.arg;
			break;
		}
		case 'P':
			if (parse_uint(p.arg, 0, CPU_SETSIZE - 1, &v))
				return cli_bad_value(&p, "a host CPU number");
			r->vcpu_cpu = v;
			break;
		case 'w':
			if (parse_uint(p.arg, 1, 65535, &v))
				return cli_bad_value(&p, "a version number");
			r->wire_version = v;
			break;
		}
	}
	if (c == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("receive: unexpected argument \"%s\"", argv[p.optind]);
	if (!r->listen || !r->control)
		return fail("receive: --listen ADDR:PORT and --control PATH are required");
	return 0;
}

static int cmd_receive(int argc, char **argv)
{
	struct receiver r;

	receiver_init(&r);
	if (parse_receive_opts(argc, argv, &r))
		return 1;
	return receiver_run(&r);
}
