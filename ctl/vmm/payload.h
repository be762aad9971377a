/* SPDX-License-Identifier: GPL-2.0 */
/* The VMM's side of the built-in payloads (see payload/payload_abi.h). */
#ifndef VMOTION_VMM_PAYLOAD_H
#define VMOTION_VMM_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "../payload/payload_abi.h"

struct vm;
struct vcpu;

struct payload_config {
	const char *name;	/* "idle" or "dirty" */
	uint64_t rate;		/* bytes/s, 0 = unlimited */
	unsigned int wss_percent;
	bool touch_all;		/* dirty: write every page once first */
	bool random;		/* dirty: scattered order, not sequential */
	unsigned int tick_hz;	/* LAPIC timer on every vCPU; 0: none */
};

int payload_boot(struct vm *vm, const struct payload_config *cfg);
void payload_io(struct vcpu *vcpu, uint16_t port, bool out, uint8_t *data,
		unsigned int size);

/*
 * Ask every vCPU of a running dirty payload to verify all its pages and
 * wait (up to @timeout_ms) until they have.  Returns the number of bad
 * pages found, or -ETIMEDOUT / -EINVAL.
 */
long payload_verify(struct vm *vm, unsigned int timeout_ms);

#endif
