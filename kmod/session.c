// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: which VMs are traced, by whom, and what ends a session.
 *
 * A session holds a reference on its VM, so KVM can never free the VM
 * under vmtrace.  Three things end a session besides an explicit detach,
 * and each leaves the VM exactly as it was before attach:
 *  - the netlink socket that attached it closes (a controller that
 *    crashed or was killed included): NETLINK_URELEASE;
 *  - the VMM process exits: an mmu_notifier on its mm sees release, and a
 *    work item (not the notifier itself, which runs inside exit_mmap())
 *    drops the session and with it the last reference KVM waits for;
 *  - vmtrace is unloaded.
 */
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/netlink.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

/* Serializes all session changes: netlink, VMM exit, socket close, unload. */
DEFINE_MUTEX(vmtrace_lock);
static LIST_HEAD(vmtrace_sessions);
static DEFINE_IDR(vmtrace_session_ids);
static struct workqueue_struct *vmtrace_wq;

/*
 * The VMM-exit work item lives apart from the session: the mmu_notifier
 * may fire while the session is being destroyed, so the work finds its
 * session by id, and whoever loses the race for @queued frees it.
 */
struct vmtrace_vm_exit {
	struct work_struct work;
	u32 session_id;
	unsigned long queued;
};

struct vmtrace_session *vmtrace_session_find(u32 id)
{
	lockdep_assert_held(&vmtrace_lock);
	return idr_find(&vmtrace_session_ids, id);
}

/* The session with the lowest id >= *@id, for dumps; vmtrace_lock held. */
struct vmtrace_session *vmtrace_session_next(int *id)
{
	lockdep_assert_held(&vmtrace_lock);
	return idr_get_next(&vmtrace_session_ids, id);
}

static void vmtrace_vm_exit_work(struct work_struct *work)
{
	struct vmtrace_vm_exit *ve = container_of(work, struct vmtrace_vm_exit,
						  work);
	struct vmtrace_session *s;

	mutex_lock(&vmtrace_lock);
	s = vmtrace_session_find(ve->session_id);
	if (s)
		vmtrace_session_destroy(s, VMTRACE_GONE_VM_EXITED);
	mutex_unlock(&vmtrace_lock);
	kfree(ve);
}

static void vmtrace_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct vmtrace_session *s = container_of(mn, struct vmtrace_session,
						 mn);
	struct vmtrace_vm_exit *ve = s->vm_exit;

	if (!test_and_set_bit(0, &ve->queued))
		queue_work(vmtrace_wq, &ve->work);
}

static const struct mmu_notifier_ops vmtrace_mn_ops = {
	.release = vmtrace_mn_release,
};

static bool vmtrace_vm_uses_dirty_logging(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	bool used = false;
	int as_id, bkt;

	mutex_lock(&kvm->slots_lock);
	for (as_id = 0; as_id < KVM_ADDRESS_SPACE_NUM; as_id++)
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, as_id))
			if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
				used = true;
	mutex_unlock(&kvm->slots_lock);
	return used;
}

static struct vmtrace_session *vmtrace_session_of_kvm(struct kvm *kvm)
{
	struct vmtrace_session *s;

	list_for_each_entry(s, &vmtrace_sessions, node)
		if (s->kvm == kvm)
			return s;
	return NULL;
}

/**
 * vmtrace_session_attach() - start a session on the VM behind @vm_file
 * @vm_file: a file the caller passed as a VM fd
 * @mode: enum vmtrace_mode
 * @flush_mode: enum vmtrace_flush
 * @net: the owner's network namespace
 * @portid: the owner's netlink port
 * @extack: for the reason of a refusal
 * @out: the new session
 *
 * Called with vmtrace_lock held.
 */
int vmtrace_session_attach(struct file *vm_file, u32 mode, u32 flush_mode,
			   struct net *net, u32 portid,
			   struct netlink_ext_ack *extack,
			   struct vmtrace_session **out)
{
	struct vmtrace_session *s;
	struct kvm *kvm;
	int err;

