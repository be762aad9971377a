/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmtrace: dirty-page tracing for KVM guests under live migration.
 *
 * The generic netlink family "vmtrace".  The enums follow
 * Documentation/netlink/specs/vmtrace.yaml, which is the contract; keep
 * both in step (selftests/spec_check checks that they agree).
 */
#ifndef _UAPI_LINUX_VMTRACE_H
#define _UAPI_LINUX_VMTRACE_H

#define VMTRACE_FAMILY_NAME	"vmtrace"
#define VMTRACE_FAMILY_VERSION	1

/*
 * Version of the tracking protocol (attributes, harvest and bitmap
 * formats).  A controller refuses a module whose protocol it does not
 * speak.
 */
#define VMTRACE_PROTOCOL_VERSION	1

/* Bounds of the lazy TLB-flush deadline, in microseconds. */
#define VMTRACE_FLUSH_DEADLINE_MIN_US	1
#define VMTRACE_FLUSH_DEADLINE_MAX_US	1000000
#define VMTRACE_FLUSH_DEADLINE_DEFAULT_US	1000

/**
 * enum vmtrace_kvm_flags - what the module found about the loaded KVM
 * @VMTRACE_KVM_TDP: two-dimensional paging (NPT/EPT) is in use
 * @VMTRACE_KVM_TDP_MMU: new VMs get the TDP MMU (kvm.tdp_mmu=Y)
 */
enum vmtrace_kvm_flags {
	VMTRACE_KVM_TDP = 1,
	VMTRACE_KVM_TDP_MMU = 2,
};

enum {
	VMTRACE_A_INFO_MODULE_VERSION = 1,
	VMTRACE_A_INFO_PROTOCOL_VERSION,
	VMTRACE_A_INFO_FEATURES,
	VMTRACE_A_INFO_KERNEL_RELEASE,
	VMTRACE_A_INFO_KVM_FLAGS,
	VMTRACE_A_INFO_KVM_SYMBOLS,
	VMTRACE_A_INFO_FLUSH_DEADLINE_US,
	VMTRACE_A_INFO_PAD,

	__VMTRACE_A_INFO_MAX,
	VMTRACE_A_INFO_MAX = (__VMTRACE_A_INFO_MAX - 1)
};

enum {
	VMTRACE_A_CONFIG_FLUSH_DEADLINE_US = 1,

	__VMTRACE_A_CONFIG_MAX,
	VMTRACE_A_CONFIG_MAX = (__VMTRACE_A_CONFIG_MAX - 1)
};

enum {
	VMTRACE_CMD_GET_INFO = 1,
	VMTRACE_CMD_SET_CONFIG,

	__VMTRACE_CMD_MAX,
	VMTRACE_CMD_MAX = (__VMTRACE_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_VMTRACE_H */
