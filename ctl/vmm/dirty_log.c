// SPDX-License-Identifier: GPL-2.0
/* KVM's dirty log on slot 0, driven by the VMM for a migration controller. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../vmotionctl.h"
#include "dirty_log.h"

#define MANUAL_FLAGS	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
			 KVM_DIRTY_LOG_INITIALLY_SET)

static int set_slot_flags(struct vm *vm, uint32_t flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = flags,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("dirty log: KVM_SET_USER_MEMORY_REGION flags %#x: %s",
			    flags, strerror(errno));
	return 0;
}

int dirty_log_set(struct vm *vm, bool on)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = { MANUAL_FLAGS },
	};
	int have;

	if (!on)
		return set_slot_flags(vm, 0);
	/*
	 * The mode must be chosen before the slot logs: KVM decides at
	 * KVM_SET_USER_MEMORY_REGION time whether to set the whole bitmap
	 * (and skip write-protecting everything) or to protect it all now.
	 */
	have = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		     KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	if (have < 0 || (have & MANUAL_FLAGS) != MANUAL_FLAGS)
		return fail("dirty log: this KVM lacks manual protect with initially-set bits");
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return fail("dirty log: KVM_ENABLE_CAP MANUAL_DIRTY_LOG_PROTECT2: %s",
			    strerror(errno));
	return set_slot_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
}

void *dirty_log_harvest(struct vm *vm, size_t *len)
{
	uint64_t pages = vm->mem_size / VM_PAGE_SIZE;
	size_t bytes = (pages + 63) / 64 * 8;
	struct kvm_dirty_log get = { .slot = 0 };
	struct kvm_clear_dirty_log clear = {
		.slot = 0,
		.first_page = 0,
		.num_pages = pages,
	};
	void *bm = calloc(1, bytes);

	if (!bm)
		return NULL;
	get.dirty_bitmap = bm;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &get) < 0) {
		fail("dirty log: KVM_GET_DIRTY_LOG: %s", strerror(errno));
		free(bm);
		return NULL;
	}
	/*
	 * Re-protect exactly what we hand out.  A write landing between the
	 * two ioctls is not lost: the controller copies the page after this
	 * returns, so it sends the newer contents.
	 */
	clear.dirty_bitmap = bm;
	if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0) {
		fail("dirty log: KVM_CLEAR_DIRTY_LOG: %s", strerror(errno));
		free(bm);
		return NULL;
	}
	*len = bytes;
	return bm;
}