	lockdep_assert_held(&vmtrace_lock);
	if (!file_is_kvm(vm_file)) {
		NL_SET_ERR_MSG_MOD(extack, "not a KVM VM file descriptor");
		return -EBADF;
	}
	kvm = vm_file->private_data;
	if (vmtrace_session_of_kvm(kvm)) {
		NL_SET_ERR_MSG_MOD(extack, "the VM is already traced");
		return -EBUSY;
	}
	if (READ_ONCE(kvm->dirty_ring_size)) {
		NL_SET_ERR_MSG_MOD(extack, "the VM uses a KVM dirty ring");
		return -EBUSY;
	}
	if (vmtrace_vm_uses_dirty_logging(kvm)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the VMM already uses KVM dirty logging");
		return -EBUSY;
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->vm_exit = kzalloc(sizeof(*s->vm_exit), GFP_KERNEL_ACCOUNT);
	if (!s->vm_exit) {
		err = -ENOMEM;
		goto out_free_session;
	}
	INIT_WORK(&s->vm_exit->work, vmtrace_vm_exit_work);

	err = idr_alloc_cyclic(&vmtrace_session_ids, s, 1, INT_MAX, GFP_KERNEL);
	if (err < 0)
		goto out_free_exit;
	s->id = err;
	s->vm_exit->session_id = s->id;

	/* The fd keeps the VM alive now; the reference, from now on. */
	kvm_get_kvm(kvm);
	s->kvm = kvm;
	s->mode = mode;
	s->flush_mode = flush_mode;
	s->vm_pid = kvm->userspace_pid;
	s->state = VMTRACE_STATE_ATTACHED;

	/* Watch the VMM's exit; an exiting VMM is not worth attaching to. */
	s->mm = kvm->mm;
	if (!mmget_not_zero(s->mm)) {
		NL_SET_ERR_MSG_MOD(extack, "the VMM is exiting");
		err = -ESRCH;
		goto out_put_kvm;
	}
	mmgrab(s->mm);
	s->mn.ops = &vmtrace_mn_ops;
	err = mmu_notifier_register(&s->mn, s->mm);
	mmput(s->mm);
	if (err)
		goto out_drop_mm;
	s->mn_registered = true;

	s->net = get_net(net);
	s->portid = portid;
	list_add(&s->node, &vmtrace_sessions);
	*out = s;
	return 0;

out_drop_mm:
	mmdrop(s->mm);
out_put_kvm:
	kvm_put_kvm(kvm);
	idr_remove(&vmtrace_session_ids, s->id);
out_free_exit:
	kfree(s->vm_exit);
out_free_session:
	kfree(s);
	return err;
}

/**
 * vmtrace_session_destroy() - end a session, leaving the VM as it was
 * @s: the session
 * @reason: enum vmtrace_gone_reason, sent to event listeners
 *
 * Called with vmtrace_lock held.
 */
void vmtrace_session_destroy(struct vmtrace_session *s, u32 reason)
{
	lockdep_assert_held(&vmtrace_lock);

	/*
	 * A VMM that exited has no memory left to restore flags on; KVM
	 * tears the VM down once the reference below is gone.
	 */
	/* No vCPU sleeps on for a session that is gone. */
	vmtrace_throttle_destroy(s);
	if (s->state == VMTRACE_STATE_TRACKING) {
		if (reason == VMTRACE_GONE_VM_EXITED)
			vmtrace_track_vm_gone(s);
		else
			vmtrace_track_stop(s);
	}

	vmtrace_nl_notify_gone(s, reason);
	list_del(&s->node);
	idr_remove(&vmtrace_session_ids, s->id);

	if (s->mn_registered)
		mmu_notifier_unregister(&s->mn, s->mm);
	mmdrop(s->mm);
	/* A release that fired has queued the work, which frees it. */
	if (!test_and_set_bit(0, &s->vm_exit->queued))
		kfree(s->vm_exit);

	kfree(s->slots);
	kvm_put_kvm(s->kvm);
	put_net(s->net);
	kfree(s);
}

void vmtrace_sessions_destroy_owned(struct net *net, u32 portid)
{
	struct vmtrace_session *s, *tmp;

	mutex_lock(&vmtrace_lock);
	list_for_each_entry_safe(s, tmp, &vmtrace_sessions, node)
		if (s->net == net && s->portid == portid)
			vmtrace_session_destroy(s, VMTRACE_GONE_OWNER_CLOSED);
	mutex_unlock(&vmtrace_lock);
}

static int vmtrace_netlink_event(struct notifier_block *nb,
				 unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid)
		vmtrace_sessions_destroy_owned(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vmtrace_netlink_notifier = {
	.notifier_call = vmtrace_netlink_event,
};

int vmtrace_sessions_init(void)
{
	int err;

	vmtrace_wq = alloc_workqueue("vmtrace", WQ_UNBOUND, 0);
	if (!vmtrace_wq)
		return -ENOMEM;
	err = netlink_register_notifier(&vmtrace_netlink_notifier);
	if (err)
		destroy_workqueue(vmtrace_wq);
	return err;
}

/* After the netlink family is gone: no new sessions can appear. */
void vmtrace_sessions_exit(void)
{
	struct vmtrace_session *s, *tmp;

	netlink_unregister_notifier(&vmtrace_netlink_notifier);
	mutex_lock(&vmtrace_lock);
	list_for_each_entry_safe(s, tmp, &vmtrace_sessions, node)
		vmtrace_session_destroy(s, VMTRACE_GONE_UNLOADED);
	mutex_unlock(&vmtrace_lock);
	/* VM-exit work still queued finds no session, and frees itself. */
	destroy_workqueue(vmtrace_wq);
	idr_destroy(&vmtrace_session_ids);
}
