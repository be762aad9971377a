// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl run refuses bad input with one line naming the problem, a
 * non-zero exit, and nothing left behind: no control socket, no process.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/vmm.h"
#include "kselftest_harness.h"

FIXTURE(bad) {
	struct vmm v;
	char path[128];
	char out[1024];
};

FIXTURE_SETUP(bad)
{
	ASSERT_EQ(0, vmm_init(&self->v));
	snprintf(self->path, sizeof(self->path), "%s/file", self->v.dir);
}

FIXTURE_TEARDOWN(bad)
{
	vmm_cleanup(&self->v);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, buf, len) != (ssize_t)len)
			len = 0;
		close(fd);
	}
}

/*
 * Run `vmotionctl run --control ... ARGS`; it must fail with exactly one
 * line of output containing @message, and leave no control socket.
 */
static int refused(struct vmm *v, char *out, size_t len,
		   const char *const *args, const char *message)
{
	const char *all[32] = { "run", "--control", v->control };
	unsigned int n = 3;
	int status;

	while (*args)
		all[n++] = *args++;
	all[n] = NULL;
	status = vmm_cmd(all, out, len);
	if (status == 0 || status >= 128)
		return 1;
	if (!strstr(out, message) || strchr(out, '\n') != out + strlen(out) - 1)
		return 2;
	if (file_exists(v->control))
		return 3;
	return 0;
}

#define EXPECT_REFUSED(message, ...)					\
	do {								\
		const char *args[] = { __VA_ARGS__, NULL };		\
		EXPECT_EQ(0, refused(&self->v, self->out,		\
				     sizeof(self->out), args, message))	\
			TH_LOG("output: %s", self->out);		\
	} while (0)

TEST_F(bad, missing_kernel)
{
	EXPECT_REFUSED("--kernel /nonexistent/bzImage: No such file",
		       "--kernel", "/nonexistent/bzImage");
}

TEST_F(bad, corrupt_kernel)
{
	char junk[8192];

	memset(junk, 0x42, sizeof(junk));
	write_file(self->path, junk, sizeof(junk));
	EXPECT_REFUSED("not a bzImage", "--kernel", self->path);
	write_file(self->path, junk, 100);
	EXPECT_REFUSED("too small to be a bzImage", "--kernel", self->path);
}

TEST_F(bad, missing_initrd)
{
	EXPECT_REFUSED("--initrd /nonexistent/initrd: No such file",
		       "--kernel", vmm_kernel(), "--initrd",
		       "/nonexistent/initrd");
}

TEST_F(bad, memory_not_page_multiple)
{
	EXPECT_REFUSED("not a multiple of the 4 KiB page size",
		       "--payload", "idle", "--mem", "65537K");
	EXPECT_REFUSED("--mem \"lots\": not a size",
		       "--payload", "idle", "--mem", "lots");
}

TEST_F(bad, payload_options)
{
	EXPECT_REFUSED("--order \"sideways\": one of seq or random",
		       "--payload", "dirty", "--order", "sideways");
	EXPECT_REFUSED("--wss \"0\": a percentage",
		       "--payload", "dirty", "--wss", "0");
}

TEST_F(bad, too_many_cpus)
{
	EXPECT_REFUSED("this KVM allows 1 to", "--payload", "idle",
		       "--cpus", "1000");
}

TEST_F(bad, state_missing_corrupt_or_foreign)
{
	char mem[128];
	static char state[1 << 20];
	const char *save[] = { "save", "--control", self->v.control,
			       "--state", self->path, "--mem-file", mem,
			       "--quit", NULL };
	const char *idle[] = { "--payload", "idle", "--mem", "16M", NULL };
	int fd;
	ssize_t n;

	snprintf(mem, sizeof(mem), "%s/mem", self->v.dir);
	EXPECT_REFUSED("--restore /nonexistent/state: No such file",
		       "--restore", "/nonexistent/state", "--mem-file", mem);

	/* A real state to spoil. */
	ASSERT_EQ(0, vmm_start(&self->v, idle, 30));
	ASSERT_EQ(0, vmm_cmd(save, NULL, 0));
	ASSERT_EQ(0, vmm_wait(&self->v, 10));
	fd = open(self->path, O_RDONLY);
	n = read(fd, state, sizeof(state));
	close(fd);
	ASSERT_LT(100, n);

	state[n - 1] ^= 1;
	write_file(self->path, state, n);
	EXPECT_REFUSED("checksum mismatch", "--restore", self->path,
		       "--mem-file", mem);
	state[n - 1] ^= 1;

	write_file(self->path, state, n - 8);
	EXPECT_REFUSED("truncated", "--restore", self->path, "--mem-file", mem);

	state[8] = 99;	/* the version */
	write_file(self->path, state, n);
	EXPECT_REFUSED("state version 99", "--restore", self->path,
		       "--mem-file", mem);

	write_file(self->path, "hello", 5);
	EXPECT_REFUSED("not a vmotion VM state", "--restore", self->path,
		       "--mem-file", mem);
}

TEST_F(bad, control_socket_in_use)
{
	const char *idle[] = { "--payload", "idle", "--mem", "16M", NULL };
	const char *again[] = { "run", "--control", self->v.control,
				"--payload", "idle", "--mem", "16M", NULL };

	ASSERT_EQ(0, vmm_start(&self->v, idle, 30));
	EXPECT_NE(0, vmm_cmd(again, self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "in use by another process"));
	/* and the first VMM is untouched */
	EXPECT_EQ(0, vmm_request(&self->v, "status", NULL, 0));
}

TEST_HARNESS_MAIN
