// SPDX-License-Identifier: GPL-2.0
/*
 * The lab's KVM runs guest code: a VM built from bare ioctls executes a few
 * real-mode instructions, talks to the host through port I/O and memory,
 * and stops at HLT.  This is the proof that nested KVM works in the lab.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define GUEST_MEM	0x10000
#define CODE_GPA	0x1000

FIXTURE(vm) {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned char *mem;
};

FIXTURE_SETUP(vm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };

	self->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->kvm) TH_LOG("no /dev/kvm: kvm_amd not loaded?");
	ASSERT_EQ(KVM_API_VERSION, ioctl(self->kvm, KVM_GET_API_VERSION, 0));
	self->vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);

	self->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	region.userspace_addr = (unsigned long)self->mem;
	ASSERT_EQ(0, ioctl(self->vm, KVM_SET_USER_MEMORY_REGION, &region));

	self->vcpu = ioctl(self->vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpu);
	self->run_size = ioctl(self->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, self->run);

	/* Real mode, flat segment at 0. */
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_SET_SREGS, &sregs));
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_SET_REGS, &regs));
}

FIXTURE_TEARDOWN(vm)
{
	if (self->run && self->run != MAP_FAILED)
		munmap(self->run, self->run_size);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, GUEST_MEM);
	close(self->vcpu);
	close(self->vm);
	close(self->kvm);
}

TEST_F(vm, port_io_then_hlt)
{
	static const unsigned char code[] = {
		0xb0, 0x42,		/* mov $0x42, %al */
		0xe6, 0x10,		/* out %al, $0x10 */
		0xf4,			/* hlt */
	};
	unsigned char *data;

	memcpy(self->mem + CODE_GPA, code, sizeof(code));

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	ASSERT_EQ(KVM_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ(KVM_EXIT_IO_OUT, self->run->io.direction);
	EXPECT_EQ(0x10, self->run->io.port);
	EXPECT_EQ(1, self->run->io.size);
	data = (unsigned char *)self->run + self->run->io.data_offset;
	EXPECT_EQ(0x42, *data);

	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	EXPECT_EQ(KVM_EXIT_HLT, self->run->exit_reason);
}

TEST_F(vm, guest_store_reaches_host_memory)
{
	static const unsigned char code[] = {
		0xc7, 0x06, 0x00, 0x20, 0xef, 0xbe,	/* movw $0xbeef, 0x2000 */
		0xf4,					/* hlt */
	};
	struct kvm_regs regs;

	memcpy(self->mem + CODE_GPA, code, sizeof(code));
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_RUN, 0));
	ASSERT_EQ(KVM_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0xbeef, *(unsigned short *)(self->mem + 0x2000));
	ASSERT_EQ(0, ioctl(self->vcpu, KVM_GET_REGS, &regs));
	EXPECT_EQ(CODE_GPA + sizeof(code), regs.rip);
}

TEST_HARNESS_MAIN
