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

#include "vm.h"

struct control;

/* Bind the sockets; refuses a path another live VMM listens on. */
struct control *control_open(struct vm *vm, const char *control_path,
			     const char *console_path);
/* Serve both sockets until the guest stops or a client says quit. */
int control_loop(struct control *ctl);
void control_close(struct control *ctl);

#endif
