// SPDX-License-Identifier: GPL-2.0
/*
 * The one place vmtrace reaches into KVM beyond what KVM exports.
 *
 * Debian 12's 6.1 kernel exports most of what a dirty tracker needs
 * (file_is_kvm(), kvm_vcpu_kick(), kvm_set_memory_region(), ...), and
 * vmtrace calls those directly.  The few MMU internals it also needs are
 * resolved here, by name, at load time, from one table.  If any of them is
 * missing, loading fails with a message naming it, rather than the module
 * misbehaving later.
 *
 * kallsyms_lookup_name() itself is not exported since 5.7; a kprobe on it
 * resolves its address, which is the customary way for out-of-tree code
 * and is reliable on a kernel built with KPROBES and KALLSYMS_ALL (the
 * reference kernel has both).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/module.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

struct vmtrace_kvm_ops vmtrace_kvm;

/*
 * Every symbol is looked up as "kvm:<name>" so that a same-named symbol of
 * another module can never be picked up by mistake.
 */
struct vmtrace_symbol {
	const char *name;
	size_t offset;		/* into struct vmtrace_kvm_ops */
};

#define VMTRACE_SYMBOL(sym, field) \
	{ .name = "kvm:" #sym, .offset = offsetof(struct vmtrace_kvm_ops, field) }
/* The few from the core kernel are looked up by their plain name. */
#define VMTRACE_KERNEL_SYMBOL(sym, field) \
	{ .name = #sym, .offset = offsetof(struct vmtrace_kvm_ops, field) }

static const struct vmtrace_symbol vmtrace_symbols[] = {
	VMTRACE_SYMBOL(kvm_arch_mmu_enable_log_dirty_pt_masked,
		       enable_log_dirty_pt_masked),
	VMTRACE_SYMBOL(kvm_mmu_slot_remove_write_access,
		       slot_remove_write_access),
	VMTRACE_SYMBOL(kvm_mmu_slot_try_split_huge_pages,
		       slot_try_split_huge_pages),
	VMTRACE_SYMBOL(kvm_arch_sync_dirty_log, sync_dirty_log),
	VMTRACE_SYMBOL(kvm_cpu_dirty_log_size, cpu_dirty_log_size),
	VMTRACE_SYMBOL(tdp_enabled, tdp_enabled),
	VMTRACE_SYMBOL(tdp_mmu_enabled, tdp_mmu_enabled),
	VMTRACE_KERNEL_SYMBOL(task_work_cancel_match, task_work_cancel_match),
};

typedef unsigned long (*kallsyms_lookup_name_t)(const char *name);

/*
 * Registering the kprobe disabled resolves its address without arming it:
 * no breakpoint is ever written into kernel text.  That matters beyond
 * tidiness -- live-patching text on every insmod (int3, then the original
 * bytes back) is what left the lab's TCG CPUs looping on a stale int3.
 */
static kallsyms_lookup_name_t vmtrace_find_kallsyms_lookup_name(void)
{
	struct kprobe kp = {
		.symbol_name = "kallsyms_lookup_name",
		.flags = KPROBE_FLAG_DISABLED,
	};
	kallsyms_lookup_name_t fn;

	if (register_kprobe(&kp) < 0)
		return NULL;
	fn = (kallsyms_lookup_name_t)kp.addr;
	unregister_kprobe(&kp);
	return fn;
}

/**
 * vmtrace_kvm_ops_init() - resolve every KVM internal vmtrace needs
 * @extra_symbol: one more symbol to require, or NULL.  It is resolved like
 *	the others and then dropped; the selftests use it to prove that a
 *	missing symbol fails the load with its name in the log.
 *
 * Return: 0, or -ENOENT after logging the name of the first symbol that
 * could not be found.
 */
int vmtrace_kvm_ops_init(const char *extra_symbol)
{
	kallsyms_lookup_name_t lookup;
	unsigned int i;

	lookup = vmtrace_find_kallsyms_lookup_name();
	if (!lookup) {
		pr_err("cannot resolve kallsyms_lookup_name (needs KPROBES)\n");
		return -ENOENT;
	}

	for (i = 0; i < ARRAY_SIZE(vmtrace_symbols); i++) {
		const struct vmtrace_symbol *sym = &vmtrace_symbols[i];
		unsigned long addr = lookup(sym->name);

		if (!addr) {
			pr_err("required KVM symbol %s not found\n", sym->name);
			return -ENOENT;
		}
		*(unsigned long *)((char *)&vmtrace_kvm + sym->offset) = addr;
	}
	vmtrace_kvm.page_fault = kvm_mmu_page_fault;

	if (extra_symbol && *extra_symbol && !lookup(extra_symbol)) {
		pr_err("required KVM symbol %s not found\n", extra_symbol);
		return -ENOENT;
	}
	return 0;
}

unsigned int vmtrace_kvm_ops_count(void)
{
	return ARRAY_SIZE(vmtrace_symbols);
}

u32 vmtrace_kvm_flags(void)
{
	u32 flags = 0;

	if (READ_ONCE(*vmtrace_kvm.tdp_enabled))
		flags |= VMTRACE_KVM_TDP;
	if (READ_ONCE(*vmtrace_kvm.tdp_mmu_enabled))
		flags |= VMTRACE_KVM_TDP_MMU;
	return flags;
}

/**
 * vmtrace_kvm_set_slot_flags() - change a memslot's flags, as the VMM would
 * @kvm: the VM, with kvm->slots_lock held
 * @vs: the slot as vmtrace recorded it
 * @flags: the new flags (KVM_MEM_LOG_DIRTY_PAGES on or off)
 *
 * The flags-only update of KVM_SET_USER_MEMORY_REGION, through the exported
 * __kvm_set_memory_region().  KVM allocates the dirty bitmap (all set or
 * all clear per kvm->manual_dirty_log_protect), write-protects or splits
 * as that mode says, and when logging goes off brings huge mappings back.
 */
int vmtrace_kvm_set_slot_flags(struct kvm *kvm, const struct vmtrace_slot *vs,
			       u32 flags)
{
	struct kvm_userspace_memory_region mem = {
		.slot = (u32)vs->as_id << 16 | vs->id,
		.flags = flags,
		.guest_phys_addr = (u64)vs->base_gfn << PAGE_SHIFT,
		.memory_size = (u64)vs->npages << PAGE_SHIFT,
		.userspace_addr = vs->userspace_addr,
	};

	lockdep_assert_held(&kvm->slots_lock);
	return __kvm_set_memory_region(kvm, &mem);
}
