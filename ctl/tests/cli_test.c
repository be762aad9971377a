// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the command line: ctl/cli.c on a table of its own
 * (what it accepts, what it refuses and the message naming the option),
 * then the real vmotionctl (ctl/vmotionctl, or $VMOTIONCTL) as a
 * process: every command answers --help with its options in 78 columns,
 * its section of the manual page names every one of them, groff reads the
 * page without a warning, and bad input is refused with a message that
 * says what was wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli.h"
#include "kselftest_harness.h"

enum { K_SIZE = 1, K_SIDE, K_FLAG, K_MAX_A, K_MAX_B };

static const struct cli_option opts[] = {
	{ "size", K_SIZE, "SIZE", "a size" },
	{ "side", K_SIDE, "left|right", "a side" },
	{ "flag", K_FLAG, NULL, "a flag" },
	{ "max-a", K_MAX_A, "N", "one maximum" },
	{ "max-b", K_MAX_B, "N", "another" },
	{ NULL },
};

static const struct cli_command cmd = {
	.name = "demo",
	.summary = "A command of the test's own.",
	.synopsis = "--size SIZE [OPTIONS] OPERAND",
	.options = opts,
};

/* What fn wrote to stderr while it ran, in buf. */
static void capture_stderr(char *buf, size_t len, void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

struct run {
	char *argv[8];
	int argc;
	int keys[8];
	const char *args[8];
	int n, last, optind;
};

static void parse_all(void *arg)
{
	struct run *r = arg;
	struct cli_parser p;
	int c;

	cli_init(&p, &cmd, r->argc, r->argv);
	while ((c = cli_next(&p)) > 0 && r->n < 8) {
		r->keys[r->n] = c;
		r->args[r->n++] = p.arg;
	}
	r->last = c;
	r->optind = p.optind;
}

#define RUN(r, ...) do {						\
	static char *v[] = { "demo", __VA_ARGS__, NULL };		\
	memset(&(r), 0, sizeof(r));					\
	for ((r).argc = 0; v[(r).argc]; (r).argc++)			\
		(r).argv[(r).argc] = v[(r).argc];			\
} while (0)

TEST(values_flags_and_operands)
{
	char err[512];
	struct run r;

	RUN(r, "--size", "4M", "--flag", "--side=left", "op", "--size");
	capture_stderr(err, sizeof(err), parse_all, &r);
	ASSERT_EQ(CLI_END, r.last);
	ASSERT_EQ(3, r.n);
	EXPECT_EQ(K_SIZE, r.keys[0]);
	EXPECT_STREQ("4M", r.args[0]);
	EXPECT_EQ(K_FLAG, r.keys[1]);
	EXPECT_EQ(NULL, r.args[1]);
	EXPECT_EQ(K_SIDE, r.keys[2]);
	EXPECT_STREQ("left", r.args[2]);
	/* The first operand ends the options; what follows is operands. */
	EXPECT_EQ(5, r.optind);
	EXPECT_STREQ("", err);
}

TEST(double_dash_and_prefixes)
{
	char err[512];
	struct run r;

	RUN(r, "--fl", "--si=2", "--", "--flag");
	capture_stderr(err, sizeof(err), parse_all, &r);
	/* "--si" is a prefix of --size and --side: ambiguous. */
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_EQ(1, r.n);
	EXPECT_EQ(K_FLAG, r.keys[0]);
	EXPECT_NE(NULL, strstr(err, "\"--si\" is ambiguous: --size or --side"));

	RUN(r, "--siz", "1", "--", "--flag");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_END, r.last);
	EXPECT_EQ(1, r.n);
	EXPECT_EQ(K_SIZE, r.keys[0]);
	EXPECT_EQ(4, r.optind);	/* after "--": "--flag" is an operand */
}

TEST(values_may_start_with_a_dash)
{
	char err[512];
	struct run r;

	/* An option's value is taken whole, whatever it looks like. */
	RUN(r, "--size", "-1", "--side", "--flag", "--size=--x", "--", "op");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_END, r.last);
	ASSERT_EQ(3, r.n);
	EXPECT_STREQ("-1", r.args[0]);
	EXPECT_EQ(K_SIDE, r.keys[1]);
	EXPECT_STREQ("--flag", r.args[1]);
	EXPECT_STREQ("--x", r.args[2]);
	EXPECT_EQ(7, r.optind);
	EXPECT_STREQ("", err);
}

