// SPDX-License-Identifier: GPL-2.0
/*
 * The VM: KVM objects, guest memory, vCPU threads and their run loop.
 *
 * Each vCPU runs in its own thread.  Pausing sets a request and kicks every
 * thread out of KVM_RUN with a signal (immediate_exit covers the race where
 * the signal lands just before the ioctl); each thread then parks until
 * resumed.  Saving state and migrating happen while all are parked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "layout.h"
#include "payload.h"
#include "vm.h"

#define SIG_VCPU_KICK	SIGUSR1

static int kick_handler_installed;

static void vcpu_kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return -EINTR */
}

static int open_memory(struct vm *vm)
{
	unsigned int flags = MFD_CLOEXEC;

	if (vm->backing == VM_BACKING_2M)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	else if (vm->backing == VM_BACKING_1G)
		flags |= MFD_HUGETLB | MFD_HUGE_1GB;
	vm->mem_fd = memfd_create("vmotion-guest-ram", flags);
	if (vm->mem_fd < 0)
		return fail("guest memory: memfd_create: %s", strerror(errno));
	if (ftruncate(vm->mem_fd, vm->mem_size))
		return fail("guest memory: cannot size %llu bytes: %s",
			    (unsigned long long)vm->mem_size, strerror(errno));
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return fail("guest memory: mmap of %llu bytes: %s%s",
			    (unsigned long long)vm->mem_size, strerror(errno),
			    vm->backing != VM_BACKING_4K ?
			    " (are enough huge pages reserved?)" : "");
	}
	return 0;
}

static int create_vcpu(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = &vm->vcpus[id];

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return fail("vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return fail("vCPU %u: mmap kvm_run: %s", id, strerror(errno));
	}
	return vcpu_setup_cpuid(vcpu, vm->cpuid);
}

/*
 * KVM reports what it can virtualise, not that it is a hypervisor: the
 * VMM sets CPUID.1:ECX[31] itself.  Without it Linux never looks at the
 * KVM leaves (0x40000000), boots "on bare hardware" without kvm-clock,
 * fails to calibrate the TSC and keeps time by counting timer ticks.
 */
static void cpuid_mark_hypervisor(struct kvm_cpuid2 *cpuid)
{
	unsigned int i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			cpuid->entries[i].ecx |= 1u << 31;
}

struct kvm_cpuid2 *vm_supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *cpuid;
	int n = 64;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return NULL;
		cpuid->nent = n;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid)) {
			cpuid_mark_hypervisor(cpuid);
			return cpuid;
		}
		free(cpuid);
		if (errno != E2BIG)
			return NULL;
		n *= 2;
	}
}

int vcpu_setup_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	size_t size = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	unsigned int i;
	int ret;

	if (!c)
		return fail("out of memory");
	memcpy(c, cpuid, size);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID and logical processor count. */
			e->ebx = (e->ebx & 0x0000ffff) | (vcpu->id << 24) |
				 (vcpu->vm->nr_cpus << 16);
			e->edx |= 1u << 28;	/* HTT: count is valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu->id;	/* x2APIC ID */
			break;
		}
	}
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	if (ret)
		return fail("vCPU %u: KVM_SET_CPUID2: %s", vcpu->id,
			    strerror(errno));
	return 0;
}

int vm_create(struct vm *vm, uint64_t mem_size, unsigned int nr_cpus,
	      enum vm_backing backing)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_userspace_memory_region region;
	int max_cpus;
	unsigned int i;

	int pipefd[2];

	memset(vm, 0, sizeof(*vm));
	vm->vcpu_cpu = -1;
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = -1;
	vm->wake_fd = vm->wake_wfd = -1;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK))
		return fail("pipe: %s", strerror(errno));
	vm->wake_fd = pipefd[0];
	vm->wake_wfd = pipefd[1];
	vm->mem_size = mem_size;
	vm->backing = backing;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail("/dev/kvm: %s", strerror(errno));
	max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_cpus <= 0)
		max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_NR_VCPUS);
	if (max_cpus > VM_MAX_CPUS)
		max_cpus = VM_MAX_CPUS;
	if (nr_cpus < 1 || (int)nr_cpus > max_cpus)
		return fail("--cpus %u: this KVM allows 1 to %d vCPUs",
			    nr_cpus, max_cpus);
	vm->nr_cpus = nr_cpus;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0)
		return fail("KVM_SET_TSS_ADDR: %s", strerror(errno));
	{
		uint64_t idmap = KVM_IDENTITY_MAP_GPA;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return fail("KVM_SET_IDENTITY_MAP_ADDR: %s",
				    strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail("KVM_CREATE_PIT2: %s", strerror(errno));

	if (open_memory(vm))
		return -1;
	vm->vmm_dirty = calloc((mem_size / VM_PAGE_SIZE + 63) / 64,
			       sizeof(uint64_t));
	if (!vm->vmm_dirty)
		return fail("out of memory");
	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	vm->cpuid = vm_supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid)
		return fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (i = 0; i < nr_cpus; i++)
		if (create_vcpu(vm, i))
			return -1;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_cpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->wake_fd >= 0) {
		close(vm->wake_fd);
		close(vm->wake_wfd);
	}
	free(vm->cpuid);
	free(vm->vmm_dirty);
	vm->mem = NULL;
	vm->cpuid = NULL;
	vm->vmm_dirty = NULL;
}

void *vm_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

void vm_mark_dirty(struct vm *vm, uint64_t gpa, size_t len)
{
	uint64_t pfn, last;

	if (!len)
		return;
	last = (gpa + len - 1) / VM_PAGE_SIZE;
	pthread_mutex_lock(&vm->lock);
	for (pfn = gpa / VM_PAGE_SIZE; pfn <= last; pfn++)
		vm->vmm_dirty[pfn / 64] |= 1ULL << (pfn % 64);
	pthread_mutex_unlock(&vm->lock);
}

