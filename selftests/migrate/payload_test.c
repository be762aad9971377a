// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration of the dirty payload (2 vCPUs, 256 MiB, writing below
 * the link rate) over loopback TCP: it migrates, the memory hashes are
 * equal, the payload verifies every page on the destination and keeps
 * running, and the destination can migrate it on again.  Rollbacks: a
 * destination killed in pre-copy, a link cut at the checkpoint and between
 * the restore and the commit, a bit flipped on the wire, migrate killed
 * (-9) or interrupted (Ctrl-C),
 * a destination that cannot take the VM, one that never converges; each
 * leaves the source running, unlocked, untraced and intact, and a second
 * migration then succeeds.  Every test runs with both trackers:
 * KVM's dirty log (through the VMM) and vmtrace.ko.
 */
#include <sys/un.h>

#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

static const char *const dirty_256m[] = {
	"--payload", "dirty", "--mem", "256M", "--cpus", "2",
	"--rate", "8M/s", "--wss", "30%", NULL
};

FIXTURE(mig) {
	struct vmm src, dst;
	char to[64], json[128], out[128];
};

FIXTURE_VARIANT(mig) {
	const char *tracker;
};

FIXTURE_VARIANT_ADD(mig, kvm) {
	.tracker = "kvm",
};

FIXTURE_VARIANT_ADD(mig, vmtrace) {
	.tracker = "vmtrace",
};

FIXTURE_SETUP(mig)
{
	if (!strcmp(variant->tracker, "vmtrace"))
		ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->to, sizeof(self->to), "127.0.0.1:%d", mt_port(0));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->src.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->src.dir);
	ASSERT_EQ(0, vmm_start(&self->src, dirty_256m, 30));
}

FIXTURE_TEARDOWN(mig)
{
	if (!_metadata->passed) {
		vmm_dump(&self->src);
		vmm_dump(&self->dst);
	}
	vmm_cleanup(&self->src);
	vmm_cleanup(&self->dst);
}

static void show(const char *what, const char *path)
{
	fprintf(stderr, "# --- %s\n%s", what, mt_slurp(path));
}

