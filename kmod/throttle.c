// SPDX-License-Identifier: GPL-2.0
/*
 * Stun During Page Send: short sleeps injected into a VM's vCPUs while it
 * dirties memory faster than the migration link can carry it.
 *
 * A session's throttle is a sleep length S (microseconds) and a period P:
 * each vCPU runs for P, then sleeps S, so it keeps P / (P + S) of its
 * time.  An hrtimer ticks every P/4 and queues, on each vCPU thread that
 * has run for P since its last sleep, a task_work (TWA_RESUME, i.e.
 * TIF_NOTIFY_RESUME), kicking the vCPU if it is in guest mode.  6.1's
 * vcpu_run() checks for TIF_NOTIFY_RESUME before every guest entry
 * (kvm_vcpu_exit_request(), then xfer_to_guest_mode_handle_work()), so
 * the vCPU leaves the guest, runs the work -- a sleep of S to S + S/16 in
 * its own thread -- and enters again.  No VMM cooperation, no signals,
 * and a halted vCPU is never woken for it: its sleep waits for its next
 * entry.
 *
 * Lifetime: a queued work belongs to the module, so nothing may outlive
 * the throttle: vmtrace_throttle_destroy() stops the timer, takes back
 * the works still queued (task_work_cancel_match(), resolved in
 * kvm_ops.c) and waits for those already running, which end within one
 * sleep.
 */
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>

#include <uapi/linux/vmtrace.h>

#include "vmtrace.h"

struct vmtrace_throttle_vcpu {
	struct callback_head work;
	struct vmtrace_throttle *t;
	struct kvm_vcpu *vcpu;
	atomic_t queued;		/* @work is queued or running */
	atomic64_t woke_ns;		/* end of its last sleep */
	atomic64_t stun_ns;
	atomic64_t sleeps;
};

struct vmtrace_throttle {
	u32 sleep_us;			/* 0: off */
	u32 period_us;
	struct hrtimer timer;
	/* Works queued or running; decremented under @wq.lock. */
	unsigned int inflight;
	wait_queue_head_t wq;
	unsigned int nr_vcpus;
	struct vmtrace_throttle_vcpu vcpus[];
};

/* Runs in the vCPU thread, before its next guest entry. */
static void vmtrace_throttle_work(struct callback_head *work)
{
	struct vmtrace_throttle_vcpu *tv =
		container_of(work, struct vmtrace_throttle_vcpu, work);
	struct vmtrace_throttle *t = tv->t;
	u32 us = READ_ONCE(t->sleep_us);
	unsigned long flags;
	u64 t0;

	if (us) {
		t0 = ktime_get_ns();
		/*
		 * Not fsleep(): it asks for usleep_range(us, 2 * us) up to
		 * 20 ms, and an idle hrtimer base then lets the vCPU sleep
		 * to the end of that range, twice what SDPS sized; past
		 * 20 ms it rounds to jiffies.  A range of 1/16 of the sleep
		 * still lets the timer merge with its neighbours.
		 */
		usleep_range(us, us + us / 16);
		atomic64_add(ktime_get_ns() - t0, &tv->stun_ns);
		/*
		 * Count the sleep after its time, so that a reader who
		 * sees it counted sees its time too.  Pairs with the
		 * smp_rmb() in vmtrace_throttle_vcpu_stats().
		 */
		smp_wmb();
		atomic64_inc(&tv->sleeps);
	}
	atomic64_set(&tv->woke_ns, ktime_get_ns());
	atomic_set(&tv->queued, 0);
	/*
	 * Under the lock, so that the destroyer, which takes it once after
	 * its wait, cannot free @t while this is still touching it.
	 */
	spin_lock_irqsave(&t->wq.lock, flags);
	if (!--t->inflight)
		wake_up_locked(&t->wq);
	spin_unlock_irqrestore(&t->wq.lock, flags);
}

