// SPDX-License-Identifier: GPL-2.0
/*
 * Handlers of the "vmtrace" generic netlink family.  Policies and the
 * operation table are in nl_spec.c; the contract is the YNL spec in
 * Documentation/netlink/specs/vmtrace.yaml.
 */
#include <linux/build_bug.h>
#include <linux/file.h>
#include <linux/utsname.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include <uapi/linux/vmtrace.h>

#include "bitmap_codec.h"
#include "nl_spec.h"
#include "vmtrace.h"

struct vmtrace_config vmtrace_config = {
	.flush_deadline_us = VMTRACE_FLUSH_DEADLINE_DEFAULT_US,
	.eager_split = true,
};

static int vmtrace_nl_fill_info(struct sk_buff *msg)
{
	if (nla_put_string(msg, VMTRACE_A_INFO_MODULE_VERSION,
			   VMTRACE_MODULE_VERSION) ||
	    nla_put_u32(msg, VMTRACE_A_INFO_PROTOCOL_VERSION,
			VMTRACE_PROTOCOL_VERSION) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_INFO_FEATURES,
			      vmtrace_kvm_features(), VMTRACE_A_INFO_PAD) ||
	    nla_put_string(msg, VMTRACE_A_INFO_KERNEL_RELEASE,
			   init_utsname()->release) ||
	    nla_put_u32(msg, VMTRACE_A_INFO_KVM_FLAGS, vmtrace_kvm_flags()) ||
	    nla_put_u32(msg, VMTRACE_A_INFO_KVM_SYMBOLS,
			vmtrace_kvm_ops_count()) ||
	    nla_put_u32(msg, VMTRACE_A_INFO_FLUSH_DEADLINE_US,
			READ_ONCE(vmtrace_config.flush_deadline_us)))
		return -EMSGSIZE;
	return 0;
}

int vmtrace_nl_get_info_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(GENLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &vmtrace_nl_family, 0,
				VMTRACE_CMD_GET_INFO);
	if (!hdr) {
		err = -EMSGSIZE;
		goto out_free_msg;
	}
	err = vmtrace_nl_fill_info(msg);
	if (err) {
		genlmsg_cancel(msg, hdr);
		goto out_free_msg;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return err;
}

int vmtrace_nl_set_config_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[VMTRACE_A_CONFIG_FLUSH_DEADLINE_US];

	/* The policy has checked the range; an empty request is an error. */
	if (!attr) {
		NL_SET_ERR_MSG_MOD(info->extack, "no setting given");
		return -EINVAL;
	}
	WRITE_ONCE(vmtrace_config.flush_deadline_us, nla_get_u32(attr));
	return 0;
}

/* The session named in @attr, if the caller owns it.  vmtrace_lock held. */
static struct vmtrace_session *
vmtrace_nl_owned_session(struct genl_info *info, struct nlattr *attr)
{
	struct vmtrace_session *s = vmtrace_session_find(nla_get_u32(attr));

	if (!s) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such session");
		return ERR_PTR(-ENOENT);
	}
	if (s->net != genl_info_net(info) || s->portid != info->snd_portid) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "the session belongs to another socket");
		return ERR_PTR(-EPERM);
	}
	return s;
}

