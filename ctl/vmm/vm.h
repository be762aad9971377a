/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmotionctl's VMM: one KVM virtual machine, its memory, vCPUs and
 * devices.  The guest-physical layout is fixed (see layout.h); guest RAM is
 * a memfd so that other processes (the migration engine, tools) can map it.
 */
#ifndef VMOTION_VM_H
#define VMOTION_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "serial.h"

#define VM_MAX_CPUS		64
#define VM_PAGE_SIZE		4096ULL

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

/* How guest RAM is backed. */
enum vm_backing {
	VM_BACKING_4K,
	VM_BACKING_2M,
	VM_BACKING_1G,
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int mem_fd;
	uint8_t *mem;
	uint64_t mem_size;
	enum vm_backing backing;
	size_t run_size;

	unsigned int nr_cpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct kvm_cpuid2 *cpuid;

	struct serial serial;

	/*
	 * Run control.  vCPU threads run until @pause_req; then each parks
	 * itself and counts into @nr_parked.  @exit_req ends them for good.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_req;
	bool exit_req;
	unsigned int nr_parked;
	int exit_code;		/* why the guest stopped, once @exit_req */
	int wake_fd;		/* readable once @exit_req: wakes the main loop */
	int wake_wfd;
	char exit_reason[128];

	/*
	 * Pages the VMM itself wrote into guest memory since the last
	 * get-dirty: a migration must send them even though no tracker saw
	 * the guest write them.
	 */
	uint64_t *vmm_dirty;

	/* Payload status block, or 0 for a Linux guest. */
	uint64_t payload_status_gpa;

	/* Host CPU every vCPU thread is pinned to (--vcpu-cpu), or -1. */
	int vcpu_cpu;
	/* Where to write low memory when the guest shuts down, or NULL. */
	const char *shutdown_dump;
};

int vm_create(struct vm *vm, uint64_t mem_size, unsigned int nr_cpus,
	      enum vm_backing backing);
void vm_destroy(struct vm *vm);

/* Copy into guest memory, recording the pages as written by the VMM. */
int vm_write(struct vm *vm, uint64_t gpa, const void *src, size_t len);
void *vm_ptr(struct vm *vm, uint64_t gpa, size_t len);
void vm_mark_dirty(struct vm *vm, uint64_t gpa, size_t len);

int vm_start(struct vm *vm);
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
void vm_stop(struct vm *vm, int code, const char *reason);
/* Wait for the guest to stop; returns its exit code. */
int vm_wait(struct vm *vm);

/* What this host's KVM can give a guest: malloc'ed, NULL on error. */
struct kvm_cpuid2 *vm_supported_cpuid(int kvm_fd);
/* One line per paused vCPU (registers, LAPIC timer, pending events). */
int vm_describe_cpus(struct vm *vm, char *buf, size_t len);

int vcpu_setup_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
int vm_irq_line(struct vm *vm, unsigned int irq, int level);

#endif