/* Queue one sleep on @tv's vCPU thread, unless one is already queued. */
static void vmtrace_throttle_queue(struct vmtrace_throttle_vcpu *tv)
{
	struct vmtrace_throttle *t = tv->t;
	struct task_struct *task;
	unsigned long flags;
	struct pid *pid;
	int err = -ESRCH;

	/* Its period of running is not over yet. */
	if (ktime_get_ns() - atomic64_read(&tv->woke_ns) <
	    (u64)t->period_us * NSEC_PER_USEC)
		return;
	if (atomic_cmpxchg(&tv->queued, 0, 1))
		return;
	spin_lock_irqsave(&t->wq.lock, flags);
	t->inflight++;
	spin_unlock_irqrestore(&t->wq.lock, flags);

	rcu_read_lock();
	pid = rcu_dereference(tv->vcpu->pid);
	task = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
	if (task)
		err = task_work_add(task, &tv->work, TWA_RESUME);
	rcu_read_unlock();
	if (err) {
		/* No thread yet, or it is exiting: nothing to throttle. */
		atomic_set(&tv->queued, 0);
		spin_lock_irqsave(&t->wq.lock, flags);
		if (!--t->inflight)
			wake_up_locked(&t->wq);
		spin_unlock_irqrestore(&t->wq.lock, flags);
		return;
	}
	/* In guest mode it would not look at its thread flags: kick it. */
	if (READ_ONCE(tv->vcpu->mode) == IN_GUEST_MODE)
		kvm_vcpu_kick(tv->vcpu);
}

static ktime_t vmtrace_throttle_tick_interval(const struct vmtrace_throttle *t)
{
	return ns_to_ktime((u64)t->period_us * NSEC_PER_USEC / 4);
}

static enum hrtimer_restart vmtrace_throttle_tick(struct hrtimer *timer)
{
	struct vmtrace_throttle *t =
		container_of(timer, struct vmtrace_throttle, timer);
	unsigned int i;

	if (!READ_ONCE(t->sleep_us))
		return HRTIMER_NORESTART;
	for (i = 0; i < t->nr_vcpus; i++)
		vmtrace_throttle_queue(&t->vcpus[i]);
	hrtimer_forward_now(timer, vmtrace_throttle_tick_interval(t));
	return HRTIMER_RESTART;
}

static struct vmtrace_throttle *vmtrace_throttle_alloc(struct kvm *kvm)
{
	unsigned int nr = atomic_read(&kvm->online_vcpus), i;
	struct vmtrace_throttle *t;

