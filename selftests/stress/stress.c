// SPDX-License-Identifier: GPL-2.0
/*
 * Heavy writers migrated again and again, inside the lab: does any guest
 * die, or lose a page?  `make stress` runs it long in a two-CPU lab (see
 * scripts/stress); `make check` runs a short version.
 *
 *   stress [--first K] [--rows N] [--seconds S] [--log FILE]
 *          [--row TRACKER,SDPS,ORDER,CPUS,RATE]
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
 *   stress: row=K tracker=T sdps=on|off order=seq|random cpus=N rate=R
 *           result=R seconds=S
 *           harvests=H max_gap_ms=G death=0|1|lab|lab-pf|untraced lost=L [why=...]
 *
 * A death is told apart from a fault of the lab's by its evidence
 * (classify_death(), Documentation/dev-tools/lab-faults.rst): KVM's exits
 * are traced into the ring buffer and tracing stops at the shutdown, where
 * a kprobe reads the guest's state from the VMCB.  A guest that came back
 * with the lab host's state (RIP in the lab's __svm_vcpu_run, or a CR3 it
 * never loads) died of the lab's emulated world switch: death=lab.  One
 * killed by a #PF that nothing injected while its own state is intact
 * died as guests do with KVM's own dirty log and vmtrace.ko not loaded:
 * death=lab-pf.  A guest dead before its migration began, no tracker
 * attached, is death=untraced.  Any other death is ours.  Exit status: 1
 * if any death is ours or a page was lost, 3 if only the lab killed
 * guests (or they died untraced), 0 otherwise.
 */
#include <getopt.h>
#include <inttypes.h>

#include "../lib/report.h"
#include "../migrate/migrate.h"

#define DEATH_GAP_S	5.0
#define TRACING		"/sys/kernel/tracing/"

/* The lab's __svm_vcpu_run, from /proc/kallsyms: [start, end). */
static uint64_t svm_run_start, svm_run_end;
static bool tracing;

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n = fd >= 0 ? write(fd, s, strlen(s)) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Where __svm_vcpu_run is, and the symbol after it. */
static void find_svm_run(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256], name[128];
	uint64_t addr, best = 0;
	bool next = false;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %*s %127s", &addr, name) != 2)
			continue;
		if (!strcmp(name, "__svm_vcpu_run")) {
			svm_run_start = addr;
			next = true;
		} else if (next && addr > svm_run_start &&
			   (!best || addr < best)) {
			best = addr;
		}
	}
	if (f)
		fclose(f);
	svm_run_end = best ? best : svm_run_start + 0x400;
}

/*
 * The guest's state as the shutdown exit left it in the VMCB, read by a
 * kprobe on kvm_amd's shutdown_interception() before it clears the VMCB:
 * struct vcpu_svm's vmcb pointer at 6552, and in struct vmcb the save
 * area's idtr.base, efer, cr4, cr3, cr0 and rip (Debian's 6.1.0 kvm_amd,
 * from `pahole -C vcpu_svm` / `-C vmcb_save_area` on its BTF; the save
 * area's layout is the architecture's).
 */
#define SHUTDOWN_PROBE \
	"p:vmtrace_stress/shutdown kvm_amd:shutdown_interception " \
	"rip=+1400(+6552(%di)):x64 cr3=+1360(+6552(%di)):x64 " \
	"cr0=+1368(+6552(%di)):x64 cr4=+1352(+6552(%di)):x64 " \
	"efer=+1232(+6552(%di)):x64 idt=+1160(+6552(%di)):x64"

/* The payload's CR3, which neither it nor the VMM ever changes. */
#define PAYLOAD_CR3	0x9000

static bool shutdown_probe;

/*
 * KVM's exits, page faults and injected exceptions into the ring buffer,
 * tracing off at the shutdown probe (or, without it, at the first
 * shutdown exit, SVM_EXIT_SHUTDOWN, 0x7f).  Without tracefs or kvm_amd, no
 * classification: every death counts as ours.
 */
