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
 * @shadow_mmu_writable_mask: KVM's SPTE software bits, checked before a
 *	hierarchical session relies on their positions
 * @shadow_host_writable_mask: see above
 * @shadow_present_mask: see above
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
	u64 *shadow_mmu_writable_mask;
	u64 *shadow_host_writable_mask;
	u64 *shadow_present_mask;
	struct callback_head *
		(*task_work_cancel_match)(struct task_struct *task,
					  vmtrace_task_work_match_t match,
					  void *data);
};

extern struct vmtrace_kvm_ops vmtrace_kvm;

int vmtrace_kvm_ops_init(const char *extra_symbol);
unsigned int vmtrace_kvm_ops_count(void);
u32 vmtrace_kvm_flags(void);

/*
 * KVM's TDP SPTE format on AMD NPT (arch/x86/kvm/mmu/spte.h), private to
 * KVM: hierarchical mode needs it, kvm_ops.c checks it against the running
 * KVM before a session may use it.  The MMU-present bit is KVM's own
 * software bit: it excludes 0, MMIO SPTEs and the removed-SPTE marker.
 */
#define VMTRACE_SPTES_PER_TABLE	512
#define VMTRACE_SPTE_PRESENT		BIT_ULL(0)
#define VMTRACE_SPTE_W			BIT_ULL(1)
#define VMTRACE_SPTE_LARGE		BIT_ULL(7)
#define VMTRACE_SPTE_HOST_WRITABLE	BIT_ULL(9)
#define VMTRACE_SPTE_MMU_WRITABLE	BIT_ULL(10)
#define VMTRACE_SPTE_MMU_PRESENT	BIT_ULL(11)

u64 vmtrace_kvm_features(void);
/* Called on the top table of a root; @level is its entries' level. */
typedef void (*vmtrace_root_visit_t)(u64 *table, int level, void *arg);
int vmtrace_kvm_hier_check(struct kvm *kvm, struct netlink_ext_ack *extack);
void vmtrace_kvm_visit_roots(struct kvm *kvm, bool valid_only,
			     vmtrace_root_visit_t visit, void *arg);
void vmtrace_kvm_hook_init(void);
void vmtrace_kvm_hook_exit(void);

struct vmtrace_slot;
int vmtrace_kvm_set_slot_flags(struct kvm *kvm, const struct vmtrace_slot *vs,
			       u32 flags);

/* A struct member as BTF must describe it (btf_check.c). */
struct vmtrace_btf_member {
	const char *name;
	u32 bit_offset;
};

const char *vmtrace_btf_check_struct(const char *module, const char *name,
				     u32 size,
				     const struct vmtrace_btf_member *members);

/* Module-wide settings, changed through VMTRACE_CMD_SET_CONFIG. */
struct vmtrace_config {
	u32 flush_deadline_us;
	bool flush_on_open;	/* hierarchical: flush TLBs at every open */
	bool eager_split;	/* hierarchical: split huge mappings at start */
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
	u64 wrprot[3];		/* entries write-protected, by level 4K/2M/1G */
	u64 opened[2];		/* regions opened by the fault hook: 2M, 1G */
	u64 module_faults;	/* write faults that opened something */
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
 * struct vmtrace_hier - a VM in hierarchical mode (hierarchical.c)
 * @kvm: the VM
 * @node: in the list the fault hook searches, under RCU
 * @protected_1g: level-3 entries write-protected (under mmu_lock write)
 * @opened: regions opened by write faults: [0] 2 MB, [1] 1 GB
 * @opened_wrprot: children write-protected by those opens
 * @faults: write faults that met a protected entry
 */
struct vmtrace_hier {
	struct kvm *kvm;
	struct list_head node;
	u64 protected_1g;
	atomic64_t opened[2];
	atomic64_t opened_wrprot[2];
	atomic64_t faults;
};

struct vmtrace_hier *vmtrace_hier_create(struct kvm *kvm);
void vmtrace_hier_destroy(struct vmtrace_hier *h);
void vmtrace_hier_protect(struct vmtrace_hier *h);
void vmtrace_hier_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code);
void vmtrace_hier_read_stats(const struct vmtrace_hier *h,
			     struct vmtrace_stats *st);

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
	struct vmtrace_hier *hier;	/* hierarchical mode, while tracking */
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
void vmtrace_track_vm_gone(struct vmtrace_session *s);
void vmtrace_track_read_stats(struct vmtrace_session *s);

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