int vm_write(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	void *dst = vm_ptr(vm, gpa, len);

	if (!dst)
		return -ERANGE;
	memcpy(dst, src, len);
	vm_mark_dirty(vm, gpa, len);
	return 0;
}

int vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void vm_stop(struct vm *vm, int code, const char *reason)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_req) {
		/* The reason first: readers that see @exit_req read it unlocked. */
		vm->exit_code = code;
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), "%s", reason);
		__atomic_store_n(&vm->exit_req, true, __ATOMIC_RELEASE);
		/* Non-blocking: if the pipe is full, it is readable anyway. */
		if (write(vm->wake_wfd, "x", 1) < 0) {
		}
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_cpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, SIG_VCPU_KICK);
	}
}

/* Unknown ports read as all-ones and ignore writes, like an empty bus. */
static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint16_t port = run->io.port;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (port >= SERIAL_PORT_BASE &&
		    port < SERIAL_PORT_BASE + SERIAL_PORT_COUNT) {
			serial_io(&vcpu->vm->serial, port, out, data);
		} else if (port >= PAYLOAD_PORT_BASE &&
			   port < PAYLOAD_PORT_BASE + PAYLOAD_PORT_COUNT) {
			payload_io(vcpu, port, out, data, run->io.size);
		} else if (port == 0x64 && out && *data == 0xfe) {
			/* i8042 pulse of the reset line: reboot = quit. */
			vm_stop(vcpu->vm, 0, "guest reset");
		} else if (!out) {
			memset(data, 0xff, run->io.size);
		}
	}
}

static void park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->lock);
	while (vm->pause_req && !vm->exit_req) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->nr_parked--;
	}
	vcpu->run->immediate_exit = vm->exit_req;
	pthread_mutex_unlock(&vm->lock);
}

/*
 * Named as QEMU names its own ("CPU 0/KVM"), so that top -H, perf and the
 * benchmarks can tell a vCPU's time from the VMM's.
 */
static void name_vcpu_thread(pthread_t thread, unsigned int i)
{
	char name[16];

	snprintf(name, sizeof(name), "CPU %u/KVM", i);
	pthread_setname_np(thread, name);
}

/*
 * run --shutdown-dump: memory is all a shutdown leaves to look at (KVM
 * reset the registers), and its first 2 MiB hold what a dying payload
 * touched last besides its data: GDT, page tables, stacks, its code and
 * IDT.
 */
static void dump_low_memory(struct vm *vm)
{
	const size_t len = HIGH_RAM_GPA * 2;
	const void *low = vm_ptr(vm, 0, len);
	int fd;

	if (!vm->shutdown_dump || !low)
		return;
	fd = open(vm->shutdown_dump, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, low, len) != (ssize_t)len)
		fprintf(stderr, "vmotionctl: --shutdown-dump %s: %s\n",
			vm->shutdown_dump, strerror(errno));
	else
		fprintf(stderr, "vmotionctl: the first 2 MiB of guest memory are in %s\n",
			vm->shutdown_dump);
	if (fd >= 0)
		close(fd);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	char why[96];

	for (;;) {
		if (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE))
			park(vcpu);
		if (__atomic_load_n(&vm->exit_req, __ATOMIC_ACQUIRE))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN: %s",
				 vcpu->id, strerror(errno));
			vm_stop(vm, 1, why);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(vcpu);
			break;
		case KVM_EXIT_MMIO:
			/* Nothing is mapped: reads see all-ones. */
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, run->mmio.len);
			break;
		case KVM_EXIT_HLT:
			vm_stop(vm, 0, "guest halted");
			break;
		case KVM_EXIT_SHUTDOWN:
			/*
			 * KVM on SVM resets the vCPU before it returns this,
			 * so its registers tell nothing now: what led there
			 * is only in KVM's trace of the exits before
			 * (Documentation/dev-tools/lab-faults.rst).
			 */
			snprintf(why, sizeof(why),
				 "guest shut down (triple fault or reset) on vCPU %u",
				 vcpu->id);
			dump_low_memory(vm);
			vm_stop(vm, 0, why);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_stop(vm, 0, "guest system event");
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			snprintf(why, sizeof(why),
				 "vCPU %u: unexpected exit reason %u (hw %llx)",
				 vcpu->id, run->exit_reason,
				 (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
			vm_stop(vm, 1, why);
			break;
		}
	}
	return NULL;
}

int vm_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	sigset_t set;
	unsigned int i;

	if (!kick_handler_installed) {
		sigaction(SIG_VCPU_KICK, &sa, NULL);
		kick_handler_installed = 1;
	}
	/* Only vCPU threads take the kick signal. */
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	for (i = 0; i < vm->nr_cpus; i++) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		if (pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
				   &vm->vcpus[i])) {
			vm_stop(vm, 1, "cannot start vCPU threads");
			return fail("cannot start vCPU thread %u", i);
		}
		vm->vcpus[i].started = true;
		name_vcpu_thread(vm->vcpus[i].thread, i);
		if (vm->vcpu_cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(vm->vcpu_cpu, &set);
			if (pthread_setaffinity_np(vm->vcpus[i].thread,
						   sizeof(set), &set))
				fprintf(stderr, "vmotionctl: vCPU %u: cannot pin to CPU %d\n",
					i, vm->vcpu_cpu);
		}
	}
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return 0;
}

void vm_pause(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_cpus; i++) {
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, SIG_VCPU_KICK);
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->nr_parked < vm->nr_cpus && !vm->exit_req)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_wait(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	while (!vm->exit_req)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_cpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	return vm->exit_code;
}
