// SPDX-License-Identifier: GPL-2.0
/*
 * A one-line picture of each paused vCPU, for the control socket's
 * `cpu-state`: where a guest that stopped making progress is, and whether
 * it waits for an interrupt (HLT with IF set, a LAPIC timer armed or not,
 * requests pending in IRR/ISR).  Diagnostics only; nothing is changed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"

#define APIC_ISR	0x100
#define APIC_IRR	0x200
#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define MSR_TSC_DEADLINE 0x6e0

static uint32_t apic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

/* The highest vector set in an 8 x 32-bit APIC vector register, or -1. */
static int apic_top_vector(const struct kvm_lapic_state *l, unsigned int base)
{
	int i, bit;

	for (i = 7; i >= 0; i--) {
		uint32_t w = apic_reg(l, base + i * 0x10);

		for (bit = 31; w && bit >= 0; bit--)
			if (w & (1u << bit))
				return i * 32 + bit;
	}
	return -1;
}

static int describe_vcpu(struct vcpu *v, char *buf, size_t len)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msr = { .hdr.nmsrs = 1, .e.index = MSR_TSC_DEADLINE };
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) ||
	    ioctl(v->fd, KVM_GET_SREGS, &sregs) ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &mp) ||
	    ioctl(v->fd, KVM_GET_LAPIC, &lapic) ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev))
		return snprintf(buf, len, "cpu%u: %s", v->id, strerror(errno));
	if (ioctl(v->fd, KVM_GET_MSRS, &msr) != 1)
		msr.e.data = 0;
	return snprintf(buf, len,
			"cpu%u rip=%llx rflags=%llx cr0=%llx mp=%u lvtt=%x tmict=%x tmcct=%x tscdl=%llx irr=%d isr=%d inj=%d:%u nmi=%d",
			v->id, (unsigned long long)regs.rip,
			(unsigned long long)regs.rflags,
			(unsigned long long)sregs.cr0, mp.mp_state,
			apic_reg(&lapic, APIC_LVTT),
			apic_reg(&lapic, APIC_TMICT),
			apic_reg(&lapic, APIC_TMCCT),
			(unsigned long long)msr.e.data,
			apic_top_vector(&lapic, APIC_IRR),
			apic_top_vector(&lapic, APIC_ISR),
			ev.interrupt.injected, ev.interrupt.nr,
			ev.nmi.pending);
}

int vm_describe_cpus(struct vm *vm, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < vm->nr_cpus && used + 1 < len; i++) {
		n = describe_vcpu(&vm->vcpus[i], buf + used, len - used);
		if (n < 0)
			return -1;
		used += (size_t)n < len - used ? (size_t)n : len - used - 1;
		if (i + 1 < vm->nr_cpus && used + 3 < len) {
			strcpy(buf + used, "; ");
			used += 2;
		}
	}
	return 0;
}