/* The session's statistics, after its id: what get-stats replies. */
static int vmtrace_nl_fill_stats(struct sk_buff *msg,
				 const struct vmtrace_session *s)
{
	const struct vmtrace_stats *st = &s->stats;

	if (nla_put_u32(msg, VMTRACE_A_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_HARVESTS, st->harvests,
			      VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_DIRTY_PAGES,
			      st->dirty_pages, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_DIRTY_PAGES_TOTAL,
			      st->dirty_pages_total, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_START_NS, st->start_ns,
			      VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_HARVEST_NS,
			      st->harvest_ns, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_PROTECT_NS,
			      st->protect_ns, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_PAGES_PROTECTED,
			      st->pages_protected, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_FLUSH_REQUESTS,
			      st->flush.requests, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_FLUSH_NATURAL,
			      st->flush.natural, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_FLUSH_KICKS,
			      st->flush.kicks, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_FLUSH_SYNC,
			      st->flush.sync, VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_WRPROT_4K,
			      st->wrprot[0], VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_WRPROT_2M,
			      st->wrprot[1], VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_WRPROT_1G,
			      st->wrprot[2], VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_OPENED_2M,
			      st->opened[0], VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_OPENED_1G,
			      st->opened[1], VMTRACE_A_SESSION_PAD) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_MODULE_FAULTS,
			      st->module_faults, VMTRACE_A_SESSION_PAD))
		return -EMSGSIZE;
	return 0;
}

/* Everything about a session: its identity and state, then its stats. */
static int vmtrace_nl_fill_session(struct sk_buff *msg,
				   const struct vmtrace_session *s)
{
	if (vmtrace_nl_fill_stats(msg, s) ||
	    nla_put_u32(msg, VMTRACE_A_SESSION_MODE, s->mode) ||
	    nla_put_u32(msg, VMTRACE_A_SESSION_FLUSH, s->flush_mode) ||
	    nla_put_u32(msg, VMTRACE_A_SESSION_STATE, s->state) ||
	    nla_put_u32(msg, VMTRACE_A_SESSION_VM_PID, s->vm_pid) ||
	    nla_put_u32(msg, VMTRACE_A_SESSION_NR_VCPUS,
			atomic_read(&s->kvm->online_vcpus)) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_SESSION_NR_PAGES, s->nr_pages,
			      VMTRACE_A_SESSION_PAD))
		return -EMSGSIZE;
	return 0;
}

/* A reply to @info carrying what @fill puts in about @s. */
static int vmtrace_nl_reply(struct genl_info *info, u8 cmd,
			    const struct vmtrace_session *s,
			    int (*fill)(struct sk_buff *msg,
					const struct vmtrace_session *s))
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(GENLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmtrace_nl_family, 0, cmd);
	if (!hdr || fill(msg, s)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* A reply carrying one session's attributes. */
static int vmtrace_nl_reply_session(struct genl_info *info, u8 cmd,
				    struct vmtrace_session *s)
{
	vmtrace_track_read_stats(s);
	return vmtrace_nl_reply(info, cmd, s, vmtrace_nl_fill_session);
}

int vmtrace_nl_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	u32 mode = VMTRACE_MODE_STOCK, flush = VMTRACE_FLUSH_LAZY;
	struct vmtrace_session *s;
	struct file *file;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VMTRACE_A_SESSION_VM_FD))
		return -EINVAL;
	if (tb[VMTRACE_A_SESSION_MODE])
		mode = nla_get_u32(tb[VMTRACE_A_SESSION_MODE]);
	if (tb[VMTRACE_A_SESSION_FLUSH])
		flush = nla_get_u32(tb[VMTRACE_A_SESSION_FLUSH]);

	/* doit runs in the caller's context: the fd is the caller's. */
	file = fget(nla_get_u32(tb[VMTRACE_A_SESSION_VM_FD]));
	if (!file) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[VMTRACE_A_SESSION_VM_FD],
				    "no such file descriptor");
		return -EBADF;
	}
	mutex_lock(&vmtrace_lock);
	err = vmtrace_session_attach(file, mode, flush, genl_info_net(info),
				     info->snd_portid, info->extack, &s);
	if (!err) {
		err = vmtrace_nl_reply_session(info, VMTRACE_CMD_ATTACH, s);
		if (err)
			vmtrace_session_destroy(s, VMTRACE_GONE_DETACHED);
	}
	mutex_unlock(&vmtrace_lock);
	fput(file);
	return err;
}

