// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl info    -- what vmtrace reports about itself and KVM
 * vmotionctl config  -- change vmtrace's module-wide settings
 * vmotionctl status  -- vmtrace's sessions
 * vmotionctl trace   -- vmtrace's sessions and all their statistics
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../uapi/linux/vmtrace.h"
#include "cli.h"
#include "netlink/vmtrace_nl.h"
#include "output.h"
#include "parse.h"
#include "vmotionctl.h"

static struct vmtrace_nl *open_vmtrace(void)
{
	struct vmtrace_nl *nl = vmtrace_nl_open();

	if (!nl && errno == ENOENT)
		fail("vmtrace is not loaded (insmod kmod/vmtrace.ko)");
	else if (!nl)
		fail("cannot open generic netlink: %s", strerror(errno));
	return nl;
}

static int nl_fail(struct vmtrace_nl *nl, const char *what, int err)
{
	const char *msg = vmtrace_nl_error(nl);

	fail("%s: %s%s%s", what, strerror(-err), *msg ? ": " : "", msg);
	vmtrace_nl_close(nl);
	return 1;
}

static int cmd_info(int argc, char **argv)
{
	struct vmtrace_info info;
	struct vmtrace_nl *nl;
	int err;

	(void)argv;
	if (argc > 1)
		return fail("info takes no arguments");
	nl = open_vmtrace();
	if (!nl)
		return 1;
	err = vmtrace_nl_get_info(nl, &info);
	if (err)
		return nl_fail(nl, "get-info", err);
	vmtrace_nl_close(nl);

	out_begin();
	out_str("module_version", info.module_version);
	out_uint("protocol_version", info.protocol_version);
	out_uint("features", info.features);
	out_bool("hierarchical", info.features & VMTRACE_FEATURE_HIERARCHICAL);
	out_str("kernel_release", info.kernel_release);
	out_bool("kvm_tdp", info.kvm_flags & VMTRACE_KVM_TDP);
	out_bool("kvm_tdp_mmu", info.kvm_flags & VMTRACE_KVM_TDP_MMU);
	out_uint("kvm_symbols", info.kvm_symbols);
	out_uint("flush_deadline_us", info.flush_deadline_us);
	out_end();
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	struct vmtrace_nl *nl;
	uint64_t us;
	int err;

	if (argc != 3 || strcmp(argv[1], "flush-deadline-us"))
		return fail("usage: config flush-deadline-us MICROSECONDS");
	err = parse_uint(argv[2], VMTRACE_FLUSH_DEADLINE_MIN_US,
			 VMTRACE_FLUSH_DEADLINE_MAX_US, &us);
	if (err)
		return fail("flush-deadline-us: \"%s\" is not a number in [%u, %u]",
			    argv[2], VMTRACE_FLUSH_DEADLINE_MIN_US,
			    VMTRACE_FLUSH_DEADLINE_MAX_US);
	nl = open_vmtrace();
	if (!nl)
		return 1;
	err = vmtrace_nl_set_flush_deadline(nl, us);
	if (err)
		return nl_fail(nl, "set-config", err);
	vmtrace_nl_close(nl);
	return 0;
}

static const char *mode_name(uint32_t mode)
{
	return mode == VMTRACE_MODE_STOCK ? "stock" :
	       mode == VMTRACE_MODE_HIERARCHICAL ? "hierarchical" : "unknown";
}

static const char *flush_name(uint32_t flush)
{
	return flush == VMTRACE_FLUSH_LAZY ? "lazy" :
	       flush == VMTRACE_FLUSH_SYNC ? "sync" : "unknown";
}

struct session_list {
	unsigned int n;
	bool all;		/* trace: every statistic; status: a summary */
};

static void print_session(const struct vmtrace_session_info *s, void *arg)
{
	struct session_list *l = arg;

	l->n++;
	out_begin();
	out_uint("session", s->id);
	out_uint("vm_pid", s->vm_pid);
	out_str("state", s->state == VMTRACE_STATE_TRACKING ? "tracking" :
						      "attached");
	out_str("mode", mode_name(s->mode));
	out_str("flush", flush_name(s->flush));
	out_uint("vcpus", s->nr_vcpus);
	out_uint("pages", s->nr_pages);
	out_uint("harvests", s->harvests);
	out_uint("dirty_pages", s->dirty_pages);
	if (!l->all) {
		out_end();
		return;
	}
	out_uint("dirty_pages_total", s->dirty_pages_total);
	out_uint("start_us", s->start_ns / 1000);
	out_uint("harvest_us", s->harvest_ns / 1000);
	out_uint("protect_us", s->protect_ns / 1000);
	out_uint("pages_protected", s->pages_protected);
	out_uint("flush_requests", s->flush_requests);
	out_uint("flush_natural", s->flush_natural);
	out_uint("flush_kicks", s->flush_kicks);
	out_uint("flush_sync", s->flush_sync);
	out_uint("wrprot_4k", s->wrprot_4k);
	out_uint("wrprot_2m", s->wrprot_2m);
	out_uint("wrprot_1g", s->wrprot_1g);
	out_uint("opened_2m", s->opened_2m);
	out_uint("opened_1g", s->opened_1g);
	out_uint("module_faults", s->module_faults);
	out_end();
}

static int list_sessions(int argc, char **argv, bool all)
{
	struct session_list l = { .all = all };
	struct vmtrace_nl *nl;
	int err;

	if (argc > 1)
		return fail("%s takes no arguments", argv[0]);
	nl = open_vmtrace();
	if (!nl)
		return 1;
	out_list_begin();
	err = vmtrace_nl_dump_sessions(nl, print_session, &l);
	out_list_end();
	if (err)
		return nl_fail(nl, "get-session", err);
	vmtrace_nl_close(nl);
	if (!l.n && !opt_json)
		printf("no vmtrace sessions\n");
	return 0;
}

/* vmotionctl status: each session, its VM and what it tracks. */
static int cmd_trace_status(int argc, char **argv)
{
	return list_sessions(argc, argv, false);
}

/* vmotionctl trace: each session with every statistic vmtrace keeps. */
static int cmd_trace_stats(int argc, char **argv)
{
	return list_sessions(argc, argv, true);
}

const struct cli_command info_command = {
	.name = "info",
	.fn = cmd_info,
	.summary = "Show what vmtrace reports about itself and KVM.",
};

const struct cli_command config_command = {
	.name = "config",
	.fn = cmd_config,
	.summary = "Change vmtrace's module-wide settings.",
	.synopsis = "flush-deadline-us MICROSECONDS",
	.description = "flush-deadline-us: how long a harvest waits for the vCPUs' lazy TLB "
		       "flushes before it kicks them.",
};

const struct cli_command status_command = {
	.name = "status",
	.fn = cmd_trace_status,
	.summary = "List vmtrace's sessions: the VM, mode, state, pages and harvests of each.",
};

const struct cli_command trace_command = {
	.name = "trace",
	.fn = cmd_trace_stats,
	.summary = "List vmtrace's sessions with every statistic vmtrace keeps.",
};