TEST(an_empty_name_is_no_option)
{
	char err[512];
	struct run r;

	/* "--=x" is a prefix of every name; it must name none. */
	RUN(r, "--=x");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_EQ(0, r.n);
	EXPECT_NE(NULL, strstr(err, "vmotionctl demo: \"--=x\" names no option"));

	/* A lone "-" is an operand (as for stdin), not an option. */
	RUN(r, "-", "--flag");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_END, r.last);
	EXPECT_EQ(1, r.optind);
	EXPECT_STREQ("", err);
}

TEST(refusals_name_the_option)
{
	char err[512];
	struct run r;

	RUN(r, "--bogus");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "vmotionctl demo: unknown option \"--bogus\""));
	EXPECT_NE(NULL, strstr(err, "vmotionctl demo --help"));

	RUN(r, "-x");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "unknown option \"-x\""));

	RUN(r, "--size");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "--size needs a value: SIZE"));

	RUN(r, "--flag=yes");
	capture_stderr(err, sizeof(err), parse_all, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "--flag takes no value"));
}

static void choose(void *arg)
{
	static const char *const sides[] = { "left", "middle", "right", NULL };
	struct run *r = arg;
	struct cli_parser p;

	cli_init(&p, &cmd, r->argc, r->argv);
	r->keys[0] = cli_next(&p);
	r->last = cli_choice(&p, sides);
}

TEST(choices_list_what_is_accepted)
{
	char err[512];
	struct run r;

	RUN(r, "--side", "right");
	capture_stderr(err, sizeof(err), choose, &r);
	EXPECT_EQ(K_SIDE, r.keys[0]);
	EXPECT_EQ(2, r.last);
	EXPECT_STREQ("", err);

	RUN(r, "--side", "up");
	capture_stderr(err, sizeof(err), choose, &r);
	EXPECT_EQ(-1, r.last);
	EXPECT_NE(NULL, strstr(err, "--side \"up\": one of left, middle or right"));
}

TEST(help_is_asked_only_as_an_option)
{
	char *a[] = { "demo", "--size", "--help", "op", NULL };
	char *b[] = { "demo", "--flag", "-h", NULL };
	char *c[] = { "demo", "op", "--help", NULL };
	char *d[] = { "demo", "--size=1", "--help", NULL };

	char *e[] = { "demo", "--he", NULL };
	char *f[] = { "demo", "--si", "--help", NULL };
	char *g[] = { "demo", "--", "--help", NULL };
	char *h[] = { "demo", "--size", "1", "--help", NULL };

	EXPECT_EQ(0, cli_wants_help(&cmd, 4, a));	/* --size's value */
	EXPECT_EQ(1, cli_wants_help(&cmd, 3, b));
	EXPECT_EQ(0, cli_wants_help(&cmd, 3, c));	/* an operand */
	EXPECT_EQ(1, cli_wants_help(&cmd, 3, d));
	EXPECT_EQ(1, cli_wants_help(&cmd, 2, e));	/* a prefix, as any option */
	/* An ambiguous option takes no value: the parser refuses it later. */
	EXPECT_EQ(1, cli_wants_help(&cmd, 3, f));
	EXPECT_EQ(0, cli_wants_help(&cmd, 3, g));	/* after "--" */
	EXPECT_EQ(1, cli_wants_help(&cmd, 4, h));
}

static const struct cli_option h_opts[] = {
	{ "hugepages", 1, "SIZE", "a size" },
	{ NULL },
};

static const struct cli_command h_cmd = {
	.name = "h",
	.summary = "An option that shares a prefix with --help.",
	.options = h_opts,
};

static void parse_h(void *arg)
{
	struct run *r = arg;
	struct cli_parser p;

	cli_init(&p, &h_cmd, r->argc, r->argv);
	r->last = cli_next(&p);
}

TEST(help_is_matched_like_any_option)
{
	char *hu[] = { "h", "--h", NULL };
	char *he[] = { "h", "--hel", NULL };
	char err[512];
	struct run r;

	EXPECT_EQ(0, cli_wants_help(&h_cmd, 2, hu));
	EXPECT_EQ(1, cli_wants_help(&h_cmd, 2, he));
	memset(&r, 0, sizeof(r));
	r.argv[0] = "h";
	r.argv[1] = "--h";
	r.argc = 2;
	capture_stderr(err, sizeof(err), parse_h, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "\"--h\" is ambiguous: --hugepages or --help"));
	r.argv[1] = "--help=1";
	capture_stderr(err, sizeof(err), parse_h, &r);
	EXPECT_EQ(CLI_ERROR, r.last);
	EXPECT_NE(NULL, strstr(err, "--help takes no value"));
}

