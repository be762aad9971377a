// SPDX-License-Identifier: GPL-2.0
/*
 * The tracking engine: start, harvest, acknowledge, stop.
 *
 * Recording is KVM's own memslot dirty log, which vmtrace turns on for
 * every user memslot of the VM in manual-protect mode.  Every way KVM knows
 * of for a page to become dirty -- a write fault on a protected SPTE, KVM
 * creating a writable SPTE on a dirty-logged slot, kvm_write_guest() into
 * guest memory -- sets the page's bit there; vmtrace decides when and how
 * write protection is put back.
 *
 * Stock mode does what KVM's own KVM_CLEAR_DIRTY_LOG does: on start KVM
 * splits huge pages and write-protects every 4 KB page; each harvest takes
 * and clears the dirty words and write-protects those pages again.
 *
 * Hierarchical mode (hierarchical.c) turns the log on "initially set":
 * KVM protects nothing and reports every page dirty, so the first harvest
 * returns the whole guest.  Each harvest takes the dirty words and
 * write-protects only the 1 GB entries; the fault hook pushes protection
 * down where the guest writes.
 *
 * Why nothing is missed: a harvest first takes a page's bit and then
 * write-protects the page; a write that lands between the two is in memory
 * before userspace copies the page (it copies only after the flush barrier
 * of flush.c), and any write after the barrier faults and sets the bit
 * again for the next harvest.
 *
 * A harvest is a snapshot that stays with the session (slot->pending)
 * until userspace acknowledges it, so a reader killed halfway loses
 * nothing: the next harvest hands the same pages out again.
 *
 * Everything here runs with vmtrace_lock held.
 */
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

static struct kvm_memory_slot *vmtrace_lookup_slot(struct kvm *kvm,
						   const struct vmtrace_slot *vs)
{
	struct kvm_memory_slot *slot;

	lockdep_assert_held(&kvm->slots_lock);
	slot = id_to_memslot(__kvm_memslots(kvm, vs->as_id), vs->id);
	if (!slot || slot->base_gfn != vs->base_gfn ||
	    slot->npages != vs->npages)
		return NULL;
	return slot;
}

static void vmtrace_free_slots(struct vmtrace_session *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_slots; i++)
		kvfree(s->slots[i].pending);
	kfree(s->slots);
	s->slots = NULL;
	s->nr_slots = 0;
	s->nr_pages = 0;
}

/* Record the user memslots that can be written; slots_lock held. */
static int vmtrace_collect_slots(struct vmtrace_session *s)
{
	struct kvm_memory_slot *slot;
	unsigned int n = 0, as_id;
	int bkt;

	for (as_id = 0; as_id < KVM_ADDRESS_SPACE_NUM; as_id++)
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(s->kvm, as_id))
			n++;
	s->slots = kcalloc(n, sizeof(*s->slots), GFP_KERNEL_ACCOUNT);
	if (!s->slots)
		return -ENOMEM;

	for (as_id = 0; as_id < KVM_ADDRESS_SPACE_NUM; as_id++) {
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(s->kvm, as_id)) {
			struct vmtrace_slot *vs;

			/*
			 * KVM's internal slots (APIC access page, TSS) are
			 * not guest RAM; read-only slots are never written.
			 */
			if (slot->id >= KVM_USER_MEM_SLOTS ||
			    (slot->flags & KVM_MEM_READONLY))
				continue;
			if (WARN_ON_ONCE(s->nr_slots == n))
				break;
			vs = &s->slots[s->nr_slots];
			vs->as_id = slot->as_id;
			vs->id = slot->id;
			vs->base_gfn = slot->base_gfn;
			vs->npages = slot->npages;
			vs->userspace_addr = slot->userspace_addr;
			vs->flags = slot->flags;
			vs->pending = kvcalloc(BITS_TO_LONGS(slot->npages),
					       sizeof(long), GFP_KERNEL_ACCOUNT);
			if (!vs->pending)
				return -ENOMEM;
			s->nr_slots++;
			s->nr_pages += slot->npages;
		}
	}
	return 0;
}

