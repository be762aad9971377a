// SPDX-License-Identifier: GPL-2.0
/*
 * Hierarchical protection costs what the guest writes, not what it has.
 *
 * A bare VM (32-bit flat mode, no paging, so any guest-physical address
 * below 4 GiB is one store away) gets small memslots at 1 GiB-aligned
 * guest addresses: several 1 GB regions cost a few MiB each to populate.
 * Its code writes a working set of pages in each region and halts.  Each
 * layout runs in both modes: populate every page, attach and start, write
 * the working set, harvest; the session's counters then say how many
 * entries start and one harvest write-protected, at every level.
 *
 * Asserted: stock mode's count grows with guest size; hierarchical mode's
 * does not, but grows with the working set and with the number of 1 GB
 * regions written.  And both modes' second harvest is exactly the pages
 * written since the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../uapi/linux/vmtrace.h"
#include "../lib/genl.h"
#include "../lib/module.h"
#include "kselftest_harness.h"

#define PAGE		4096ULL
#define REGION		(1ULL << 30)
#define CODE_GPA	0x1000ULL
#define WSS_GPA		0x100000ULL	/* the working set, in every region */
#define MAX_REGIONS	4		/* 4 GiB: the flat 32-bit reach */

/*
 * for (esi = 0; esi < ecx; esi++)
 *	for (eax = esi * ebx + edi, ebp = edx; ebp; ebp--, eax += 4096)
 *		*(u32 *)eax = esi;
 * hlt
 */
static const uint8_t guest_code[] = {
	0x31, 0xf6,			/*  0: xor  %esi,%esi */
	0x89, 0xf0,			/*  2: mov  %esi,%eax */
	0x0f, 0xaf, 0xc3,		/*  4: imul %ebx,%eax */
	0x01, 0xf8,			/*  7: add  %edi,%eax */
	0x89, 0xd5,			/*  9: mov  %edx,%ebp */
	0x89, 0x30,			/* 11: mov  %esi,(%eax) */
	0x05, 0x00, 0x10, 0x00, 0x00,	/* 13: add  $0x1000,%eax */
	0x4d,				/* 18: dec  %ebp */
	0x75, 0xf6,			/* 19: jnz  11 */
	0x46,				/* 21: inc  %esi */
	0x39, 0xce,			/* 22: cmp  %ecx,%esi */
	0x72, 0xe8,			/* 24: jb   2 */
	0xf4,				/* 26: hlt */
};

struct bare_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned int regions;
	uint64_t slot_bytes;
	uint8_t *mem[MAX_REGIONS];
};

static void bare_vm_destroy(struct bare_vm *b)
{
	unsigned int i;

	for (i = 0; i < b->regions; i++)
		if (b->mem[i] && b->mem[i] != MAP_FAILED)
			munmap(b->mem[i], b->slot_bytes);
	if (b->run && b->run != MAP_FAILED)
		munmap(b->run, b->run_size);
	if (b->vcpu >= 0)
		close(b->vcpu);
	if (b->vm >= 0)
		close(b->vm);
	if (b->kvm >= 0)
		close(b->kvm);
}

static int bare_vm_create(struct bare_vm *b, unsigned int regions,
			  uint64_t slot_bytes)
{
	struct kvm_segment seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
	struct kvm_sregs sregs;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->vcpu = b->vm = -1;
	b->regions = regions;
	b->slot_bytes = slot_bytes;
	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm < 0)
		return -1;
	b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		return -1;
	for (i = 0; i < regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = i * REGION,
			.memory_size = slot_bytes,
		};

		b->mem[i] = mmap(NULL, slot_bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (b->mem[i] == MAP_FAILED)
			return -1;
		/* 4 KB host pages: the same mappings in every run. */
		madvise(b->mem[i], slot_bytes, MADV_NOHUGEPAGE);
		r.userspace_addr = (unsigned long)b->mem[i];
		if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &r))
			return -1;
	}
	memcpy(b->mem[0] + CODE_GPA, guest_code, sizeof(guest_code));

	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0)
		return -1;
	b->run_size = ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      b->vcpu, 0);
	if (b->run == MAP_FAILED)
		return -1;
	if (ioctl(b->vcpu, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cr0 |= 1;		/* protected mode, paging off */
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	seg.selector = 0x08;
	seg.type = 0xb;
	sregs.cs = seg;
	return ioctl(b->vcpu, KVM_SET_SREGS, &sregs);
}

/* Write @pages pages from @offset of every region; 0 once it halts. */
static int bare_vm_write(struct bare_vm *b, uint64_t offset, uint64_t pages)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rflags = 0x2,
		.rcx = b->regions, .rdx = pages, .rbx = REGION, .rdi = offset,
	};

	if (ioctl(b->vcpu, KVM_SET_REGS, &regs) ||
	    ioctl(b->vcpu, KVM_RUN, 0))
		return -1;
	return b->run->exit_reason == KVM_EXIT_HLT ? 0 : -1;
}

struct cost {
	uint64_t entries;	/* write-protected by start + one harvest */
	uint64_t wrprot[3], opened_2m, opened_1g;
	int64_t second_harvest;
};

struct layout {
	const char *name;
	unsigned int regions;
	uint64_t slot_mib;
	uint64_t wss_pages;	/* per region */
};

