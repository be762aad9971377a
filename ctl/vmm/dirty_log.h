/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's own dirty log on the guest RAM memslot, in manual-protect,
 * initially-set mode: turning it on costs nothing up front, and a harvest
 * write-protects only the pages it hands out.
 */
#ifndef VMOTION_DIRTY_LOG_H
#define VMOTION_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "vm.h"

/* Set or clear KVM_MEM_LOG_DIRTY_PAGES on slot 0; 0 or -1. */
int dirty_log_set(struct vm *vm, bool on);

/*
 * Take the pages written since the last harvest (all of them on the
 * first) and write-protect them again: a malloc'ed bitmap of one bit per
 * 4 KiB page, little-endian 64-bit words, its size in @len.  NULL on error.
 */
void *dirty_log_harvest(struct vm *vm, size_t *len);

#endif
