// SPDX-License-Identifier: GPL-2.0
/* libnl-genl-3 client of the vmtrace family for the selftests. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>

#include "../../uapi/linux/vmtrace.h"
#include "genl.h"

int vt_genl_open(struct vt_genl *g)
{
	int one = 1;

	memset(g, 0, sizeof(*g));
	g->sk = nl_socket_alloc();
	if (!g->sk)
		return -ENOMEM;
	if (genl_connect(g->sk))
		goto err_free;
	setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	g->family = genl_ctrl_resolve(g->sk, VMTRACE_FAMILY_NAME);
	if (g->family < 0) {
		nl_socket_free(g->sk);
		g->sk = NULL;
		return -ENOENT;
	}
	return 0;

err_free:
	nl_socket_free(g->sk);
	g->sk = NULL;
	return -ECONNREFUSED;
}

void vt_genl_close(struct vt_genl *g)
{
	if (g->reply)
		nlmsg_free(g->reply);
	if (g->sk)
		nl_socket_free(g->sk);
	memset(g, 0, sizeof(*g));
}

struct nl_msg *vt_genl_msg(struct vt_genl *g, int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg)
		genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0,
			    NLM_F_ACK, cmd, VMTRACE_FAMILY_VERSION);
	return msg;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct vt_genl *g = arg;

	if (g->reply)
		nlmsg_free(g->reply);
	nlmsg_get(msg);
	g->reply = msg;
	return NL_OK;
}

/* Parse the error and, with NLM_F_ACK_TLVS, the extack attributes. */
static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct vt_genl *g = arg;
	int hlen = sizeof(*err);

	(void)nla;
	g->err = err->error;
	g->done = 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		hlen += err->msg.nlmsg_len - NLMSG_HDRLEN;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
	    !nla_parse(tb, NLMSGERR_ATTR_MAX,
		       (struct nlattr *)((char *)err + hlen),
		       nlh->nlmsg_len - NLMSG_HDRLEN - hlen, NULL)) {
		if (tb[NLMSGERR_ATTR_MSG])
			snprintf(g->extack, sizeof(g->extack), "%s",
				 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
		if (tb[NLMSGERR_ATTR_OFFS])
			g->extack_offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct vt_genl *g = arg;

	(void)msg;
	g->done = 1;
	return NL_STOP;
}

int vt_genl_call(struct vt_genl *g, struct nl_msg *msg, int maxattr)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_CUSTOM);
	int ret;

	g->err = 0;
	g->extack[0] = '\0';
	g->extack_offs = -1;
	if (g->reply) {
		nlmsg_free(g->reply);
		g->reply = NULL;
	}
	memset(g->tb, 0, sizeof(g->tb));
	if (!cb) {
		nlmsg_free(msg);
		return g->err = -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, g);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, g);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, g);

	ret = nl_send_auto(g->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return g->err = -EIO;
	}
	/*
	 * nl_recvmsgs() returns after each non-multipart message: a reply
	 * and its ack are two calls.  Read until the ack or error.
	 */
	g->done = 0;
	do {
		ret = nl_recvmsgs(g->sk, cb);
	} while (ret >= 0 && !g->done);
	nl_cb_put(cb);
	if (ret < 0 && !g->err)
		g->err = -EIO;
	if (!g->err && g->reply && maxattr < 64)
		genlmsg_parse(nlmsg_hdr(g->reply), 0, g->tb, maxattr, NULL);
	return g->err;
}

struct nl_msg *vt_genl_dump_msg(struct vt_genl *g, int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg)
		genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0,
			    NLM_F_DUMP, cmd, VMTRACE_FAMILY_VERSION);
	return msg;
}

struct dump_state {
	struct vt_genl *g;
	int maxattr;
	vt_genl_dump_cb cb;
	void *arg;
	int cb_err;
};

static int dump_valid_cb(struct nl_msg *msg, void *arg)
{
	struct dump_state *d = arg;
	struct nlattr *tb[64] = { 0 };

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, d->maxattr, NULL) ||
	    (d->cb_err = d->cb(tb, d->arg)))
		return NL_STOP;
	return NL_OK;
}

static int dump_finish_cb(struct nl_msg *msg, void *arg)
{
	struct dump_state *d = arg;

	(void)msg;
	d->g->done = 1;
	return NL_STOP;
}

int vt_genl_dump(struct vt_genl *g, struct nl_msg *msg, int maxattr,
		 vt_genl_dump_cb cb, void *arg)
{
	struct dump_state d = { .g = g, .maxattr = maxattr, .cb = cb,
				.arg = arg };
	struct nl_cb *c = nl_cb_alloc(NL_CB_CUSTOM);
	int ret;

	g->err = 0;
	g->extack[0] = '\0';
	g->extack_offs = -1;
	g->done = 0;
	if (!c) {
		nlmsg_free(msg);
		return g->err = -ENOMEM;
	}
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, dump_valid_cb, &d);
	nl_cb_set(c, NL_CB_FINISH, NL_CB_CUSTOM, dump_finish_cb, &d);
	nl_cb_err(c, NL_CB_CUSTOM, error_cb, g);
	ret = nl_send_auto(g->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(c);
		return g->err = -EIO;
	}
	do {
		ret = nl_recvmsgs(g->sk, c);
	} while (ret >= 0 && !g->done && !d.cb_err);
	nl_cb_put(c);
	if (d.cb_err)
		return g->err = d.cb_err;
	if (ret < 0 && !g->err)
		g->err = -EIO;
	return g->err;
}

