// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's heavy writer, run here as an ordinary process: it writes at
 * about the rate asked, beats and reports at the promised intervals, finds
 * its memory intact, names exactly the page a test spoils, and refuses bad
 * options.  Bounds on speed are loose: the machine may be busy.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

struct run {
	pid_t pid;
	FILE *out;
};

static int start(struct run *r, const char *const *args)
{
	const char *argv[32] = { WORKLOAD };
	int fds[2], n = 1;

	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(fds))
		return -1;
	r->pid = fork();
	if (!r->pid) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execv(WORKLOAD, (char **)argv);
		_exit(127);
	}
	close(fds[1]);
	r->out = fdopen(fds[0], "r");
	return r->pid > 0 && r->out ? 0 : -1;
}

/* Everything it printed until it exits; its exit status. */
static int finish(struct run *r, char *buf, size_t len)
{
	size_t n = fread(buf, 1, len - 1, r->out);
	int status;

	buf[n] = '\0';
	fclose(r->out);
	waitpid(r->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static unsigned int count(const char *s, const char *needle)
{
	unsigned int n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

static char buf[1 << 20];

TEST(writes_at_the_rate_beats_and_verifies)
{
	static const char *const args[] = {
		"--wss", "4M", "--rate", "8M/s", "--seconds", "2", NULL
	};
	struct run r;
	unsigned long long pages;
	const char *last;

	ASSERT_EQ(0, start(&r, args));
	ASSERT_EQ(0, finish(&r, buf, sizeof(buf))) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "workload: verify pages=1024 bad=0"));
	/* 2 s at 200 ms: about 10 progress lines, a heartbeat in between. */
	EXPECT_LE(8, count(buf, "\nW t="));
	EXPECT_GE(11, count(buf, "\nW t="));
	EXPECT_LE(50, count(buf, "."));
	last = strstr(buf, "workload: done pages=");
	ASSERT_NE(NULL, last);
	pages = strtoull(last + strlen("workload: done pages="), NULL, 10);
	/* 8 MiB/s for 2 s is 4096 pages: never more, and not far fewer. */
	EXPECT_GE(4096 + 8, pages);
	EXPECT_LE(1000, pages);
}

TEST(random_order_and_a_check_on_demand)
{
	static const char *const args[] = {
		"--wss", "2M", "--rate", "0", "--order", "random", "--seconds",
		"3", NULL
	};
	struct run r;

	ASSERT_EQ(0, start(&r, args));
	usleep(1000000);
	kill(r.pid, SIGUSR1);
	ASSERT_EQ(0, finish(&r, buf, sizeof(buf))) TH_LOG("%s", buf);
	/* The one asked for, then the one at the end. */
	EXPECT_EQ(2, count(buf, "workload: verify pages=512 bad=0"));
}

TEST(a_spoiled_page_is_named)
{
	static const char *const args[] = {
		"--wss", "1M", "--rate", "64K/s", "--seconds", "2",
		"--test-corrupt-page", "200", NULL
	};
	struct run r;

	ASSERT_EQ(0, start(&r, args));
	usleep(500000);
	kill(r.pid, SIGUSR1);
	/* 16 pages a second in order: page 200 is not rewritten in time. */
	EXPECT_EQ(1, finish(&r, buf, sizeof(buf)));
	EXPECT_EQ(2, count(buf, "workload: BAD page 200: gen 1, wrong from byte 2048"))
		TH_LOG("%s", buf);
	EXPECT_EQ(2, count(buf, "workload: verify pages=256 bad=1"));
	EXPECT_EQ(2, count(buf, "BAD page"));
}

TEST(bad_options_are_refused)
{
	static const char *const bad[][3] = {
		{ "--wss", "12x", NULL }, { "--rate", "fast", NULL },
		{ "--order", "backwards", NULL }, { "--heartbeat-ms", "0", NULL },
		{ "--wss", "1M", NULL },
	};
	unsigned int i;
	struct run r;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, start(&r, bad[i]));
		EXPECT_EQ(2, finish(&r, buf, sizeof(buf))) TH_LOG("%s", bad[i][0]);
		EXPECT_NE(NULL, strstr(buf, "not a valid value"));
	}
	ASSERT_EQ(0, start(&r, (const char *const[]){ "--help", NULL }));
	EXPECT_EQ(0, finish(&r, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "usage: vmotion-workload"));
}

TEST_HARNESS_MAIN
