// SPDX-License-Identifier: GPL-2.0
/*
 * The command line from one table per command (cli.h).  Long options
 * only, as "--name VALUE" or "--name=VALUE", matched exactly or by a
 * unique prefix as getopt_long does; the first operand or "--" ends them.
 * Unlike getopt_long it keeps no global state and its messages name the
 * command, the option and the value it wants.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void complain(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void complain(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmotionctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (vmotionctl %s --help lists the options)\n",
		cmd->name);
}

void cli_init(struct cli_parser *p, const struct cli_command *cmd, int argc,
	      char **argv)
{
	*p = (struct cli_parser){ .cmd = cmd, .argc = argc, .argv = argv,
				  .optind = 1 };
}

/* Every command's last option; main() answers it before the command runs. */
static const struct cli_option help_option = {
	"help", CLI_HELP, NULL, "this text",
};

/* The next option of cmd after o, help_option last. */
static const struct cli_option *next_option(const struct cli_command *cmd,
					    const struct cli_option *o)
{
	if (!o)
		return cmd->options && cmd->options->name ? cmd->options :
							     &help_option;
	if (o == &help_option)
		return NULL;
	return o[1].name ? o + 1 : &help_option;
}

/*
 * The option "--word" names (len: up to any '='), exact or by a unique
 * prefix; *second is set to another option the prefix matches.
 */
static const struct cli_option *lookup(const struct cli_command *cmd,
				       const char *word, size_t len,
				       const struct cli_option **second)
{
	const struct cli_option *o, *found = NULL;

	*second = NULL;
	if (!len)
		return NULL;
	for (o = next_option(cmd, NULL); o; o = next_option(cmd, o)) {
		if (strncmp(o->name, word, len))
			continue;
		if (strlen(o->name) == len) {
			*second = NULL;
			return o;
		}
		if (found)
			*second = o;
		else
			found = o;
	}
	return found;
}

int cli_next(struct cli_parser *p)
{
	const struct cli_option *o, *second;
	char *word, *eq;
	size_t len;

	if (p->optind >= p->argc)
		return CLI_END;
	word = p->argv[p->optind];
	if (!strcmp(word, "--")) {
		p->optind++;
		return CLI_END;
	}
	if (strncmp(word, "--", 2) || !word[2]) {
		if (word[0] == '-' && word[1]) {
			complain(p->cmd, "unknown option \"%s\"", word);
			return CLI_ERROR;
		}
		return CLI_END;	/* the first operand */
	}
	word += 2;
	eq = strchr(word, '=');
	len = eq ? (size_t)(eq - word) : strlen(word);
	if (!len) {
		complain(p->cmd, "\"%s\" names no option", word - 2);
		return CLI_ERROR;
	}
	o = lookup(p->cmd, word, len, &second);
	if (!o) {
		complain(p->cmd, "unknown option \"--%.*s\"", (int)len, word);
		return CLI_ERROR;
	}
	if (second) {
		complain(p->cmd, "\"--%.*s\" is ambiguous: --%s or --%s",
			 (int)len, word, o->name, second->name);
		return CLI_ERROR;
	}
	p->optind++;
	p->opt = o;
	p->arg = NULL;
	if (!o->arg) {
		if (eq && o == &help_option) {
			complain(p->cmd, "--help takes no value");
			return CLI_ERROR;
		}
		if (eq) {
			complain(p->cmd, "--%s takes no value", o->name);
			return CLI_ERROR;
		}
		return o->key;
	}
	if (eq) {
		p->arg = eq + 1;
	} else if (p->optind < p->argc) {
		p->arg = p->argv[p->optind++];
	} else {
		complain(p->cmd, "--%s needs a value: %s", o->name, o->arg);
		return CLI_ERROR;
	}
	return o->key;
}

int cli_choice(const struct cli_parser *p, const char *const *choices)
{
	int i, n;

	for (n = 0; choices[n]; n++)
		if (!strcmp(p->arg, choices[n]))
			return n;
	fprintf(stderr, "vmotionctl %s: --%s \"%s\": one of ", p->cmd->name,
		p->opt->name, p->arg);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", choices[i],
			i + 2 < n ? ", " : i + 1 < n ? " or " : "\n");
	return -1;
}

