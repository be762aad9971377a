// SPDX-License-Identifier: GPL-2.0
/*
 * vmtrace.ko comes and goes cleanly: it loads into the lab's KVM, registers
 * its netlink family, unloads without a trace, and refuses to load -- naming
 * the symbol -- when a KVM internal it needs cannot be resolved.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../lib/genl.h"
#include "../lib/module.h"
#include "kselftest_harness.h"

static bool family_registered(void)
{
	struct vt_genl g;

	if (vt_genl_open(&g))
		return false;
	vt_genl_close(&g);
	return true;
}

FIXTURE(module) {
	bool was_loaded;
};

FIXTURE_SETUP(module)
{
	self->was_loaded = vt_module_loaded();
	if (self->was_loaded)
		ASSERT_EQ(0, vt_module_unload());
}

FIXTURE_TEARDOWN(module)
{
	if (self->was_loaded)
		vt_module_ensure_loaded();
	else if (vt_module_loaded())
		vt_module_unload();
}

TEST_F(module, load_then_unload)
{
	ASSERT_FALSE(family_registered());
	ASSERT_EQ(0, vt_module_load(NULL));
	EXPECT_TRUE(vt_module_loaded());
	EXPECT_TRUE(family_registered());

	ASSERT_EQ(0, vt_module_unload());
	EXPECT_FALSE(vt_module_loaded());
	EXPECT_FALSE(family_registered());
}

static int write_ftrace_enabled(const char *v)
{
	int fd = open("/proc/sys/kernel/ftrace_enabled", O_WRONLY);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

/*
 * The fault hook must not be switched off under a hierarchical session
 * (W=0 entries nobody opens would stall the guest): ftrace refuses while
 * the module is loaded.  (Not switched off and on again after: that
 * re-patches every traced call site of the lab's kernel for nothing.)
 */
TEST_F(module, ftrace_stays_on_while_loaded)
{
	ASSERT_EQ(0, vt_module_load(NULL));
	EXPECT_EQ(-EBUSY, write_ftrace_enabled("0"));
	/* Still on: writing the current value is accepted. */
	EXPECT_EQ(0, write_ftrace_enabled("1"));
	ASSERT_EQ(0, vt_module_unload());
}

TEST_F(module, second_load_is_eexist)
{
	ASSERT_EQ(0, vt_module_load(NULL));
	EXPECT_EQ(-EEXIST, vt_module_load(NULL));
	EXPECT_EQ(0, vt_module_unload());
}

TEST_F(module, load_unload_repeatedly)
{
	int i;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, vt_module_load(NULL));
		ASSERT_TRUE(family_registered());
		ASSERT_EQ(0, vt_module_unload());
	}
}

TEST_F(module, missing_symbol_fails_load_naming_it)
{
	const char *sym = "kvm:vmtrace_selftest_no_such_symbol";
	char params[128];
	int kmsg = vt_kmsg_open();

	ASSERT_LE(0, kmsg);
	snprintf(params, sizeof(params), "require_symbol=%s", sym);
	EXPECT_EQ(-ENOENT, vt_module_load(params));
	EXPECT_FALSE(vt_module_loaded());
	EXPECT_FALSE(family_registered());
	EXPECT_TRUE(vt_kmsg_contains(kmsg,
		"vmtrace: required KVM symbol kvm:vmtrace_selftest_no_such_symbol not found"));
	close(kmsg);
}

TEST_HARNESS_MAIN
