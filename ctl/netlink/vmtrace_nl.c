// SPDX-License-Identifier: GPL-2.0
/*
 * libmnl client of the vmtrace generic netlink family.
 *
 * The socket asks for extended and capped acks (NETLINK_EXT_ACK,
 * NETLINK_CAP_ACK) so every error comes back with the kernel's message.
 * Unknown attributes in replies are skipped, so an older vmotionctl keeps
 * working with a newer module.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "../../uapi/linux/vmtrace.h"
#include "../bitmap/dirty_set.h"
#include "vmtrace_nl.h"

/* Large enough for any reply: the kernel caps messages at 32 KiB. */
#define VMTRACE_NL_BUFSIZE	32768

struct vmtrace_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t harvest_format;	/* enum vmtrace_harvest_format */
	char error[256];
	char buf[VMTRACE_NL_BUFSIZE];
};

typedef int (*reply_cb_t)(const struct nlmsghdr *nlh, void *data);

/* mnl_cb_run2() hands one pointer to both the data and error callbacks. */
struct transaction {
	struct vmtrace_nl *nl;
	reply_cb_t cb;
	void *data;
};

static struct nlmsghdr *put_request(struct vmtrace_nl *nl, uint16_t type,
				    uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

/* NLMSG_ERROR: keep the extack message, return the error. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	struct vmtrace_nl *nl = ((struct transaction *)data)->nl;
	const struct nlattr *attr;
	unsigned int hlen = sizeof(*err);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	/* With NETLINK_CAP_ACK the original request is not echoed back. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		hlen += mnl_nlmsg_get_payload_len(&err->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		mnl_attr_for_each(attr, nlh, hlen) {
			if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
				continue;
			snprintf(nl->error, sizeof(nl->error), "%s",
				 mnl_attr_get_str(attr));
		}
	}
	errno = -err->error;
	return MNL_CB_ERROR;
}

/* The end of a dump.  (With a control array, libmnl has no defaults.) */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct transaction *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static int transact(struct vmtrace_nl *nl, struct nlmsghdr *nlh,
		    reply_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	struct transaction t = { .nl = nl, .cb = cb, .data = data };
	int ret;

	nl->error[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (ret < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run2(nl->buf, ret, nl->seq, nl->portid,
				  data_cb, &t, ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR && errno == 0)
			errno = EPROTO;
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

struct family_ctx {
	uint16_t id;
};

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *ctx = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		ctx->id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, data);
	return MNL_CB_OK;
}

struct vmtrace_nl *vmtrace_nl_open(void)
{
	struct family_ctx ctx = { 0 };
	struct vmtrace_nl *nl;
	struct nlmsghdr *nlh;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->seq = time(NULL);
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		goto err_free;
	/* Both are best effort: old kernels simply send less. */
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err_close;
	nl->portid = mnl_socket_get_portid(nl->sock);

	nlh = put_request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VMTRACE_FAMILY_NAME);
	err = transact(nl, nlh, family_cb, &ctx);
	if (err || !ctx.id) {
		errno = err ? -err : ENOENT;
		goto err_close;
	}
	nl->family = ctx.id;
	return nl;

err_close:
	err = errno;
	mnl_socket_close(nl->sock);
	errno = err;
err_free:
	err = errno;
	free(nl);
	errno = err;
	return NULL;
}

void vmtrace_nl_close(struct vmtrace_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

const char *vmtrace_nl_error(const struct vmtrace_nl *nl)
{
	return nl->error;
}

static void copy_str(char *dst, size_t len, const struct nlattr *attr)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(dst, len, "%s", mnl_attr_get_str(attr));
}

static int info_attr_cb(const struct nlattr *attr, void *data)
{
	struct vmtrace_info *info = data;

	switch (mnl_attr_get_type(attr)) {
	case VMTRACE_A_INFO_MODULE_VERSION:
		copy_str(info->module_version, sizeof(info->module_version),
			 attr);
		break;
	case VMTRACE_A_INFO_KERNEL_RELEASE:
		copy_str(info->kernel_release, sizeof(info->kernel_release),
			 attr);
		break;
	case VMTRACE_A_INFO_PROTOCOL_VERSION:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			info->protocol_version = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_INFO_FEATURES:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			info->features = mnl_attr_get_u64(attr);
		break;
	case VMTRACE_A_INFO_KVM_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			info->kvm_flags = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_INFO_KVM_SYMBOLS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			info->kvm_symbols = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_INFO_FLUSH_DEADLINE_US:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			info->flush_deadline_us = mnl_attr_get_u32(attr);
		break;
	default:
		break;	/* newer module: ignore what we do not know */
	}
	return MNL_CB_OK;
}

static int info_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, info_attr_cb, data);
}

