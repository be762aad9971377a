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

/*
 * Stun During Page Send: each throttled vCPU runs for the period, then
 * sleeps (at most VMTRACE_THROTTLE_MAX_US) before its next guest entry.
 */
#define VMTRACE_THROTTLE_PERIOD_US	1000
#define VMTRACE_THROTTLE_MAX_US	100000

/**
 * enum vmtrace_kvm_flags - what the module found about the loaded KVM
 * @VMTRACE_KVM_TDP: two-dimensional paging (NPT/EPT) is in use
 * @VMTRACE_KVM_TDP_MMU: new VMs get the TDP MMU (kvm.tdp_mmu=Y)
 */
enum vmtrace_kvm_flags {
	VMTRACE_KVM_TDP = 1,
	VMTRACE_KVM_TDP_MMU = 2,
};

/**
 * enum vmtrace_mode - how a session write-protects guest memory
 * @VMTRACE_MODE_STOCK: what KVM itself does: split huge pages and
 *	write-protect every 4 KB page at start and after every harvest
 * @VMTRACE_MODE_HIERARCHICAL: write-protect the 1 GB level at start and
 *	after every harvest, and push protection down to 2 MB and 4 KB where
 *	the guest writes; the first harvest returns every page
 */
enum vmtrace_mode {
	VMTRACE_MODE_STOCK = 1,
	VMTRACE_MODE_HIERARCHICAL,
};

/**
 * enum vmtrace_features - what this module can do (info's features bits)
 * @VMTRACE_FEATURE_HIERARCHICAL: hierarchical mode is available: the
 *	module hooked KVM's fault handler and KVM's layout checked out
 */
enum vmtrace_features {
	VMTRACE_FEATURE_HIERARCHICAL = 1,
};

/**
 * enum vmtrace_harvest_format - how a harvest dump carries the dirty set
 * @VMTRACE_HARVEST_FORMAT_RAW: bitmap words, as KVM keeps them
 * @VMTRACE_HARVEST_FORMAT_COMPACTED: the compacted bitmap format
 *	(vmtrace_bitmap.h), one encoded chunk per message
 */
enum vmtrace_harvest_format {
	VMTRACE_HARVEST_FORMAT_RAW = 1,
	VMTRACE_HARVEST_FORMAT_COMPACTED,
};

/**
 * enum vmtrace_flush - how TLBs are flushed after protection changes
 * @VMTRACE_FLUSH_LAZY: a flush request per vCPU, serviced at its next
 *	guest entry; a barrier waits for all, kicking those still in guest
 *	mode after the flush deadline
 * @VMTRACE_FLUSH_SYNC: KVM's own flush: IPIs to every running vCPU
 */
enum vmtrace_flush {
	VMTRACE_FLUSH_LAZY = 1,
	VMTRACE_FLUSH_SYNC = 2,
};

/**
 * enum vmtrace_state - a session's life: attached -> tracking -> attached
 *	(stop) -> gone (detach, or its owner or VM went away)
 */
enum vmtrace_state {
	VMTRACE_STATE_ATTACHED = 1,
	VMTRACE_STATE_TRACKING = 2,
};

/**
 * enum vmtrace_gone_reason - why a session ended (the session-gone event)
 * @VMTRACE_GONE_DETACHED: its owner detached it
 * @VMTRACE_GONE_OWNER_CLOSED: the netlink socket that attached it closed
 * @VMTRACE_GONE_VM_EXITED: the VMM process of the VM exited
 * @VMTRACE_GONE_UNLOADED: vmtrace is being unloaded
 */
enum vmtrace_gone_reason {
	VMTRACE_GONE_DETACHED = 1,
	VMTRACE_GONE_OWNER_CLOSED = 2,
	VMTRACE_GONE_VM_EXITED = 3,
	VMTRACE_GONE_UNLOADED = 4,
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
	VMTRACE_A_SESSION_ID = 1,
	VMTRACE_A_SESSION_VM_FD,
	VMTRACE_A_SESSION_MODE,
	VMTRACE_A_SESSION_FLUSH,
	VMTRACE_A_SESSION_STATE,
	VMTRACE_A_SESSION_VM_PID,
	VMTRACE_A_SESSION_NR_VCPUS,
	VMTRACE_A_SESSION_NR_PAGES,
	VMTRACE_A_SESSION_HARVESTS,
	VMTRACE_A_SESSION_DIRTY_PAGES,
	VMTRACE_A_SESSION_DIRTY_PAGES_TOTAL,
	VMTRACE_A_SESSION_START_NS,
	VMTRACE_A_SESSION_HARVEST_NS,
	VMTRACE_A_SESSION_PROTECT_NS,
	VMTRACE_A_SESSION_PAGES_PROTECTED,
	VMTRACE_A_SESSION_FLUSH_REQUESTS,
	VMTRACE_A_SESSION_FLUSH_NATURAL,
	VMTRACE_A_SESSION_FLUSH_KICKS,
	VMTRACE_A_SESSION_FLUSH_SYNC,
	VMTRACE_A_SESSION_PAD,
	VMTRACE_A_SESSION_WRPROT_4K,
	VMTRACE_A_SESSION_WRPROT_2M,
	VMTRACE_A_SESSION_WRPROT_1G,
	VMTRACE_A_SESSION_OPENED_2M,
	VMTRACE_A_SESSION_OPENED_1G,
	VMTRACE_A_SESSION_MODULE_FAULTS,

