/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmotionctl's client of the vmtrace generic netlink family (libmnl).
 * Everything netlink is behind this header.
 */
#ifndef VMOTION_VMTRACE_NL_H
#define VMOTION_VMTRACE_NL_H

#include <stdbool.h>
#include <stdint.h>

struct vmtrace_nl;

struct vmtrace_info {
	char module_version[32];
	uint32_t protocol_version;
	uint64_t features;
	char kernel_release[65];
	uint32_t kvm_flags;		/* enum vmtrace_kvm_flags */
	uint32_t kvm_symbols;
	uint32_t flush_deadline_us;
};

struct vmtrace_session_info {
	uint32_t id, mode, flush, state, vm_pid, nr_vcpus;
	uint64_t nr_pages, harvests, dirty_pages, dirty_pages_total;
	uint64_t start_ns, harvest_ns, protect_ns, pages_protected;
	uint64_t flush_requests, flush_natural, flush_kicks, flush_sync;
	uint64_t wrprot_4k, wrprot_2m, wrprot_1g, opened_2m, opened_1g;
	uint64_t module_faults;
};

/*
 * Open a socket and resolve the family.  NULL with errno set on failure;
 * ENOENT means the module is not loaded.
 */
struct vmtrace_nl *vmtrace_nl_open(void);
void vmtrace_nl_close(struct vmtrace_nl *nl);

/*
 * Requests: 0 or a negative errno.  After a failure, vmtrace_nl_error()
 * gives the kernel's extack message, or "" if it sent none.
 */
int vmtrace_nl_get_info(struct vmtrace_nl *nl, struct vmtrace_info *info);
int vmtrace_nl_set_flush_deadline(struct vmtrace_nl *nl, uint32_t us);
const char *vmtrace_nl_error(const struct vmtrace_nl *nl);

/* Every session in this network namespace, through @cb. */
int vmtrace_nl_dump_sessions(struct vmtrace_nl *nl,
			     void (*cb)(const struct vmtrace_session_info *s,
					void *arg),
			     void *arg);

/*
 * Tracking a VM (a KVM VM fd this process holds).  @mode is an enum
 * vmtrace_mode and @flush an enum vmtrace_flush, each 0 for the module's
 * default.  The session belongs to this socket: closing it ends it.
 */
int vmtrace_nl_attach(struct vmtrace_nl *nl, int vm_fd, uint32_t mode,
		      uint32_t flush, uint32_t *id);
int vmtrace_nl_start(struct vmtrace_nl *nl, uint32_t id);
int vmtrace_nl_stop(struct vmtrace_nl *nl, uint32_t id);
int vmtrace_nl_detach(struct vmtrace_nl *nl, uint32_t id);
/*
 * Harvest: OR the dirty pages (gfn < @nr_pages) into @bitmap; the count
 * of pages, or a negative errno.  @seq is what vmtrace_nl_harvest_ack()
 * must name once the pages are safe; until then each harvest returns
 * them again.  The set comes compacted unless
 * vmtrace_nl_set_harvest_format() asked for VMTRACE_HARVEST_FORMAT_RAW.
 */
void vmtrace_nl_set_harvest_format(struct vmtrace_nl *nl, uint32_t format);
int64_t vmtrace_nl_harvest(struct vmtrace_nl *nl, uint32_t id,
			   uint64_t *bitmap, uint64_t nr_pages, uint64_t *seq);
int vmtrace_nl_harvest_ack(struct vmtrace_nl *nl, uint32_t id, uint64_t seq);

/* Stun During Page Send: per-vCPU sleeps of a session's VM. */
#define VMTRACE_NL_MAX_VCPUS	64

struct vmtrace_vcpu_stun {
	uint32_t index;
	uint64_t stun_ns, sleeps;
};

struct vmtrace_throttle_info {
	uint32_t sleep_us, period_us;
	uint64_t stun_ns;		/* all vCPUs */
	unsigned int nr_vcpus;
	struct vmtrace_vcpu_stun vcpus[VMTRACE_NL_MAX_VCPUS];
};

/* Set the sleep per period (0: off); @ti (may be NULL) gets the result. */
int vmtrace_nl_set_throttle(struct vmtrace_nl *nl, uint32_t id,
			    uint32_t sleep_us, struct vmtrace_throttle_info *ti);
int vmtrace_nl_get_throttle(struct vmtrace_nl *nl, uint32_t id,
			    struct vmtrace_throttle_info *ti);

#endif