/* The payload writes, and finds no bad page in its own memory. */
static void expect_healthy(struct __test_metadata *_metadata, struct vmm *v)
{
	char reply[256];
	unsigned long long w0, w1;

	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "state=running")) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "locked=0")) TH_LOG("%s", reply);
	w0 = mt_field(reply, "pages_written=");
	usleep(300000);
	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	w1 = mt_field(reply, "pages_written=");
	EXPECT_GT(w1, w0) TH_LOG("the payload does not progress: %s", reply);
	ASSERT_EQ(0, vmm_request(v, "verify 20000", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	EXPECT_STREQ("ok bad_pages=0", reply);
}

/* The variant's tracker, then @extra. */
static const char *const *with_tracker(const FIXTURE_VARIANT(mig) *variant,
				       const char *const *extra)
{
	static const char *args[16];
	unsigned int n = 0;

	args[n++] = "--tracker";
	args[n++] = variant->tracker;
	while (extra && *extra && n < 15)
		args[n++] = *extra++;
	args[n] = NULL;
	return args;
}

static int migrate(FIXTURE_DATA(mig) *self,
		   const FIXTURE_VARIANT(mig) *variant, struct vmm *from,
		   const char *const *extra)
{
	pid_t pid;

	unlink(self->json);
	pid = mt_migrate_bg(from->control, self->to, self->json, self->out,
			    with_tracker(variant, extra));
	return mt_wait(pid, 120);
}

TEST_F_TIMEOUT(mig, dirty_256m_migrates_and_verifies, 120)
{
	const char *json;
	char reply[256];

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	usleep(300000);	/* let the payload dirty some memory */
	ASSERT_EQ(0, migrate(self, variant, &self->src, NULL)) {
		show("migrate", self->out);
		show("receive", self->dst.out);
	}
	show("migrate", self->out);
	json = mt_slurp(self->json);
	fprintf(stderr, "# report: %s", json);
	EXPECT_STREQ("ok", report_str(json, "result"));
	EXPECT_STREQ(variant->tracker, report_str(json, "tracker"));
	EXPECT_EQ(1, report_bool(json, "memory_hash_equal"));
	EXPECT_EQ(1, report_bool(json, "source_memory_verified"));
	EXPECT_GT(report_num(json, "stun_ms"), 0);
	EXPECT_LE(report_num(json, "stun_ms"), 500);
	/* The prediction counts the fixed costs, so it holds. */
	EXPECT_LE(report_num(json, "stun_ms"),
		  1.5 * report_num(json, "predicted_stun_ms") + 20);
	/*
	 * The switchover's dirty set went compacted: never more than the
	 * raw bitmap (8 KiB for 256 MiB) plus max(1 %, 64 bytes).
	 */
	EXPECT_LT(0, report_num(json, "switchover_bitmap_bytes"));
	EXPECT_LE(report_num(json, "switchover_bitmap_bytes"), 8192 + 82);
	/* Zero and untouched pages did not travel as 4 KiB of zeros. */
	EXPECT_LT(report_num(json, "bytes_sent"), 256.0 * 1024 * 1024);
	/* The source VMM quit after the destination confirmed. */
	EXPECT_EQ(0, vmm_wait(&self->src, 10));
	expect_healthy(_metadata, &self->dst);

	/* The VM can be migrated on: back to a new receiver. */
	snprintf(self->to, sizeof(self->to), "127.0.0.1:%d", mt_port(1));
	vmm_cleanup(&self->src);
	ASSERT_EQ(0, vmm_init(&self->src));
	ASSERT_EQ(0, mt_receiver_start(&self->src, self->to, NULL));
	snprintf(self->json, sizeof(self->json), "%s/report.json",
		 self->dst.dir);
	snprintf(self->out, sizeof(self->out), "%s/migrate.out",
		 self->dst.dir);
	ASSERT_EQ(0, migrate(self, variant, &self->dst, NULL)) {
		show("migrate back", self->out);
		show("receive", self->src.out);
	}
	EXPECT_NE(NULL, strstr(mt_slurp(self->json), "\"result\": \"ok\""));
	EXPECT_EQ(0, vmm_wait(&self->dst, 10));
	expect_healthy(_metadata, &self->src);
	ASSERT_EQ(0, vmm_request(&self->src, "status", reply, sizeof(reply)));
}

/* The source after a failed migration: running, unlocked, untraced, intact. */
static void expect_source_clean(struct __test_metadata *_metadata,
				FIXTURE_DATA(mig) *self)
{
	struct vm_client c;

	expect_healthy(_metadata, &self->src);
	/* No vmtrace session is left behind (none was made for kvm). */
	EXPECT_EQ(0, mt_vmtrace_sessions(NULL));
	/* Dirty logging is off: a new controller may turn it on. */
	ASSERT_EQ(0, vm_client_connect(&c, self->src.control));
	EXPECT_EQ(0, vm_client_request(&c, "dirty-log on", NULL))
		TH_LOG("%s", c.reply);
	vm_client_close(&c);
}

/* ... and the report says it rolled back, and why. */
static void expect_rolled_back(struct __test_metadata *_metadata,
			       FIXTURE_DATA(mig) *self,
			       const FIXTURE_VARIANT(mig) *variant,
			       const char *reason)
{
	const char *json = mt_slurp(self->json);

	EXPECT_STREQ("rolled-back", report_str(json, "result"))
		TH_LOG("report: %s", json);
	/* reason "" : any reason, as long as there is one. */
	EXPECT_NE(0, strncmp(report_str(json, "reason"), "(no string", 10))
		TH_LOG("report: %s", json);
	EXPECT_NE(NULL, strstr(report_str(json, "reason"), reason))
		TH_LOG("report: %s", json);
	expect_source_clean(_metadata, self);
}

static void second_migration_succeeds(struct __test_metadata *_metadata,
				      FIXTURE_DATA(mig) *self,
				      const FIXTURE_VARIANT(mig) *variant)
{
	vmm_cleanup(&self->dst);
	ASSERT_EQ(0, vmm_init(&self->dst));
	snprintf(self->to, sizeof(self->to), "127.0.0.1:%d", mt_port(2));
	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	ASSERT_EQ(0, migrate(self, variant, &self->src, NULL)) {
		show("migrate", self->out);
		show("receive", self->dst.out);
	}
	expect_healthy(_metadata, &self->dst);
}

TEST_F_TIMEOUT(mig, receiver_killed_in_precopy_rolls_back, 120)
{
	/* A window nobody can meet keeps it in pre-copy until the kill. */
	static const char *const never[] = {
		"--max-stun", "1", "--max-iterations", "10000", NULL
	};
	pid_t pid;

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	pid = mt_migrate_bg(self->src.control, self->to, self->json,
			    self->out, with_tracker(variant, never));
	ASSERT_TRUE(mt_file_wait(self->out, "phase 1:", 60))
		show("migrate", self->out);
	vmm_kill(&self->dst);
	EXPECT_EQ(1, mt_wait(pid, 60));
	show("migrate", self->out);
	expect_rolled_back(_metadata, self, variant, "lost the destination");
	second_migration_succeeds(_metadata, self, variant);
}

/* The link goes at the switchover: the destination never resumes. */
static void switchover_cut(struct __test_metadata *_metadata,
			   FIXTURE_DATA(mig) *self,
			   const FIXTURE_VARIANT(mig) *variant,
			   const char *where)
{
	const char *const drop[] = { "--test-drop", where, NULL };

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, drop));
	EXPECT_EQ(1, migrate(self, variant, &self->src, NULL));
	show("migrate", self->out);
	expect_rolled_back(_metadata, self, variant,
			   "lost the destination at the checkpoint");
	/* The destination discarded its VM: one copy runs, the source. */
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 10));
	EXPECT_FALSE(file_exists(self->dst.control));
	second_migration_succeeds(_metadata, self, variant);
}