	__VMTRACE_A_SESSION_MAX,
	VMTRACE_A_SESSION_MAX = (__VMTRACE_A_SESSION_MAX - 1)
};

enum {
	VMTRACE_A_HARVEST_SESSION_ID = 1,
	VMTRACE_A_HARVEST_SEQ,
	VMTRACE_A_HARVEST_DIRTY_PAGES,
	VMTRACE_A_HARVEST_SLOT,
	VMTRACE_A_HARVEST_BASE_GFN,
	VMTRACE_A_HARVEST_FIRST_PAGE,
	VMTRACE_A_HARVEST_NR_PAGES,
	VMTRACE_A_HARVEST_BITMAP,
	VMTRACE_A_HARVEST_PAD,
	VMTRACE_A_HARVEST_FORMAT,
	VMTRACE_A_HARVEST_CHUNK,

	__VMTRACE_A_HARVEST_MAX,
	VMTRACE_A_HARVEST_MAX = (__VMTRACE_A_HARVEST_MAX - 1)
};

enum {
	VMTRACE_A_EVENT_SESSION_ID = 1,
	VMTRACE_A_EVENT_REASON,

	__VMTRACE_A_EVENT_MAX,
	VMTRACE_A_EVENT_MAX = (__VMTRACE_A_EVENT_MAX - 1)
};

enum {
	VMTRACE_A_THROTTLE_SESSION_ID = 1,
	VMTRACE_A_THROTTLE_SLEEP_US,
	VMTRACE_A_THROTTLE_PERIOD_US,
	VMTRACE_A_THROTTLE_STUN_NS,
	VMTRACE_A_THROTTLE_VCPU,
	VMTRACE_A_THROTTLE_PAD,

	__VMTRACE_A_THROTTLE_MAX,
	VMTRACE_A_THROTTLE_MAX = (__VMTRACE_A_THROTTLE_MAX - 1)
};

enum {
	VMTRACE_A_VCPU_STUN_INDEX = 1,
	VMTRACE_A_VCPU_STUN_STUN_NS,
	VMTRACE_A_VCPU_STUN_SLEEPS,
	VMTRACE_A_VCPU_STUN_PAD,

	__VMTRACE_A_VCPU_STUN_MAX,
	VMTRACE_A_VCPU_STUN_MAX = (__VMTRACE_A_VCPU_STUN_MAX - 1)
};

enum {
	VMTRACE_CMD_GET_INFO = 1,
	VMTRACE_CMD_SET_CONFIG,
	VMTRACE_CMD_ATTACH,
	VMTRACE_CMD_START,
	VMTRACE_CMD_HARVEST,
	VMTRACE_CMD_HARVEST_ACK,
	VMTRACE_CMD_STOP,
	VMTRACE_CMD_DETACH,
	VMTRACE_CMD_GET_SESSION,
	VMTRACE_CMD_SESSION_GONE,
	VMTRACE_CMD_SET_THROTTLE,
	VMTRACE_CMD_GET_THROTTLE,
	VMTRACE_CMD_GET_STATS,

	__VMTRACE_CMD_MAX,
	VMTRACE_CMD_MAX = (__VMTRACE_CMD_MAX - 1)
};

#define VMTRACE_MCGRP_EVENTS	"events"

/*
 * A harvest is a dump: the first message carries SEQ and DIRTY_PAGES (the
 * whole set), each further one a chunk of one memslot's dirty bitmap:
 * SLOT (address space << 16 | slot id), BASE_GFN, FIRST_PAGE (a multiple
 * of 64, relative to the slot), NR_PAGES and BITMAP (little-endian 64-bit
 * words, bit N = page FIRST_PAGE + N).  A chunk covers at most
 * VMTRACE_HARVEST_CHUNK_PAGES pages, fewer when less fits in the message
 * (read with a 32 KiB buffer to get large chunks).  Chunks without a
 * dirty page are not sent.  The set stays with the session until HARVEST_ACK names its
 * SEQ; until then every new harvest includes it again.
 */
#define VMTRACE_HARVEST_CHUNK_PAGES	(32768 * 8)

#endif /* _UAPI_LINUX_VMTRACE_H */
