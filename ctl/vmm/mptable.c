// SPDX-License-Identifier: GPL-2.0
/*
 * An MP table (Intel MultiProcessor Specification 1.4) at the start of the
 * last KB of base memory, where Linux looks for it when there is no ACPI:
 * one processor entry per vCPU, the ISA bus, KVM's IOAPIC with ISA IRQs
 * 0-15 wired to its pins 0-15 (KVM's default GSI routing), and the
 * LAPICs' LINT0 as ExtINT (the PIC) and LINT1 as NMI.
 */
#include <string.h>

#include "layout.h"
#include "mptable.h"

#define APIC_DEFAULT_GPA	0xfee00000u
#define IOAPIC_DEFAULT_GPA	0xfec00000u

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

#define CPU_ENABLED	1
#define CPU_BOOTPROCESSOR 2

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

int mptable_write(struct vm *vm)
{
	uint8_t buf[1024];
	struct mpf_intel *mpf = (void *)buf;
	struct mpc_table *mpc = (void *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = vm->nr_cpus;
	unsigned int i, entries = 0;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < vm->nr_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = i,
			.apicver = 0x14,
			.cpuflag = CPU_ENABLED | (i ? 0 : CPU_BOOTPROCESSOR),
			.cpufeature = 0x600,	/* family 6 */
			.featureflag = 0x201,	/* FPU, APIC */
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
		entries++;
	}
	{
		struct mpc_bus bus = { .type = MP_BUS, .busid = 0 };
		struct mpc_ioapic ioapic = {
			.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = 0x11,
			.flags = 1, .apicaddr = IOAPIC_DEFAULT_GPA,
		};

		memcpy(bus.bustype, "ISA   ", 6);
		memcpy(p, &bus, sizeof(bus));
		p += sizeof(bus);
		memcpy(p, &ioapic, sizeof(ioapic));
		p += sizeof(ioapic);
		entries += 2;
	}
	for (i = 0; i < 16; i++) {
		struct mpc_intsrc irq = {
			.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
			.srcbusirq = i, .dstapic = ioapic_id, .dstirq = i,
		};

		/* IRQ 2 is the PIC cascade; it never reaches the IOAPIC. */
		if (i == 2)
			continue;
		memcpy(p, &irq, sizeof(irq));
		p += sizeof(irq);
		entries++;
	}
	for (i = 0; i < 2; i++) {
		struct mpc_intsrc lint = {
			.type = MP_LINTSRC, .irqtype = i ? MP_NMI : MP_EXTINT,
			.srcbus = 0, .dstapic = 0xff, .dstirq = i,
		};

		memcpy(p, &lint, sizeof(lint));
		p += sizeof(lint);
		entries++;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = p - (uint8_t *)mpc;
	mpc->spec = 4;
	memcpy(mpc->oem, "VMOTION ", 8);
	memcpy(mpc->productid, "KVM         ", 12);
	mpc->oemcount = entries;
	mpc->lapic = APIC_DEFAULT_GPA;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = EBDA_GPA + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));

	return vm_write(vm, EBDA_GPA, buf, p - buf);
}