int vmtrace_nl_get_info(struct vmtrace_nl *nl, struct vmtrace_info *info)
{
	struct nlmsghdr *nlh;

	memset(info, 0, sizeof(*info));
	nlh = put_request(nl, nl->family, VMTRACE_CMD_GET_INFO,
			  VMTRACE_FAMILY_VERSION);
	return transact(nl, nlh, info_cb, info);
}

int vmtrace_nl_set_flush_deadline(struct vmtrace_nl *nl, uint32_t us)
{
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_SET_CONFIG,
			  VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_CONFIG_FLUSH_DEADLINE_US, us);
	return transact(nl, nlh, NULL, NULL);
}

struct session_dump {
	void (*cb)(const struct vmtrace_session_info *s, void *arg);
	void *arg;
};

static int session_attr_cb(const struct nlattr *attr, void *data)
{
	struct vmtrace_session_info *s = data;
	uint32_t *u32p = NULL;
	uint64_t *u64p = NULL;

	switch (mnl_attr_get_type(attr)) {
	case VMTRACE_A_SESSION_ID: u32p = &s->id; break;
	case VMTRACE_A_SESSION_MODE: u32p = &s->mode; break;
	case VMTRACE_A_SESSION_FLUSH: u32p = &s->flush; break;
	case VMTRACE_A_SESSION_STATE: u32p = &s->state; break;
	case VMTRACE_A_SESSION_VM_PID: u32p = &s->vm_pid; break;
	case VMTRACE_A_SESSION_NR_VCPUS: u32p = &s->nr_vcpus; break;
	case VMTRACE_A_SESSION_NR_PAGES: u64p = &s->nr_pages; break;
	case VMTRACE_A_SESSION_HARVESTS: u64p = &s->harvests; break;
	case VMTRACE_A_SESSION_DIRTY_PAGES: u64p = &s->dirty_pages; break;
	case VMTRACE_A_SESSION_DIRTY_PAGES_TOTAL:
		u64p = &s->dirty_pages_total;
		break;
	case VMTRACE_A_SESSION_START_NS: u64p = &s->start_ns; break;
	case VMTRACE_A_SESSION_HARVEST_NS: u64p = &s->harvest_ns; break;
	case VMTRACE_A_SESSION_PROTECT_NS: u64p = &s->protect_ns; break;
	case VMTRACE_A_SESSION_PAGES_PROTECTED:
		u64p = &s->pages_protected;
		break;
	case VMTRACE_A_SESSION_FLUSH_REQUESTS: u64p = &s->flush_requests; break;
	case VMTRACE_A_SESSION_FLUSH_NATURAL: u64p = &s->flush_natural; break;
	case VMTRACE_A_SESSION_FLUSH_KICKS: u64p = &s->flush_kicks; break;
	case VMTRACE_A_SESSION_FLUSH_SYNC: u64p = &s->flush_sync; break;
	case VMTRACE_A_SESSION_WRPROT_4K: u64p = &s->wrprot_4k; break;
	case VMTRACE_A_SESSION_WRPROT_2M: u64p = &s->wrprot_2m; break;
	case VMTRACE_A_SESSION_WRPROT_1G: u64p = &s->wrprot_1g; break;
	case VMTRACE_A_SESSION_OPENED_2M: u64p = &s->opened_2m; break;
	case VMTRACE_A_SESSION_OPENED_1G: u64p = &s->opened_1g; break;
	case VMTRACE_A_SESSION_MODULE_FAULTS: u64p = &s->module_faults; break;
	default:
		break;	/* newer module */
	}
	if (u32p && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*u32p = mnl_attr_get_u32(attr);
	if (u64p && mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
		*u64p = mnl_attr_get_u64(attr);
	return MNL_CB_OK;
}

static int session_cb(const struct nlmsghdr *nlh, void *data)
{
	struct session_dump *d = data;
	struct vmtrace_session_info s;

	memset(&s, 0, sizeof(s));
	mnl_attr_parse(nlh, GENL_HDRLEN, session_attr_cb, &s);
	d->cb(&s, d->arg);
	return MNL_CB_OK;
}

int vmtrace_nl_dump_sessions(struct vmtrace_nl *nl,
			     void (*cb)(const struct vmtrace_session_info *s,
					void *arg),
			     void *arg)
{
	struct session_dump d = { .cb = cb, .arg = arg };
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_GET_SESSION,
			  VMTRACE_FAMILY_VERSION);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	return transact(nl, nlh, session_cb, &d);
}

static int session_id_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == VMTRACE_A_SESSION_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*(uint32_t *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int session_id_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, session_id_attr_cb, data);
}

