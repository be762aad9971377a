// SPDX-License-Identifier: GPL-2.0
/*
 * Handlers of the "vmtrace" generic netlink family.  Policies and the
 * operation table are in nl_spec.c; the contract is the YNL spec in
 * Documentation/netlink/specs/vmtrace.yaml.
 */
#include <linux/utsname.h>
#include <net/genetlink.h>

#include <uapi/linux/vmtrace.h>

#include "nl_spec.h"
#include "vmtrace.h"

struct vmtrace_config vmtrace_config = {
	.flush_deadline_us = VMTRACE_FLUSH_DEADLINE_DEFAULT_US,
};

static int vmtrace_nl_fill_info(struct sk_buff *msg)
{
	if (nla_put_string(msg, VMTRACE_A_INFO_MODULE_VERSION,
			   VMTRACE_MODULE_VERSION) ||
	    nla_put_u32(msg, VMTRACE_A_INFO_PROTOCOL_VERSION,
			VMTRACE_PROTOCOL_VERSION) ||
	    nla_put_u64_64bit(msg, VMTRACE_A_INFO_FEATURES, 0,
			      VMTRACE_A_INFO_PAD) ||
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

int vmtrace_netlink_init(void)
{
	return genl_register_family(&vmtrace_nl_family);
}

void vmtrace_netlink_exit(void)
{
	genl_unregister_family(&vmtrace_nl_family);
}