static void trace_setup(void)
{
	/*
	 * What an earlier stress in this boot left armed goes first: a
	 * second trigger or probe of the same name would be refused.
	 */
	write_file(TRACING "tracing_on", "0");
	write_file(TRACING "events/vmtrace_stress/shutdown/enable", "0");
	write_file(TRACING "events/vmtrace_stress/shutdown/trigger", "!traceoff");
	write_file(TRACING "kprobe_events", "");
	write_file(TRACING "events/kvm/kvm_exit/trigger",
		   "!traceoff if exit_reason == 127");
	find_svm_run();
	tracing = svm_run_start &&
		  !write_file(TRACING "tracing_on", "0") &&
		  !write_file(TRACING "buffer_size_kb", "16384") &&
		  !write_file(TRACING "events/kvm/kvm_exit/enable", "1") &&
		  !write_file(TRACING "events/kvm/kvm_page_fault/enable", "1") &&
		  !write_file(TRACING "events/kvm/kvm_inj_exception/enable", "1") &&
		  !write_file(TRACING "events/kvm/kvm_emulate_insn/enable", "1");
	if (!tracing)
		return;
	shutdown_probe =
		!write_file(TRACING "kprobe_events", SHUTDOWN_PROBE) &&
		!write_file(TRACING "events/vmtrace_stress/shutdown/trigger",
			    "traceoff") &&
		!write_file(TRACING "events/vmtrace_stress/shutdown/enable", "1");
	if (!shutdown_probe)
		tracing = !write_file(TRACING "events/kvm/kvm_exit/trigger",
				      "traceoff if exit_reason == 127");
}

static void trace_arm(void)
{
	if (!tracing)
		return;
	write_file(TRACING "trace", "");
	write_file(TRACING "tracing_on", "1");
}

/* How a guest died, as its evidence tells. */
enum death {
	DEATH_NONE,
	DEATH_OURS,		/* until shown otherwise */
	DEATH_LAB_SWITCH,	/* it came back with the lab host's state */
	DEATH_LAB_PF,		/* a #PF nobody injected, its state intact */
	DEATH_UNTRACED,		/* before the migration: no tracker attached */
};

static const char *const death_word[] = {
	"0", "1", "lab", "lab-pf", "untraced",
};

/*
 * After a death, from KVM's trace (the shutdown is its last event):
 *  - a vCPU exit with the lab host's RIP (in __svm_vcpu_run), or a CR3
 *    at the shutdown that the payload never loads: the lab's world switch
 *    gave the guest host state;
 *  - a shutdown delivering a #PF with error code 0 (a read or fetch of a
 *    not-present page) while the guest's CR3 is its own and its page
 *    tables are intact, with no exception injected by KVM in the trace:
 *    the same death, at the same rate, comes with KVM's own dirty log and
 *    vmtrace.ko never loaded (lab-faults.rst, "A #PF from nowhere").
 * The matching evidence in @why.
 */
static enum death classify_death(char *why, size_t len)
{
	enum death d = DEATH_OURS;
	bool injected = false, pf = false, own_cr3 = false;
	char line[512], pf_rip[24] = "";
	FILE *f;

	if (!tracing)
		return d;
	write_file(TRACING "tracing_on", "0");
	f = fopen(TRACING "trace", "r");
	while (f && d == DEATH_OURS && fgets(line, sizeof(line), f)) {
		const char *p;
		uint64_t rip;

		if (strstr(line, "kvm_inj_exception:"))
			injected = true;
		if (strstr(line, "shutdown: (") && (p = strstr(line, " cr3=0x"))) {
			own_cr3 = strtoull(p + 5, NULL, 16) == PAYLOAD_CR3;
			if (!own_cr3) {
				d = DEATH_LAB_SWITCH;
				snprintf(why, len, "guest CR3 at the shutdown is %.18s, not the payload's 0x%x",
					 p + 5, PAYLOAD_CR3);
			}
			continue;
		}
		if (!strstr(line, "kvm_exit:") || !(p = strstr(line, " rip 0x")))
			continue;
		rip = strtoull(p + 5, NULL, 16);
		if (rip >= svm_run_start && rip < svm_run_end) {
			d = DEATH_LAB_SWITCH;
			snprintf(why, len, "guest came back with the lab host's RIP __svm_vcpu_run+0x%" PRIx64,
				 rip - svm_run_start);
		} else if (strstr(line, "reason shutdown") &&
			   strstr(line, "intr_info 0x80000b0e error_code 0x00000000")) {
			pf = true;
			snprintf(pf_rip, sizeof(pf_rip), "0x%" PRIx64, rip);
		}
	}
	if (f)
		fclose(f);
	if (d == DEATH_OURS && pf && own_cr3 && !injected) {
		d = DEATH_LAB_PF;
		snprintf(why, len, "a #PF (error 0) at rip %s with the guest's own CR3, injected by no one",
			 pf_rip);
	}
	return d;
}

