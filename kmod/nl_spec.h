/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policies and operations of the "vmtrace" generic netlink family, as
 * Documentation/netlink/specs/vmtrace.yaml defines them.  The handlers are
 * in netlink.c.
 */
#ifndef _VMTRACE_NL_SPEC_H
#define _VMTRACE_NL_SPEC_H

#include <net/genetlink.h>

#include <uapi/linux/vmtrace.h>

extern struct genl_family vmtrace_nl_family;

enum vmtrace_nl_mcgrps {
	VMTRACE_NLGRP_EVENTS,
};

int vmtrace_nl_get_info_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_set_config_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_attach_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_start_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_harvest_start(struct netlink_callback *cb);
int vmtrace_nl_harvest_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int vmtrace_nl_harvest_ack_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_stop_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_detach_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_get_session_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_get_stats_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_set_throttle_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_get_throttle_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_get_session_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb);

#endif /* _VMTRACE_NL_SPEC_H */
