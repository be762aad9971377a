// SPDX-License-Identifier: GPL-2.0
/*
 * RESOLVE, the source's side: one short connection per question.  See
 * handoff.h for why this is enough to keep exactly one running copy, and
 * Documentation/admin-guide/vmotion-protocol.rst for the state table.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"
#include "net.h"
#include "wire.h"

const char *handoff_state_name(int state)
{
	switch (state) {
	case VMOTION_HANDOFF_UNKNOWN:	return "unknown";
	case VMOTION_HANDOFF_RESTORED:	return "in-doubt";
	case VMOTION_HANDOFF_RUNNING:	return "running";
	}
	return "invalid";
}

/* HELLO, then RESOLVE @id: the destination's state, or -1. */
static int ask(int fd, struct wire_stats *st, uint64_t id, char *err,
	       size_t errlen)
{
	struct vmotion_hello hello = { .version = htole32(VMOTION_WIRE_VERSION) };
	const struct vmotion_handoff *h;
	struct wire_frame f;
	int r, state;

	if (wire_send(fd, st, VMOTION_CMD_HELLO, 0, &hello, sizeof(hello)))
		return snprintf(err, errlen, "send: %s", strerror(errno)), -1;
	r = wire_await(fd, st, &f, err, errlen);
	if (r)
		return -1;
	wire_frame_free(&f);	/* the offer: nothing to check for a question */
	if (wire_send(fd, st, VMOTION_CMD_RESOLVE, id, NULL, 0))
		return snprintf(err, errlen, "send: %s", strerror(errno)), -1;
	if (wire_await(fd, st, &f, err, errlen))
		return -1;
	h = f.payload;
	if (f.length != sizeof(*h) || le32toh(h->state) > VMOTION_HANDOFF_RUNNING) {
		wire_frame_free(&f);
		return snprintf(err, errlen, "malformed RESOLVE answer"), -1;
	}
	state = le32toh(h->state);
	wire_frame_free(&f);
	return state;
}

static int connect_and_ask(const char *to, uint64_t id, int timeout_s,
			   int *fdp, struct wire_stats *st, char *err,
			   size_t errlen)
{
	int fd = net_connect("--to", to, timeout_s), state;

	if (fd < 0)
		return snprintf(err, errlen, "cannot connect to %s", to), -1;
	net_set_timeout(fd, timeout_s);
	memset(st, 0, sizeof(*st));
	state = ask(fd, st, id, err, errlen);
	if (state < 0) {
		close(fd);
		return -1;
	}
	*fdp = fd;
	return state;
}

int handoff_resolve(const char *to, uint64_t id, enum handoff_action action,
		    int timeout_s, char *err, size_t errlen)
{
	struct wire_stats st;
	struct wire_frame f;
	int fd, state, r;

	err[0] = '\0';
	state = connect_and_ask(to, id, timeout_s, &fd, &st, err, errlen);
	if (state != VMOTION_HANDOFF_RESTORED || action == HANDOFF_ASK) {
		if (state >= 0)
			close(fd);
		return state;
	}
	if (action == HANDOFF_COMMIT) {
		if (wire_send(fd, &st, VMOTION_CMD_COMMIT, 0, NULL, 0)) {
			snprintf(err, errlen, "send COMMIT: %s", strerror(errno));
			r = -1;
		} else {
			r = wire_await(fd, &st, &f, err, errlen);
			if (!r)
				wire_frame_free(&f);
		}
		close(fd);
		return r ? -1 : VMOTION_HANDOFF_RUNNING;
	}
	/* ABORT is not answered: ask once more to know that it was heard. */
	r = wire_send(fd, &st, VMOTION_CMD_ABORT, 0, "the source did not commit",
		      strlen("the source did not commit"));
	close(fd);
	if (r)
		return snprintf(err, errlen, "send ABORT: %s", strerror(errno)), -1;
	state = connect_and_ask(to, id, timeout_s, &fd, &st, err, errlen);
	if (state >= 0)
		close(fd);
	return state;
}
