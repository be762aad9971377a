/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmtrace: dirty-page tracing for KVM guests under live migration.
 * Internal interfaces between the module's files.
 */
#ifndef _VMTRACE_H
#define _VMTRACE_H

#include <linux/kvm_host.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <net/netlink.h>

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
 * @sync_dirty_log: flush CPU dirty-log buffers (Intel PML) into the bitmap
 * @cpu_dirty_log_size: non-zero when the CPU logs dirty pages itself (PML)
 * @page_fault: KVM's MMU fault handler, the one vmtrace intercepts; it is
 *	exported, and referencing it also pins kvm.ko while vmtrace is loaded,
 *	which keeps every other address here valid
 * @tdp_enabled: KVM uses two-dimensional paging (NPT/EPT)
 * @tdp_mmu_enabled: the kvm.tdp_mmu parameter
 * @task_work_cancel_match: the kernel's, not KVM's: takes back a throttle
 *	sleep queued on a vCPU thread (throttle.c) before the module goes
 */
typedef bool (*vmtrace_task_work_match_t)(struct callback_head *cb,
					  void *data);

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
	void (*sync_dirty_log)(struct kvm *kvm, struct kvm_memory_slot *slot);
	int (*cpu_dirty_log_size)(void);
	int (*page_fault)(struct kvm_vcpu *vcpu, gpa_t cr2_or_gpa,
			  u64 error_code, void *insn, int insn_len);
	bool *tdp_enabled;
	bool *tdp_mmu_enabled;
	struct callback_head *
		(*task_work_cancel_match)(struct task_struct *task,
					  vmtrace_task_work_match_t match,
					  void *data);
};

extern struct vmtrace_kvm_ops vmtrace_kvm;

int vmtrace_kvm_ops_init(const char *extra_symbol);
unsigned int vmtrace_kvm_ops_count(void);
u32 vmtrace_kvm_flags(void);

struct vmtrace_slot;
int vmtrace_kvm_set_slot_flags(struct kvm *kvm, const struct vmtrace_slot *vs,
			       u32 flags);

/* Module-wide settings, changed through VMTRACE_CMD_SET_CONFIG. */
struct vmtrace_config {
	u32 flush_deadline_us;
};

extern struct vmtrace_config vmtrace_config;

/* Counters of the flush barrier (flush.c). */
struct vmtrace_flush_stats {
	u64 requests;	/* lazy flush requests raised, one per vCPU */
	u64 natural;	/* ... serviced or outside guest mode, no kick */
	u64 kicks;	/* ... whose vCPU had to be kicked */
	u64 sync;	/* synchronous (IPI) flushes of the whole VM */
};

void vmtrace_flush(struct kvm *kvm, u32 flush_mode,
		   struct vmtrace_flush_stats *st);

/* One memslot as the session saw it at start. */
struct vmtrace_slot {
	u16 as_id;
	u16 id;
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	u32 flags;		/* before vmtrace enabled dirty logging */
	unsigned long *pending;	/* harvested, not yet acknowledged */
};

struct vmtrace_stats {
	u64 harvests;
	u64 dirty_pages;	/* in the last harvest */
	u64 dirty_pages_total;
	u64 start_ns;
	u64 harvest_ns;		/* the last harvest's snapshot */
	u64 protect_ns;		/* ... of which write protection */
	u64 pages_protected;	/* 4 KB entries write-protected, ever */
	struct vmtrace_flush_stats flush;
};

/**
 * struct vmtrace_session - one traced VM
 *
 * Sessions belong to the netlink socket (@net, @portid) that attached
 * them; everything about them is changed under vmtrace_lock.
 */
struct vmtrace_session {
	u32 id;
	struct kvm *kvm;	/* a reference: KVM cannot free it */
	struct net *net;
	u32 portid;
	pid_t vm_pid;
	struct mm_struct *mm;	/* the VMM's, watched for its exit */
	struct mmu_notifier mn;
	bool mn_registered;
	struct vmtrace_vm_exit *vm_exit;
	u32 state;		/* enum vmtrace_state */
	u32 mode;		/* enum vmtrace_mode */
	u32 flush_mode;		/* enum vmtrace_flush */
	u64 saved_manual_protect;
	struct vmtrace_slot *slots;
	unsigned int nr_slots;
	u64 nr_pages;
	u64 harvest_seq;
	u64 pending_pages;
	struct vmtrace_stats stats;
	struct vmtrace_throttle *throttle;	/* SDPS, or NULL */
	struct list_head node;
};

extern struct mutex vmtrace_lock;

struct vmtrace_vm_exit;
struct vmtrace_session *vmtrace_session_find(u32 id);
struct vmtrace_session *vmtrace_session_next(int *id);
int vmtrace_session_attach(struct file *vm_file, u32 mode, u32 flush_mode,
			   struct net *net, u32 portid,
			   struct netlink_ext_ack *extack,
			   struct vmtrace_session **out);
void vmtrace_session_destroy(struct vmtrace_session *s, u32 reason);
void vmtrace_sessions_destroy_owned(struct net *net, u32 portid);
int vmtrace_sessions_init(void);
void vmtrace_sessions_exit(void);

/* The tracking engine (track.c), called with vmtrace_lock held. */
int vmtrace_track_start(struct vmtrace_session *s,
			struct netlink_ext_ack *extack);
int vmtrace_track_harvest(struct vmtrace_session *s,
			  struct netlink_ext_ack *extack);
void vmtrace_track_ack(struct vmtrace_session *s);
void vmtrace_track_stop(struct vmtrace_session *s);

/* Stun During Page Send (throttle.c), called with vmtrace_lock held. */
struct vmtrace_throttle;
int vmtrace_throttle_set(struct vmtrace_session *s, u32 sleep_us);
void vmtrace_throttle_destroy(struct vmtrace_session *s);
u32 vmtrace_throttle_sleep_us(const struct vmtrace_session *s);
u32 vmtrace_throttle_period_us(const struct vmtrace_session *s);
bool vmtrace_throttle_vcpu_stats(const struct vmtrace_session *s,
				 unsigned int i, u64 *stun_ns, u64 *sleeps);

int vmtrace_netlink_init(void);
void vmtrace_netlink_exit(void);
void vmtrace_nl_notify_gone(struct vmtrace_session *s, u32 reason);

void vmtrace_debugfs_init(void);
void vmtrace_debugfs_exit(void);

#endif /* _VMTRACE_H */