/* Handlers of commands that act on one owned session. */
static int vmtrace_nl_session_cmd(struct genl_info *info,
				  int (*fn)(struct vmtrace_session *s,
					    struct genl_info *info))
{
	struct vmtrace_session *s;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VMTRACE_A_SESSION_ID))
		return -EINVAL;
	mutex_lock(&vmtrace_lock);
	s = vmtrace_nl_owned_session(info, info->attrs[VMTRACE_A_SESSION_ID]);
	err = IS_ERR(s) ? PTR_ERR(s) : fn(s, info);
	mutex_unlock(&vmtrace_lock);
	return err;
}

static int vmtrace_nl_start(struct vmtrace_session *s, struct genl_info *info)
{
	if (s->state == VMTRACE_STATE_TRACKING) {
		NL_SET_ERR_MSG_MOD(info->extack, "the session is already tracing");
		return -EBUSY;
	}
	return vmtrace_track_start(s, info->extack);
}

int vmtrace_nl_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_session_cmd(info, vmtrace_nl_start);
}

static int vmtrace_nl_stop(struct vmtrace_session *s, struct genl_info *info)
{
	if (s->state != VMTRACE_STATE_TRACKING) {
		NL_SET_ERR_MSG_MOD(info->extack, "the session is not tracing");
		return -EINVAL;
	}
	vmtrace_track_stop(s);
	/* A migration that stops tracing is over: so is its throttle. */
	return vmtrace_throttle_set(s, 0);
}

int vmtrace_nl_stop_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_session_cmd(info, vmtrace_nl_stop);
}

static int vmtrace_nl_detach(struct vmtrace_session *s, struct genl_info *info)
{
	vmtrace_session_destroy(s, VMTRACE_GONE_DETACHED);
	return 0;
}

int vmtrace_nl_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_session_cmd(info, vmtrace_nl_detach);
}

static int vmtrace_nl_harvest_ack(struct vmtrace_session *s,
				  struct genl_info *info)
{
	struct nlattr *seq = info->attrs[VMTRACE_A_SESSION_HARVESTS];

	if (!seq || nla_get_u64(seq) != s->harvest_seq) {
		NL_SET_ERR_MSG_ATTR(info->extack, seq,
				    "not the session's last harvest");
		return -ESTALE;
	}
	vmtrace_track_ack(s);
	return 0;
}

int vmtrace_nl_harvest_ack_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_session_cmd(info, vmtrace_nl_harvest_ack);
}

/* get-session and get-stats: any session of the caller's namespace. */
static int vmtrace_nl_get_doit(struct genl_info *info, u8 cmd,
			       int (*fill)(struct sk_buff *msg,
					   const struct vmtrace_session *s))
{
	struct vmtrace_session *s;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VMTRACE_A_SESSION_ID))
		return -EINVAL;
	mutex_lock(&vmtrace_lock);
	s = vmtrace_session_find(nla_get_u32(info->attrs[VMTRACE_A_SESSION_ID]));
	if (s && s->net == genl_info_net(info)) {
		vmtrace_track_read_stats(s);
		err = vmtrace_nl_reply(info, cmd, s, fill);
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[VMTRACE_A_SESSION_ID],
				    "no such session");
		err = -ENOENT;
	}
	mutex_unlock(&vmtrace_lock);
	return err;
}

int vmtrace_nl_get_session_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_get_doit(info, VMTRACE_CMD_GET_SESSION,
				   vmtrace_nl_fill_session);
}

int vmtrace_nl_get_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmtrace_nl_get_doit(info, VMTRACE_CMD_GET_STATS,
				   vmtrace_nl_fill_stats);
}

