/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Can the guest run on the destination?  The CPUID feature bits the guest
 * was given must all be offered by the destination's KVM.
 */
#ifndef VMOTION_MIGRATE_COMPAT_H
#define VMOTION_MIGRATE_COMPAT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* 0 if compatible, else -1 with the first missing feature named in @err. */
int compat_cpuid(const struct vmotion_cpuid *guest, uint32_t nguest,
		 const struct vmotion_cpuid *offer, uint32_t noffer,
		 char *err, size_t errlen);

/* KVM's entries in wire form; returns the number written (at most @max). */
uint32_t compat_cpuid_to_wire(const struct kvm_cpuid2 *c,
			      struct vmotion_cpuid *out, uint32_t max);

/* "LEAF.REG.BIT" (e.g. "7.ebx.5"): clear that bit in @c; 0 or -1. */
int compat_cpuid_clear(struct kvm_cpuid2 *c, const char *spec);

#endif
