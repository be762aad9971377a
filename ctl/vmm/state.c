// SPDX-License-Identifier: GPL-2.0
/*
 * Saving and restoring everything KVM and the VMM hold for a VM.
 *
 * The body is a sequence of sections, each { type, vcpu, len } and len
 * bytes padded to 8.  Restore applies them in the order KVM needs: CPUID
 * before anything else on a vCPU, then registers, XSAVE, XCRs, special
 * registers, MSRs, MP state, LAPIC, pending events and debug registers;
 * the VM's PIC, IOAPIC, PIT and kvmclock go first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <xxhash.h>

#include "../vmotionctl.h"
#include "state.h"

enum state_section_type {
	SEC_CPUID = 1,
	SEC_REGS,
	SEC_XSAVE,
	SEC_XCRS,
	SEC_SREGS,
	SEC_MSRS,
	SEC_MP_STATE,
	SEC_LAPIC,
	SEC_EVENTS,
	SEC_DEBUGREGS,
	SEC_PIC_MASTER = 64,
	SEC_PIC_SLAVE,
	SEC_IOAPIC,
	SEC_PIT2,
	SEC_CLOCK,
	SEC_SERIAL,
	SEC_PAYLOAD,
};

struct state_section {
	uint32_t type;
	uint32_t vcpu;
	uint64_t len;
};

struct buf {
	uint8_t *data;
	size_t len, cap;
	int err;
};

static void put(struct buf *b, uint32_t type, uint32_t vcpu, const void *p,
		size_t len)
{
	struct state_section s = { .type = type, .vcpu = vcpu, .len = len };
	size_t need = sizeof(s) + ((len + 7) & ~7UL);

	if (b->err)
		return;
	if (b->len + need > b->cap) {
		size_t cap = (b->cap + need) * 2;
		uint8_t *n = realloc(b->data, cap);

		if (!n) {
			b->err = -ENOMEM;
			return;
		}
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, &s, sizeof(s));
	memcpy(b->data + b->len + sizeof(s), p, len);
	memset(b->data + b->len + sizeof(s) + len, 0, need - sizeof(s) - len);
	b->len += need;
}

/* ioctl into a buffer, then add it as a section. */
static void save_ioctl(struct buf *b, int fd, unsigned long req,
		       uint32_t type, uint32_t vcpu, void *p, size_t len,
		       const char *name)
{
	if (b->err)
		return;
	if (ioctl(fd, req, p) < 0) {
		fail("save-state: %s: %s", name, strerror(errno));
		b->err = -errno;
		return;
	}
	put(b, type, vcpu, p, len);
}

/*
 * The MSRs to carry: KVM's list, minus those this vCPU cannot read (the
 * list covers every CPU model KVM knows).
 */
static struct kvm_msrs *read_msrs(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one;
	struct kvm_msrs *msrs;
	unsigned int i, n = 0;

	ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	msrs = calloc(1, sizeof(*msrs) + probe.nmsrs * sizeof(msrs->entries[0]));
	if (!list || !msrs)
		goto err;
	list->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0)
		goto err;
	for (i = 0; i < list->nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = list->indices[i];
		if (ioctl(vcpu->fd, KVM_GET_MSRS, &one) == 1)
			msrs->entries[n++] = one.e;
	}
	msrs->nmsrs = n;
	free(list);
	return msrs;
err:
	free(list);
	free(msrs);
	return NULL;
}