int vmtrace_nl_attach(struct vmtrace_nl *nl, int vm_fd, uint32_t mode,
		      uint32_t flush, uint32_t *id)
{
	struct nlmsghdr *nlh;
	int err;

	*id = 0;
	nlh = put_request(nl, nl->family, VMTRACE_CMD_ATTACH,
			  VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_SESSION_VM_FD, vm_fd);
	if (mode)
		mnl_attr_put_u32(nlh, VMTRACE_A_SESSION_MODE, mode);
	if (flush)
		mnl_attr_put_u32(nlh, VMTRACE_A_SESSION_FLUSH, flush);
	err = transact(nl, nlh, session_id_cb, id);
	if (!err && !*id)
		err = -EPROTO;
	return err;
}

static int session_request(struct vmtrace_nl *nl, uint8_t cmd, uint32_t id)
{
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, cmd, VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_SESSION_ID, id);
	return transact(nl, nlh, NULL, NULL);
}

int vmtrace_nl_start(struct vmtrace_nl *nl, uint32_t id)
{
	return session_request(nl, VMTRACE_CMD_START, id);
}

int vmtrace_nl_stop(struct vmtrace_nl *nl, uint32_t id)
{
	return session_request(nl, VMTRACE_CMD_STOP, id);
}

int vmtrace_nl_detach(struct vmtrace_nl *nl, uint32_t id)
{
	return session_request(nl, VMTRACE_CMD_DETACH, id);
}

struct harvest_ctx {
	uint64_t *bitmap;
	uint64_t nr_pages;
	uint64_t base;		/* gfn of the current chunk's slot */
	uint64_t seq, header_pages, pages;
	bool bad;
	const struct nlattr *tb[VMTRACE_A_HARVEST_MAX + 1];
};

static int harvest_attr_cb(const struct nlattr *attr, void *data)
{
	struct harvest_ctx *h = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type > VMTRACE_A_HARVEST_MAX)
		return MNL_CB_OK;	/* newer module */
	if ((type == VMTRACE_A_HARVEST_SLOT &&
	     mnl_attr_validate(attr, MNL_TYPE_U32)) ||
	    ((type == VMTRACE_A_HARVEST_SEQ ||
	      type == VMTRACE_A_HARVEST_DIRTY_PAGES ||
	      type == VMTRACE_A_HARVEST_BASE_GFN ||
	      type == VMTRACE_A_HARVEST_FIRST_PAGE ||
	      type == VMTRACE_A_HARVEST_NR_PAGES) &&
	     mnl_attr_validate(attr, MNL_TYPE_U64))) {
		h->bad = true;
		return MNL_CB_OK;
	}
	h->tb[type] = attr;
	return MNL_CB_OK;
}

/* A run of a compacted chunk, relative to its slot (checked in range). */
static int harvest_run(void *priv, u64 page, u64 n)
{
	struct harvest_ctx *h = priv;
	uint64_t gfn;

	for (gfn = h->base + page; gfn < h->base + page + n; gfn++)
		h->bitmap[gfn / 64] |= 1ULL << (gfn % 64);
	h->pages += n;
	return 0;
}

