/* SPDX-License-Identifier: GPL-2.0 */
/* A client of a VMM's control socket (vmotionctl ctl, save, migrate). */
#ifndef VMOTION_VM_CLIENT_H
#define VMOTION_VM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_client {
	int fd;
	char reply[512];	/* the last reply line, without "\n" */
	char buf[4096];		/* bytes received past the reply line */
	size_t buf_len;
};

int vm_client_connect(struct vm_client *c, const char *path);
void vm_client_close(struct vm_client *c);

/*
 * Send one request line and read the reply line into c->reply.  Returns 0
 * for "ok ...", 1 for "error ..." (the message is in c->reply), -1 if the
 * connection failed.  With @fds, up to two descriptors passed with the
 * reply are stored there (-1 if none).
 */
int vm_client_request(struct vm_client *c, const char *req, int fds[2]);

/*
 * After a failed request or a failure elsewhere: has the VMM gone?  A VMM
 * whose guest stopped tells its clients "error vm-stopped: REASON" before
 * it exits.  1 with the reason (or "its VMM exited") in @why if the VMM is
 * gone or going, 0 if it still serves.
 */
int vm_client_gone(struct vm_client *c, char *why, size_t len);

/* Read exactly @len body bytes following a reply; 0 or -1. */
int vm_client_read_body(struct vm_client *c, void *dst, size_t len);

/*
 * A request answered "ok LEN" and LEN bytes of body (save-state,
 * get-cpuid, get-dirty, dirty-log harvest): the body, malloc'ed, in
 * *@body and its length in *@len, which must be 1 to @max bytes, or
 * exactly @max with @exact.  0; 1 if the VMM refused (c->reply says
 * why) or the length is wrong (@why says so); -1 if the connection failed.
 */
int vm_client_body(struct vm_client *c, const char *req, void **body,
		   size_t *len, size_t max, bool exact, char *why,
		   size_t why_len);

/* What "status" says of the VM. */
struct vm_status {
	char state[16];		/* running, paused, migrated, in-doubt... */
	unsigned int cpus;
	uint64_t mem;		/* bytes */
	bool locked;
};

/*
 * "status", read into @st.  0; 1 if the reply lacks a field or is not a
 * number where one belongs; -1 if the connection failed.
 */
int vm_client_status(struct vm_client *c, struct vm_status *st);

#endif
