/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-physical layout of a vmotionctl VM.  Low memory holds what the VMM
 * builds for the guest; RAM is one range from 0, with the legacy holes
 * reported in the e820 map.
 */
#ifndef VMOTION_LAYOUT_H
#define VMOTION_LAYOUT_H

#define GDT_GPA			0x0500ULL
#define PAYLOAD_PARAMS_GPA	0x5000ULL	/* struct payload_params */
#define PAYLOAD_STATUS_GPA	0x6000ULL	/* struct payload_status */
#define BOOT_PARAMS_GPA		0x7000ULL	/* Linux zero page */
#define PML4_GPA		0x9000ULL
#define PDPT_GPA		0xa000ULL
#define PD_GPA			0xb000ULL	/* 4 pages: 4 GiB of 2 MiB pages */
#define CMDLINE_GPA		0x20000ULL
#define CMDLINE_MAX		4096
#define STACKS_TOP_GPA		0x9f000ULL	/* payload stacks grow down */
#define STACK_SIZE		0x1000ULL
#define EBDA_GPA		0x9fc00ULL	/* MP table lives here */
#define BIOS_START_GPA		0xe0000ULL
#define HIGH_RAM_GPA		0x100000ULL	/* kernel / payload load address */

/* KVM needs three pages for the TSS and one for the identity map. */
#define KVM_TSS_GPA		0xfffbd000ULL
#define KVM_IDENTITY_MAP_GPA	0xfffbc000ULL

/* RAM must end below the 32-bit MMIO hole, where the LAPIC and IOAPIC are. */
#define MEM_MAX			(3ULL << 30)
#define MEM_MIN			(16ULL << 20)

#endif
