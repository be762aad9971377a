// SPDX-License-Identifier: GPL-2.0
/*
 * The vmtrace netlink family, through libnl-genl-3: get-info answers
 * anyone; set-config changes state, validates in its policy with an extack
 * message pointing at the offending attribute, and refuses callers without
 * CAP_NET_ADMIN.
 */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../uapi/linux/vmtrace.h"
#include "../lib/genl.h"
#include "../lib/module.h"
#include "kselftest_harness.h"

FIXTURE(nl) {
	struct vt_genl g;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, vt_genl_open(&self->g));
}

FIXTURE_TEARDOWN(nl)
{
	vt_genl_close(&self->g);
}

static int get_info(struct vt_genl *g)
{
	return vt_genl_call(g, vt_genl_msg(g, VMTRACE_CMD_GET_INFO),
			    VMTRACE_A_INFO_MAX);
}

static int set_deadline(struct vt_genl *g, uint32_t us)
{
	struct nl_msg *msg = vt_genl_msg(g, VMTRACE_CMD_SET_CONFIG);

	nla_put_u32(msg, VMTRACE_A_CONFIG_FLUSH_DEADLINE_US, us);
	return vt_genl_call(g, msg, 0);
}

TEST_F(nl, get_info_answers)
{
	struct nlattr **tb = self->g.tb;
	struct utsname uts;
	uint32_t kvm;

	ASSERT_EQ(0, get_info(&self->g));
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_MODULE_VERSION]);
	EXPECT_LT(0, strlen(nla_get_string(tb[VMTRACE_A_INFO_MODULE_VERSION])));
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_PROTOCOL_VERSION]);
	EXPECT_EQ(VMTRACE_PROTOCOL_VERSION,
		  nla_get_u32(tb[VMTRACE_A_INFO_PROTOCOL_VERSION]));
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_FEATURES]);
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_KERNEL_RELEASE]);
	ASSERT_EQ(0, uname(&uts));
	EXPECT_STREQ(uts.release,
		     nla_get_string(tb[VMTRACE_A_INFO_KERNEL_RELEASE]));
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_KVM_SYMBOLS]);
	EXPECT_LT(0, nla_get_u32(tb[VMTRACE_A_INFO_KVM_SYMBOLS]));

	/* The lab's kvm_amd runs with npt=1 and the TDP MMU. */
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_KVM_FLAGS]);
	kvm = nla_get_u32(tb[VMTRACE_A_INFO_KVM_FLAGS]);
	EXPECT_EQ(VMTRACE_KVM_TDP | VMTRACE_KVM_TDP_MMU, kvm);
}

TEST_F(nl, get_info_rejects_attributes)
{
	struct nl_msg *msg = vt_genl_msg(&self->g, VMTRACE_CMD_GET_INFO);

	nla_put_u32(msg, 1, 1);
	EXPECT_EQ(-EINVAL, vt_genl_call(&self->g, msg, 0));
}

TEST_F(nl, set_config_changes_deadline)
{
	struct nlattr **tb = self->g.tb;

	ASSERT_EQ(0, set_deadline(&self->g, 2500));
	ASSERT_EQ(0, get_info(&self->g));
	ASSERT_NE(NULL, tb[VMTRACE_A_INFO_FLUSH_DEADLINE_US]);
	EXPECT_EQ(2500, nla_get_u32(tb[VMTRACE_A_INFO_FLUSH_DEADLINE_US]));

	ASSERT_EQ(0, set_deadline(&self->g, VMTRACE_FLUSH_DEADLINE_MAX_US));
	ASSERT_EQ(0, set_deadline(&self->g, VMTRACE_FLUSH_DEADLINE_DEFAULT_US));
	ASSERT_EQ(0, get_info(&self->g));
	EXPECT_EQ(VMTRACE_FLUSH_DEADLINE_DEFAULT_US,
		  nla_get_u32(tb[VMTRACE_A_INFO_FLUSH_DEADLINE_US]));
}

TEST_F(nl, set_config_out_of_range_is_refused)
{
	/* nlmsghdr + genlmsghdr: the attribute is the first thing after. */
	const int attr_offs = NLMSG_HDRLEN + GENL_HDRLEN;

	EXPECT_EQ(-ERANGE, set_deadline(&self->g, 0));
	EXPECT_STRNE("", self->g.extack);
	EXPECT_EQ(attr_offs, self->g.extack_offs);

	EXPECT_EQ(-ERANGE, set_deadline(&self->g,
					VMTRACE_FLUSH_DEADLINE_MAX_US + 1));
	EXPECT_STRNE("", self->g.extack);
	EXPECT_EQ(attr_offs, self->g.extack_offs);
}

TEST_F(nl, set_config_without_settings_is_refused)
{
	struct nl_msg *msg = vt_genl_msg(&self->g, VMTRACE_CMD_SET_CONFIG);

	EXPECT_EQ(-EINVAL, vt_genl_call(&self->g, msg, 0));
	EXPECT_STREQ("vmtrace: no setting given", self->g.extack);
}

/* Run @fn as user nobody, without capabilities, in a child process. */
static int as_nobody(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Exit codes: 0 = as expected, 1.. = what went wrong. */
static int unprivileged_set_config(void)
{
	struct vt_genl g;
	int ret;

	if (vt_genl_open(&g))
		return 1;
	ret = set_deadline(&g, 2000) == -EPERM ? 0 : 2;
	vt_genl_close(&g);
	return ret;
}

static int unprivileged_get_info(void)
{
	struct vt_genl g;
	int ret;

	if (vt_genl_open(&g))
		return 1;
	ret = get_info(&g) == 0 ? 0 : 2;
	vt_genl_close(&g);
	return ret;
}

TEST_F(nl, unprivileged_caller_cannot_set_config)
{
	EXPECT_EQ(0, as_nobody(unprivileged_set_config));
	/* and the setting did not change */
	ASSERT_EQ(0, get_info(&self->g));
	EXPECT_EQ(VMTRACE_FLUSH_DEADLINE_DEFAULT_US,
		  nla_get_u32(self->g.tb[VMTRACE_A_INFO_FLUSH_DEADLINE_US]));
}

TEST_F(nl, unprivileged_caller_can_get_info)
{
	EXPECT_EQ(0, as_nobody(unprivileged_get_info));
}

TEST_HARNESS_MAIN
