// SPDX-License-Identifier: GPL-2.0
/*
 * Policies and operations of the "vmtrace" generic netlink family.  This
 * file follows Documentation/netlink/specs/vmtrace.yaml line by line; change
 * the spec first.  Every command that changes state is GENL_ADMIN_PERM.
 */
#include <net/genetlink.h>

#include <uapi/linux/vmtrace.h>

#include "nl_spec.h"

/*
 * NLA_POLICY_RANGE() holds s16 bounds only: the deadline needs more.  6.1's
 * nla_policy points to a non-const range, hence no const here.
 */
static struct netlink_range_validation vmtrace_flush_deadline_range = {
	.min = VMTRACE_FLUSH_DEADLINE_MIN_US,
	.max = VMTRACE_FLUSH_DEADLINE_MAX_US,
};

static struct netlink_range_validation vmtrace_throttle_range = {
	.min = 0,
	.max = VMTRACE_THROTTLE_MAX_US,
};

static const struct nla_policy
vmtrace_set_config_policy[VMTRACE_A_CONFIG_MAX + 1] = {
	[VMTRACE_A_CONFIG_FLUSH_DEADLINE_US] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vmtrace_flush_deadline_range),
};

static const struct nla_policy
vmtrace_attach_policy[VMTRACE_A_SESSION_MAX + 1] = {
	[VMTRACE_A_SESSION_VM_FD] = { .type = NLA_U32 },
	[VMTRACE_A_SESSION_MODE] =
		NLA_POLICY_RANGE(NLA_U32, VMTRACE_MODE_STOCK,
				 VMTRACE_MODE_HIERARCHICAL),
	[VMTRACE_A_SESSION_FLUSH] =
		NLA_POLICY_RANGE(NLA_U32, VMTRACE_FLUSH_LAZY,
				 VMTRACE_FLUSH_SYNC),
};

/* start, stop, detach, get-session: the session id only. */
static const struct nla_policy
vmtrace_session_id_policy[VMTRACE_A_SESSION_ID + 1] = {
	[VMTRACE_A_SESSION_ID] = { .type = NLA_U32 },
};

static const struct nla_policy
vmtrace_harvest_ack_policy[VMTRACE_A_SESSION_HARVESTS + 1] = {
	[VMTRACE_A_SESSION_ID] = { .type = NLA_U32 },
	[VMTRACE_A_SESSION_HARVESTS] = { .type = NLA_U64 },
};

static const struct nla_policy
vmtrace_harvest_policy[VMTRACE_A_HARVEST_FORMAT + 1] = {
	[VMTRACE_A_HARVEST_SESSION_ID] = { .type = NLA_U32 },
	[VMTRACE_A_HARVEST_FORMAT] =
		NLA_POLICY_RANGE(NLA_U32, VMTRACE_HARVEST_FORMAT_RAW,
				 VMTRACE_HARVEST_FORMAT_COMPACTED),
};

static const struct nla_policy
vmtrace_set_throttle_policy[VMTRACE_A_THROTTLE_SLEEP_US + 1] = {
	[VMTRACE_A_THROTTLE_SESSION_ID] = { .type = NLA_U32 },
	[VMTRACE_A_THROTTLE_SLEEP_US] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vmtrace_throttle_range),
};

static const struct nla_policy
vmtrace_get_throttle_policy[VMTRACE_A_THROTTLE_SESSION_ID + 1] = {
	[VMTRACE_A_THROTTLE_SESSION_ID] = { .type = NLA_U32 },
};

static const struct genl_ops vmtrace_nl_ops[] = {
	{
		.cmd		= VMTRACE_CMD_GET_INFO,
		.doit		= vmtrace_nl_get_info_doit,
		/* takes no attributes: with no policy, any is rejected */
	},
	{
		.cmd		= VMTRACE_CMD_SET_CONFIG,
		.doit		= vmtrace_nl_set_config_doit,
		.policy		= vmtrace_set_config_policy,
		.maxattr	= VMTRACE_A_CONFIG_MAX,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_ATTACH,
		.doit		= vmtrace_nl_attach_doit,
		.policy		= vmtrace_attach_policy,
		.maxattr	= VMTRACE_A_SESSION_MAX,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_START,
		.doit		= vmtrace_nl_start_doit,
		.policy		= vmtrace_session_id_policy,
		.maxattr	= VMTRACE_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_HARVEST,
		.start		= vmtrace_nl_harvest_start,
		.dumpit		= vmtrace_nl_harvest_dumpit,
		.policy		= vmtrace_harvest_policy,
		.maxattr	= VMTRACE_A_HARVEST_FORMAT,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_HARVEST_ACK,
		.doit		= vmtrace_nl_harvest_ack_doit,
		.policy		= vmtrace_harvest_ack_policy,
		.maxattr	= VMTRACE_A_SESSION_HARVESTS,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_STOP,
		.doit		= vmtrace_nl_stop_doit,
		.policy		= vmtrace_session_id_policy,
		.maxattr	= VMTRACE_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_DETACH,
		.doit		= vmtrace_nl_detach_doit,
		.policy		= vmtrace_session_id_policy,
		.maxattr	= VMTRACE_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_GET_SESSION,
		.doit		= vmtrace_nl_get_session_doit,
		.dumpit		= vmtrace_nl_get_session_dumpit,
		.policy		= vmtrace_session_id_policy,
		.maxattr	= VMTRACE_A_SESSION_ID,
	},
	{
		.cmd		= VMTRACE_CMD_SET_THROTTLE,
		.doit		= vmtrace_nl_set_throttle_doit,
		.policy		= vmtrace_set_throttle_policy,
		.maxattr	= VMTRACE_A_THROTTLE_SLEEP_US,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMTRACE_CMD_GET_THROTTLE,
		.doit		= vmtrace_nl_get_throttle_doit,
		.policy		= vmtrace_get_throttle_policy,
		.maxattr	= VMTRACE_A_THROTTLE_SESSION_ID,
	},
	{
		.cmd		= VMTRACE_CMD_GET_STATS,
		.doit		= vmtrace_nl_get_stats_doit,
		.policy		= vmtrace_session_id_policy,
		.maxattr	= VMTRACE_A_SESSION_ID,
	},
};

static const struct genl_multicast_group vmtrace_nl_mcgrps[] = {
	[VMTRACE_NLGRP_EVENTS] = { .name = VMTRACE_MCGRP_EVENTS, },
};

struct genl_family vmtrace_nl_family __ro_after_init = {
	.name		= VMTRACE_FAMILY_NAME,
	.version	= VMTRACE_FAMILY_VERSION,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= vmtrace_nl_ops,
	.n_ops		= ARRAY_SIZE(vmtrace_nl_ops),
	.mcgrps		= vmtrace_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vmtrace_nl_mcgrps),
};