static void save_vcpu(struct buf *b, struct vm *vm, struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave *xsave = calloc(1, sizeof(*xsave));
	struct kvm_xcrs xcrs;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dbg;
	struct kvm_cpuid2 *cpuid;
	struct kvm_msrs *msrs;
	int n = 256;

	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (!xsave || !cpuid) {
		b->err = -ENOMEM;
		goto out;
	}
	cpuid->nent = n;
	save_ioctl(b, v->fd, KVM_GET_CPUID2, SEC_CPUID, v->id, cpuid,
		   sizeof(*cpuid) + n * sizeof(cpuid->entries[0]), "KVM_GET_CPUID2");
	save_ioctl(b, v->fd, KVM_GET_REGS, SEC_REGS, v->id, &regs,
		   sizeof(regs), "KVM_GET_REGS");
	save_ioctl(b, v->fd, KVM_GET_XSAVE, SEC_XSAVE, v->id, xsave,
		   sizeof(*xsave), "KVM_GET_XSAVE");
	save_ioctl(b, v->fd, KVM_GET_XCRS, SEC_XCRS, v->id, &xcrs,
		   sizeof(xcrs), "KVM_GET_XCRS");
	save_ioctl(b, v->fd, KVM_GET_SREGS, SEC_SREGS, v->id, &sregs,
		   sizeof(sregs), "KVM_GET_SREGS");
	msrs = read_msrs(vm, v);
	if (!msrs) {
		fail("save-state: cannot read MSRs of vCPU %u", v->id);
		b->err = -EIO;
		goto out;
	}
	put(b, SEC_MSRS, v->id, msrs,
	    sizeof(*msrs) + msrs->nmsrs * sizeof(msrs->entries[0]));
	free(msrs);
	save_ioctl(b, v->fd, KVM_GET_MP_STATE, SEC_MP_STATE, v->id, &mp,
		   sizeof(mp), "KVM_GET_MP_STATE");
	save_ioctl(b, v->fd, KVM_GET_LAPIC, SEC_LAPIC, v->id, &lapic,
		   sizeof(lapic), "KVM_GET_LAPIC");
	save_ioctl(b, v->fd, KVM_GET_VCPU_EVENTS, SEC_EVENTS, v->id, &events,
		   sizeof(events), "KVM_GET_VCPU_EVENTS");
	save_ioctl(b, v->fd, KVM_GET_DEBUGREGS, SEC_DEBUGREGS, v->id, &dbg,
		   sizeof(dbg), "KVM_GET_DEBUGREGS");
out:
	free(xsave);
	free(cpuid);
}

void *state_save(struct vm *vm, size_t *len)
{
	struct buf b = { 0 };
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };
	struct state_header *h;
	unsigned int i;

	/* Room for the header, filled in last. */
	b.data = calloc(1, 4096);
	if (!b.data)
		return NULL;
	b.cap = 4096;
	b.len = sizeof(*h);

	for (i = 0; i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		save_ioctl(&b, vm->vm_fd, KVM_GET_IRQCHIP, SEC_PIC_MASTER + i,
			   0, &chip, sizeof(chip), "KVM_GET_IRQCHIP");
	}
	save_ioctl(&b, vm->vm_fd, KVM_GET_PIT2, SEC_PIT2, 0, &pit, sizeof(pit),
		   "KVM_GET_PIT2");
	save_ioctl(&b, vm->vm_fd, KVM_GET_CLOCK, SEC_CLOCK, 0, &clock,
		   sizeof(clock), "KVM_GET_CLOCK");
	pthread_mutex_lock(&vm->serial.lock);
	put(&b, SEC_SERIAL, 0, &vm->serial.r, sizeof(vm->serial.r));
	pthread_mutex_unlock(&vm->serial.lock);
	put(&b, SEC_PAYLOAD, 0, &vm->payload_status_gpa,
	    sizeof(vm->payload_status_gpa));
	for (i = 0; i < vm->nr_cpus && !b.err; i++)
		save_vcpu(&b, vm, &vm->vcpus[i]);
	if (b.err) {
		free(b.data);
		return NULL;
	}

	h = (struct state_header *)b.data;
	memcpy(h->magic, STATE_MAGIC, 8);
	h->version = STATE_VERSION;
	h->nr_cpus = vm->nr_cpus;
	h->mem_size = vm->mem_size;
	h->body_len = b.len - sizeof(*h);
	h->checksum = XXH64(b.data + sizeof(*h), h->body_len, 0);
	*len = b.len;
	return b.data;
}