static int vmtrace_nl_fill_throttle(struct sk_buff *msg,
				    const struct vmtrace_session *s)
{
	u64 stun_ns, sleeps, total = 0;
	struct nlattr *nest;
	unsigned int i;

	if (nla_put_u32(msg, VMTRACE_A_THROTTLE_SESSION_ID, s->id) ||
	    nla_put_u32(msg, VMTRACE_A_THROTTLE_SLEEP_US,
			vmtrace_throttle_sleep_us(s)) ||
	    nla_put_u32(msg, VMTRACE_A_THROTTLE_PERIOD_US,
			vmtrace_throttle_period_us(s)))
		return -EMSGSIZE;
	for (i = 0; vmtrace_throttle_vcpu_stats(s, i, &stun_ns, &sleeps); i++) {
		total += stun_ns;
		nest = nla_nest_start(msg, VMTRACE_A_THROTTLE_VCPU);
		if (!nest ||
		    nla_put_u32(msg, VMTRACE_A_VCPU_STUN_INDEX, i) ||
		    nla_put_u64_64bit(msg, VMTRACE_A_VCPU_STUN_STUN_NS, stun_ns,
				      VMTRACE_A_VCPU_STUN_PAD) ||
		    nla_put_u64_64bit(msg, VMTRACE_A_VCPU_STUN_SLEEPS, sleeps,
				      VMTRACE_A_VCPU_STUN_PAD))
			return -EMSGSIZE;
		nla_nest_end(msg, nest);
	}
	return nla_put_u64_64bit(msg, VMTRACE_A_THROTTLE_STUN_NS, total,
				 VMTRACE_A_THROTTLE_PAD);
}

static int vmtrace_nl_reply_throttle(struct genl_info *info, u8 cmd,
				     const struct vmtrace_session *s)
{
	return vmtrace_nl_reply(info, cmd, s, vmtrace_nl_fill_throttle);
}

int vmtrace_nl_set_throttle_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct vmtrace_session *s;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VMTRACE_A_THROTTLE_SESSION_ID) ||
	    GENL_REQ_ATTR_CHECK(info, VMTRACE_A_THROTTLE_SLEEP_US))
		return -EINVAL;
	mutex_lock(&vmtrace_lock);
	s = vmtrace_nl_owned_session(info, tb[VMTRACE_A_THROTTLE_SESSION_ID]);
	if (IS_ERR(s)) {
		err = PTR_ERR(s);
		goto out;
	}
	err = vmtrace_throttle_set(s, nla_get_u32(tb[VMTRACE_A_THROTTLE_SLEEP_US]));
	if (!err)
		err = vmtrace_nl_reply_throttle(info, VMTRACE_CMD_SET_THROTTLE,
						s);
out:
	mutex_unlock(&vmtrace_lock);
	return err;
}

int vmtrace_nl_get_throttle_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *id = info->attrs[VMTRACE_A_THROTTLE_SESSION_ID];
	struct vmtrace_session *s;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VMTRACE_A_THROTTLE_SESSION_ID))
		return -EINVAL;
	mutex_lock(&vmtrace_lock);
	s = vmtrace_session_find(nla_get_u32(id));
	if (s && s->net == genl_info_net(info)) {
		err = vmtrace_nl_reply_throttle(info, VMTRACE_CMD_GET_THROTTLE,
						s);
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
		err = -ENOENT;
	}
	mutex_unlock(&vmtrace_lock);
	return err;
}

struct vmtrace_session_dump_ctx {
	u32 next_id;
};

int vmtrace_nl_get_session_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct vmtrace_session_dump_ctx *ctx = (void *)cb->ctx;
	struct vmtrace_session *s;
	int id, err = 0;
	void *hdr;

	BUILD_BUG_ON(sizeof(struct vmtrace_session_dump_ctx) >
		     sizeof_field(struct netlink_callback, ctx));
	mutex_lock(&vmtrace_lock);
	for (id = ctx->next_id;; id++) {
		s = vmtrace_session_next(&id);
		if (!s)
			break;
		if (s->net != sock_net(skb->sk))
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vmtrace_nl_family,
				  NLM_F_MULTI, VMTRACE_CMD_GET_SESSION);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		vmtrace_track_read_stats(s);
		if (vmtrace_nl_fill_session(skb, s)) {
			genlmsg_cancel(skb, hdr);
			err = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	ctx->next_id = id;
	mutex_unlock(&vmtrace_lock);
	/* A full skb ends this round; the dump goes on from next_id. */
	return err == -EMSGSIZE && skb->len ? skb->len : err ?: skb->len;
}

