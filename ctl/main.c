// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl: live migration of KVM virtual machines.
 *
 *   vmotionctl [-j] COMMAND [ARGS]
 *
 * Commands are matched by unique prefix, as in ip(8).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "vmotionctl.h"

bool opt_json;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
	/* The synopsis --help prints; NULL: the command prints its own. */
	const char *usage;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a VM: --kernel BZIMAGE | --payload idle|dirty | --restore STATE",
	  "run --kernel BZIMAGE [--initrd F] [--cmdline S] | --payload idle|dirty\n"
	  "        [--mem SIZE] [--cpus N] [--control PATH] [--console PATH] [--log FILE]\n"
	  "        [--hugepages 2M|1G] [--rate R] [--wss P%] [--touch-all] [--order seq|random]\n"
	  "        [--tick-hz HZ] [--vcpu-cpu N] [--shutdown-dump FILE]\n"
	  "    run --restore STATE --mem-file F [--control PATH] [--console PATH] [--log FILE]" },
	{ "ctl", cmd_ctl, "--control PATH REQUEST: one request to a running VM",
	  "ctl --control PATH REQUEST [ARG]   (requests: Documentation/admin-guide/vmotionctl.rst)" },
	{ "save", cmd_save, "--control PATH --state F --mem-file F [--quit]: checkpoint a VM",
	  "save --control PATH --state FILE --mem-file FILE [--quit]" },
	{ "migrate", cmd_migrate, "--control SOCKET --to ADDR:PORT [--max-stun MS] [--json F]: live-migrate a VM",
	  "migrate --control SOCKET --to ADDR:PORT [--tracker auto|kvm|vmtrace|vmtrace-stock|vmtrace-hierarchical]\n"
	  "        [--sdps auto|on|off] [--max-stun MS] [--max-iterations N] [--timeout S]\n"
	  "        [--resolve-timeout S] [--dump-dirty DIR] [--json FILE]" },
	{ "receive", cmd_receive, "--listen ADDR:PORT --control PATH: be the destination of a migration",
	  "receive --listen ADDR:PORT --control PATH [--console PATH] [--log FILE]\n"
	  "        [--mem-limit SIZE] [--cpuid-clear LEAF.REG.BIT] [--wire-version N]\n"
	  "        [--test-drop checkpoint|restored] [--vcpu-cpu N]" },
	{ "handoff", cmd_handoff, "--control PATH [--resolve ADDR:PORT|--force-resume|--discard]: settle a switchover in doubt",
	  NULL },
	{ "status", cmd_trace_status, "vmtrace's sessions, one line each",
	  "status" },
	{ "trace", cmd_trace_stats, "vmtrace's sessions with all their statistics",
	  "trace" },
	{ "info", cmd_info, "show what vmtrace reports about itself and KVM",
	  "info" },
	{ "config", cmd_config, "flush-deadline-us N: set vmtrace's TLB-flush deadline",
	  "config flush-deadline-us N" },
};

int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vmotionctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vmotionctl [-j] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n  -j   print JSON\n");
}

int main(int argc, char **argv)
{
	const struct command *found = NULL;
	size_t i, len;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-j") || !strcmp(argv[1], "-json")) {
			opt_json = true;
		} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage(stdout);
			return 0;
		} else {
			return fail("unknown option \"%s\" (try --help)", argv[1]);
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	out_init(stdout, opt_json);

	len = strlen(argv[1]);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strncmp(commands[i].name, argv[1], len))
			continue;
		if (found)
			return fail("\"%s\" is ambiguous (try --help)", argv[1]);
		found = &commands[i];
	}
	if (!found)
		return fail("unknown command \"%s\" (try --help)", argv[1]);
	if (found->usage && argc > 2 &&
	    (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		const char *what = strstr(found->help, ": ");

		printf("usage: vmotionctl %s\n\n%s.\n", found->usage,
		       what ? what + 2 : found->help);
		return 0;
	}
	return found->fn(argc - 1, argv + 1);
}
