// SPDX-License-Identifier: GPL-2.0
/*
 * vmtrace: dirty-page tracing for KVM guests under live migration, in the
 * way of VMware vSphere 7's vMotion -- write protection at 1 GB granularity
 * pushed down only where the guest writes, lazy per-vCPU TLB flushes, a
 * compacted dirty bitmap and stun during page send.  See
 * Documentation/virt/vmtrace/ for the design.
 *
 * This file only brings the module up and down.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "vmtrace.h"

static char *require_symbol;
module_param(require_symbol, charp, 0400);
MODULE_PARM_DESC(require_symbol,
		 "also require this symbol at load (tests the resolver)");

module_param_named(flush_on_open, vmtrace_config.flush_on_open, bool, 0644);
MODULE_PARM_DESC(flush_on_open,
		 "hierarchical mode: flush every vCPU's TLB when a write opens a region (for CPUs whose page-walk caches keep raw entries)");

module_param_named(eager_split, vmtrace_config.eager_split, bool, 0644);
MODULE_PARM_DESC(eager_split,
		 "hierarchical mode: split huge mappings at start (default), not on their first write");

static int __init vmtrace_init(void)
{
	int err;

	err = vmtrace_kvm_ops_init(require_symbol);
	if (err)
		return err;
	vmtrace_kvm_hook_init();

	err = vmtrace_sessions_init();
	if (err) {
		vmtrace_kvm_hook_exit();
		return err;
	}
	err = vmtrace_netlink_init();
	if (err) {
		pr_err("cannot register the netlink family: %d\n", err);
		vmtrace_sessions_exit();
		vmtrace_kvm_hook_exit();
		return err;
	}
	vmtrace_debugfs_init();
	pr_info("loaded, version %s\n", VMTRACE_MODULE_VERSION);
	return 0;
}

static void __exit vmtrace_exit(void)
{
	vmtrace_debugfs_exit();
	/* No new requests first, then end every session. */
	vmtrace_netlink_exit();
	vmtrace_sessions_exit();
	vmtrace_kvm_hook_exit();
}

module_init(vmtrace_init);
module_exit(vmtrace_exit);

MODULE_DESCRIPTION("vSphere-7-style dirty page tracing for KVM live migration");
MODULE_LICENSE("GPL");
MODULE_VERSION(VMTRACE_MODULE_VERSION);
MODULE_SOFTDEP("pre: kvm");
