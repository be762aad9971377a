/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmtrace: dirty-page tracing for KVM guests under live migration.
 * Internal interfaces between the module's files.
 */
#ifndef _VMTRACE_H
#define _VMTRACE_H

#include <linux/kvm_host.h>
#include <linux/types.h>

#define VMTRACE_MODULE_VERSION	"0.1.0"

/**
 * struct vmtrace_kvm_ops - everything vmtrace needs from KVM that KVM does
 * not export to modules.
 *
 * Filled once at load time by vmtrace_kvm_ops_init() from the one table in
 * kvm_ops.c; every entry is required, so a non-NULL &vmtrace_kvm is complete.
 * Keeping all of it here means a port to another kernel is one file's work.
 *
 * @enable_log_dirty_pt_masked: re-protect the pages of @mask (stock mode)
 * @slot_remove_write_access: write-protect a whole memslot from @start_level
 * @slot_try_split_huge_pages: eagerly split a memslot's huge mappings
 * @page_fault: KVM's MMU fault handler, the one vmtrace intercepts; it is
 *	exported, and referencing it also pins kvm.ko while vmtrace is loaded,
 *	which keeps every other address here valid
 * @tdp_enabled: KVM uses two-dimensional paging (NPT/EPT)
 * @tdp_mmu_enabled: the kvm.tdp_mmu parameter
 */
struct vmtrace_kvm_ops {
	void (*enable_log_dirty_pt_masked)(struct kvm *kvm,
					   struct kvm_memory_slot *slot,
					   gfn_t gfn_offset, unsigned long mask);
	void (*slot_remove_write_access)(struct kvm *kvm,
					 const struct kvm_memory_slot *slot,
					 int start_level);
	void (*slot_try_split_huge_pages)(struct kvm *kvm,
					  const struct kvm_memory_slot *slot,
					  int target_level);
	int (*page_fault)(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa,
			  u64 error_code, void *insn, int insn_len);
	bool *tdp_enabled;
	bool *tdp_mmu_enabled;
};

extern struct vmtrace_kvm_ops vmtrace_kvm;

int vmtrace_kvm_ops_init(const char *extra_symbol);
unsigned int vmtrace_kvm_ops_count(void);
u32 vmtrace_kvm_flags(void);

/* Module-wide settings, changed through VMTRACE_CMD_SET_CONFIG. */
struct vmtrace_config {
	u32 flush_deadline_us;
};

extern struct vmtrace_config vmtrace_config;

int vmtrace_netlink_init(void);
void vmtrace_netlink_exit(void);

void vmtrace_debugfs_init(void);
void vmtrace_debugfs_exit(void);

#endif /* _VMTRACE_H */
