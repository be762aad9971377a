// SPDX-License-Identifier: GPL-2.0
/*
 * Heavy writers migrated again and again, inside the lab: does any guest
 * die, or lose a page?  `make stress` runs it long in a two-CPU lab (see
 * scripts/stress); `make check` runs a short version.
 *
 *   stress [--first K] [--rows N] [--seconds S] [--log FILE]
 *
 * Row K of the plan below (cycled) is one migration: a dirty payload
 * writing faster than a shaped veth carries, migrated with one tracker,
 * SDPS on or off.  Without SDPS it cannot converge, so it runs its
 * --timeout (S seconds, 60 by default) of pre-copy, harvest after harvest,
 * and rolls back; with SDPS it converges and completes.  All along the
 * guest's progress counter is sampled every 100 ms on whichever side runs
 * it: a guest that stops writing for more than 5 s while running, or a
 * VMM that reports a shutdown, is a death.  After the migration the guest
 * checks every page of its memory where it runs; a bad page is a lost
 * page.  One line per migration, in the log and on stdout:
 *
 *   stress: row=K tracker=T sdps=on|off cpus=N rate=R result=R seconds=S
 *           harvests=H max_gap_ms=G death=0|1 lost=L [why=...]
 */
#include <getopt.h>

#include "../migrate/migrate.h"

#define DEATH_GAP_S	5.0

struct row {
	const char *tracker, *sdps;
	unsigned int cpus, rate_mib, mbit;
};

/*
 * Mostly vmtrace's hierarchical mode, where guests died; stock mode and
 * KVM's dirty log as controls.  Every rate is well over the link.
 */
static const struct row plan[] = {
	{ "vmtrace-hierarchical", "off", 1, 32, 100 },
	{ "vmtrace-hierarchical", "off", 2, 64, 100 },
	{ "vmtrace-hierarchical", "off", 2, 128, 100 },
	{ "vmtrace-stock", "off", 2, 64, 100 },
	{ "vmtrace-hierarchical", "off", 1, 64, 100 },
	{ "vmtrace-hierarchical", "on", 2, 64, 100 },
	{ "kvm", "off", 2, 64, 100 },
	{ "vmtrace-hierarchical", "off", 2, 32, 100 },
};

#define NR_ROWS	(sizeof(plan) / sizeof(plan[0]))

struct outcome {
	const char *result;
	double seconds, max_gap_s;
	int harvests;
	bool death;
	long lost;
	char why[160];
};

/* status of @v: 1 running (pages written in @w), 0 not running, -1 gone. */
static int sample(struct vmm *v, unsigned long long *w)
{
	char reply[256];

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return -1;
	*w = mt_field(reply, "pages_written=");
	return strstr(reply, "state=running") ? 1 : 0;
}

struct watch {
	unsigned long long last_w;
	double last_progress;
};

/* One sample: updates the largest gap; true if the guest died. */
static bool watch(struct watch *wt, struct vmm *v, struct outcome *o)
{
	unsigned long long w;
	double now = mt_now();
	int st = sample(v, &w);

	if (strstr(mt_slurp(v->out), "guest shut down")) {
		snprintf(o->why, sizeof(o->why), "guest shut down");
		return true;
	}
	if (st <= 0 || w != wt->last_w) {
		/* Progress, or paused/gone (the switchover): not a gap. */
		wt->last_w = w;
		wt->last_progress = now;
		return false;
	}
	if (now - wt->last_progress > o->max_gap_s)
		o->max_gap_s = now - wt->last_progress;
	if (now - wt->last_progress > DEATH_GAP_S) {
		snprintf(o->why, sizeof(o->why),
			 "no page written for %.1f s while running",
			 now - wt->last_progress);
		return true;
	}
	return false;
}

static int count_harvests(const char *json)
{
	int n = 0;

	for (const char *p = json; (p = strstr(p, "\"phase\": ")); p++)
		n++;
	return n;
}