TEST(help_has_a_line_per_option)
{
	const struct cli_option *o;
	char *text = NULL, line[128];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cli_print_help(f, &cmd);
	fclose(f);
	EXPECT_EQ(0, strncmp(text, "usage: vmotionctl demo --size SIZE", 34));
	for (o = opts; o->name; o++) {
		snprintf(line, sizeof(line), "\n  --%s%s%s ", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		EXPECT_NE(NULL, strstr(text, line)) TH_LOG("no line for --%s", o->name);
	}
	EXPECT_NE(NULL, strstr(text, "\n  --help "));
	free(text);
}

/* All of f, in a buffer of its own. */
static char *slurp(FILE *f)
{
	char *text = NULL, buf[4096];
	size_t len = 0, n;
	FILE *o = open_memstream(&text, &len);

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, o);
	fclose(o);
	return text;
}

/*
 * Run the shell command line cmd (stderr to a file); its stdout and
 * stderr, and its exit status (-1 if it did not exit).
 */
static int run_shell(const char *cmd, char **out, char **err)
{
	char cmdline[1024], errpath[] = "/tmp/cli_test.XXXXXX";
	int fd = mkstemp(errpath), status;
	FILE *p, *e;

	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	close(fd);
	snprintf(cmdline, sizeof(cmdline), "%s 2>%s", cmd, errpath);
	p = popen(cmdline, "r");
	if (!p) {
		perror("popen");
		abort();
	}
	*out = slurp(p);
	status = pclose(p);
	e = fopen(errpath, "r");
	if (!e) {
		perror(errpath);
		abort();
	}
	*err = slurp(e);
	fclose(e);
	unlink(errpath);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *bin(void)
{
	return getenv("VMOTIONCTL") ? getenv("VMOTIONCTL") : "ctl/vmotionctl";
}

/* Run vmotionctl with args; its stdout and stderr, and its exit status. */
static int vmotionctl(const char *args, char **out, char **err)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline), "%s %s", bin(), args);
	return run_shell(cmdline, out, err);
}

/*
 * The manual page's section for one command: from its ".SS" line to the
 * next one (or the next .SH), as a string of its own.
 */
static char *man_section(const char *man, const char *name)
{
	char head[64];
	const char *start, *end, *sh;

	snprintf(head, sizeof(head), "\n.SS \"%s\"\n", name);
	start = strstr(man, head);
	if (!start)
		return NULL;
	start += strlen(head);
	end = strstr(start, "\n.SS ");
	sh = strstr(start, "\n.SH ");
	if (!end || (sh && sh < end))
		end = sh ? sh : start + strlen(start);
	return strndup(start, end - start);
}

/* line (the roff of an option's .B) is in section, as a whole line. */
static int has_line(const char *section, const char *line)
{
	size_t n = strlen(line);
	const char *s;

	for (s = strstr(section, line); s; s = strstr(s + 1, line))
		if ((s == section || s[-1] == '\n') && (s[n] == '\n' || s[n] == ' '))
			return 1;
	return 0;
}

TEST(every_command_has_help_and_a_man_section)
{
	char *top, *toperr, *man, *manerr, *line, *save = NULL;
	int commands = 0;

	ASSERT_EQ(0, vmotionctl("--help", &top, &toperr));
	ASSERT_EQ(0, vmotionctl("--man", &man, &manerr));
	EXPECT_EQ(0, strncmp(man, ".TH VMOTIONCTL 8 ", 17));
	line = strstr(top, "commands:\n");
	ASSERT_NE(NULL, line);
	for (line = strtok_r(line + 10, "\n", &save); line && line[0] == ' ';
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32], args[64], *help, *herr, *h, *hsave = NULL, *sec;
		int options = 0;

		if (sscanf(line, " %31s", name) != 1 || name[0] == '-')
			break;
		commands++;
		snprintf(args, sizeof(args), "%s --help", name);
		ASSERT_EQ(0, vmotionctl(args, &help, &herr)) TH_LOG("%s", args);
		sec = man_section(man, name);
		ASSERT_NE(NULL, sec) TH_LOG("man: no section for %s", name);
		/*
		 * Every line of --help fits 78 columns, and each "  --option"
		 * it lists is an option of this command's section of the
		 * manual page.
		 */
		for (h = strtok_r(help, "\n", &hsave); h; h = strtok_r(NULL, "\n", &hsave)) {
			char opt[64], esc[160], *e = esc;
			const char *s;

			EXPECT_GE(78, (int)strlen(h)) TH_LOG("%s --help: \"%s\"", name, h);
			if (strncmp(h, "  --", 4) || sscanf(h + 4, "%63s", opt) != 1)
				continue;
			options++;
			e += sprintf(e, ".B \\-\\-");
			for (s = opt; *s; s++)
				e += sprintf(e, *s == '-' ? "\\-" : "%c", *s);
			EXPECT_TRUE(has_line(sec, esc)) TH_LOG("man: no --%s in %s's section", opt, name);
		}
		EXPECT_LE(1, options) TH_LOG("%s: no --help", name);
		if (!strcmp(name, "migrate"))
			EXPECT_LE(10, options);
		free(sec);
		free(help);
		free(herr);
	}
	EXPECT_LE(10, commands);
	/* The section test can fail: --sdps is migrate's, not run's. */
	line = man_section(man, "run");
	ASSERT_NE(NULL, line);
	EXPECT_FALSE(has_line(line, ".B \\-\\-sdps"));
	EXPECT_FALSE(has_line(line, ".B \\-\\-mem-"));	/* --mem's prefix only */
	EXPECT_TRUE(has_line(line, ".B \\-\\-mem"));
	free(line);
	free(top);
	free(toperr);
	free(man);
	free(manerr);
}

