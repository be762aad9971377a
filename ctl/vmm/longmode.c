// SPDX-License-Identifier: GPL-2.0
/*
 * 64-bit entry, per Documentation/arch/x86/boot.rst ("64-bit BOOT
 * PROTOCOL"): paging on with an identity map covering the kernel, boot
 * parameters and command line, a GDT with __BOOT_CS (0x10, 64-bit code) and
 * __BOOT_DS (0x18, data), interrupts disabled.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../vmotionctl.h"
#include "layout.h"
#include "longmode.h"

#define BOOT_CS		0x10
#define BOOT_DS		0x18

#define PTE_P		0x001ULL
#define PTE_RW		0x002ULL
#define PTE_PS		0x080ULL

#define CR0_PE		0x00000001ULL
#define CR0_ET		0x00000010ULL
#define CR0_NE		0x00000020ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x00000020ULL
#define EFER_LME	0x00000100ULL
#define EFER_LMA	0x00000400ULL

/* A GDT descriptor from base, limit and the access/flags bits. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) |
	       ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) |
	       ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

int longmode_build_tables(struct vm *vm)
{
	uint64_t gdt[4] = {
		0,
		0,
		gdt_entry(0xa09b, 0, 0xfffff),	/* 64-bit code, present, ring 0 */
		gdt_entry(0xc093, 0, 0xfffff),	/* data, read/write */
	};
	uint64_t pml4 = PDPT_GPA | PTE_P | PTE_RW;
	uint64_t pdpt[4], pd[512];
	unsigned int i, j;

	for (i = 0; i < 4; i++) {
		pdpt[i] = (PD_GPA + i * 0x1000) | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = (((uint64_t)i << 30) + ((uint64_t)j << 21)) |
				PTE_P | PTE_RW | PTE_PS;
		if (vm_write(vm, PD_GPA + i * 0x1000, pd, sizeof(pd)))
			return -ERANGE;
	}
	if (vm_write(vm, GDT_GPA, gdt, sizeof(gdt)) ||
	    vm_write(vm, PML4_GPA, &pml4, sizeof(pml4)) ||
	    vm_write(vm, PDPT_GPA, pdpt, sizeof(pdpt)))
		return -ERANGE;
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector,
			 uint8_t type, bool code)
{
	*s = (struct kvm_segment) {
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

int longmode_enter(struct vcpu *vcpu, uint64_t rip, uint64_t rsi,
		   uint64_t rdi, uint64_t rsp)
{
	struct kvm_regs regs = {
		.rip = rip, .rsi = rsi, .rdi = rdi, .rsp = rsp, .rflags = 0x2,
	};
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return fail("vCPU %u: KVM_GET_SREGS: %s", vcpu->id,
			    strerror(errno));
	flat_segment(&sregs.cs, BOOT_CS, 0xb, true);
	flat_segment(&sregs.ds, BOOT_DS, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = PML4_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return fail("vCPU %u: KVM_SET_SREGS: %s", vcpu->id,
			    strerror(errno));
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return fail("vCPU %u: KVM_SET_REGS: %s", vcpu->id,
			    strerror(errno));
	return 0;
}
