// SPDX-License-Identifier: GPL-2.0
/*
 * Stun During Page Send.  A dirty payload writing about three times what
 * the link carries (40 MiB/s over a 200 Mbit/s veth that the emulated lab
 * fills at 10-16 MiB/s, a working set of 32 MiB) never converges without SDPS: the migration stops cleanly at
 * --max-iterations and the source runs on.  With SDPS it converges,
 * verifies on the destination, and the guest keeps at least half the
 * write rate it has in a pre-copy without SDPS.  Either way no throttle is left behind.
 * Both trackers: SDPS goes through vmtrace even when KVM's dirty log
 * tracks.
 */
#include "../lib/report.h"
#include "migrate.h"
#include "kselftest_harness.h"

static const char *const busy_64m[] = {
	"--payload", "dirty", "--mem", "64M", "--cpus", "2",
	"--rate", "40M/s", "--wss", "50%", NULL
};

FIXTURE(sdps) {
	struct mt_hosts h;
};

FIXTURE_VARIANT(sdps) {
	const char *tracker;
};

FIXTURE_VARIANT_ADD(sdps, kvm) {
	.tracker = "kvm",
};

FIXTURE_VARIANT_ADD(sdps, vmtrace) {
	.tracker = "vmtrace",
};

FIXTURE_SETUP(sdps)
{
	ASSERT_EQ(0, vt_module_ensure_loaded());
	ASSERT_EQ(0, mt_hosts_up(&self->h, busy_64m));
}

FIXTURE_TEARDOWN(sdps)
{
	mt_hosts_down(&self->h, !_metadata->passed);
}

/* Pages the payload has written so far, or ~0 if it does not answer. */
static unsigned long long pages_written(struct vmm *v)
{
	char reply[256];

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return ~0ULL;
	return mt_field(reply, "pages_written=");
}

static double free_write_rate(struct vmm *v)
{
	unsigned long long w0 = pages_written(v), w1;
	double t0 = mt_now();

	sleep(2);
	w1 = pages_written(v);
	return (w1 - w0) / (mt_now() - t0);
}

static void expect_healthy(struct __test_metadata *_metadata, struct vmm *v)
{
	char reply[256];

	ASSERT_EQ(0, vmm_request(v, "status", reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "state=running")) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "locked=0")) TH_LOG("%s", reply);
	ASSERT_EQ(0, vmm_request(v, "verify 20000", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	EXPECT_STREQ("ok bad_pages=0", reply);
}

/*
 * Run migrate with @args; the guest's write rate (pages/s) over the
 * pre-copy -- from the start until the switchover or the end -- in
 * @rate.  Returns migrate's exit status.
 */
static int migrate_sampled(FIXTURE_DATA(sdps) *self, const char *const *args,
			   double *rate)
{
	unsigned long long w, w_first = ~0ULL, w_last = 0;
	double t_first = 0, t_last = 0;
	pid_t pid;
	int rc;

	unlink(self->h.out);
	pid = mt_migrate_bg(self->h.src.control, self->h.to, self->h.json,
			    self->h.out, args);
	while (waitpid(pid, &rc, WNOHANG) == 0) {
		w = pages_written(&self->h.src);
		if (w != ~0ULL && !strstr(mt_slurp(self->h.out), "switchover")) {
			if (w_first == ~0ULL) {
				w_first = w;
				t_first = mt_now();
			}
			w_last = w;
			t_last = mt_now();
		}
		usleep(200000);
	}
	*rate = t_last > t_first ? (w_last - w_first) / (t_last - t_first) : 0;
	fprintf(stderr, "# %s", mt_slurp(self->h.out));
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/*
 * Without SDPS the busy guest never converges; with it, it does.  The
 * price SDPS may charge is measured against the same pre-copy without it
 * (tracing and sending cost the guest time too, and in the one-CPU lab
 * the sender runs on the guest's CPU): the guest keeps at least half the
 * write rate it had then -- throttling towards a frozen guest is what
 * SDPS must not do.
 */
TEST_F_TIMEOUT(sdps, busy_guest_needs_sdps_and_keeps_half_its_rate, 400)
{
	const char *off[] = {
		"--tracker", variant->tracker, "--sdps", "off",
		"--max-iterations", "4", NULL
	};
	const char *on[] = {
		"--tracker", variant->tracker, "--sdps", "on",
		"--max-iterations", "30", NULL
	};
	double before, without, with;
	const char *json;
	char to[64];

	before = free_write_rate(&self->h.src);

	/* Without SDPS: a clean stop at --max-iterations. */
	ASSERT_EQ(1, migrate_sampled(self, off, &without));
	json = mt_slurp(self->h.json);
	EXPECT_STREQ("rolled-back", report_str(json, "result"))
		TH_LOG("%s", json);
	EXPECT_NE(NULL, strstr(report_str(json, "reason"),
			       "did not converge after 4 iterations"))
		TH_LOG("%s", json);
	expect_healthy(_metadata, &self->h.src);
	EXPECT_EQ(0, mt_vmtrace_sessions(self->h.link.nsa));

	/* With SDPS, to a fresh receiver: it converges. */
	vmm_cleanup(&self->h.dst);
	ASSERT_EQ(0, vmm_init(&self->h.dst));
	snprintf(to, sizeof(to), "10.77.0.2:%d", mt_port(1));
	strcpy(self->h.to, to);
	mt_netns = self->h.link.nsb;
	ASSERT_EQ(0, mt_receiver_start(&self->h.dst, self->h.to, NULL));
	mt_netns = self->h.link.nsa;
	ASSERT_EQ(0, migrate_sampled(self, on, &with))
		fprintf(stderr, "# %s", mt_slurp(self->h.dst.out));
	json = mt_slurp(self->h.json);
	fprintf(stderr, "# report: %s", json);
	EXPECT_STREQ("ok", report_str(json, "result"));
	EXPECT_EQ(1, report_bool(json, "sdps"));
	EXPECT_EQ(1, report_bool(json, "memory_hash_equal"));
	/* SDPS acted: both vCPUs slept. */
	ASSERT_EQ(2, report_array_len(json, "sdps_sleep_ms_per_vcpu"));
	EXPECT_LT(0, report_array_num(json, "sdps_sleep_ms_per_vcpu", 0));
	EXPECT_LT(0, report_array_num(json, "sdps_sleep_ms_per_vcpu", 1));
	/* The old name, kept for one release, says the same. */
	EXPECT_EQ(report_array_num(json, "sdps_sleep_ms_per_vcpu", 1),
		  report_array_num(json, "sdps_stun_ms_per_vcpu", 1));
	expect_healthy(_metadata, &self->h.dst);
	EXPECT_EQ(0, mt_vmtrace_sessions(self->h.link.nsa));

	TH_LOG("guest write rate, pages/s: %.0f free, %.0f in pre-copy without SDPS, %.0f with SDPS (%.0f %% of without)",
	       before, without, with, 100 * with / without);
	ASSERT_LT(0, without);
	EXPECT_LE(0.5 * without, with);
}

TEST_HARNESS_MAIN