TEST_F_TIMEOUT(mig, link_cut_at_the_checkpoint_rolls_back, 120)
{
	switchover_cut(_metadata, self, variant, "checkpoint");
}

TEST_F_TIMEOUT(mig, link_cut_between_restore_and_commit_rolls_back, 120)
{
	switchover_cut(_metadata, self, variant, "restored");
}

/*
 * A bit flipped on the wire @at bytes in, in pre-copy's page data: the
 * receiver says what caught it (@says), discards its VM, and the source
 * runs on.
 */
static void corrupted_frame(struct __test_metadata *_metadata,
			    FIXTURE_DATA(mig) *self,
			    const FIXTURE_VARIANT(mig) *variant,
			    const char *const *extra, long at, const char *says)
{
	char relay_to[64];
	pid_t relay;

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	relay = mt_corrupting_relay(mt_port(3), mt_port(0), at);
	ASSERT_LT(0, relay);
	strcpy(relay_to, self->to);
	snprintf(self->to, sizeof(self->to), "127.0.0.1:%d", mt_port(3));
	usleep(300000);	/* some memory to send */
	EXPECT_EQ(1, migrate(self, variant, &self->src, extra));
	show("migrate", self->out);
	kill(relay, SIGKILL);
	waitpid(relay, NULL, 0);
	EXPECT_TRUE(mt_file_wait(self->dst.out, says, 10))
		show("receive", self->dst.out);
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 10));
	expect_rolled_back(_metadata, self, variant, "");
	strcpy(self->to, relay_to);
	second_migration_succeeds(_metadata, self, variant);
}

/* Raw page data: the page's hash or the frame's checksum catches it. */
TEST_F_TIMEOUT(mig, corrupted_frame_rolls_back, 120)
{
	static const char *const raw[] = { "--compress", "none", NULL };

	corrupted_frame(_metadata, self, variant, raw, 200000, "checksum mismatch");
}

/*
 * Compressed page data: decompression or the page's hash catches it (or
 * the frame's checksum, in a descriptor), and names the PAGES frame.
 * Compressed, the whole migration may be shorter than 200000 bytes: the
 * bit is flipped in the first PAGES frame, after HELLO and SPEC's 4 KiB.
 */
TEST_F_TIMEOUT(mig, corrupted_compressed_frame_rolls_back, 120)
{
	static const char *const zstd[] = { "--compress", "zstd", NULL };

	corrupted_frame(_metadata, self, variant, zstd, 20000, "PAGES frame");
}

/* migrate itself dies in pre-copy: the VMM and vmtrace clean up after it. */
static void migrate_dies(struct __test_metadata *_metadata,
			 FIXTURE_DATA(mig) *self,
			 const FIXTURE_VARIANT(mig) *variant, int sig)
{
	static const char *const never[] = {
		"--max-stun", "1", "--max-iterations", "10000", "--sdps", "off",
		NULL
	};
	pid_t pid;
	int rc;

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	pid = mt_migrate_bg(self->src.control, self->to, self->json,
			    self->out, with_tracker(variant, never));
	ASSERT_TRUE(mt_file_wait(self->out, "phase 1:", 60))
		show("migrate", self->out);
	kill(pid, sig);
	rc = mt_wait(pid, 30);
	show("migrate", self->out);
	if (sig == SIGKILL) {
		EXPECT_EQ(128 + SIGKILL, rc);
	} else {
		/* Ctrl-C is a failure like any other: a rolled-back report. */
		EXPECT_EQ(1, rc);
		EXPECT_NE(NULL, strstr(mt_slurp(self->json), "interrupted"));
	}
	expect_source_clean(_metadata, self);
	second_migration_succeeds(_metadata, self, variant);
}