/* Put the recorded slots' flags back, last first; slots_lock held. */
static void vmtrace_restore_slots(struct vmtrace_session *s, unsigned int n)
{
	while (n--) {
		struct vmtrace_slot *vs = &s->slots[n];

		if (!vmtrace_lookup_slot(s->kvm, vs))
			continue;	/* the VMM changed it: not ours now */
		if (vmtrace_kvm_set_slot_flags(s->kvm, vs, vs->flags))
			pr_warn_ratelimited("vmtrace: cannot restore slot %u flags\n",
					    vs->id);
	}
}

/*
 * Split huge mappings now, the way KVM's eager split does on start in stock
 * mode: splitting a write-protected huge page on its first write would zap
 * it (a synchronous TLB flush of every vCPU) and then mark dirty every
 * sibling page mapped again, read or written.  The split copies each huge
 * entry's permissions; protection above is what makes the pieces fault.
 * Then protect the 1 GB level.  No flush barrier: every page is dirty in
 * the initially-set log, so the first harvest covers writes before it.
 * The eager_split parameter turns the split off, to measure the other way.
 */
static int vmtrace_track_start_hier(struct vmtrace_session *s)
{
	struct kvm *kvm = s->kvm;
	unsigned int i;

	for (i = 0; i < s->nr_slots && READ_ONCE(vmtrace_config.eager_split);
	     i++) {
		struct kvm_memory_slot *slot =
			vmtrace_lookup_slot(kvm, &s->slots[i]);

		if (slot)
			vmtrace_kvm.slot_try_split_huge_pages(kvm, slot,
							      PG_LEVEL_4K);
	}
	s->hier = vmtrace_hier_create(kvm);
	if (!s->hier)
		return -ENOMEM;
	write_lock(&kvm->mmu_lock);
	vmtrace_hier_protect(s->hier);
	write_unlock(&kvm->mmu_lock);
	return 0;
}

/**
 * vmtrace_track_start() - begin tracing an attached VM
 * @s: the session
 * @extack: for the reason of a failure
 *
 * Return: 0, or a negative errno with @s unchanged.
 */
int vmtrace_track_start(struct vmtrace_session *s,
			struct netlink_ext_ack *extack)
{
	struct kvm *kvm = s->kvm;
	u64 t0 = ktime_get_ns();
	unsigned int i;
	int err;

	if (s->mode == VMTRACE_MODE_HIERARCHICAL) {
		err = vmtrace_kvm_hier_check(kvm, extack);
		if (err)
			return err;
	}

	mutex_lock(&kvm->slots_lock);
	err = vmtrace_collect_slots(s);
	if (err)
		goto out_free;
	for (i = 0; i < s->nr_slots; i++) {
		if (s->slots[i].flags & KVM_MEM_LOG_DIRTY_PAGES) {
			NL_SET_ERR_MSG_MOD(extack,
					   "the VMM already uses KVM dirty logging");
			err = -EBUSY;
			goto out_free;
		}
	}
	if (!s->nr_slots) {
		NL_SET_ERR_MSG_MOD(extack, "the VM has no writable memory");
		err = -ENOENT;
		goto out_free;
	}

	/*
	 * Stock: manual protect without "initially set": enabling the log
	 * splits and write-protects every page and starts with a clear
	 * bitmap, which is KVM's stop-based install.  Hierarchical: with
	 * "initially set", KVM leaves the mappings alone.
	 */
	s->saved_manual_protect = kvm->manual_dirty_log_protect;
	kvm->manual_dirty_log_protect = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	if (s->mode == VMTRACE_MODE_HIERARCHICAL)
		kvm->manual_dirty_log_protect |= KVM_DIRTY_LOG_INITIALLY_SET;
	for (i = 0; i < s->nr_slots; i++) {
		struct vmtrace_slot *vs = &s->slots[i];

		err = vmtrace_kvm_set_slot_flags(kvm, vs,
						 vs->flags | KVM_MEM_LOG_DIRTY_PAGES);
		if (err) {
			NL_SET_ERR_MSG_MOD(extack,
					   "KVM refused to enable dirty logging");
			vmtrace_restore_slots(s, i);
			kvm->manual_dirty_log_protect = s->saved_manual_protect;
			goto out_free;
		}
		if (s->mode == VMTRACE_MODE_STOCK)
			s->stats.pages_protected += vs->npages;
	}
	if (s->mode == VMTRACE_MODE_HIERARCHICAL) {
		err = vmtrace_track_start_hier(s);
		if (err) {
			vmtrace_restore_slots(s, s->nr_slots);
			kvm->manual_dirty_log_protect = s->saved_manual_protect;
			goto out_free;
		}
	}
	mutex_unlock(&kvm->slots_lock);

