/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The selftests' own client of the vmtrace family, on libnl-genl-3: a
 * second, independent implementation beside vmotionctl's libmnl one, so an
 * encoding bug on either side shows up.
 */
#ifndef SELFTESTS_GENL_H
#define SELFTESTS_GENL_H

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <stdint.h>

struct vt_genl {
	struct nl_sock *sk;
	int family;
	/* The last request's outcome */
	int err;		/* 0 or -errno from the kernel */
	char extack[256];	/* NLMSGERR_ATTR_MSG, or "" */
	int extack_offs;	/* NLMSGERR_ATTR_OFFS, or -1 */
	int done;		/* its ack or error has arrived */
	struct nl_msg *reply;	/* the last reply, if any */
	struct nlattr *tb[64];	/* its attributes */
};

/* 0 or -errno (-ENOENT: the family is not registered). */
int vt_genl_open(struct vt_genl *g);
void vt_genl_close(struct vt_genl *g);
/* A request for @cmd with the family's header in place. */
struct nl_msg *vt_genl_msg(struct vt_genl *g, int cmd);
/* Send, wait for the reply or ack; consumes @msg.  Returns g->err. */
int vt_genl_call(struct vt_genl *g, struct nl_msg *msg, int maxattr);

/* Called for each message of a dump with its parsed attributes. */
typedef int (*vt_genl_dump_cb)(struct nlattr **tb, void *arg);

/* A dump request for @cmd. */
struct nl_msg *vt_genl_dump_msg(struct vt_genl *g, int cmd);
/* Send a dump request and feed every reply to @cb; returns g->err. */
int vt_genl_dump(struct vt_genl *g, struct nl_msg *msg, int maxattr,
		 vt_genl_dump_cb cb, void *arg);

/* Join the family's "events" group; 0 or -errno. */
int vt_genl_join_events(struct vt_genl *g);
/*
 * Wait up to @timeout_ms for an event; its command and attributes go to
 * @cmd and g->tb.  0, or -ETIMEDOUT.
 */
int vt_genl_wait_event(struct vt_genl *g, int maxattr, int *cmd,
		       int timeout_ms);

/*
 * Sessions.  vt_session_attach(): the new session's id, or -errno; @mode
 * and @flush are enum vmtrace_mode / vmtrace_flush, 0 for the default.
 */
int vt_session_attach(struct vt_genl *g, int vm_fd, uint32_t mode,
		      uint32_t flush);
/* A request naming session @id only (start, stop, detach, get-session). */
int vt_session_cmd(struct vt_genl *g, int cmd, uint32_t id);
/* Acknowledge harvest @seq of session @id. */
int vt_session_ack(struct vt_genl *g, uint32_t id, uint64_t seq);
/*
 * Harvest session @id and count the pages it hands out; with @seq, the
 * harvest's sequence number (for vt_session_ack()).  Pages or -errno.
 */
int64_t vt_session_harvest_count(struct vt_genl *g, uint32_t id,
				 uint64_t *seq);
/* A u64 attribute of the last get-session reply, or 0 if absent. */
uint64_t vt_session_u64(struct vt_genl *g, int attr);

#endif