/*
 * Harvest dump.  .start takes the snapshot (and the write protection and
 * flush barrier that come with it); each dumpit call then sends the next
 * messages of it.  The session may go away between calls: the dump then
 * ends with an error, and nothing is lost -- the pages stay pending.
 */
/*
 * Bytes a compacted chunk message takes besides the chunk: headers, the
 * u32 session id and slot, the padded seq and base-gfn, the chunk's own
 * attribute header and its padding.
 */
#define VMTRACE_NL_COMPACT_OVERHEAD \
	(NLMSG_HDRLEN + GENL_HDRLEN + 2 * nla_total_size(sizeof(u32)) + \
	 2 * nla_total_size_64bit(sizeof(u64)) + nla_total_size(0) + 8)

struct vmtrace_harvest_ctx {
	u32 session_id;
	u32 slot;
	u64 seq;
	u64 page;		/* raw: next page; compacted: next region */
	u32 format;		/* enum vmtrace_harvest_format */
	bool header_sent;
};

int vmtrace_nl_harvest_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *di = genl_dumpit_info(cb);
	struct vmtrace_harvest_ctx *ctx = (void *)cb->ctx;
	struct nlattr *id = di->attrs[VMTRACE_A_HARVEST_SESSION_ID];
	struct nlattr *format = di->attrs[VMTRACE_A_HARVEST_FORMAT];
	struct netlink_ext_ack *extack = cb->extack;
	struct vmtrace_session *s;
	int err;

	BUILD_BUG_ON(sizeof(struct vmtrace_harvest_ctx) >
		     sizeof_field(struct netlink_callback, ctx));
	if (!id) {
		NL_SET_ERR_MSG_MOD(extack, "missing session id");
		return -EINVAL;
	}
	ctx->format = format ? nla_get_u32(format) : VMTRACE_HARVEST_FORMAT_RAW;
	/* A compacted chunk needs this much room, whatever the reader's buffer. */
	if (ctx->format == VMTRACE_HARVEST_FORMAT_COMPACTED)
		cb->min_dump_alloc = VMTRACE_BITMAP_CHUNK_MIN +
				     VMTRACE_NL_COMPACT_OVERHEAD;
	mutex_lock(&vmtrace_lock);
	s = vmtrace_session_find(nla_get_u32(id));
	if (!s) {
		NL_SET_ERR_MSG_ATTR(extack, id, "no such session");
		err = -ENOENT;
	} else if (s->net != sock_net(cb->skb->sk) ||
		   s->portid != NETLINK_CB(cb->skb).portid) {
		NL_SET_ERR_MSG_ATTR(extack, id,
				    "the session belongs to another socket");
		err = -EPERM;
	} else if (s->state != VMTRACE_STATE_TRACKING) {
		NL_SET_ERR_MSG_ATTR(extack, id, "the session is not tracing");
		err = -EINVAL;
	} else {
		err = vmtrace_track_harvest(s, extack);
		ctx->session_id = s->id;
		ctx->seq = s->harvest_seq;
	}
	mutex_unlock(&vmtrace_lock);
	return err;
}

/*
 * Bytes a chunk message takes besides its bitmap: netlink, genetlink and
 * attribute headers, the u32 and four padded u64 attributes.
 */
#define VMTRACE_NL_CHUNK_OVERHEAD \
	(NLMSG_HDRLEN + GENL_HDRLEN + 2 * nla_total_size(sizeof(u32)) + \
	 4 * nla_total_size_64bit(sizeof(u64)) + nla_total_size(0) + 8)