/* A compacted chunk of slot memory at @base: its page range must fit. */
static int harvest_chunk(struct harvest_ctx *h, uint64_t base)
{
	const struct nlattr *a = h->tb[VMTRACE_A_HARVEST_CHUNK];
	const void *buf = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a);
	u64 first, n;

	if (vmtrace_bitmap_chunk_range(buf, len, &first, &n) < 0 ||
	    base > h->nr_pages || first > h->nr_pages - base ||
	    n > h->nr_pages - base - first)
		return -1;
	h->base = base;
	return dirty_set_for_each_run(buf, len, first, n, harvest_run, h) ?
	       -1 : 0;
}

/* One harvest message: the header, or a chunk OR-ed into the bitmap. */
static int harvest_cb(const struct nlmsghdr *nlh, void *data)
{
	struct harvest_ctx *h = data;
	const uint8_t *bits;
	uint64_t base, first, n, i, gfn;

	memset(h->tb, 0, sizeof(h->tb));
	if (mnl_attr_parse(nlh, GENL_HDRLEN, harvest_attr_cb, h) < 0 || h->bad)
		goto bad;
	if (h->tb[VMTRACE_A_HARVEST_SEQ])
		h->seq = mnl_attr_get_u64(h->tb[VMTRACE_A_HARVEST_SEQ]);
	if (h->tb[VMTRACE_A_HARVEST_DIRTY_PAGES])
		h->header_pages =
			mnl_attr_get_u64(h->tb[VMTRACE_A_HARVEST_DIRTY_PAGES]);
	if (h->tb[VMTRACE_A_HARVEST_CHUNK]) {
		if (!h->tb[VMTRACE_A_HARVEST_SLOT] ||
		    !h->tb[VMTRACE_A_HARVEST_BASE_GFN])
			goto bad;
		if (mnl_attr_get_u32(h->tb[VMTRACE_A_HARVEST_SLOT]) >> 16)
			return MNL_CB_OK;	/* see below */
		if (harvest_chunk(h, mnl_attr_get_u64(
				h->tb[VMTRACE_A_HARVEST_BASE_GFN])))
			goto bad;
		return MNL_CB_OK;
	}
	if (!h->tb[VMTRACE_A_HARVEST_BITMAP])
		return MNL_CB_OK;
	if (!h->tb[VMTRACE_A_HARVEST_SLOT] ||
	    !h->tb[VMTRACE_A_HARVEST_BASE_GFN] ||
	    !h->tb[VMTRACE_A_HARVEST_FIRST_PAGE] ||
	    !h->tb[VMTRACE_A_HARVEST_NR_PAGES])
		goto bad;
	/* Guest RAM lives in address space 0; SMM has none of its own. */
	if (mnl_attr_get_u32(h->tb[VMTRACE_A_HARVEST_SLOT]) >> 16)
		return MNL_CB_OK;
	base = mnl_attr_get_u64(h->tb[VMTRACE_A_HARVEST_BASE_GFN]);
	first = mnl_attr_get_u64(h->tb[VMTRACE_A_HARVEST_FIRST_PAGE]);
	n = mnl_attr_get_u64(h->tb[VMTRACE_A_HARVEST_NR_PAGES]);
	if (n > h->nr_pages || base > h->nr_pages || first > h->nr_pages ||
	    base + first + n > h->nr_pages ||
	    mnl_attr_get_payload_len(h->tb[VMTRACE_A_HARVEST_BITMAP]) <
	    (n + 63) / 64 * 8)
		goto bad;
	bits = mnl_attr_get_payload(h->tb[VMTRACE_A_HARVEST_BITMAP]);
	for (i = 0; i < n; i++) {
		if (!(bits[i / 8] & (1u << (i % 8))))
			continue;
		gfn = base + first + i;
		h->bitmap[gfn / 64] |= 1ULL << (gfn % 64);
		h->pages++;
	}
	return MNL_CB_OK;
bad:
	errno = EPROTO;
	return MNL_CB_ERROR;
}