TEST_F_TIMEOUT(mig, migrate_killed_leaves_the_source_clean, 120)
{
	migrate_dies(_metadata, self, variant, SIGKILL);
}

TEST_F_TIMEOUT(mig, ctrl_c_rolls_back, 120)
{
	migrate_dies(_metadata, self, variant, SIGINT);
}

TEST_F_TIMEOUT(mig, no_convergence_hits_max_iterations, 120)
{
	static const char *const never[] = {
		"--max-stun", "1", "--max-iterations", "3", NULL
	};

	ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, NULL));
	EXPECT_EQ(1, migrate(self, variant, &self->src, never));
	expect_rolled_back(_metadata, self, variant, "did not converge after 3 iterations");
	/* The destination discarded its VM and listens again. */
	EXPECT_TRUE(mt_file_wait(self->dst.out, "listening again", 10));
	EXPECT_FALSE(file_exists(self->dst.control));
}

TEST_F_TIMEOUT(mig, incompatible_destinations_refused, 120)
{
	static const char *const small[] = { "--mem-limit", "32M", NULL };
	static const char *const nosse3[] = { "--cpuid-clear", "1.ecx.0", NULL };
	static const char *const v1[] = { "--wire-version", "1", NULL };
	static const char *const *const rx[] = { small, nosse3, v1 };
	static const char *const why[] = {
		"at most 32 MiB", "CPUID.0x1.0:ecx bit 0", "protocol version",
	};
	unsigned int i;

	for (i = 0; i < 3; i++) {
		vmm_cleanup(&self->dst);
		ASSERT_EQ(0, vmm_init(&self->dst));
		snprintf(self->to, sizeof(self->to), "127.0.0.1:%d",
			 mt_port(i));
		ASSERT_EQ(0, mt_receiver_start(&self->dst, self->to, rx[i]));
		EXPECT_EQ(1, migrate(self, variant, &self->src, NULL));
		expect_rolled_back(_metadata, self, variant, why[i]);
	}
}

TEST_F_TIMEOUT(mig, bad_addresses, 120)
{
	EXPECT_EQ(1, migrate(self, variant, &self->src, NULL));	/* nobody listens */
	expect_rolled_back(_metadata, self, variant, "cannot connect");
	strcpy(self->to, "no-such-host.invalid:1");
	EXPECT_EQ(1, migrate(self, variant, &self->src, NULL));
	expect_rolled_back(_metadata, self, variant, "cannot connect");
	strcpy(self->to, "127.0.0.1");
	EXPECT_EQ(1, migrate(self, variant, &self->src, NULL));
	expect_healthy(_metadata, &self->src);
}

/* --control names no VMM, or a socket that speaks something else. */
TEST_F_TIMEOUT(mig, wrong_control_socket, 60)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char out[512], path[128];
	const char *args[] = { "migrate", "--control", path, "--to", self->to,
			       "--tracker", variant->tracker, NULL };
	int lfd, fd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/no-such-vm.sock", self->src.dir);
	EXPECT_EQ(1, vmm_cmd(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "no-such-vm.sock")) TH_LOG("%s", out);

	/* A listener that answers garbage. */
	snprintf(path, sizeof(path), "%s/not-a-vm.sock", self->src.dir);
	strcpy(sa.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(lfd, 1));
	pid = fork();
	if (!pid) {
		fd = accept(lfd, NULL, NULL);
		if (fd >= 0 && write(fd, "HTTP/1.1 400 Bad Request\n", 25) < 0)
			_exit(1);
		sleep(5);
		_exit(0);
	}
	close(lfd);
	EXPECT_EQ(1, vmm_cmd(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "HTTP/1.1 400")) TH_LOG("%s", out);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* The real VM never noticed. */
	expect_healthy(_metadata, &self->src);
}

TEST_HARNESS_MAIN
