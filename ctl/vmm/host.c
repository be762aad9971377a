// SPDX-License-Identifier: GPL-2.0
/* The VMM around one VM, shared by run and receive (host.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "host.h"
#include "serial.h"

void vmm_host_init(struct vmm_host *h)
{
	memset(h, 0, sizeof(*h));
	h->log_fd = -1;
}

int vmm_host_open_log(struct vmm_host *h, const char *path)
{
	if (!path)
		return 0;
	h->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (h->log_fd < 0)
		return fail("--log %s: %s", path, strerror(errno)), -1;
	return 0;
}

static int serial_irq(void *opaque, int level)
{
	return vm_irq_line(opaque, SERIAL_IRQ, level);
}

int vmm_host_create(struct vmm_host *h, uint64_t mem, unsigned int cpus,
		    enum vm_backing backing, int vcpu_cpu)
{
	/* Even a VM half made is vm_destroy()ed by vmm_host_drop(). */
	h->made = true;
	if (vm_create(&h->vm, mem, cpus, backing))
		return -1;
	serial_init(&h->vm.serial, serial_irq, &h->vm);
	h->vm.serial.log_fd = h->log_fd >= 0 ? h->log_fd : STDOUT_FILENO;
	h->vm.vcpu_cpu = vcpu_cpu;
	return 0;
}

int vmm_host_control(struct vmm_host *h, const char *control,
		     const char *console)
{
	h->ctl = control_open(&h->vm, control, console);
	return h->ctl ? 0 : -1;
}

int vmm_host_finish(struct vmm_host *h)
{
	int ret;

	vm_stop(&h->vm, 0, "quit");
	ret = vm_wait(&h->vm);
	/* A guest that stopped by itself says why, even when it is no error. */
	if (ret || strcmp(h->vm.exit_reason, "quit"))
		fprintf(stderr, "vmotionctl: %s\n", h->vm.exit_reason);
	return ret;
}

void vmm_host_drop(struct vmm_host *h)
{
	control_close(h->ctl);
	h->ctl = NULL;
	if (h->made)
		vm_destroy(&h->vm);
	h->made = false;
}

void vmm_host_close(struct vmm_host *h)
{
	vmm_host_drop(h);
	if (h->log_fd >= 0)
		close(h->log_fd);
	h->log_fd = -1;
}