/* Where a death's evidence goes (the --log file's directory), or NULL. */
static char evidence_dir[256];

/*
 * A death: keep KVM's trace of the last exits (it ends at the shutdown,
 * whose RIP and VMCB state go into @why) for the analysis in
 * lab-faults.rst, next to the low memory the VMM dumped.
 */
static void keep_evidence(unsigned int k, char *why, size_t len)
{
	char path[300], line[512], last[512] = "", state[256] = "";
	FILE *in, *out;

	if (!tracing || !evidence_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/death-row%u.trace", evidence_dir, k);
	in = fopen(TRACING "trace", "r");
	out = fopen(path, "w");
	while (in && out && fgets(line, sizeof(line), in)) {
		fputs(line, out);
		if (strstr(line, "kvm_exit:") && strstr(line, "shutdown"))
			snprintf(last, sizeof(last), "%s", line);
		if (strstr(line, "shutdown: (") && strstr(line, " rip="))
			snprintf(state, sizeof(state), "%s",
				 strstr(line, " rip=") + 1);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (last[0]) {
		const char *rip = strstr(last, " rip 0x");
		size_t n = strlen(why);

		if (rip && n + 24 < len)
			snprintf(why + n, len - n, "; shutdown at rip %.18s",
				 rip + 5);
	}
	if (state[0]) {
		size_t n = strlen(why);

		state[strcspn(state, "\n")] = '\0';
		snprintf(why + n, len - n, "; VMCB %s", state);
	}
}

struct row {
	const char *tracker, *sdps, *order;
	unsigned int cpus, rate_mib, mbit;
};

/*
 * Mostly vmtrace's hierarchical mode without SDPS, where guests died and
 * which the count is about; SDPS, stock mode and KVM's dirty log
 * as controls.  Every rate is well over the link.  Most rows have one
 * vCPU: the lab's own fault (death=lab) strikes two-vCPU guests in a
 * two-CPU lab almost every time (Documentation/dev-tools/lab-faults.rst),
 * and such a row proves nothing about vmtrace.  The first two rows are
 * what make check runs.
 */
static const struct row plan[] = {
	{ "vmtrace-hierarchical", "off", "seq", 1, 32, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "seq", 1, 128, 100 },
	{ "vmtrace-hierarchical", "off", "random", 2, 64, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 32, 100 },
	{ "vmtrace-hierarchical", "off", "seq", 1, 64, 100 },
	{ "vmtrace-stock", "off", "random", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 128, 100 },
	{ "vmtrace-hierarchical", "on", "random", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "seq", 1, 32, 100 },
	{ "kvm", "off", "seq", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "seq", 1, 48, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 96, 100 },
	{ "vmtrace-hierarchical", "off", "seq", 1, 64, 100 },
	{ "vmtrace-hierarchical", "off", "random", 1, 32, 100 },
};

#define NR_ROWS	(sizeof(plan) / sizeof(plan[0]))

/* --row: one row of the caller's instead of the plan, for every K. */
static struct row custom;
static char custom_spec[96];

static const struct row *row_of(unsigned int k)
{
	return custom.tracker ? &custom : &plan[k % NR_ROWS];
}

/* TRACKER,SDPS,ORDER,CPUS,RATE_MIB (e.g. vmtrace-stock,off,seq,1,128). */
static int parse_row(const char *spec)
{
	char *f[5], *save = NULL;
	int n = 0;

	snprintf(custom_spec, sizeof(custom_spec), "%s", spec);
	for (char *t = strtok_r(custom_spec, ",", &save); t && n < 5;
	     t = strtok_r(NULL, ",", &save))
		f[n++] = t;
	if (n != 5 || (strcmp(f[1], "on") && strcmp(f[1], "off")) ||
	    (strcmp(f[2], "seq") && strcmp(f[2], "random")) ||
	    atoi(f[3]) < 1 || atoi(f[3]) > 8 || atoi(f[4]) < 1)
		return -1;
	custom = (struct row){ f[0], f[1], f[2], atoi(f[3]), atoi(f[4]), 100 };
	return 0;
}

struct outcome {
	const char *result;
	double seconds, max_gap_s;
	int harvests;
	bool death;
	enum death kind;
	long lost;
	char why[320];
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

/* The report's result, as one of the words a record line may hold. */
static const char *result_of(const char *result)
{
	static const char *const words[] = { "ok", "rolled-back", "in-doubt" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(result, words[i]))
			return words[i];
	return "failed";
}

static void run_row(unsigned int k, unsigned int seconds, struct outcome *o)
{
	const struct row *r = row_of(k);
	char rate[32], cpus[8], timeout[16], reply[256], dump[300];
	const char *guest[] = {
		"--payload", "dirty", "--mem", "256M", "--cpus", cpus,
		"--rate", rate, "--wss", "25%", "--order", r->order,
		"--tick-hz", "250", "--shutdown-dump", dump, NULL
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
	snprintf(dump, sizeof(dump), "%s/death-row%u.lowmem",
		 evidence_dir[0] ? evidence_dir : "/tmp", k);
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
	/*
	 * A guest that died already, before migrate and its tracker ever
	 * touched it, is no migration's: counted apart (row 45 of the
	 * 2026-12-08 run died so, its KVM trace empty from here on).
	 */
	wt.last_progress = mt_now();
	if (watch(&wt, &h.src, o)) {
		o->death = true;
		o->kind = DEATH_UNTRACED;
		o->result = "not-migrated";
		strncat(o->why, " before the migration began (no tracker attached)",
			sizeof(o->why) - strlen(o->why) - 1);
		keep_evidence(k, o->why, sizeof(o->why));
		goto out;
	}
	trace_arm();
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
	/* A pre-copy phase per harvest (the report keeps the first 64). */
	o->harvests = report_array_len(json, "iterations");
	o->result = result_of(report_str(json, "result"));
	if (strstr(report_str(json, "reason"), "the source VM stopped") &&
	    !o->death) {
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
	o->kind = o->death ? classify_death(o->why, sizeof(o->why)) :
			     DEATH_NONE;
	if (o->death)
		keep_evidence(k, o->why, sizeof(o->why));
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
		{ "row", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int first = 0, rows = NR_ROWS, seconds = 60, k;
	const char *log = NULL;
	struct outcome o;
	FILE *lf = NULL;
	int c, bad = 0, lab = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': first = atoi(optarg); break;
		case 'n': rows = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'l': log = optarg; break;
		case 'r':
			if (parse_row(optarg))
				return fprintf(stderr, "stress: --row TRACKER,on|off,seq|random,CPUS,MIB_PER_S\n"), 2;
			break;
		default:
			fprintf(stderr, "usage: stress [--first K] [--rows N] [--seconds S] [--log FILE]\n"
				"              [--row TRACKER,SDPS,ORDER,CPUS,RATE]\n");
			return 2;
		}
	}
	if (!seconds || seconds > 3600 || !rows)
		return fprintf(stderr, "stress: bad --rows or --seconds\n"), 2;
	if (log) {
		const char *slash = strrchr(log, '/');

		lf = fopen(log, "a");
		snprintf(evidence_dir, sizeof(evidence_dir), "%.*s",
			 slash ? (int)(slash - log) : 1, slash ? log : ".");
	}
	trace_setup();
	for (k = first; k < first + rows; k++) {
		const struct row *r = row_of(k);
		char line[768];

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
			 "stress: row=%u tracker=%s sdps=%s order=%s cpus=%u rate=%uM/s result=%s seconds=%.1f harvests=%d max_gap_ms=%.0f death=%s lost=%ld%s%s%s\n",
			 k, r->tracker, r->sdps, r->order, r->cpus,
			 r->rate_mib, o.result,
			 o.seconds, o.harvests, o.max_gap_s * 1e3,
			 death_word[o.kind],
			 o.lost, o.why[0] ? " why=\"" : "", o.why,
			 o.why[0] ? "\"" : "");
		fputs(line, stdout);
		fflush(stdout);
		if (lf) {
			fputs(line, lf);
			fflush(lf);
		}
		/* Deaths that are no migration's: the caller may try again. */
		if (o.kind == DEATH_LAB_SWITCH || o.kind == DEATH_LAB_PF ||
		    o.kind == DEATH_UNTRACED)
			lab = 1;
		else
			bad |= o.death || o.lost != 0;
	}
	if (lf)
		fclose(lf);
	return bad ? 1 : lab ? 3 : 0;
}