int vt_genl_join_events(struct vt_genl *g)
{
	int grp = genl_ctrl_resolve_grp(g->sk, VMTRACE_FAMILY_NAME,
					 VMTRACE_MCGRP_EVENTS);

	if (grp < 0)
		return -ENOENT;
	nl_socket_disable_seq_check(g->sk);
	return nl_socket_add_membership(g->sk, grp) ? -EINVAL : 0;
}

struct event_state {
	struct vt_genl *g;
	int maxattr;
	int cmd;
};

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct event_state *e = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (e->g->reply)
		nlmsg_free(e->g->reply);
	nlmsg_get(msg);
	e->g->reply = msg;
	e->cmd = gh->cmd;
	genlmsg_parse(nlmsg_hdr(msg), 0, e->g->tb, e->maxattr, NULL);
	return NL_STOP;
}

/* Events are not answers to a request: they carry no sequence number. */
static int any_seq_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int vt_genl_wait_event(struct vt_genl *g, int maxattr, int *cmd,
		       int timeout_ms)
{
	struct pollfd p = { .fd = nl_socket_get_fd(g->sk), .events = POLLIN };
	struct event_state e = { .g = g, .maxattr = maxattr, .cmd = -1 };
	struct nl_cb *c;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	c = nl_cb_alloc(NL_CB_CUSTOM);
	if (!c)
		return -ENOMEM;
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &e);
	nl_cb_set(c, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, any_seq_cb, NULL);
	nl_recvmsgs(g->sk, c);
	nl_cb_put(c);
	*cmd = e.cmd;
	return e.cmd < 0 ? -EIO : 0;
}

int vt_session_attach(struct vt_genl *g, int vm_fd, uint32_t mode,
		      uint32_t flush)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_ATTACH);
	int err;

	nla_put_u32(msg, VMTRACE_A_SESSION_VM_FD, vm_fd);
	if (mode)
		nla_put_u32(msg, VMTRACE_A_SESSION_MODE, mode);
	if (flush)
		nla_put_u32(msg, VMTRACE_A_SESSION_FLUSH, flush);
	err = vt_genl_call(g, msg, VMTRACE_A_SESSION_MAX);
	if (err)
		return err;
	return g->tb[VMTRACE_A_SESSION_ID] ?
	       (int)nla_get_u32(g->tb[VMTRACE_A_SESSION_ID]) : -EPROTO;
}

int vt_session_cmd(struct vt_genl *g, int cmd, uint32_t id)
{
	struct nl_msg *msg = vt_genl_msg(g, cmd);

	nla_put_u32(msg, VMTRACE_A_SESSION_ID, id);
	return vt_genl_call(g, msg, VMTRACE_A_SESSION_MAX);
}

int vt_session_ack(struct vt_genl *g, uint32_t id, uint64_t seq)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_HARVEST_ACK);

	nla_put_u32(msg, VMTRACE_A_SESSION_ID, id);
	nla_put_u64(msg, VMTRACE_A_SESSION_HARVESTS, seq);
	return vt_genl_call(g, msg, 0);
}

uint64_t vt_session_u64(struct vt_genl *g, int attr)
{
	return g->tb[attr] ? nla_get_u64(g->tb[attr]) : 0;
}

struct harvest_count {
	uint64_t seq, pages;
};

static int harvest_count_msg(struct nlattr **tb, void *arg)
{
	struct harvest_count *hc = arg;
	const uint64_t *bits;
	uint64_t n, i;

	if (tb[VMTRACE_A_HARVEST_SEQ])
		hc->seq = nla_get_u64(tb[VMTRACE_A_HARVEST_SEQ]);
	if (!tb[VMTRACE_A_HARVEST_BITMAP] || !tb[VMTRACE_A_HARVEST_NR_PAGES])
		return 0;
	n = nla_get_u64(tb[VMTRACE_A_HARVEST_NR_PAGES]);
	if (nla_len(tb[VMTRACE_A_HARVEST_BITMAP]) < (int)((n + 63) / 64 * 8))
		return -EPROTO;
	bits = nla_data(tb[VMTRACE_A_HARVEST_BITMAP]);
	for (i = 0; i < n; i++)
		hc->pages += !!(bits[i / 64] & (1ULL << (i % 64)));
	return 0;
}

int64_t vt_session_harvest_count(struct vt_genl *g, uint32_t id,
				 uint64_t *seq)
{
	struct nl_msg *msg = vt_genl_dump_msg(g, VMTRACE_CMD_HARVEST);
	struct harvest_count hc = { 0 };
	int err;

	nla_put_u32(msg, VMTRACE_A_HARVEST_SESSION_ID, id);
	err = vt_genl_dump(g, msg, VMTRACE_A_HARVEST_MAX, harvest_count_msg,
			   &hc);
	if (err)
		return err;
	if (seq)
		*seq = hc.seq;
	return hc.pages;
}