int state_check(const void *blob, size_t len, const char *what)
{
	const struct state_header *h = blob;

	if (len < sizeof(*h) || memcmp(h->magic, STATE_MAGIC, 8))
		return fail("%s: not a vmotion VM state", what);
	if (h->version != STATE_VERSION)
		return fail("%s: state version %u, this vmotionctl reads version %u",
			    what, h->version, STATE_VERSION);
	if (h->body_len != len - sizeof(*h))
		return fail("%s: truncated (%zu of %llu bytes)", what,
			    len - sizeof(*h), (unsigned long long)h->body_len);
	if (XXH64((const uint8_t *)blob + sizeof(*h), h->body_len, 0) !=
	    h->checksum)
		return fail("%s: checksum mismatch: the state is corrupt", what);
	return 0;
}

/* A section's payload must have exactly the size its type has. */
static int want_len(const struct state_section *s, size_t len,
		    const char *name)
{
	if (s->len != len)
		return fail("restore: %s section of %llu bytes, expected %zu",
			    name, (unsigned long long)s->len, len);
	return 0;
}

#define MSR_IA32_TSC	0x10

/*
 * KVM takes a host write of the TSC that lands within a second of what it
 * expects (a VM younger than a second, restored into a fresh one) as
 * "synchronize with the other vCPUs" and keeps its own offset instead, so
 * the guest's TSC could jump by up to a second.  Where KVM lets us set
 * the offset directly, make the TSC read exactly the saved value.
 */
static int restore_tsc(struct vcpu *v, const struct kvm_msrs *m)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} now = { .h.nmsrs = 1, .e.index = MSR_IA32_TSC };
	uint64_t offset;
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)&offset,
	};
	unsigned int i;

	for (i = 0; i < m->nmsrs; i++)
		if (m->entries[i].index == MSR_IA32_TSC)
			break;
	if (i == m->nmsrs || ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr))
		return 0;	/* older KVM: keep what KVM_SET_MSRS did */
	if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr) ||
	    ioctl(v->fd, KVM_GET_MSRS, &now) != 1)
		return fail("restore: cannot read vCPU %u's TSC offset: %s",
			    v->id, strerror(errno));
	offset += m->entries[i].data - now.e.data;
	if (ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr))
		return fail("restore: cannot set vCPU %u's TSC offset: %s",
			    v->id, strerror(errno));
	return 0;
}

#define RESTORE(fd, req, type_t, name)					\
	do {								\
		if (want_len(s, sizeof(type_t), name))			\
			return -1;					\
		if (ioctl(fd, req, data) < 0)				\
			return fail("restore: %s: %s", name,		\
				    strerror(errno));			\
	} while (0)

