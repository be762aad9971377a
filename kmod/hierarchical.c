// SPDX-License-Identifier: GPL-2.0
/*
 * Hierarchical write protection: 1 GB, pushed down to 2 MB and 4 KB only
 * where the guest writes.
 *
 * Stock dirty logging write-protects every 4 KB SPTE of the guest after
 * every harvest.  Here a harvest only clears the write bit of the 1 GB
 * entries (level 3) of the TDP MMU's roots: the hardware checks W at every
 * level, so the whole region faults on its next write.  That write reaches
 * vmtrace_hier_fault() (an ftrace callback on entry to kvm_mmu_page_fault(),
 * kvm_ops.c), which "opens" each protected entry on the faulting path: it
 * clears W on the entry's 512 children, then sets W on the entry.  The
 * protection has moved one level down, to where the guest writes; regions
 * it never writes are never split or walked again.  At the 4 KB leaf KVM's
 * own fast path takes over: it makes the leaf writable and sets the page's
 * bit in the memslot dirty log, which stays the one record of dirtiness.
 *
 * Why no write is missed (Documentation/virt/vmtrace/hierarchical.rst has
 * the long form):
 *  - after a protect and its TLB flush, every present level-3 entry of
 *    every root a vCPU can use is W=0;
 *  - an open never makes a leaf writable by itself: it clears the children
 *    before it sets the parent, so every path it completes ends in a W=0
 *    entry one level lower;
 *  - a leaf only becomes writable through KVM (fast path, or make_spte()
 *    for a new or rebuilt leaf), and KVM marks the page dirty then, because
 *    the slot has dirty logging on;
 *  - protect runs under mmu_lock for write, each open entirely under it
 *    for read: an open cannot straddle a protect, so it cannot set W on a
 *    parent with the cleared children of an older epoch (ABA).
 *
 * KVM never leaves a present non-leaf SPTE with W=0 (make_nonleaf_spte()
 * always sets it, and its write-protect helpers touch leaves only), so W=0
 * on a non-leaf entry is unambiguously ours, and stopping clears them all.
 */
#include <linux/list.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

/* The VMs in hierarchical mode, read by the fault hook under RCU. */
static LIST_HEAD(vmtrace_hier_vms);
static DEFINE_SPINLOCK(vmtrace_hier_vms_lock);

static bool vmtrace_spte_present(u64 spte)
{
	return spte & VMTRACE_SPTE_MMU_PRESENT;
}

static bool vmtrace_spte_leaf(u64 spte, int level)
{
	return level == PG_LEVEL_4K || (spte & VMTRACE_SPTE_LARGE);
}

static u64 *vmtrace_spte_child(u64 spte)
{
	return __va(spte & physical_mask & PAGE_MASK);
}

static unsigned int vmtrace_spte_index(gpa_t gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (VMTRACE_SPTES_PER_TABLE - 1);
}

/*
 * Clear W on one SPTE if it is present and writable.  Always a cmpxchg:
 * KVM changes SPTEs with cmpxchg under the read lock and freezes removed
 * ones to a non-present marker; a blind bit operation could resurrect one.
 */
static bool vmtrace_spte_wrprot(u64 *sptep)
{
	u64 old = READ_ONCE(*sptep);

	do {
		if (!vmtrace_spte_present(old) || !(old & VMTRACE_SPTE_W))
			return false;
	} while (!try_cmpxchg64(sptep, &old, old & ~VMTRACE_SPTE_W));
	return true;
}

/* Level-3 entries of the table @pt, whose entries are at @level. */
static void vmtrace_hier_protect_table(u64 *pt, int level, void *arg)
{
	struct vmtrace_hier *h = arg;
	unsigned int i;

	for (i = 0; i < VMTRACE_SPTES_PER_TABLE; i++) {
		u64 spte = READ_ONCE(pt[i]);

		if (!vmtrace_spte_present(spte))
			continue;
		if (level == PG_LEVEL_1G) {
			if (vmtrace_spte_wrprot(&pt[i]))
				h->protected_1g++;
		} else if (!vmtrace_spte_leaf(spte, level)) {
			vmtrace_hier_protect_table(vmtrace_spte_child(spte),
						   level - 1, arg);
		}
	}
}

/**
 * vmtrace_hier_protect() - write-protect every 1 GB region of the VM
 * @h: the session's hierarchical state; mmu_lock held for write
 *
 * Only the level-3 entries change: a handful per root.  The caller flushes
 * TLBs before it hands out pages harvested before this call.
 */