int64_t vmtrace_nl_harvest(struct vmtrace_nl *nl, uint32_t id,
			   uint64_t *bitmap, uint64_t nr_pages, uint64_t *seq)
{
	struct harvest_ctx h = { .bitmap = bitmap, .nr_pages = nr_pages };
	struct nlmsghdr *nlh;
	int err;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_HARVEST,
			  VMTRACE_FAMILY_VERSION);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	mnl_attr_put_u32(nlh, VMTRACE_A_HARVEST_SESSION_ID, id);
	mnl_attr_put_u32(nlh, VMTRACE_A_HARVEST_FORMAT,
			 nl->harvest_format ?: VMTRACE_HARVEST_FORMAT_COMPACTED);
	err = transact(nl, nlh, harvest_cb, &h);
	if (err)
		return err;
	/* The header counts the whole set: a lost chunk shows here. */
	if (h.pages != h.header_pages) {
		snprintf(nl->error, sizeof(nl->error),
			 "harvest announced %llu pages, carried %llu",
			 (unsigned long long)h.header_pages,
			 (unsigned long long)h.pages);
		return -EPROTO;
	}
	*seq = h.seq;
	return h.pages;
}

void vmtrace_nl_set_harvest_format(struct vmtrace_nl *nl, uint32_t format)
{
	nl->harvest_format = format;
}

int vmtrace_nl_harvest_ack(struct vmtrace_nl *nl, uint32_t id, uint64_t seq)
{
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_HARVEST_ACK,
			  VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_SESSION_ID, id);
	mnl_attr_put_u64(nlh, VMTRACE_A_SESSION_HARVESTS, seq);
	return transact(nl, nlh, NULL, NULL);
}

static int vcpu_stun_attr_cb(const struct nlattr *attr, void *data)
{
	struct vmtrace_vcpu_stun *v = data;

	switch (mnl_attr_get_type(attr)) {
	case VMTRACE_A_VCPU_STUN_INDEX:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			v->index = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_VCPU_STUN_STUN_NS:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			v->stun_ns = mnl_attr_get_u64(attr);
		break;
	case VMTRACE_A_VCPU_STUN_SLEEPS:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			v->sleeps = mnl_attr_get_u64(attr);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int throttle_attr_cb(const struct nlattr *attr, void *data)
{
	struct vmtrace_throttle_info *ti = data;

	switch (mnl_attr_get_type(attr)) {
	case VMTRACE_A_THROTTLE_SLEEP_US:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ti->sleep_us = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_THROTTLE_PERIOD_US:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ti->period_us = mnl_attr_get_u32(attr);
		break;
	case VMTRACE_A_THROTTLE_STUN_NS:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			ti->stun_ns = mnl_attr_get_u64(attr);
		break;
	case VMTRACE_A_THROTTLE_VCPU:
		if (ti->nr_vcpus < VMTRACE_NL_MAX_VCPUS &&
		    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(attr, vcpu_stun_attr_cb,
					      &ti->vcpus[ti->nr_vcpus++]);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int throttle_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vmtrace_throttle_info *ti = data;

	memset(ti, 0, sizeof(*ti));
	return mnl_attr_parse(nlh, GENL_HDRLEN, throttle_attr_cb, ti);
}

int vmtrace_nl_set_throttle(struct vmtrace_nl *nl, uint32_t id,
			    uint32_t sleep_us, struct vmtrace_throttle_info *ti)
{
	struct vmtrace_throttle_info ignored;
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_SET_THROTTLE,
			  VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_THROTTLE_SESSION_ID, id);
	mnl_attr_put_u32(nlh, VMTRACE_A_THROTTLE_SLEEP_US, sleep_us);
	return transact(nl, nlh, throttle_cb, ti ? ti : &ignored);
}

int vmtrace_nl_get_throttle(struct vmtrace_nl *nl, uint32_t id,
			    struct vmtrace_throttle_info *ti)
{
	struct nlmsghdr *nlh;

	nlh = put_request(nl, nl->family, VMTRACE_CMD_GET_THROTTLE,
			  VMTRACE_FAMILY_VERSION);
	mnl_attr_put_u32(nlh, VMTRACE_A_THROTTLE_SESSION_ID, id);
	return transact(nl, nlh, throttle_cb, ti);
}
