/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between vmotionctl's VMM and its built-in payloads (flat
 * 64-bit guest programs, no kernel).  Shared by both sides.
 *
 * Entry: every vCPU starts at PAYLOAD_LOAD_GPA in 64-bit mode with the
 * first 4 GiB identity-mapped, %rdi = vCPU index, %rsi = GPA of struct
 * payload_params, %rsp = top of a private stack.
 *
 * The payload prints on COM1 (0x3f8) and reports events by writing a
 * 32-bit word to PAYLOAD_PORT_EVENT: (event << 24) | (vcpu << 16) | arg.
 * Its counters are in struct payload_status, which the VMM reads.
 */
#ifndef VMOTION_PAYLOAD_ABI_H
#define VMOTION_PAYLOAD_ABI_H

#include <stdint.h>

#define PAYLOAD_LOAD_GPA	0x100000ULL
#define PAYLOAD_PARAMS_MAGIC	0x534d524150544f4dULL	/* "MOTPARMS" */
#define PAYLOAD_ABI_VERSION	1

#define PAYLOAD_PORT_BASE	0x0f00
#define PAYLOAD_PORT_COUNT	4
#define PAYLOAD_PORT_EVENT	0x0f00

enum payload_event {
	PAYLOAD_EV_STARTED = 1,		/* arg: 0 */
	PAYLOAD_EV_VERIFIED = 2,	/* arg: bad pages (saturated) */
	PAYLOAD_EV_CORRUPT = 3,		/* arg: 0; a page failed its check */
};

/* dirty: write every page of the region once before the working set. */
#define PAYLOAD_F_TOUCH_ALL	1
/* dirty: each pass visits the working set in a scattered order. */
#define PAYLOAD_F_RANDOM	2

struct payload_params {
	uint64_t magic;
	uint32_t version;
	uint32_t nr_vcpus;
	uint64_t mem_size;
	uint64_t tsc_khz;
	/* dirty: the pages it owns, [region_start, region_end) */
	uint64_t region_start;
	uint64_t region_end;
	uint64_t rate;			/* bytes/s over all vCPUs, 0 = flat out */
	uint32_t wss_percent;		/* of the region's pages, 1..100 */
	uint32_t flags;			/* PAYLOAD_F_* */
	/* Bumped by the VMM: every vCPU verifies all its pages once. */
	uint64_t verify_seq;
	/* Each vCPU's LAPIC timer interrupts it this often; 0: no timer. */
	uint32_t tick_hz;
	uint32_t pad;
};

struct payload_vcpu_status {
	uint64_t passes;		/* full passes over its working set */
	uint64_t pages_written;
	uint64_t pages_verified;
	uint64_t bad_pages;		/* failed verification, ever */
	uint64_t verify_seq;		/* last verify request completed */
	uint64_t ticks;			/* LAPIC timer interrupts taken */
	uint64_t pad[2];
};

/* Where the timer interrupt handler (start.S) counts. */
#define PAYLOAD_STATUS_TICKS_OFFSET	40
#define PAYLOAD_STATUS_VCPU_SIZE	64
#define PAYLOAD_TIMER_VECTOR		0xec
#define PAYLOAD_SPURIOUS_VECTOR		0xff

struct payload_status {
	struct payload_vcpu_status vcpu[64];
};

#endif