static int restore_section(struct vm *vm, const struct state_section *s,
			   const void *data)
{
	struct vcpu *v = NULL;

	if (s->type < SEC_PIC_MASTER) {
		if (s->vcpu >= vm->nr_cpus)
			return fail("restore: section for vCPU %u of %u",
				    s->vcpu, vm->nr_cpus);
		v = &vm->vcpus[s->vcpu];
	}
	switch (s->type) {
	case SEC_CPUID: {
		const struct kvm_cpuid2 *c = data;

		if (s->len < sizeof(*c) ||
		    s->len < sizeof(*c) + c->nent * sizeof(c->entries[0]))
			return fail("restore: bad CPUID section");
		if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
			return fail("restore: KVM_SET_CPUID2: %s "
				    "(this host's KVM lacks a feature the guest uses?)",
				    strerror(errno));
		return 0;
	}
	case SEC_REGS:
		RESTORE(v->fd, KVM_SET_REGS, struct kvm_regs, "KVM_SET_REGS");
		return 0;
	case SEC_XSAVE:
		RESTORE(v->fd, KVM_SET_XSAVE, struct kvm_xsave, "KVM_SET_XSAVE");
		return 0;
	case SEC_XCRS:
		RESTORE(v->fd, KVM_SET_XCRS, struct kvm_xcrs, "KVM_SET_XCRS");
		return 0;
	case SEC_SREGS:
		RESTORE(v->fd, KVM_SET_SREGS, struct kvm_sregs, "KVM_SET_SREGS");
		return 0;
	case SEC_MSRS: {
		const struct kvm_msrs *m = data;
		int n;

		if (s->len < sizeof(*m) ||
		    s->len != sizeof(*m) + m->nmsrs * sizeof(m->entries[0]))
			return fail("restore: bad MSR section");
		n = ioctl(v->fd, KVM_SET_MSRS, m);
		if (n != (int)m->nmsrs)
			return fail("restore: KVM_SET_MSRS: MSR %#x refused",
				    n >= 0 && n < (int)m->nmsrs ?
				    m->entries[n].index : 0);
		return restore_tsc(v, m);
	}
	case SEC_MP_STATE:
		RESTORE(v->fd, KVM_SET_MP_STATE, struct kvm_mp_state,
			"KVM_SET_MP_STATE");
		return 0;
	case SEC_LAPIC:
		RESTORE(v->fd, KVM_SET_LAPIC, struct kvm_lapic_state,
			"KVM_SET_LAPIC");
		return 0;
	case SEC_EVENTS:
		RESTORE(v->fd, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events,
			"KVM_SET_VCPU_EVENTS");
		return 0;
	case SEC_DEBUGREGS:
		RESTORE(v->fd, KVM_SET_DEBUGREGS, struct kvm_debugregs,
			"KVM_SET_DEBUGREGS");
		return 0;
	case SEC_PIC_MASTER:
	case SEC_PIC_SLAVE:
	case SEC_IOAPIC:
		RESTORE(vm->vm_fd, KVM_SET_IRQCHIP, struct kvm_irqchip,
			"KVM_SET_IRQCHIP");
		return 0;
	case SEC_PIT2:
		RESTORE(vm->vm_fd, KVM_SET_PIT2, struct kvm_pit_state2,
			"KVM_SET_PIT2");
		return 0;
	case SEC_CLOCK: {
		struct kvm_clock_data clock;

		if (want_len(s, sizeof(clock), "clock"))
			return -1;
		/* Continue from the saved time: the guest sees no jump. */
		memcpy(&clock, data, sizeof(clock));
		clock.flags = 0;
		if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
			return fail("restore: KVM_SET_CLOCK: %s",
				    strerror(errno));
		return 0;
	}
	case SEC_SERIAL:
		if (want_len(s, sizeof(vm->serial.r), "serial"))
			return -1;
		memcpy(&vm->serial.r, data, sizeof(vm->serial.r));
		if (vm->serial.r.rx_len > SERIAL_FIFO_SIZE)
			return fail("restore: bad serial state");
		return 0;
	case SEC_PAYLOAD:
		if (want_len(s, sizeof(vm->payload_status_gpa), "payload"))
			return -1;
		memcpy(&vm->payload_status_gpa, data, sizeof(uint64_t));
		return 0;
	}
	return fail("restore: unknown section type %u", s->type);
}

int state_restore(struct vm *vm, const void *blob, size_t len)
{
	const struct state_header *h = blob;
	const uint8_t *p = (const uint8_t *)blob + sizeof(*h);
	const uint8_t *end = (const uint8_t *)blob + len;
	struct state_section s;

	if (h->nr_cpus != vm->nr_cpus || h->mem_size != vm->mem_size)
		return fail("restore: state is for %u vCPUs and %llu bytes",
			    h->nr_cpus, (unsigned long long)h->mem_size);
	while (p < end) {
		if ((size_t)(end - p) < sizeof(s))
			return fail("restore: truncated section header");
		memcpy(&s, p, sizeof(s));
		p += sizeof(s);
		if (s.len > (size_t)(end - p) || ((s.len + 7) & ~7ULL) > (size_t)(end - p))
			return fail("restore: section overruns the state");
		if (restore_section(vm, &s, p))
			return -1;
		p += (s.len + 7) & ~7ULL;
	}
	return 0;
}
