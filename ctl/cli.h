/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line: one table per command (in its ctl/cmd_*.c) names its
 * options, and from it come the parser, `vmotionctl COMMAND --help` and
 * the vmotionctl(8) manual page, so the three cannot disagree.  --help is
 * every command's implicit last option, matched like the others.
 */
#ifndef VMOTION_CLI_H
#define VMOTION_CLI_H

#include <stdio.h>

struct cli_option {
	const char *name;	/* without the leading "--" */
	int key;		/* what cli_next() returns for it, > 0 */
	const char *arg;	/* its value as written in --help; NULL: a flag */
	const char *help;	/* one line */
};

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;	/* one line, for `vmotionctl --help` */
	const char *synopsis;	/* the arguments, as in a man page's SYNOPSIS */
	const char *description;	/* a paragraph, or NULL */
	const struct cli_option *options;	/* ends with { NULL }, or NULL */
};

#define CLI_MAX_OPTIONS 32

enum {
	CLI_END = 0,		/* no more options; optind is the first operand */
	CLI_ERROR = -1,		/* a message naming the option was printed */
	CLI_HELP = -2,		/* --help, for a caller that did not ask first */
};

struct cli_parser {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	char *arg;		/* the current option's value */
	const struct cli_option *opt;	/* the current option */
	int optind;		/* after CLI_END: the first operand */
};

/*
 * Parse argv (argv[0] is the command's name) with cmd's options.  Returns
 * an option's key with p->arg set, CLI_END, or CLI_ERROR after printing
 * "vmotionctl CMD: ..." naming the option: unknown, without its value, or
 * given a value it does not take.
 */
void cli_init(struct cli_parser *p, const struct cli_command *cmd, int argc,
	      char **argv);
int cli_next(struct cli_parser *p);

/*
 * p->arg must be one of choices (NULL-terminated): its index, or -1 after
 * printing "--OPT "VALUE": one of A, B or C".
 */
int cli_choice(const struct cli_parser *p, const char *const *choices);

/* A value cli_next()'s caller refused: "--OPT "VALUE": WHY" (returns 1). */
int cli_bad_value(const struct cli_parser *p, const char *why, ...)
	__attribute__((format(printf, 2, 3)));

/* true when argv (after argv[0]) asks for --help / -h as an option. */
int cli_wants_help(const struct cli_command *cmd, int argc, char **argv);

void cli_print_help(FILE *f, const struct cli_command *cmd);
/* The manual page, roff, for every command; see vmotionctl(8). */
void cli_print_man(FILE *f, const struct cli_command *const *cmds, size_t n,
		   const char *date);

#endif
