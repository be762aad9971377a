/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM's checkpoint: every vCPU's registers and the VM's devices in one
 * versioned, checksummed blob (format in Documentation/admin-guide/
 * vmotionctl.rst).  Guest memory travels separately.
 */
#ifndef VMOTION_STATE_H
#define VMOTION_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define STATE_MAGIC	"VMOTSTAT"
#define STATE_VERSION	1

struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t nr_cpus;
	uint64_t mem_size;
	uint64_t body_len;
	uint64_t checksum;	/* XXH64 of the body, seed 0 */
};

/* Save a paused VM; malloc'ed blob, NULL after printing why. */
void *state_save(struct vm *vm, size_t *len);

/* Check a blob's header and checksum; 0, or -1 after printing why. */
int state_check(const void *blob, size_t len, const char *what);

/* Load a checked blob into a freshly created, not yet started VM. */
int state_restore(struct vm *vm, const void *blob, size_t len);

#endif