TEST(the_manual_page_is_clean_roff)
{
	char cmd[256], *out, *err;

	/* -ww: every warning; -z: no output, only the diagnostics. */
	snprintf(cmd, sizeof(cmd), "%s --man | groff -man -ww -z", bin());
	EXPECT_EQ(0, run_shell(cmd, &out, &err));
	EXPECT_STREQ("", err);
	free(out);
	free(err);
	/* An unprintable date is refused, not printed as garbage. */
	snprintf(cmd, sizeof(cmd), "SOURCE_DATE_EPOCH=99999999999999999 %s --man", bin());
	EXPECT_NE(0, run_shell(cmd, &out, &err));
	EXPECT_NE(NULL, strstr(err, "SOURCE_DATE_EPOCH"));
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "SOURCE_DATE_EPOCH=0 %s --man", bin());
	EXPECT_EQ(0, run_shell(cmd, &out, &err));
	EXPECT_NE(NULL, strstr(out, "\"1970-01-01\""));
	free(out);
	free(err);
}

TEST(bad_input_is_named)
{
	static const struct { const char *args, *says; } cases[] = {
		{ "migrate --bogus", "unknown option \"--bogus\"" },
		{ "migrate --control /x --to", "--to needs a value: ADDR:PORT" },
		{ "migrate --control /x --to h:1 --sdps maybe", "--sdps \"maybe\": one of auto, on or off" },
		{ "migrate --control /x --to h:1 --max 5", "\"--max\" is ambiguous" },
		{ "migrate --control /x --to h:1 --max-stun 0", "--max-stun \"0\"" },
		{ "migrate --to h:1", "--control SOCKET and --to ADDR:PORT are required" },
		{ "run --payload idle --mem 1x", "--mem \"1x\": not a size" },
		{ "run --payload idle --touch-all=1", "--touch-all takes no value" },
		{ "receive --listen h:1 --control /x --test-drop never", "one of checkpoint or restored" },
		{ "handoff --control /x --force-resume --discard", "exclude each other" },
		{ "save --control /x", "are required" },
		{ "ctl --control /x", "REQUEST" },
		{ "run --h", "\"--h\" is ambiguous: --hugepages or --help" },
		{ "run --payload dirty --rate 5x/s", "--rate \"5x/s\": not a rate" },
		{ "run --payload idle --order up", "--order \"up\": one of seq or random" },
		{ "migrate --=x", "\"--=x\" names no option" },
		{ "migrate --control /x --to h:1 --compress zstd:0", "--compress \"zstd:0\": zstd's level is 1 to 19" },
		{ "migrate --control /x --to h:1 --compress a:b", "--compress \"a:b\": one of none, zstd, zstd:LEVEL or auto" },
		{ "nosuchcommand", "unknown command" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int rc = vmotionctl(cases[i].args, &out, &err);

		EXPECT_NE(0, rc) TH_LOG("%s", cases[i].args);
		EXPECT_NE(NULL, strstr(err, cases[i].says))
			TH_LOG("%s: said \"%s\"", cases[i].args, err);
		free(out);
		free(err);
	}
}

TEST_HARNESS_MAIN
