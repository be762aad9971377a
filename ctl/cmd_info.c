// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl info    -- what vmtrace reports about itself and KVM
 * vmotionctl config  -- change vmtrace's module-wide settings
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../uapi/linux/vmtrace.h"
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

int cmd_info(int argc, char **argv)
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
	out_str("kernel_release", info.kernel_release);
	out_bool("kvm_tdp", info.kvm_flags & VMTRACE_KVM_TDP);
	out_bool("kvm_tdp_mmu", info.kvm_flags & VMTRACE_KVM_TDP_MMU);
	out_uint("kvm_symbols", info.kvm_symbols);
	out_uint("flush_deadline_us", info.flush_deadline_us);
	out_end();
	return 0;
}

int cmd_config(int argc, char **argv)
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
