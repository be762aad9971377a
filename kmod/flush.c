// SPDX-License-Identifier: GPL-2.0
/*
 * TLB flushes after write protection, and the barrier before a harvest.
 *
 * Write-protecting an SPTE is only half the job: a vCPU may still hold the
 * old writable translation in its TLB and write through it unseen.  KVM
 * flushes synchronously (kvm_flush_remote_tlbs(): a request to every vCPU
 * and an IPI to those in guest mode, waiting for all).  vSphere 7 does it
 * lazily, and so does the lazy mode here: raise KVM_REQ_TLB_FLUSH on every
 * vCPU without an IPI.  x86's vcpu_enter_guest() services the request
 * (kvm_vcpu_flush_tlb_all()) before the next VMRUN/VMLAUNCH, so a vCPU
 * outside guest mode will flush before it can write again, and one inside
 * does so at its next natural exit (a timer tick, an I/O exit).
 *
 * The barrier: a harvest is handed out only once no vCPU can still write
 * through a stale translation.  That holds for a vCPU once its request bit
 * is clear (the vCPU cleared it outside guest mode, right before flushing)
 * or once it is seen OUTSIDE_GUEST_MODE after the request was raised (it
 * checks requests after publishing IN_GUEST_MODE and before entering; the
 * smp_mb() below pairs with that, as in kvm_make_all_cpus_request()).
 * vCPUs still in guest mode at the deadline are kicked, and waited for.
 */
#include <linux/delay.h>
#include <linux/ktime.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

#define VMTRACE_FLUSH_SLEEP_US	50

/* Whether @vcpu can no longer use a translation from before the request. */
static bool vmtrace_vcpu_flushed(struct kvm_vcpu *vcpu)
{
	return !kvm_test_request(KVM_REQ_TLB_FLUSH, vcpu) ||
	       READ_ONCE(vcpu->mode) == OUTSIDE_GUEST_MODE;
}

static void vmtrace_flush_lazy(struct kvm *kvm, struct vmtrace_flush_stats *st)
{
	ktime_t deadline = ktime_add_us(ktime_get(),
					READ_ONCE(vmtrace_config.flush_deadline_us));
	unsigned long nr = atomic_read(&kvm->online_vcpus);
	unsigned long *waiting, i;
	struct kvm_vcpu *vcpu;
	bool kicked = false;
	ktime_t now;

	waiting = bitmap_zalloc(nr, GFP_KERNEL);
	if (!waiting) {
		/* No memory for the lazy way: the synchronous one needs none. */
		kvm_flush_remote_tlbs(kvm);
		st->sync++;
		return;
	}
	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (i >= nr)
			break;
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
		__set_bit(i, waiting);
		st->requests++;
	}
	/* Order the requests before reading vcpu->mode (see above). */
	smp_mb();

	while (!bitmap_empty(waiting, nr)) {
		for_each_set_bit(i, waiting, nr) {
			vcpu = kvm_get_vcpu(kvm, i);
			if (!vcpu || vmtrace_vcpu_flushed(vcpu)) {
				__clear_bit(i, waiting);
				if (!kicked)
					st->natural++;
			}
		}
		if (bitmap_empty(waiting, nr))
			break;
		now = ktime_get();
		if (!kicked && ktime_after(now, deadline)) {
			for_each_set_bit(i, waiting, nr) {
				kvm_vcpu_kick(kvm_get_vcpu(kvm, i));
				st->kicks++;
			}
			kicked = true;
		}
		/*
		 * Always sleep: a busy poll here cannot be preempted, and with
		 * a CPU held in stop_machine() (clocksource change, say) time
		 * stops and the poll never ends.  Steps long enough not to
		 * turn the wait into a stream of timer interrupts.
		 */
		usleep_range(VMTRACE_FLUSH_SLEEP_US, 2 * VMTRACE_FLUSH_SLEEP_US);
	}
	bitmap_free(waiting);
}

/**
 * vmtrace_flush() - make new write protections effective on every vCPU
 * @kvm: the VM
 * @flush_mode: VMTRACE_FLUSH_LAZY or VMTRACE_FLUSH_SYNC
 * @st: counters to update
 *
 * Returns once no vCPU can write through a translation made before the
 * call.  Sleeps: never call with mmu_lock held.
 */
void vmtrace_flush(struct kvm *kvm, u32 flush_mode,
		   struct vmtrace_flush_stats *st)
{
	if (flush_mode == VMTRACE_FLUSH_SYNC) {
		kvm_flush_remote_tlbs(kvm);
		st->sync++;
		return;
	}
	vmtrace_flush_lazy(kvm, st);
}