static void run_row(unsigned int k, unsigned int seconds, struct outcome *o)
{
	const struct row *r = &plan[k % NR_ROWS];
	char rate[32], cpus[8], timeout[16], reply[256];
	const char *guest[] = {
		"--payload", "dirty", "--mem", "256M", "--cpus", cpus,
		"--rate", rate, "--wss", "25%", "--tick-hz", "250", NULL
	};
	struct mt_hosts h = { 0 };
	struct watch wt = { 0 };
	const char *json;
	struct vmm *where;
	pid_t pid;
	int rc = -1, status;
	double t0;

	memset(o, 0, sizeof(*o));
	o->result = "setup-failed";
	o->lost = -1;
	snprintf(rate, sizeof(rate), "%uM/s", r->rate_mib);
	snprintf(cpus, sizeof(cpus), "%u", r->cpus);
	snprintf(timeout, sizeof(timeout), "%u", seconds);
	if (mt_link_up(&h.link, r->mbit) || vmm_init(&h.src) ||
	    vmm_init(&h.dst))
		goto out;
	snprintf(h.to, sizeof(h.to), "10.77.0.2:%d", mt_port(0));
	snprintf(h.json, sizeof(h.json), "%s/report.json", h.src.dir);
	snprintf(h.out, sizeof(h.out), "%s/migrate.out", h.src.dir);
	if (vmm_start(&h.src, guest, 30))
		goto out;
	mt_netns = h.link.nsb;
	if (mt_receiver_start(&h.dst, h.to, NULL))
		goto out;
	mt_netns = h.link.nsa;
	sleep(1);	/* the working set written once: a busy guest */
	t0 = mt_now();
	pid = mt_migrate_bg(h.src.control, h.to, h.json, h.out,
			    (const char *const[]){
				    "--tracker", r->tracker, "--sdps", r->sdps,
				    "--max-stun", "500", "--max-iterations",
				    "10000", "--timeout", timeout, NULL });
	mt_netns = NULL;
	if (pid < 0)
		goto out;
	wt.last_progress = mt_now();
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (!o->death && watch(&wt, &h.src, o))
			o->death = true;
		if (mt_now() - t0 > seconds + 120) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(o->why, sizeof(o->why), "migrate hung");
			break;
		}
		usleep(100000);
	}
	o->seconds = mt_now() - t0;
	json = mt_slurp(h.json);
	o->harvests = count_harvests(json);
	o->result = strstr(json, "\"result\": \"ok\"") ? "ok" :
		    strstr(json, "\"result\": \"rolled-back\"") ? "rolled-back" :
		    strstr(json, "\"result\": \"in-doubt\"") ? "in-doubt" :
		    "failed";
	if (strstr(json, "the source VM stopped") && !o->death) {
		o->death = true;
		snprintf(o->why, sizeof(o->why), "the source VM stopped");
	}
	/* Where it runs now: watch it a little longer there, then verify. */
	where = rc == 0 ? &h.dst : &h.src;
	wt.last_progress = mt_now();
	for (int i = 0; i < 20 && !o->death; i++) {
		if (watch(&wt, where, o))
			o->death = true;
		usleep(100000);
	}
	if (!o->death &&
	    !vmm_request(where, "verify 60000", reply, sizeof(reply)))
		o->lost = mt_field(reply, "bad_pages=");
	if (o->lost < 0 && !o->death)
		snprintf(o->why, sizeof(o->why), "verify failed: %.100s", reply);
out:
	mt_netns = NULL;
	if (h.src.pid > 0)
		vmm_kill(&h.src);
	if (h.dst.pid > 0)
		vmm_kill(&h.dst);
	if (!strcmp(o->result, "setup-failed") || o->death || o->lost) {
		vmm_dump(&h.src);
		vmm_dump(&h.dst);
		fprintf(stderr, "# --- migrate\n%s", mt_slurp(h.out));
	}
	mt_hosts_down(&h, false);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "first", required_argument, NULL, 'f' },
		{ "rows", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int first = 0, rows = NR_ROWS, seconds = 60, k;
	const char *log = NULL;
	struct outcome o;
	FILE *lf = NULL;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': first = atoi(optarg); break;
		case 'n': rows = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'l': log = optarg; break;
		default:
			fprintf(stderr, "usage: stress [--first K] [--rows N] [--seconds S] [--log FILE]\n");
			return 2;
		}
	}
	if (!seconds || seconds > 3600 || !rows)
		return fprintf(stderr, "stress: bad --rows or --seconds\n"), 2;
	if (log)
		lf = fopen(log, "a");
	for (k = first; k < first + rows; k++) {
		const struct row *r = &plan[k % NR_ROWS];
		char line[512];

		/*
		 * vmtrace.ko only where a row uses it: rows on KVM's dirty
		 * log alone then run with none of the module's code in KVM.
		 */
		if ((strcmp(r->tracker, "kvm") || strcmp(r->sdps, "off")) &&
		    vt_module_ensure_loaded()) {
			fprintf(stderr, "stress: cannot load vmtrace.ko\n");
			return 1;
		}
		run_row(k, seconds, &o);
		snprintf(line, sizeof(line),
			 "stress: row=%u tracker=%s sdps=%s cpus=%u rate=%uM/s result=%s seconds=%.1f harvests=%d max_gap_ms=%.0f death=%d lost=%ld%s%s%s\n",
			 k, r->tracker, r->sdps, r->cpus, r->rate_mib, o.result,
			 o.seconds, o.harvests, o.max_gap_s * 1e3, o.death,
			 o.lost, o.why[0] ? " why=\"" : "", o.why,
			 o.why[0] ? "\"" : "");
		fputs(line, stdout);
		fflush(stdout);
		if (lf) {
			fputs(line, lf);
			fflush(lf);
		}
		bad |= o.death || o.lost != 0;
	}
	if (lf)
		fclose(lf);
	return bad;
}