	s->state = VMTRACE_STATE_TRACKING;
	s->harvest_seq = 0;
	s->pending_pages = 0;
	s->stats.start_ns = ktime_get_ns() - t0;
	return 0;

out_free:
	vmtrace_free_slots(s);
	mutex_unlock(&kvm->slots_lock);
	return err;
}

/*
 * Take and clear one slot's dirty pages; mmu_lock held.  With @reprotect
 * (stock mode), write-protect each of them again.
 */
static u64 vmtrace_harvest_slot(struct vmtrace_session *s,
				struct kvm_memory_slot *slot,
				struct vmtrace_slot *vs, bool reprotect)
{
	unsigned long i, nr = BITS_TO_LONGS(vs->npages);
	u64 pages = 0;

	for (i = 0; i < nr; i++) {
		atomic_long_t *word = (atomic_long_t *)&slot->dirty_bitmap[i];
		unsigned long mask;

		if (!READ_ONCE(slot->dirty_bitmap[i]))
			continue;
		mask = atomic_long_xchg(word, 0);
		if (!mask)
			continue;
		vs->pending[i] |= mask;
		pages += hweight_long(mask);
		if (reprotect)
			vmtrace_kvm.enable_log_dirty_pt_masked(s->kvm, slot,
							       i * BITS_PER_LONG,
							       mask);
	}
	return pages;
}

/*
 * A VM that ran a nested (L2) guest has shadow-NPT leaves, which L2 writes
 * through without walking the TDP roots the hierarchy protects: protect
 * the pending pages there the stock way too.  In its own write-lock
 * section, as KVM may drop the lock to allocate while it splits.
 */
static void vmtrace_harvest_reprotect_shadow(struct vmtrace_session *s)
{
	struct kvm *kvm = s->kvm;
	unsigned int i;
	unsigned long w;

	if (!READ_ONCE(kvm->arch.shadow_root_allocated))
		return;
	write_lock(&kvm->mmu_lock);
	for (i = 0; i < s->nr_slots; i++) {
		struct vmtrace_slot *vs = &s->slots[i];
		struct kvm_memory_slot *slot = vmtrace_lookup_slot(kvm, vs);

		for (w = 0; slot && w < BITS_TO_LONGS(vs->npages); w++)
			if (vs->pending[w])
				vmtrace_kvm.enable_log_dirty_pt_masked(kvm, slot,
					w * BITS_PER_LONG, vs->pending[w]);
	}
	write_unlock(&kvm->mmu_lock);
}

/**
 * vmtrace_track_harvest() - snapshot the pages dirtied since the last one
 * @s: a tracking session
 * @extack: for the reason of a failure
 *
 * Moves every dirty bit into the session's pending set, write-protects
 * those pages again and returns once no vCPU can write to them unseen.
 */
int vmtrace_track_harvest(struct vmtrace_session *s,
			  struct netlink_ext_ack *extack)
{
	struct kvm *kvm = s->kvm;
	u64 t0 = ktime_get_ns(), t1, pages = 0, pending = 0;
	struct kvm_memory_slot *slot;
	unsigned int i;
	unsigned long w;

