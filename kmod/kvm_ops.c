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

#include <linux/ftrace.h>
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
	VMTRACE_SYMBOL(shadow_mmu_writable_mask, shadow_mmu_writable_mask),
	VMTRACE_SYMBOL(shadow_host_writable_mask, shadow_host_writable_mask),
	VMTRACE_SYMBOL(shadow_present_mask, shadow_present_mask),
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

/*
 * The head of KVM's struct kvm_mmu_page (arch/x86/kvm/mmu/mmu_internal.h in
 * 6.1), as far as hierarchical mode reads it: the TDP MMU's roots are linked
 * by @link on kvm->arch.tdp_mmu_roots, and @spt is the root's table.
 * vmtrace_kvm_layout_check() compares it with the kvm module's BTF.
 */
struct vmtrace_kvm_mmu_page {
	struct list_head link;			/*  0 */
	struct hlist_node hash_link;		/* 16 */
	bool tdp_mmu_page;			/* 32 */
	bool unsync;				/* 33 */
	u8 mmu_valid_gen;			/* 34 */
	bool lpage_disallowed;			/* 35 */
	union kvm_mmu_page_role role;		/* 36 */
	gfn_t gfn;				/* 40 */
	u64 *spt;				/* 48 */
};

static_assert(offsetof(struct vmtrace_kvm_mmu_page, tdp_mmu_page) == 32);
static_assert(offsetof(struct vmtrace_kvm_mmu_page, role) == 36);
static_assert(offsetof(struct vmtrace_kvm_mmu_page, spt) == 48);

/* The layout as BTF must show it: struct name, size, member bit offsets. */
static const struct vmtrace_btf_member vmtrace_kvm_mmu_page_members[] = {
	{ "link", 0 },
	{ "tdp_mmu_page", 32 * 8 },
	{ "role", 36 * 8 },
	{ "gfn", 40 * 8 },
	{ "spt", 48 * 8 },
	{ }
};

/* Why hierarchical mode cannot be used (a whole extack message), or NULL. */
static const char *vmtrace_hier_unavailable =
	KBUILD_MODNAME ": hierarchical mode unavailable: not initialised";

/**
 * vmtrace_kvm_visit_roots() - visit the top table of every TDP MMU root
 * @kvm: the VM, with mmu_lock held for write (nothing can be added to or
 *	taken off the list then, so no references are needed) and RCU
 * @valid_only: skip roots already invalidated (no vCPU enters with them)
 * @visit: called with the root's table and the level of its entries
 * @arg: for @visit
 *
 * Both address spaces' roots (SMM has its own) are on the one list.
 */
void vmtrace_kvm_visit_roots(struct kvm *kvm, bool valid_only,
			     vmtrace_root_visit_t visit, void *arg)
{
	struct vmtrace_kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	list_for_each_entry(root, &kvm->arch.tdp_mmu_roots, link) {
		if (valid_only && root->role.invalid)
			continue;
		visit(root->spt, root->role.level, arg);
	}
}

/**
 * vmtrace_kvm_hier_check() - can hierarchical mode trace this VM?
 * @kvm: the VM
 * @extack: for the reason if not
 *
 * Needs the module-wide checks of load time (hook, layout) and, per VM,
 * KVM's TDP MMU with NPT's SPTE format; masks are only known once a
 * vendor module has set them up, which a VM's existence guarantees.
 */
int vmtrace_kvm_hier_check(struct kvm *kvm, struct netlink_ext_ack *extack)
{
	if (vmtrace_hier_unavailable) {
		/* A static string, as NL_SET_ERR_MSG() would store. */
		if (extack)
			extack->_msg = vmtrace_hier_unavailable;
		return -EOPNOTSUPP;
	}
	if (!kvm->arch.tdp_mmu_enabled) {
		NL_SET_ERR_MSG_MOD(extack,
				   "hierarchical mode needs KVM's TDP MMU");
		return -EOPNOTSUPP;
	}
	if (*vmtrace_kvm.shadow_mmu_writable_mask != VMTRACE_SPTE_MMU_WRITABLE ||
	    *vmtrace_kvm.shadow_host_writable_mask != VMTRACE_SPTE_HOST_WRITABLE ||
	    *vmtrace_kvm.shadow_present_mask != VMTRACE_SPTE_PRESENT) {
		NL_SET_ERR_MSG_MOD(extack,
				   "hierarchical mode knows only AMD NPT's SPTE format");
		return -EOPNOTSUPP;
	}
	return 0;
}

u64 vmtrace_kvm_features(void)
{
	return vmtrace_hier_unavailable ? 0 : VMTRACE_FEATURE_HIERARCHICAL;
}

/*
 * Entry to kvm_mmu_page_fault(vcpu, cr2_or_gpa, error_code, ...): the
 * arguments are in the x86-64 argument registers.  A plain ftrace callback
 * (no IP change): it runs before KVM's handler, which then proceeds on the
 * path the callback opened.
 */
static void notrace vmtrace_page_fault_entry(unsigned long ip,
					     unsigned long parent_ip,
					     struct ftrace_ops *op,
					     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs)
		vmtrace_hier_fault((struct kvm_vcpu *)regs->di, regs->si,
				   regs->dx);
}

/*
 * Permanent: with W=0 non-leaf entries in place, a hook switched off by
 * sysctl kernel.ftrace_enabled=0 would leave writing vCPUs faulting
 * forever; this way the sysctl is refused while vmtrace is loaded.
 */
static struct ftrace_ops vmtrace_page_fault_ops = {
	.func = vmtrace_page_fault_entry,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_PERMANENT,
};

static bool vmtrace_hook_registered;

/**
 * vmtrace_kvm_hook_init() - enable hierarchical mode if this KVM allows it
 *
 * Checks KVM's private layout against its BTF and hooks its fault handler.
 * A failure only leaves hierarchical mode unavailable (with the reason in
 * the log and in the refusal), never the module unloaded: stock mode works
 * without either.
 */
void vmtrace_kvm_hook_init(void)
{
	const char *why;
	int err;

	why = vmtrace_btf_check_struct("kvm", "kvm_mmu_page", 184,
				       vmtrace_kvm_mmu_page_members);
	if (why) {
		pr_warn("hierarchical mode off: kvm_mmu_page layout: %s\n", why);
		vmtrace_hier_unavailable = KBUILD_MODNAME
			": hierarchical mode unavailable: KVM's kvm_mmu_page layout differs";
		return;
	}
	err = ftrace_set_filter_ip(&vmtrace_page_fault_ops,
				   (unsigned long)vmtrace_kvm.page_fault, 0, 0);
	if (!err)
		err = register_ftrace_function(&vmtrace_page_fault_ops);
	if (err) {
		pr_warn("hierarchical mode off: cannot hook kvm_mmu_page_fault: %d\n",
			err);
		ftrace_free_filter(&vmtrace_page_fault_ops);
		vmtrace_hier_unavailable = KBUILD_MODNAME
			": hierarchical mode unavailable: cannot hook kvm_mmu_page_fault";
		return;
	}
	vmtrace_hook_registered = true;
	vmtrace_hier_unavailable = NULL;
}

/* After every session is gone. */
void vmtrace_kvm_hook_exit(void)
{
	if (!vmtrace_hook_registered)
		return;
	unregister_ftrace_function(&vmtrace_page_fault_ops);
	ftrace_free_filter(&vmtrace_page_fault_ops);
	vmtrace_hook_registered = false;
}
