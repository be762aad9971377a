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

int vmtrace_nl_get_info_doit(struct sk_buff *skb, struct genl_info *info);
int vmtrace_nl_set_config_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _VMTRACE_NL_SPEC_H */
