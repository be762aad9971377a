// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl migrate: move a running VM to a `vmotionctl receive`.  Only
 * the command line: the migration itself is ctl/migrate/source.h.
 *
 *   vmotionctl migrate --control SOCKET --to ADDR:PORT [OPTIONS]
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "migrate/source.h"
#include "parse.h"
#include "vmotionctl.h"

static const struct cli_option migrate_options[] = {
	{ "control", 'C', "SOCKET", "the source VM's control socket (required)" },
	{ "to", 't', "ADDR:PORT", "where vmotionctl receive listens (required)" },
	{ "tracker", 'T', "auto|kvm|vmtrace|vmtrace-stock|vmtrace-hierarchical",
	  "how dirty pages are found (default auto: vmtrace when loaded)" },
	{ "sdps", 'S', "auto|on|off", "slow the vCPUs when the guest outruns the link (default auto)" },
	{ "max-stun", 's', "MS", "the switchover's window, 1 to 60000 ms (default 500)" },
	{ "max-iterations", 'i', "N", "pre-copy passes before giving up, 1 to 10000 (default 30)" },
	{ "timeout", 'o', "S", "roll back if pre-copy has not converged S seconds after the start, 1 to 86400 (default 300)" },
	{ "resolve-timeout", 'r', "S",
	  "ask for a lost commit answer this long, 0 to 86400 (default 60)" },
	{ "compress", 'z', "none|zstd[:LEVEL]|auto",
	  "compress page batches with zstd; auto: only while the link, not the CPU, limits (default auto)" },
	{ "dump-dirty", 'd', "DIR", "write each pass's dirty bitmap into DIR" },
	{ "json", 'j', "FILE", "write the migration's report as JSON to FILE" },
	{ NULL },
};

static int cmd_migrate(int argc, char **argv);

const struct cli_command migrate_command = {
	.name = "migrate",
	.fn = cmd_migrate,
	.summary = "Live-migrate a running VM to a host where vmotionctl receive listens.",
	.synopsis = "--control SOCKET --to ADDR:PORT [OPTIONS]",
	.description = "Checks that the destination can run the VM, copies its memory while it "
		       "runs, then stops it for the switchover within --max-stun and resumes it "
		       "there.  Any failure before the commit leaves the VM running here; a "
		       "switchover in doubt keeps it paused on both sides until one is chosen "
		       "(vmotionctl handoff).",
	.options = migrate_options,
};

static void on_signal(int sig)
{
	(void)sig;
	migration_interrupted = 1;
}

static int parse_migrate_opts(int argc, char **argv, struct migration *m)
{
	struct cli_parser p;
	uint64_t v;
	int c;

	cli_init(&p, &migrate_command, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'C': m->control = p.arg; break;
		case 't': m->to = p.arg; break;
		case 'T': m->tracker_name = p.arg; break;
		case 'd': m->dump_dirty = p.arg; break;
		case 'S': {
			static const char *const modes[] = { "auto", "on", "off", NULL };

			if (cli_choice(&p, modes) < 0)
				return 1;
			m->sdps_mode = p.arg;
			break;
		}
		case 'j': m->json = p.arg; break;
		case 'z': {
			enum compress_mode mode;
			char err[128];
			int level;

			if (compress_parse(p.arg, &mode, &level, err, sizeof(err)))
				return cli_bad_value(&p, "%s", err);
			m->compress = p.arg;
			break;
		}
		case 's':
			if (parse_uint(p.arg, 1, 60000, &v))
				return cli_bad_value(&p, "milliseconds, 1 to 60000");
			m->max_stun_ms = v;
			break;
		case 'i':
			if (parse_uint(p.arg, 1, 10000, &v))
				return cli_bad_value(&p, "1 to 10000");
			m->max_iterations = v;
			break;
		case 'o':
			if (parse_uint(p.arg, 1, 86400, &v))
				return cli_bad_value(&p, "seconds, 1 to 86400");
			m->timeout_s = v;
			break;
		case 'r':
			if (parse_uint(p.arg, 0, 86400, &v))
				return cli_bad_value(&p, "seconds, 0 to 86400");
			m->resolve_timeout_s = v;
			break;
		}
	}
	if (c == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("migrate: unexpected argument \"%s\"", argv[p.optind]);
	if (!m->control || !m->to)
		return fail("migrate: --control SOCKET and --to ADDR:PORT are required");
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct migration m;
	int ret;

	migration_init(&m);
	if (parse_migrate_opts(argc, argv, &m))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = migration_run(&m);
	migration_free(&m);
	return ret ? 1 : 0;
}