/* A harvest message with its session id and sequence, or NULL if full. */
static void *vmtrace_nl_harvest_msg(struct sk_buff *skb,
				    struct netlink_callback *cb,
				    const struct vmtrace_session *s)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, &vmtrace_nl_family,
				NLM_F_MULTI, VMTRACE_CMD_HARVEST);

	if (!hdr)
		return NULL;
	if (nla_put_u32(skb, VMTRACE_A_HARVEST_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_SEQ, s->harvest_seq,
			      VMTRACE_A_HARVEST_PAD)) {
		genlmsg_cancel(skb, hdr);
		return NULL;
	}
	return hdr;
}

/*
 * How many pages of bitmap fit in what is left of @skb, in whole 64-page
 * words after the message and attribute headers: 0 if not even one.
 */
static u64 vmtrace_nl_chunk_fit(const struct sk_buff *skb)
{
	int room = skb_tailroom(skb) - VMTRACE_NL_CHUNK_OVERHEAD;

	return room < 8 ? 0 : (u64)(room / 8) * 64;
}

static int vmtrace_nl_put_chunk(struct sk_buff *skb, struct netlink_callback *cb,
				const struct vmtrace_session *s,
				const struct vmtrace_slot *vs, u64 page, u64 n)
{
	void *hdr = vmtrace_nl_harvest_msg(skb, cb, s);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, VMTRACE_A_HARVEST_SLOT,
			(u32)vs->as_id << 16 | vs->id) ||
	    nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_BASE_GFN, vs->base_gfn,
			      VMTRACE_A_HARVEST_PAD) ||
	    nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_FIRST_PAGE, page,
			      VMTRACE_A_HARVEST_PAD) ||
	    nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_NR_PAGES, n,
			      VMTRACE_A_HARVEST_PAD) ||
	    nla_put(skb, VMTRACE_A_HARVEST_BITMAP,
		    BITS_TO_LONGS(n) * sizeof(long),
		    vs->pending + page / BITS_PER_LONG)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * The next encoded chunk of a slot's pending set, from region *@region,
 * as one message.  0 when the slot is done, -EMSGSIZE when the skb has no
 * room for a chunk.  The codec's chunks are self-contained (their header
 * holds their page range), so a reader needs no state between them.
 */
static int vmtrace_nl_put_compacted(struct sk_buff *skb,
				    struct netlink_callback *cb,
				    const struct vmtrace_session *s,
				    const struct vmtrace_slot *vs, u64 *region)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = vs->pending, .npages = vs->npages,
	};
	int room = skb_tailroom(skb) - VMTRACE_NL_COMPACT_OVERHEAD;
	struct nlattr *chunk;
	u64 next = *region;
	ssize_t len;
	void *hdr;

	if (room < (int)VMTRACE_BITMAP_CHUNK_MIN)
		return -EMSGSIZE;
	/* An attribute's length is a u16 that includes its header. */
	room = min_t(int, room, VMTRACE_BITMAP_CHUNK_MAX);
	room = min_t(int, room, ALIGN_DOWN(U16_MAX - NLA_HDRLEN, NLA_ALIGNTO));
	hdr = vmtrace_nl_harvest_msg(skb, cb, s);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, VMTRACE_A_HARVEST_SLOT,
			(u32)vs->as_id << 16 | vs->id) ||
	    nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_BASE_GFN, vs->base_gfn,
			      VMTRACE_A_HARVEST_PAD))
		goto cancel;
	/* Encode in place, then give back what the chunk did not use. */
	chunk = nla_reserve(skb, VMTRACE_A_HARVEST_CHUNK, room);
	if (!chunk)
		goto cancel;
	len = vmtrace_bitmap_encode(&src, &next, nla_data(chunk), room);
	if (len <= 0) {
		genlmsg_cancel(skb, hdr);
		return len ? -EIO : 0;
	}
	memset((u8 *)nla_data(chunk) + len, 0, nla_padlen(len));
	skb_trim(skb, (unsigned char *)chunk + nla_total_size(len) - skb->data);
	chunk->nla_len = nla_attr_size(len);
	genlmsg_end(skb, hdr);
	*region = next;
	return 1;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* One slot's pending set, compacted: as many chunks as fit the skb. */
