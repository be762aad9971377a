// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl: live migration of KVM virtual machines.
 *
 *   vmotionctl [-j] COMMAND [OPTIONS]
 *
 * Commands are matched by unique prefix, as in ip(8); each names its
 * options in a table (cli.h) from which its parser, its --help and the
 * manual page come.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"
#include "vmotionctl.h"

bool opt_json;

/* In the order --help and the manual page list them. */
static const struct cli_command *const commands[] = {
	&run_command, &ctl_command, &save_command, &migrate_command,
	&receive_command, &handoff_command, &status_command, &trace_command,
	&info_command, &config_command,
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

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

	fprintf(f, "usage: vmotionctl [-j] COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n  -j       print JSON\n"
		   "  --man    print the vmotionctl(8) manual page (roff)\n"
		   "\nvmotionctl COMMAND --help lists a command's options.\n");
}

/* The manual page's date: the build's, or SOURCE_DATE_EPOCH's. */
static int print_man(void)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm *tm;
	char date[32];

	if (epoch) {
		char *end;

		errno = 0;
		t = (time_t)strtoll(epoch, &end, 10);
		if (errno || end == epoch || *end)
			return fail("SOURCE_DATE_EPOCH \"%s\": not a number of seconds",
				    epoch);
	}
	tm = gmtime(&t);
	if (!tm || !strftime(date, sizeof(date), "%Y-%m-%d", tm))
		return fail("SOURCE_DATE_EPOCH \"%s\": not a date it can print",
			    epoch ? epoch : "");
	cli_print_man(stdout, commands, NR_COMMANDS, date);
	return 0;
}

int main(int argc, char **argv)
{
	const struct cli_command *found = NULL;
	size_t i, len;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-j") || !strcmp(argv[1], "-json")) {
			opt_json = true;
		} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[1], "--man")) {
			return print_man();
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
	for (i = 0; i < NR_COMMANDS; i++) {
		if (strncmp(commands[i]->name, argv[1], len))
			continue;
		if (found)
			return fail("\"%s\" is ambiguous (try --help)", argv[1]);
		found = commands[i];
	}
	if (!found)
		return fail("unknown command \"%s\" (try --help)", argv[1]);
	if (cli_wants_help(found, argc - 1, argv + 1)) {
		cli_print_help(stdout, found);
		return 0;
	}
	return found->fn(argc - 1, argv + 1);
}