static int measure(struct __test_metadata *_metadata, const struct layout *l,
		   uint32_t mode, struct cost *c)
{
	struct bare_vm b;
	struct vt_genl g;
	uint64_t seq;
	int id, ret = -1;

	memset(c, 0, sizeof(*c));
	if (bare_vm_create(&b, l->regions, l->slot_mib << 20) ||
	    vt_genl_open(&g)) {
		bare_vm_destroy(&b);
		return -1;
	}
	/* Every page present, as in a guest that has run a while. */
	if (bare_vm_write(&b, 2 * PAGE, ((l->slot_mib << 20) - 2 * PAGE) / PAGE))
		goto out;
	id = vt_session_attach(&g, b.vm, mode, VMTRACE_FLUSH_LAZY);
	if (id <= 0 || vt_session_cmd(&g, VMTRACE_CMD_START, id)) {
		TH_LOG("%s: attach/start: %d %s", l->name, id, g.extack);
		goto out;
	}
	if (bare_vm_write(&b, WSS_GPA, l->wss_pages) ||
	    vt_session_harvest_count(&g, id, &seq) < 0 ||
	    vt_session_ack(&g, id, seq) ||
	    vt_session_cmd(&g, VMTRACE_CMD_GET_SESSION, id))
		goto out;
	c->wrprot[0] = vt_session_u64(&g, VMTRACE_A_SESSION_WRPROT_4K);
	c->wrprot[1] = vt_session_u64(&g, VMTRACE_A_SESSION_WRPROT_2M);
	c->wrprot[2] = vt_session_u64(&g, VMTRACE_A_SESSION_WRPROT_1G);
	c->opened_2m = vt_session_u64(&g, VMTRACE_A_SESSION_OPENED_2M);
	c->opened_1g = vt_session_u64(&g, VMTRACE_A_SESSION_OPENED_1G);
	c->entries = c->wrprot[0] + c->wrprot[1] + c->wrprot[2];

	/* The working set again: the next harvest is exactly it. */
	if (bare_vm_write(&b, WSS_GPA, l->wss_pages))
		goto out;
	c->second_harvest = vt_session_harvest_count(&g, id, &seq);
	ret = vt_session_ack(&g, id, seq) ? -1 : 0;
	TH_LOG("%-12s %-12s guest %3llu MiB in %u GB region(s), WSS %4llu pages: %6llu entries (4K %llu, 2M %llu, 1G %llu; opened 2M %llu, 1G %llu)",
	       mode == VMTRACE_MODE_STOCK ? "stock" : "hierarchical", l->name,
	       (unsigned long long)(l->regions * l->slot_mib), l->regions,
	       (unsigned long long)(l->regions * l->wss_pages),
	       (unsigned long long)c->entries,
	       (unsigned long long)c->wrprot[0],
	       (unsigned long long)c->wrprot[1],
	       (unsigned long long)c->wrprot[2],
	       (unsigned long long)c->opened_2m,
	       (unsigned long long)c->opened_1g);
out:
	vt_genl_close(&g);
	bare_vm_destroy(&b);
	return ret;
}

enum { SMALL, BIG_GUEST, MORE_REGIONS, BIG_WSS, NR_LAYOUTS };

static const struct layout layouts[NR_LAYOUTS] = {
	[SMALL] = { "small", 1, 16, 256 },
	[BIG_GUEST] = { "8x guest", 1, 128, 256 },
	[MORE_REGIONS] = { "4 regions", 4, 16, 64 },
	[BIG_WSS] = { "8x WSS", 1, 16, 2048 },
};

TEST(cost_follows_the_working_set)
{
	struct cost stock[NR_LAYOUTS], hier[NR_LAYOUTS];
	int i;

	ASSERT_EQ(0, vt_module_ensure_loaded());
	for (i = 0; i < NR_LAYOUTS; i++) {
		const struct layout *l = &layouts[i];

		ASSERT_EQ(0, measure(_metadata, l, VMTRACE_MODE_STOCK,
				     &stock[i]));
		ASSERT_EQ(0, measure(_metadata, l, VMTRACE_MODE_HIERARCHICAL,
				     &hier[i]));
		EXPECT_EQ(l->regions * l->wss_pages, stock[i].second_harvest);
		EXPECT_EQ(l->regions * l->wss_pages, hier[i].second_harvest);
		/* Every written region was opened, at both levels. */
		EXPECT_LE(l->regions, hier[i].opened_1g);
		EXPECT_LE(l->regions, hier[i].opened_2m);
	}

	/* Stock: every page of the guest, so 8x the guest is ~8x the work. */
	EXPECT_LT(4 * stock[SMALL].entries, stock[BIG_GUEST].entries);
	/* Hierarchical: the guest's size barely matters... */
	EXPECT_LT(2 * hier[BIG_GUEST].entries, 3 * hier[SMALL].entries);
	/* ... the working set and the regions it spans do. */
	EXPECT_LT(2 * hier[SMALL].entries, hier[BIG_WSS].entries);
	EXPECT_LT(2 * hier[SMALL].entries, hier[MORE_REGIONS].entries);
	/* And for this guest, it is a fraction of stock's. */
	EXPECT_LT(4 * hier[SMALL].entries, stock[SMALL].entries);
}

TEST_HARNESS_MAIN
