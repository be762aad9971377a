/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM around one VM, as `vmotionctl run` and `vmotionctl receive`
 * both keep it: the serial console's log, the KVM VM with its console,
 * the control socket, and at the end the VM stopped and why said.  run
 * goes through it at once; receive creates the VM at SPEC, opens the
 * control socket then, and starts it only at COMMIT.
 */
#ifndef VMOTION_VMM_HOST_H
#define VMOTION_VMM_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "vm.h"

struct vmm_host {
	struct vm vm;
	bool made;		/* vm holds a KVM VM */
	struct control *ctl;
	int log_fd;		/* --log FILE, or -1: the console on stdout */
};

/* Nothing open yet. */
void vmm_host_init(struct vmm_host *h);
/* The serial console appended to @path (NULL: stdout).  0 or -1. */
int vmm_host_open_log(struct vmm_host *h, const char *path);
/* The VM, its serial console wired to the log; vCPUs on @vcpu_cpu (-1). */
int vmm_host_create(struct vmm_host *h, uint64_t mem, unsigned int cpus,
		    enum vm_backing backing, int vcpu_cpu);
/* Its control socket (and console socket, if @console).  0 or -1. */
int vmm_host_control(struct vmm_host *h, const char *control,
		     const char *console);
/*
 * After the control loop: stop the VM and wait for it; say why it stopped
 * when it is not a plain quit.  The exit status.
 */
int vmm_host_finish(struct vmm_host *h);
/* The control socket closed and the VM destroyed; the log stays open. */
void vmm_host_drop(struct vmm_host *h);
/* All of it, the log too. */
void vmm_host_close(struct vmm_host *h);

#endif
