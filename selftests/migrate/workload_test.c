// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest running the heavy writer (guest/workload/, started from
 * the kernel command line) migrates: on the destination it writes on,
 * its write counter has not gone back, and its next check of every page
 * of its working set finds each as it last wrote it.  With vmtrace (SDPS on, so a writer
 * faster than the link still converges).
 */
#include <sys/stat.h>

#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

/*
 * The last 16 KiB of @path, NUL-terminated: the console log grows by a
 * heartbeat every 10 ms, past what mt_slurp() holds.
 */
static const char *tail_of(const char *path)
{
	static char buf[16 << 10];
	int fd = open(path, O_RDONLY);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
	ssize_t n;

	if (fd < 0)
		return "";
	n = pread(fd, buf, sizeof(buf) - 1,
		  size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The write counter of the last complete progress line in @log, or -1. */
static long long last_pages(const char *log)
{
	const char *s = tail_of(log), *p, *last = NULL;

	for (p = s; (p = strstr(p, "\nworkload: t=")); p++)
		if (strchr(p + 1, '\n'))
			last = p;
	p = last ? strstr(last, " w=") : NULL;
	return p ? strtoll(p + 3, NULL, 10) : -1;
}

/* What @path holds from byte @from on (at most 1 MiB), NUL-terminated. */
static const char *from_offset(const char *path, off_t from)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, from) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_size;
}

static bool tail_wait(const char *log, const char *needle, int timeout_s)
{
	double end = mt_now() + timeout_s;

	while (mt_now() < end) {
		if (strstr(tail_of(log), needle))
			return true;
		usleep(100000);
	}
	return false;
}

FIXTURE(wl) {
	struct vmm src, dst;
	int console;
};

FIXTURE_SETUP(wl)
{
	const char *args[] = {
		"--kernel", vmm_kernel(), "--initrd", vmm_initrd(),
		"--cmdline", "console=ttyS0 panic=-1 quiet "
		"vmotion.workload=--wss,32M,--rate,16M/s,--order,random,"
		"--verify-every,3s",
		"--mem", "192M", "--cpus", "1", NULL
	};

	self->console = -1;
	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	ASSERT_EQ(0, vmm_start(&self->src, args, 30));
	ASSERT_TRUE(tail_wait(self->src.log, "\nworkload: t=", 180))
		TH_LOG("the workload did not start; see %s", self->src.log);
}

FIXTURE_TEARDOWN(wl)
{
	if (self->console >= 0)
		close(self->console);
	if (!_metadata->passed) {
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_kill(&self->src);
	vmm_kill(&self->dst);
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
}

TEST_F_TIMEOUT(wl, writer_migrates_and_finds_every_page, 280)
{
	char to[64], json[128], out[128];
	long long before, after;
	double end;
	off_t from;
	pid_t pid;

	snprintf(to, sizeof(to), "127.0.0.1:%d", mt_port(0));
	snprintf(json, sizeof(json), "%s/report.json", self->src.dir);
	snprintf(out, sizeof(out), "%s/migrate.out", self->src.dir);
	ASSERT_EQ(0, mt_receiver_start(&self->dst, to, NULL));
	pid = mt_migrate_bg(self->src.control, to, json, out,
			    (const char *const[]){ "--tracker", "vmtrace",
						   "--sdps", "on", NULL });
	ASSERT_EQ(0, mt_wait(pid, 200)) {
		fprintf(stderr, "# %s", mt_slurp(out));
		fprintf(stderr, "# %s", mt_slurp(self->dst.out));
	}
	EXPECT_STREQ("ok", report_str(mt_slurp(json), "result"));
	/* The source's last word, then the destination's next ones. */
	before = last_pages(self->src.log);
	ASSERT_LT(0, before);
	usleep(1500000);
	after = last_pages(self->dst.log);
	EXPECT_GE(after, before) TH_LOG("the page counter went from %lld to %lld",
					before, after);
	/*
	 * It checks every page every 3 s (and at once after a gap in its
	 * heartbeat, as the switchover makes): the next check from here on
	 * must find them all.
	 */
	from = file_size(self->dst.log);
	for (end = mt_now() + 90; mt_now() < end; usleep(200000))
		if (strstr(from_offset(self->dst.log, from), "workload: verify pages="))
			break;
	EXPECT_NE(NULL, strstr(from_offset(self->dst.log, from),
			       "workload: verify pages=8192 bad=0 "))
		TH_LOG("the console since the migration: %.3000s",
		       from_offset(self->dst.log, from));
	EXPECT_EQ(NULL, strstr(from_offset(self->dst.log, 0), "workload: BAD"));
	usleep(500000);
	EXPECT_GT(last_pages(self->dst.log), after) TH_LOG("it does not write on");
}

TEST_HARNESS_MAIN