int cli_bad_value(const struct cli_parser *p, const char *why, ...)
{
	va_list ap;

	fprintf(stderr, "vmotionctl %s: --%s \"%s\": ", p->cmd->name,
		p->opt->name, p->arg);
	va_start(ap, why);
	vfprintf(stderr, why, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_wants_help(const struct cli_command *cmd, int argc, char **argv)
{
	int i;

	/*
	 * Options as the parser reads them, so that the value of an option
	 * ("--cmdline --help") is not taken for a request for help.
	 */
	for (i = 1; i < argc; i++) {
		const struct cli_option *o, *second;
		const char *w = argv[i];

		if (!strcmp(w, "-h"))
			return 1;
		if (!strcmp(w, "--") || strncmp(w, "--", 2))
			return 0;
		o = lookup(cmd, w + 2, strcspn(w + 2, "="), &second);
		if (o == &help_option && !second)
			return 1;
		if (o && !second && o->arg && !strchr(w, '='))
			i++;
	}
	return 0;
}

static int width(const struct cli_option *o)
{
	return 2 + strlen(o->name) + (o->arg ? 1 + strlen(o->arg) : 0);
}

/*
 * text, wrapped at 78 columns, from column col of the current line; the
 * lines after the first indented by indent.
 */
static void wrap(FILE *f, const char *text, int col, int indent)
{
	const char *p = text;
	bool first = true;

	while (*p) {
		size_t n = strcspn(p, " ");

		/* "A | B" breaks after the bar, never before it. */
		if (!strncmp(p + n, " | ", 3))
			n += 2;

		if (!first && col + 1 + (int)n > 78) {
			col = fprintf(f, "\n%*s", indent, "") - 1;
		} else if (!first) {
			col += fprintf(f, " ");
		}
		first = false;
		col += fprintf(f, "%.*s", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* Options this wide or less have their help beside them. */
#define HELP_COLUMN 24

void cli_print_help(FILE *f, const struct cli_command *cmd)
{
	const struct cli_option *o;
	int w = 0;

	int col = fprintf(f, "usage: vmotionctl %s", cmd->name);

	if (cmd->synopsis) {
		fputc(' ', f);
		wrap(f, cmd->synopsis, col + 1, col + 1);
	}
	else
		fputc('\n', f);
	fputc('\n', f);
	wrap(f, cmd->summary, 0, 0);
	if (cmd->description) {
		fputc('\n', f);
		wrap(f, cmd->description, 0, 0);
	}
	for (o = next_option(cmd, NULL); o; o = next_option(cmd, o))
		if (width(o) > w && width(o) <= HELP_COLUMN)
			w = width(o);
	fprintf(f, "\noptions:\n");
	for (o = next_option(cmd, NULL); o; o = next_option(cmd, o)) {
		fprintf(f, "  --%s%s%s", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
		if (width(o) > HELP_COLUMN)
			fprintf(f, "\n%*s", w + 4, "");
		else
			fprintf(f, "%*s", w - width(o) + 2, "");
		wrap(f, o->help, w + 4, w + 4);
	}
}

/*
 * roff-escaped text: '\\', '-' and '"' everywhere, a '.' or '\'' that
 * would start a line, and each newline as a line break.
 */
static void roff(FILE *f, const char *s)
{
	bool line_start = true;

	for (; *s; s++) {
		if (line_start && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		line_start = false;
		if (*s == '\\') {
			fputs("\\e", f);
		} else if (*s == '-') {
			fputs("\\-", f);
		} else if (*s == '"') {
			fputs("\\(dq", f);
		} else if (*s == '\n') {
			fputs("\n.br\n", f);
			line_start = true;
		} else {
			fputc(*s, f);
		}
	}
}

void cli_print_man(FILE *f, const struct cli_command *const *cmds, size_t n,
		   const char *date)
{
	const struct cli_option *o;
	size_t i;

	fprintf(f, ".TH VMOTIONCTL 8 \"%s\" \"vmotion for KVM\" \"System Administration\"\n",
		date);
	fputs(".SH NAME\nvmotionctl \\- live migration of KVM virtual machines\n"
	      ".SH SYNOPSIS\n.B vmotionctl\n[\\fB\\-j\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
	      ".SH DESCRIPTION\n"
	      "vmotionctl runs KVM virtual machines (\\fBrun\\fR), moves them "
	      "between hosts while they run (\\fBmigrate\\fR on the source, "
	      "\\fBreceive\\fR on the destination) and talks to the vmtrace "
	      "module that traces their dirty pages.\n"
	      ".PP\n"
	      "Commands may be abbreviated to a unique prefix.\n"
	      "Their options are long only, written \\fB\\-\\-name\\fR \\fIVALUE\\fR "
	      "or \\fB\\-\\-name=\\fR\\fIVALUE\\fR, and may be abbreviated to a "
	      "prefix that names one option; they end at the first operand or "
	      "at \\fB\\-\\-\\fR.\n"
	      "\\fBvmotionctl\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR lists a "
	      "command's options, as this page does.\n"
	      ".SH OPTIONS\n"
	      ".TP\n.B \\-j\nprint JSON instead of text\n"
	      ".TP\n.BR \\-h \", \" \\-\\-help\nlist the commands\n"
	      ".TP\n.B \\-\\-man\nprint this manual page (roff)\n"
	      ".SH COMMANDS\n", f);
	for (i = 0; i < n; i++) {
		fputs(".SS \"", f);
		roff(f, cmds[i]->name);
		fputs("\"\n.B vmotionctl ", f);
		roff(f, cmds[i]->name);
		fputc('\n', f);
		if (cmds[i]->synopsis)
			roff(f, cmds[i]->synopsis);
		fputs("\n.PP\n", f);
		roff(f, cmds[i]->summary);
		fputc('\n', f);
		if (cmds[i]->description) {
			fputs(".PP\n", f);
			roff(f, cmds[i]->description);
			fputc('\n', f);
		}
		for (o = next_option(cmds[i], NULL); o;
		     o = next_option(cmds[i], o)) {
			fputs(".TP\n.B \\-\\-", f);
			roff(f, o->name);
			if (o->arg) {
				fputs(" \\fI", f);
				roff(f, o->arg);
				fputs("\\fR", f);
			}
			fputc('\n', f);
			roff(f, o->help);
			fputc('\n', f);
		}
	}
	fputs(".SH EXIT STATUS\n0 on success, non-zero on any failure; "
	      "a failed migration leaves the VM running on the source.\n"
	      ".SH SEE ALSO\n"
	      "Documentation/admin-guide/vmotionctl.rst, "
	      "Documentation/admin-guide/vmotion-protocol.rst and "
	      "Documentation/userspace-api/vmtrace.rst in the source tree.\n",
	      f);
}