	mutex_lock(&kvm->slots_lock);
	for (i = 0; i < s->nr_slots; i++) {
		slot = vmtrace_lookup_slot(kvm, &s->slots[i]);
		if (!slot || !slot->dirty_bitmap) {
			mutex_unlock(&kvm->slots_lock);
			NL_SET_ERR_MSG_MOD(extack,
					   "the VM's memory layout changed under tracing");
			return -ESTALE;
		}
		/* Intel PML buffers hold bits not yet in the bitmap. */
		if (vmtrace_kvm.cpu_dirty_log_size())
			vmtrace_kvm.sync_dirty_log(kvm, slot);
	}

	t1 = ktime_get_ns();
	write_lock(&kvm->mmu_lock);
	for (i = 0; i < s->nr_slots; i++) {
		slot = vmtrace_lookup_slot(kvm, &s->slots[i]);
		pages += vmtrace_harvest_slot(s, slot, &s->slots[i], !s->hier);
	}
	/* After the words are taken: see "why nothing is missed" above. */
	if (s->hier)
		vmtrace_hier_protect(s->hier);
	write_unlock(&kvm->mmu_lock);
	if (s->hier)
		vmtrace_harvest_reprotect_shadow(s);
	s->stats.protect_ns = ktime_get_ns() - t1;
	mutex_unlock(&kvm->slots_lock);

	vmtrace_flush(kvm, s->flush_mode, &s->stats.flush);

	for (i = 0; i < s->nr_slots; i++)
		for (w = 0; w < BITS_TO_LONGS(s->slots[i].npages); w++)
			pending += hweight_long(s->slots[i].pending[w]);
	s->pending_pages = pending;
	s->harvest_seq++;
	s->stats.harvests++;
	s->stats.dirty_pages = pending;
	s->stats.dirty_pages_total += pages;
	if (!s->hier)
		s->stats.pages_protected += pages;
	s->stats.harvest_ns = ktime_get_ns() - t0;
	return 0;
}

/* The reader has everything of the last harvest: forget it. */
void vmtrace_track_ack(struct vmtrace_session *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_slots; i++)
		bitmap_zero(s->slots[i].pending, s->slots[i].npages);
	s->pending_pages = 0;
}

/**
 * vmtrace_track_stop() - stop tracing, leaving the VM as it was
 * @s: a tracking session
 *
 * Turning the dirty log off makes KVM free it and rebuild huge mappings.
 */
void vmtrace_track_stop(struct vmtrace_session *s)
{
	struct kvm *kvm = s->kvm;

	/* Before the log goes off: the hook must outlive our W=0 entries. */
	vmtrace_track_read_stats(s);
	if (s->hier) {
		vmtrace_hier_destroy(s->hier);
		s->hier = NULL;
	}
	mutex_lock(&kvm->slots_lock);
	vmtrace_restore_slots(s, s->nr_slots);
	kvm->manual_dirty_log_protect = s->saved_manual_protect;
	vmtrace_free_slots(s);
	mutex_unlock(&kvm->slots_lock);
	s->state = VMTRACE_STATE_ATTACHED;
	s->pending_pages = 0;
}

/**
 * vmtrace_track_vm_gone() - forget tracking state of a VM whose VMM exited
 * @s: a tracking session
 *
 * KVM has already zapped the VM's mappings (mmu_notifier release) and will
 * free its memslots with the VM: there are no flags to restore.
 */
void vmtrace_track_vm_gone(struct vmtrace_session *s)
{
	if (s->hier) {
		vmtrace_hier_destroy(s->hier);
		s->hier = NULL;
	}
	vmtrace_free_slots(s);
	s->state = VMTRACE_STATE_ATTACHED;
}

/**
 * vmtrace_track_read_stats() - bring a session's counters up to date
 * @s: the session
 *
 * The fault hook counts in the hierarchical state; stock mode's only
 * write protection is of 4 KB pages.
 */
void vmtrace_track_read_stats(struct vmtrace_session *s)
{
	if (s->hier)
		vmtrace_hier_read_stats(s->hier, &s->stats);
	else if (s->mode == VMTRACE_MODE_STOCK)
		s->stats.wrprot[PG_LEVEL_4K - 1] = s->stats.pages_protected;
}
