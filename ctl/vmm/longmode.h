/* SPDX-License-Identifier: GPL-2.0 */
/* Putting a vCPU straight into 64-bit mode, as the x86 64-bit boot protocol does. */
#ifndef VMOTION_LONGMODE_H
#define VMOTION_LONGMODE_H

#include <stdint.h>

#include "vm.h"

/* GDT and identity-mapped page tables (2 MiB pages) for the first 4 GiB. */
int longmode_build_tables(struct vm *vm);

/*
 * Registers for 64-bit entry at @rip with __BOOT_CS/__BOOT_DS flat
 * segments, paging on, interrupts off.
 */
int longmode_enter(struct vcpu *vcpu, uint64_t rip, uint64_t rsi,
		   uint64_t rdi, uint64_t rsp);

#endif