static int vmtrace_nl_dump_compacted(struct sk_buff *skb,
				     struct netlink_callback *cb,
				     const struct vmtrace_session *s,
				     struct vmtrace_harvest_ctx *ctx)
{
	const struct vmtrace_slot *vs = &s->slots[ctx->slot];
	int ret;

	if (find_first_bit(vs->pending, vs->npages) >= vs->npages)
		return 0;
	do {
		ret = vmtrace_nl_put_compacted(skb, cb, s, vs, &ctx->page);
	} while (ret > 0);
	return ret;
}

/* The first message: the size of the whole set. */
static int vmtrace_nl_put_header(struct sk_buff *skb,
				 struct netlink_callback *cb,
				 const struct vmtrace_session *s)
{
	void *hdr = vmtrace_nl_harvest_msg(skb, cb, s);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VMTRACE_A_HARVEST_DIRTY_PAGES,
			      s->pending_pages, VMTRACE_A_HARVEST_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int vmtrace_nl_harvest_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vmtrace_harvest_ctx *ctx = (void *)cb->ctx;
	struct vmtrace_session *s;
	int err = 0;

	mutex_lock(&vmtrace_lock);
	s = vmtrace_session_find(ctx->session_id);
	if (!s || s->state != VMTRACE_STATE_TRACKING ||
	    s->harvest_seq != ctx->seq) {
		/* Gone, stopped or harvested again: this snapshot is void. */
		err = -ESTALE;
		goto out;
	}
	if (!ctx->header_sent) {
		err = vmtrace_nl_put_header(skb, cb, s);
		if (err)
			goto out;
		ctx->header_sent = true;
	}
	for (; ctx->slot < s->nr_slots; ctx->slot++, ctx->page = 0) {
		const struct vmtrace_slot *vs = &s->slots[ctx->slot];

		if (ctx->format == VMTRACE_HARVEST_FORMAT_COMPACTED) {
			err = vmtrace_nl_dump_compacted(skb, cb, s, ctx);
			if (err)
				goto out;
			continue;
		}
		while (ctx->page < vs->npages) {
			u64 n = min_t(u64, VMTRACE_HARVEST_CHUNK_PAGES,
				      vs->npages - ctx->page);
			u64 fit = vmtrace_nl_chunk_fit(skb);

			if (find_next_bit(vs->pending, ctx->page + n,
					  ctx->page) >= ctx->page + n) {
				ctx->page += n;
				continue;
			}
			/*
			 * The first skb of a dump is small (the reader's
			 * buffer size is not known yet): send what fits.
			 */
			n = min(n, fit);
			if (!n) {
				err = -EMSGSIZE;
				goto out;
			}
			err = vmtrace_nl_put_chunk(skb, cb, s, vs, ctx->page, n);
			if (err)
				goto out;
			ctx->page += n;
		}
	}
out:
	mutex_unlock(&vmtrace_lock);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

void vmtrace_nl_notify_gone(struct vmtrace_session *s, u32 reason)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&vmtrace_nl_family, s->net,
				VMTRACE_NLGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &vmtrace_nl_family, 0,
			  VMTRACE_CMD_SESSION_GONE);
	if (!hdr || nla_put_u32(msg, VMTRACE_A_EVENT_SESSION_ID, s->id) ||
	    nla_put_u32(msg, VMTRACE_A_EVENT_REASON, reason)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&vmtrace_nl_family, s->net, msg, 0,
				VMTRACE_NLGRP_EVENTS, GFP_KERNEL);
}

int vmtrace_netlink_init(void)
{
	return genl_register_family(&vmtrace_nl_family);
}

void vmtrace_netlink_exit(void)
{
	genl_unregister_family(&vmtrace_nl_family);
}
