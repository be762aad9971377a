// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the typed calls of the VMM's control client
 * (ctl/vm_client.c): "status" read into a struct, and "ok LEN" bodies,
 * against replies written in advance on a socketpair, good and bad.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../vm_client.h"
#include "kselftest_harness.h"

/* vm_client.c reports through vmotionctl's fail(). */
int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

FIXTURE(client) {
	int sv[2];
	struct vm_client c;
};

FIXTURE_SETUP(client)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	memset(&self->c, 0, sizeof(self->c));
	self->c.fd = self->sv[0];
}

FIXTURE_TEARDOWN(client)
{
	close(self->sv[0]);
	close(self->sv[1]);
}

/* The VMM's side: @text, as if it answered. */
static void vmm_says(FIXTURE_DATA(client) *self, const char *text, size_t len)
{
	if (write(self->sv[1], text, len) != (ssize_t)len)
		abort();
}

TEST_F(client, status_read_into_fields)
{
	struct vm_status st;
	static const char r[] = "ok state=in-doubt cpus=2 mem=268435456 locked=1 passes=3\n";

	vmm_says(self, r, strlen(r));
	ASSERT_EQ(0, vm_client_status(&self->c, &st));
	EXPECT_STREQ("in-doubt", st.state);
	EXPECT_EQ(2, st.cpus);
	EXPECT_EQ(268435456ULL, st.mem);
	EXPECT_TRUE(st.locked);
}

TEST_F(client, status_with_a_field_missing_or_bad)
{
	static const char *const bad[] = {
		"ok state=running mem=4096 locked=0\n",		/* no cpus */
		"ok state=running cpus=two mem=4096 locked=0\n",
		"ok state=running cpus=1 mem=4096x locked=0\n",
		"ok state=running cpus=0 mem=4096 locked=0\n",
		"ok cpus=1 mem=4096 locked=0\n",		/* no state */
	};
	struct vm_status st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vmm_says(self, bad[i], strlen(bad[i]));
		EXPECT_EQ(1, vm_client_status(&self->c, &st)) TH_LOG("%s", bad[i]);
	}
	vmm_says(self, "error locked\n", 13);
	EXPECT_EQ(1, vm_client_status(&self->c, &st));
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(-1, vm_client_status(&self->c, &st));
}

TEST_F(client, bodies_of_the_length_they_say)
{
	char why[160];
	size_t len;
	void *body;

	vmm_says(self, "ok 5\nhello", 10);
	ASSERT_EQ(0, vm_client_body(&self->c, "get-cpuid", &body, &len, 64,
				    false, why, sizeof(why)));
	EXPECT_EQ(5, len);
	EXPECT_EQ(0, memcmp(body, "hello", 5));
	free(body);
	/* Longer than allowed, empty, not a number, not the exact size. */
	vmm_says(self, "ok 65\n", 6);
	EXPECT_EQ(1, vm_client_body(&self->c, "get-cpuid", &body, &len, 64,
				    false, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "get-cpuid: a ok 65 reply, where 1 to 64 bytes"));
	vmm_says(self, "ok 0\n", 5);
	EXPECT_EQ(1, vm_client_body(&self->c, "x", &body, &len, 64, false, why,
				    sizeof(why)));
	vmm_says(self, "ok\n", 3);
	EXPECT_EQ(1, vm_client_body(&self->c, "x", &body, &len, 64, false, why,
				    sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "x: a reply \"ok\" without a length")) TH_LOG("%s", why);
	vmm_says(self, "error no such thing\n", 20);
	EXPECT_EQ(1, vm_client_body(&self->c, "x", &body, &len, 64, false, why,
				    sizeof(why)));
	EXPECT_STREQ("x: error no such thing", why);
	vmm_says(self, "ok many\n", 8);
	EXPECT_EQ(1, vm_client_body(&self->c, "x", &body, &len, 64, false, why,
				    sizeof(why)));
	vmm_says(self, "ok 5\nhello", 10);
	EXPECT_EQ(1, vm_client_body(&self->c, "get-dirty", &body, &len, 8, true,
				    why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "where 8 bytes"));
	EXPECT_EQ(NULL, body);
}

TEST_F(client, a_body_cut_short)
{
	char why[160];
	size_t len;
	void *body;

	vmm_says(self, "ok 10\nhell", 10);
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(-1, vm_client_body(&self->c, "save-state", &body, &len, 64,
				     false, why, sizeof(why)));
	EXPECT_EQ(NULL, body);
}

TEST_HARNESS_MAIN
