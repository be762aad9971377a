/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Settling a switchover whose connection was lost (the source's side).
 *
 * The destination runs a VM only on COMMIT and keeps a restored VM paused,
 * never dropping it by itself, until its source says COMMIT or ABORT; the
 * source resumes its copy only while it has not committed.  So when the
 * link fails during the switchover, exactly one side may run the VM, and
 * the source finds out which by asking the destination again: RESOLVE.
 */
#ifndef VMOTION_MIGRATE_HANDOFF_H
#define VMOTION_MIGRATE_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "../../uapi/linux/vmotion_wire.h"

enum handoff_action {
	HANDOFF_ASK,	/* only ask what the destination holds */
	HANDOFF_COMMIT,	/* the source committed: the destination runs it */
	HANDOFF_ABORT,	/* the source did not: the destination drops it */
};

/*
 * Connect to @to, ask about migration @id and carry out @action if the
 * destination holds it in doubt.  Returns the destination's state after
 * that (enum vmotion_handoff_state), or -1 if it could not be reached or
 * answered badly (why in @err).  An ABORT is confirmed by asking again.
 */
int handoff_resolve(const char *to, uint64_t id, enum handoff_action action,
		    int timeout_s, char *err, size_t errlen);

const char *handoff_state_name(int state);

#endif