	t = kzalloc(struct_size(t, vcpus, nr), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	t->period_us = VMTRACE_THROTTLE_PERIOD_US;
	init_waitqueue_head(&t->wq);
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	t->timer.function = vmtrace_throttle_tick;
	for (i = 0; i < nr; i++) {
		struct kvm_vcpu *vcpu = kvm_get_vcpu(kvm, i);

		if (!vcpu)
			break;
		t->vcpus[i].t = t;
		t->vcpus[i].vcpu = vcpu;
		init_task_work(&t->vcpus[i].work, vmtrace_throttle_work);
	}
	t->nr_vcpus = i;
	return t;
}

static bool vmtrace_throttle_match(struct callback_head *cb, void *data)
{
	return cb == data;
}

/* Stop queueing, take back what is queued, wait for what runs. */
static void vmtrace_throttle_quiesce(struct vmtrace_throttle *t)
{
	unsigned long flags;
	unsigned int i;

	WRITE_ONCE(t->sleep_us, 0);
	hrtimer_cancel(&t->timer);
	for (i = 0; i < t->nr_vcpus; i++) {
		struct vmtrace_throttle_vcpu *tv = &t->vcpus[i];
		struct task_struct *task = NULL;
		struct pid *pid;

		if (!atomic_read(&tv->queued))
			continue;
		rcu_read_lock();
		pid = rcu_dereference(tv->vcpu->pid);
		if (pid)
			task = get_pid_task(pid, PIDTYPE_PID);
		rcu_read_unlock();
		if (!task)
			continue;
		if (vmtrace_kvm.task_work_cancel_match(task,
						       vmtrace_throttle_match,
						       &tv->work)) {
			atomic_set(&tv->queued, 0);
			spin_lock_irqsave(&t->wq.lock, flags);
			t->inflight--;
			spin_unlock_irqrestore(&t->wq.lock, flags);
		}
		put_task_struct(task);
	}
	/*
	 * A work that is running (or was queued on a thread since gone, whose
	 * exit runs it) finishes within one sleep.
	 */
	wait_event(t->wq, !READ_ONCE(t->inflight));
	/* The last decrement's unlock is behind us too. */
	spin_lock_irq(&t->wq.lock);
	spin_unlock_irq(&t->wq.lock);
}

/**
 * vmtrace_throttle_set() - set or clear a session's vCPU sleeps
 * @s: the session, vmtrace_lock held
 * @sleep_us: sleep per vCPU per period, 0 to stop throttling
 *
 * Return: 0 or -ENOMEM.
 */
int vmtrace_throttle_set(struct vmtrace_session *s, u32 sleep_us)
{
	struct vmtrace_throttle *t = s->throttle;

	lockdep_assert_held(&vmtrace_lock);
	if (!sleep_us) {
		if (t && t->sleep_us)
			vmtrace_throttle_quiesce(t);
		return 0;
	}
	if (!t) {
		t = vmtrace_throttle_alloc(s->kvm);
		if (!t)
			return -ENOMEM;
		s->throttle = t;
	}
	if (!t->sleep_us) {
		u64 now = ktime_get_ns();
		unsigned int i;

		/* Every vCPU starts with a period of running. */
		for (i = 0; i < t->nr_vcpus; i++)
			atomic64_set(&t->vcpus[i].woke_ns, now);
		WRITE_ONCE(t->sleep_us, sleep_us);
		hrtimer_start(&t->timer, vmtrace_throttle_tick_interval(t),
			      HRTIMER_MODE_REL);
	} else {
		WRITE_ONCE(t->sleep_us, sleep_us);
	}
	return 0;
}

/* Called with vmtrace_lock held when the session ends. */
void vmtrace_throttle_destroy(struct vmtrace_session *s)
{
	if (!s->throttle)
		return;
	vmtrace_throttle_quiesce(s->throttle);
	kfree(s->throttle);
	s->throttle = NULL;
}

u32 vmtrace_throttle_sleep_us(const struct vmtrace_session *s)
{
	return s->throttle ? READ_ONCE(s->throttle->sleep_us) : 0;
}

u32 vmtrace_throttle_period_us(const struct vmtrace_session *s)
{
	return s->throttle ? s->throttle->period_us :
			     VMTRACE_THROTTLE_PERIOD_US;
}

/**
 * vmtrace_throttle_vcpu_stats() - what one vCPU has slept so far
 * @s: the session, vmtrace_lock held
 * @i: vCPU index
 * @stun_ns: total time slept, at least that of the @sleeps counted
 * @sleeps: number of sleeps
 *
 * Return: false past the last vCPU the throttle knows.
 */
bool vmtrace_throttle_vcpu_stats(const struct vmtrace_session *s,
				 unsigned int i, u64 *stun_ns, u64 *sleeps)
{
	const struct vmtrace_throttle *t = s->throttle;

	if (!t || i >= t->nr_vcpus)
		return false;
	*sleeps = atomic64_read(&t->vcpus[i].sleeps);
	/*
	 * The sleeps before the time: every sleep counted has its time in
	 * @stun_ns (it may also hold one not counted yet).  Pairs with the
	 * smp_wmb() in vmtrace_throttle_work().
	 */
	smp_rmb();
	*stun_ns = atomic64_read(&t->vcpus[i].stun_ns);
	return true;
}
