/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running `vmotionctl run` from a test: spawn it, talk to its control and
 * console sockets, wait for what the guest prints.
 */
#ifndef SELFTESTS_VMM_H
#define SELFTESTS_VMM_H

#include <stdbool.h>
#include <sys/types.h>

#include "../../ctl/vm_client.h"

struct vmm {
	pid_t pid;
	char dir[64];		/* private directory for sockets and logs */
	char control[96];	/* control socket */
	char console[96];	/* console socket */
	char log[96];		/* serial log */
	char out[96];		/* the VMM's own stdout and stderr */
};

/* $VMOTIONCTL, or ctl/vmotionctl. */
const char *vmm_binary(void);
/* The lab's bzImage and the test guest's initramfs. */
const char *vmm_kernel(void);
const char *vmm_initrd(void);

/* A fresh directory under /tmp for one test's files. */
int vmm_init(struct vmm *v);
/* Remove the directory (after the VMM is gone). */
void vmm_cleanup(struct vmm *v);

/*
 * Start `vmotionctl run --control --console --log ARGS...` (NULL-ended
 * @args) and wait up to @timeout_s for the control socket.  0 or -1.
 */
int vmm_start(struct vmm *v, const char *const *args, int timeout_s);
/* Run vmotionctl with @args to completion; its exit status, -1 on error. */
int vmm_cmd(const char *const *args, char *output, size_t len);
/*
 * Start vmotionctl with @args (in network namespace @netns unless NULL),
 * its output appended to @out; killed if the test dies.  Its pid, or -1.
 */
pid_t vmm_spawn_in(const char *netns, const char *const *args,
		   const char *out);
/* Copy the tail of a file (prefixed "# WHAT| ") to stderr. */
void vmm_dump_file(const char *what, const char *path);
/* After a failure: the VMM's own output and the guest's serial log. */
void vmm_dump(struct vmm *v);
/* Wait for the VMM process to exit; its exit status, or -1 on timeout. */
int vmm_wait(struct vmm *v, int timeout_s);
void vmm_kill(struct vmm *v);

/* One control request; the reply line in @reply.  0 ok, 1 error, -1 I/O. */
int vmm_request(struct vmm *v, const char *req, char *reply, size_t len);

/* Whether @needle appears in the serial log within @timeout_s. */
bool vmm_log_wait(struct vmm *v, const char *needle, int timeout_s);

/* Console: connect, send a line, wait for text. */
int vmm_console_open(struct vmm *v);
int vmm_console_send(int fd, const char *s);
/* Read until @needle shows up; the text up to and including it in @buf. */
bool vmm_console_expect(int fd, const char *needle, int timeout_s, char *buf,
			size_t len);

/*
 * Ask the guest's shell: run "echo TAG=$(CMD)-END" and return the number
 * after "TAG=" in the answer, or -1.
 */
double vmm_console_ask(int console, const char *cmd, const char *tag);

bool file_exists(const char *path);

#endif