void vmtrace_hier_protect(struct vmtrace_hier *h)
{
	/* Tables are RCU-freed; the TDP MMU's own walkers hold RCU too. */
	rcu_read_lock();
	vmtrace_kvm_visit_roots(h->kvm, true, vmtrace_hier_protect_table, h);
	rcu_read_unlock();
}

/* Give W back to every non-leaf entry that lacks it: they are all ours. */
static void vmtrace_hier_unprotect_table(u64 *pt, int level, void *arg)
{
	unsigned int i;

	for (i = 0; i < VMTRACE_SPTES_PER_TABLE; i++) {
		u64 old = READ_ONCE(pt[i]);

		if (!vmtrace_spte_present(old) ||
		    vmtrace_spte_leaf(old, level))
			continue;
		/*
		 * Under the write lock only the hardware writes SPTEs, and
		 * not non-leaf ones (A is always set): this cannot fail,
		 * but an entry left W=0 would fault forever, so retry.
		 */
		while (!(old & VMTRACE_SPTE_W) &&
		       !try_cmpxchg64(&pt[i], &old, old | VMTRACE_SPTE_W))
			if (WARN_ON_ONCE(!vmtrace_spte_present(old) ||
					 vmtrace_spte_leaf(old, level)))
				break;
		if (!vmtrace_spte_present(old) ||
		    vmtrace_spte_leaf(old, level))
			continue;
		if (level > PG_LEVEL_2M)
			vmtrace_hier_unprotect_table(vmtrace_spte_child(old),
						     level - 1, arg);
	}
}

/*
 * Open the protected entry *@sptep (present, non-leaf, W=0, at @level):
 * protect its children, then let writes through it.  mmu_lock is held for
 * read and RCU, so a protect cannot run in between (see the top).
 * Returns false if the entry changed under us; the guest then retries.
 */
static bool vmtrace_hier_open(struct vmtrace_hier *h, u64 *sptep, u64 old,
			      int level)
{
	u64 *pt = vmtrace_spte_child(old);
	u64 addr = old & physical_mask & PAGE_MASK;
	unsigned int i, changed = 0;

	for (i = 0; i < VMTRACE_SPTES_PER_TABLE; i++)
		changed += vmtrace_spte_wrprot(&pt[i]);
	/*
	 * Opening is argued to need no flush (hierarchical.rst 3.4), which
	 * TCG cannot test: it has no page-walk cache.  If a CPU cached a
	 * raw W=1 child filled before this open, a flush here, between the
	 * children and the parent, closes the hole.
	 */
	if (changed && READ_ONCE(vmtrace_config.flush_on_open))
		kvm_flush_remote_tlbs(h->kvm);

	/* The LOCK CMPXCHG orders the children's updates before this one. */
	while (!try_cmpxchg64(sptep, &old, old | VMTRACE_SPTE_W)) {
		if (!vmtrace_spte_present(old) ||
		    vmtrace_spte_leaf(old, level) ||
		    (old & physical_mask & PAGE_MASK) != addr)
			return false;	/* zapped or replaced meanwhile */
		if (old & VMTRACE_SPTE_W)
			break;		/* another vCPU opened it */
	}
	/* Index 0: a 2 MB region opened, its 4 KB children; 1: 1 GB. */
	atomic64_add(changed, &h->opened_wrprot[level - PG_LEVEL_2M]);
	atomic64_inc(&h->opened[level - PG_LEVEL_2M]);
	return true;
}

/*
 * Walk the vCPU's root for @gpa; with @open, open every protected entry on
 * the way down.  Returns whether it met a protected entry.
 */
static bool vmtrace_hier_walk(struct vmtrace_hier *h, struct kvm_vcpu *vcpu,
			      gpa_t gpa, bool open)
{
	struct kvm_mmu *mmu = vcpu->arch.mmu;
	hpa_t root = mmu->root.hpa;
	int level = mmu->root_role.level;
	bool protected = false;
	u64 *pt;

	if (!VALID_PAGE(root))
		return false;
	pt = __va(root);
	for (; level > PG_LEVEL_4K; level--) {
		u64 *sptep = &pt[vmtrace_spte_index(gpa, level)];
		u64 spte = READ_ONCE(*sptep);

		if (!vmtrace_spte_present(spte) ||
		    vmtrace_spte_leaf(spte, level))
			break;
		/* Only level 3 is ever protected, and below it what opens. */
		if (!(spte & VMTRACE_SPTE_W) && level <= PG_LEVEL_1G) {
			protected = true;
			if (!open)
				break;
			if (!vmtrace_hier_open(h, sptep, spte, level))
				break;
		}
		pt = vmtrace_spte_child(spte);
	}
	return protected;
}

