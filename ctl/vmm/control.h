/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's control socket and console socket, served from the main
 * thread.  The control protocol is in Documentation/admin-guide/
 * vmotionctl.rst: one request line, one reply line ("ok ..." or
 * "error ..."), some replies followed by a binary body or file
 * descriptors.
 */
#ifndef VMOTION_CONTROL_H
#define VMOTION_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "vm.h"

struct control;

/*
 * The destination's side of a migration handoff (vmotionctl receive): a
 * VMM whose VM arrived by migration and may still be in doubt -- restored
 * and paused, waiting for its source to commit.  The control loop watches
 * @fd (the migration listener, -1 for none) and calls @readable, and
 * passes the operator's requests about the handoff to the other hooks,
 * which write their reply (without "ok "/"error ") into @buf and return 0
 * for ok, -1 for an error.
 */
struct control_peer {
	int fd;
	void (*readable)(void *opaque);
	void (*describe)(void *opaque, char *buf, size_t len);
	int (*force_resume)(void *opaque, char *buf, size_t len);
	int (*discard)(void *opaque, char *buf, size_t len);
	/* The VM is held, not running: only handoff requests are served. */
	bool (*held)(void *opaque);
	void *opaque;
};

/* Bind the sockets; refuses a path another live VMM listens on. */
struct control *control_open(struct vm *vm, const char *control_path,
			     const char *console_path);
/* Serve both sockets until the guest stops or a client says quit. */
int control_loop(struct control *ctl);
/* Hand the handoff's hooks to the control loop (NULL: none). */
void control_set_peer(struct control *ctl, const struct control_peer *peer);
/* Make control_loop() return after the current request. */
void control_stop(struct control *ctl);
void control_close(struct control *ctl);

#endif