static struct vmtrace_hier *vmtrace_hier_find(struct kvm *kvm)
{
	struct vmtrace_hier *h;

	list_for_each_entry_rcu(h, &vmtrace_hier_vms, node)
		if (h->kvm == kvm)
			return h;
	return NULL;
}

/**
 * vmtrace_hier_fault() - called on entry to kvm_mmu_page_fault()
 * @vcpu: the faulting vCPU, in its own thread
 * @gpa: the faulting guest-physical address
 * @error_code: the #NPF error code
 *
 * KVM's handler would see a writable leaf under our W=0 entry, call the
 * fault spurious and send the guest back to fault again, forever.  Open the
 * path first, and KVM then finds a write-protected 4 KB leaf it knows how
 * to handle.  L2 guests run on a shadow NPT (guest_mmu) that the hierarchy
 * does not cover: their writes are left to KVM (see hierarchical.rst 5.6).
 */
void vmtrace_hier_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	struct vmtrace_hier *h;

	if ((error_code & (PFERR_WRITE_MASK | PFERR_RSVD_MASK)) !=
	    PFERR_WRITE_MASK)
		return;
	if (list_empty(&vmtrace_hier_vms) ||
	    vcpu->arch.mmu != &vcpu->arch.root_mmu)
		return;

	rcu_read_lock();
	h = vmtrace_hier_find(vcpu->kvm);
	/* A lockless look first: ordinary dirty-logging faults stay lockless. */
	if (h && vmtrace_hier_walk(h, vcpu, gpa, false)) {
		atomic64_inc(&h->faults);
		read_lock(&vcpu->kvm->mmu_lock);
		vmtrace_hier_walk(h, vcpu, gpa, true);
		read_unlock(&vcpu->kvm->mmu_lock);
	}
	rcu_read_unlock();
}

/**
 * vmtrace_hier_create() - put a VM in hierarchical mode
 * @kvm: the VM; its memslots already have dirty logging on
 *
 * From here on the fault hook opens what vmtrace_hier_protect() protects.
 */
struct vmtrace_hier *vmtrace_hier_create(struct kvm *kvm)
{
	struct vmtrace_hier *h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);

	if (!h)
		return NULL;
	h->kvm = kvm;
	spin_lock(&vmtrace_hier_vms_lock);
	list_add_rcu(&h->node, &vmtrace_hier_vms);
	spin_unlock(&vmtrace_hier_vms_lock);
	return h;
}

/**
 * vmtrace_hier_destroy() - leave hierarchical mode
 * @h: the state from vmtrace_hier_create()
 *
 * Unprotecting first, while the hook still runs, means no vCPU can meet a
 * W=0 non-leaf entry that nobody opens any more.  Leaves keep W=0 where an
 * open left it: that is KVM's own write-protected state, which its fast
 * path undoes on the next write.
 */
void vmtrace_hier_destroy(struct vmtrace_hier *h)
{
	write_lock(&h->kvm->mmu_lock);
	rcu_read_lock();
	vmtrace_kvm_visit_roots(h->kvm, false, vmtrace_hier_unprotect_table, h);
	rcu_read_unlock();
	write_unlock(&h->kvm->mmu_lock);

	spin_lock(&vmtrace_hier_vms_lock);
	list_del_rcu(&h->node);
	spin_unlock(&vmtrace_hier_vms_lock);
	/* The hook may still be looking at @h. */
	synchronize_rcu();
	kfree(h);
}

/**
 * vmtrace_hier_read_stats() - copy the counters into a session's stats
 * @h: hierarchical state
 * @st: the session's statistics
 */
void vmtrace_hier_read_stats(const struct vmtrace_hier *h,
			     struct vmtrace_stats *st)
{
	st->wrprot[PG_LEVEL_4K - 1] = atomic64_read(&h->opened_wrprot[0]);
	st->wrprot[PG_LEVEL_2M - 1] = atomic64_read(&h->opened_wrprot[1]);
	st->wrprot[PG_LEVEL_1G - 1] = h->protected_1g;
	st->opened[0] = atomic64_read(&h->opened[0]);
	st->opened[1] = atomic64_read(&h->opened[1]);
	st->module_faults = atomic64_read(&h->faults);
}
