// SPDX-License-Identifier: GPL-2.0
/*
 * make bench-trace: what dirty tracking costs, mode against mode, in the lab.
 *
 * For each backing (4 KB pages, 2 MB hugetlb), guest size and mode (on
 * hugetlb also vmtrace-lazysplit: hierarchical splitting huge mappings on
 * their first write instead of at start), a
 * fresh `vmotionctl run` guest with the dirty payload (2 vCPUs, writing
 * flat out over a fixed working set, every page of the guest touched
 * first) is measured:
 *  - its write rate untraced;
 *  - tracing on: vmtrace hierarchical, vmtrace stock (KVM's stop-based
 *    install driven by the module), or KVM's own dirty log driven from
 *    userspace (kvm-userspace: manual protect, initially set);
 *  - its write rate from the mode's first real write protection (stock:
 *    start; the initially-set modes: the first harvest), with a harvest
 *    every HARVEST_MS ms, which the window therefore spans.
 * guest_write_ratio is traced / untraced, in the same run.  Entries
 * changed are those write-protected by start and the first harvest
 * (vmtrace's counters; for kvm-userspace the pages its first clear
 * re-protected, i.e. every page of the guest); install_us is the wall
 * time from asking for tracing to the first real protection done;
 * window_entries_per_harvest what each harvest of the window protected,
 * including what the guest's writes opened (vmtrace modes only).
 *
 *   trace_bench [-q] [-s MIB] [-b 4k|hugetlb-2m] [-j FILE]
 *
 * -q: 256 MiB guests only; -s: one guest size; -b: one backing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/vmtrace.h"
#include "../selftests/lib/genl.h"
#include "../selftests/lib/module.h"
#include "../selftests/lib/vmm.h"

#define WSS_MIB		64
#define WINDOW_MS	3000
#define HARVEST_MS	250

enum mode { HIERARCHICAL, HIER_SPLIT_ON_WRITE, STOCK, KVM_USERSPACE,
	    NR_MODES };

static const char *const mode_names[NR_MODES] = {
	[HIERARCHICAL] = "vmtrace", [HIER_SPLIT_ON_WRITE] = "vmtrace-lazysplit",
	[STOCK] = "stock", [KVM_USERSPACE] = "kvm-userspace",
};

/* vmtrace-lazysplit: hierarchical with vmtrace's eager_split off. */
static int set_eager_split(bool on)
{
	FILE *f = fopen("/sys/module/vmtrace/parameters/eager_split", "w");

	if (!f)
		return -1;
	fputs(on ? "Y\n" : "N\n", f);
	return fclose(f);
}

struct run {
	enum mode mode;
	const char *backing;
	unsigned int guest_mib, wss_mib;
	double start_us, install_us, harvest_us, untraced, traced, ratio;
	double populate_s;	/* boot, touch every page, one WSS pass */
	unsigned long long entries, flush_requests, kicks, harvests;
	unsigned long long window_entries;	/* during the window */
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static long long pages_written(struct vmm *v)
{
	char reply[512];
	const char *p;

	if (vmm_request(v, "status", reply, sizeof(reply)))
		return -1;
	p = strstr(reply, "pages_written=");
	return p ? strtoll(p + 14, NULL, 10) : -1;
}

/* The tracer of one run: a vmtrace session or the VMM's KVM dirty log. */
struct tracer {
	enum mode mode;
	struct vt_genl g;
	struct vm_client vmm;
	int id;
	unsigned int harvests;
	double harvest_s;
};

static int tracer_harvest(struct tracer *t)
{
	double t0 = now_s();
	uint64_t seq;
	size_t len;
	void *bm;

	if (t->mode == KVM_USERSPACE) {
		if (vm_client_request(&t->vmm, "dirty-log harvest", NULL))
			return -1;
		len = strtoull(t->vmm.reply + 3, NULL, 10);
		bm = malloc(len);
		if (!bm || vm_client_read_body(&t->vmm, bm, len)) {
			free(bm);
			return -1;
		}
		free(bm);
	} else if (vt_session_harvest_count(&t->g, t->id, &seq) < 0 ||
		   vt_session_ack(&t->g, t->id, seq)) {
		return -1;
	}
	t->harvests++;
	t->harvest_s += now_s() - t0;
	return 0;
}

/* Turn tracing on up to its first real write protection. */
static int tracer_start(struct tracer *t, struct vmm *v, int vm_fd,
			struct run *r)
{
	double t0 = now_s();
	int err;

	if (t->mode == KVM_USERSPACE) {
		if (vm_client_connect(&t->vmm, v->control) ||
		    vm_client_request(&t->vmm, "dirty-log on", NULL))
			return -1;
		r->start_us = (now_s() - t0) * 1e6;
		err = tracer_harvest(t);
		r->install_us = (now_s() - t0) * 1e6;
		return err;
	}
	if (vt_genl_open(&t->g) ||
	    set_eager_split(t->mode != HIER_SPLIT_ON_WRITE))
		return -1;
	t->id = vt_session_attach(&t->g, vm_fd,
				  t->mode == STOCK ? VMTRACE_MODE_STOCK :
						     VMTRACE_MODE_HIERARCHICAL,
				  VMTRACE_FLUSH_LAZY);
	if (t->id <= 0 || vt_session_cmd(&t->g, VMTRACE_CMD_START, t->id)) {
		fprintf(stderr, "trace_bench: attach/start: %s\n", t->g.extack);
		return -1;
	}
	if (vt_session_cmd(&t->g, VMTRACE_CMD_GET_SESSION, t->id))
		return -1;
	r->start_us = vt_session_u64(&t->g, VMTRACE_A_SESSION_START_NS) / 1e3;
	/* Stock protected everything at start; the others do at harvest. */
	err = t->mode == STOCK ? 0 : tracer_harvest(t);
	r->install_us = (now_s() - t0) * 1e6;
	return err;
}

static void tracer_stop(struct tracer *t, struct run *r)
{
	if (t->mode == KVM_USERSPACE) {
		vm_client_request(&t->vmm, "dirty-log off", NULL);
		vm_client_close(&t->vmm);
	} else {
		vt_session_cmd(&t->g, VMTRACE_CMD_DETACH, t->id);
		vt_genl_close(&t->g);
	}
	r->harvests = t->harvests;
	r->harvest_us = t->harvests ? t->harvest_s / t->harvests * 1e6 : 0;
}

/* The session's counters after start and the first harvest. */
static void tracer_entries(struct tracer *t, struct run *r)
{
	if (t->mode == KVM_USERSPACE) {
		r->entries = (unsigned long long)r->guest_mib << 8;
		return;
	}
	if (vt_session_cmd(&t->g, VMTRACE_CMD_GET_SESSION, t->id))
		return;
	r->entries = vt_session_u64(&t->g, VMTRACE_A_SESSION_WRPROT_4K) +
		     vt_session_u64(&t->g, VMTRACE_A_SESSION_WRPROT_2M) +
		     vt_session_u64(&t->g, VMTRACE_A_SESSION_WRPROT_1G);
}

static void tracer_flush_counts(struct tracer *t, struct run *r)
{
	unsigned long long before = r->entries;

	if (t->mode == KVM_USERSPACE)
		return;
	tracer_entries(t, r);
	r->window_entries = r->entries - before;
	r->entries = before;
	r->flush_requests = vt_session_u64(&t->g,
					   VMTRACE_A_SESSION_FLUSH_REQUESTS);
	r->kicks = vt_session_u64(&t->g, VMTRACE_A_SESSION_FLUSH_KICKS);
}

/* Pages per second over @ms, harvesting every HARVEST_MS if @t. */
static double write_rate(struct vmm *v, struct tracer *t, unsigned int ms)
{
	long long w0 = pages_written(v), w1;
	double t0 = now_s(), end = t0 + ms / 1e3, t1;

	while (now_s() < end) {
		usleep(HARVEST_MS * 1000);
		if (t && tracer_harvest(t))
			return -1;
	}
	w1 = pages_written(v);
	t1 = now_s();
	return w0 < 0 || w1 < 0 ? -1 : (w1 - w0) / (t1 - t0);
}

static int measure(struct run *r)
{
	char mem[16], wss[16], reply[256];
	const char *args[16] = { "--payload", "dirty", "--mem", mem,
				 "--cpus", "2", "--wss", wss, "--touch-all" };
	struct tracer t = { .mode = r->mode };
	struct vm_client ctl;
	unsigned int n = 9, window_harvests;
	struct vmm v;
	int fds[2] = { -1, -1 }, ret = -1;
	double deadline, t0;

	snprintf(mem, sizeof(mem), "%uM", r->guest_mib);
	/* The payload's working set is a percentage of its region. */
	snprintf(wss, sizeof(wss), "%u%%",
		 (r->wss_mib * 100 + r->guest_mib - 1) / r->guest_mib);
	if (strcmp(r->backing, "4k")) {
		args[n++] = "--hugepages";
		args[n++] = "2M";
	}
	args[n] = NULL;
	if (vmm_init(&v) || vmm_start(&v, args, 60)) {
		vmm_dump(&v);
		vmm_cleanup(&v);
		return -1;
	}
	/* Wait for every page touched and a full pass of the working set. */
	t0 = now_s();
	deadline = t0 + 600;
	while (pages_written(&v) < (long long)r->wss_mib * 256 * 2 &&
	       now_s() < deadline)
		usleep(100000);
	r->populate_s = now_s() - t0;
	if (vm_client_connect(&ctl, v.control) ||
	    vm_client_request(&ctl, "get-fds", fds))
		goto out;

	r->untraced = write_rate(&v, NULL, WINDOW_MS);
	if (tracer_start(&t, &v, fds[0], r))
		goto out_stop;
	tracer_entries(&t, r);
	window_harvests = t.harvests;
	r->traced = write_rate(&v, &t, WINDOW_MS);
	window_harvests = t.harvests - window_harvests;
	tracer_flush_counts(&t, r);
	if (window_harvests)
		r->window_entries /= window_harvests;
	r->ratio = r->untraced > 0 ? r->traced / r->untraced : 0;
	ret = r->traced < 0 ? -1 : 0;
out_stop:
	tracer_stop(&t, r);
	if (!vmm_request(&v, "verify", reply, sizeof(reply)) &&
	    strcmp(reply, "ok bad_pages=0")) {
		fprintf(stderr, "trace_bench: guest memory damaged: %s\n",
			reply);
		ret = -1;
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	vm_client_close(&ctl);
	vmm_cleanup(&v);
	return ret;
}

static void print_json(FILE *f, const struct run *runs, unsigned int n)
{
	unsigned int i;

	fprintf(f, "[\n");
	for (i = 0; i < n; i++) {
		const struct run *r = &runs[i];

		fprintf(f, "  {\"mode\": \"%s\", \"backing\": \"%s\", \"guest_mib\": %u, \"wss_mib\": %u, \"start_us\": %.0f, \"install_us\": %.0f, \"entries_changed\": %llu, \"window_entries_per_harvest\": %llu, \"harvest_us\": %.0f, \"harvests\": %llu, \"flush_requests\": %llu, \"kicks\": %llu, \"untraced_pages_per_s\": %.0f, \"traced_pages_per_s\": %.0f, \"guest_write_ratio\": %.3f, \"populate_s\": %.1f}%s\n",
			mode_names[r->mode], r->backing, r->guest_mib,
			r->wss_mib, r->start_us, r->install_us, r->entries,
			r->window_entries, r->harvest_us,
			r->harvests, r->flush_requests, r->kicks, r->untraced,
			r->traced, r->ratio, r->populate_s, i + 1 < n ? "," : "");
	}
	fprintf(f, "]\n");
}

int main(int argc, char **argv)
{
	static const unsigned int full_sizes[] = { 1024, 2048 };
	static const unsigned int quick_sizes[] = { 256 };
	static const char *const backings[] = { "4k", "hugetlb-2m" };
	const unsigned int *sizes = full_sizes;
	unsigned int nr_sizes = 2, s, b, m, n = 0;
	struct run runs[2 * 2 * NR_MODES];
	const char *json = NULL, *only_backing = NULL;
	unsigned int one_size[1];
	int opt, failed = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "qj:s:b:")) != -1) {
		if (opt == 'q') {
			sizes = quick_sizes;
			nr_sizes = 1;
		} else if (opt == 'j') {
			json = optarg;
		} else if (opt == 's') {
			one_size[0] = strtoul(optarg, NULL, 10);
			sizes = one_size;
			nr_sizes = 1;
		} else if (opt == 'b') {
			only_backing = optarg;
		} else {
			fprintf(stderr, "usage: trace_bench [-q] [-s MIB] [-b 4k|hugetlb-2m] [-j FILE]\n");
			return 2;
		}
	}
	if (!sizes[0] || sizes[0] % 2 || sizes[0] < 2 * WSS_MIB) {
		fprintf(stderr, "trace_bench: -s: an even size of at least %u MiB\n",
			2 * WSS_MIB);
		return 2;
	}
	if (vt_module_ensure_loaded())
		return 1;
	printf("%-13s %-10s %5s %4s %8s %8s %8s %8s %7s %6s %5s %6s\n",
	       "mode", "backing", "guest", "wss", "start_us", "inst_us",
	       "entries", "per_harv", "harv_us", "flush", "kicks", "ratio");
	for (b = 0; b < 2; b++) {
		if (only_backing && strcmp(only_backing, backings[b]))
			continue;
		for (s = 0; s < nr_sizes; s++) {
			unsigned long hp = sizes[s] / 2;
			char cmd[96];

			if (b) {
				snprintf(cmd, sizeof(cmd),
					 "echo %lu > /proc/sys/vm/nr_hugepages",
					 hp);
				if (system(cmd))
					return 1;
			}
			for (m = 0; m < NR_MODES; m++) {
				struct run *r = &runs[n];

				/* Splitting only matters with huge pages. */
				if (m == HIER_SPLIT_ON_WRITE && !b)
					continue;
				memset(r, 0, sizeof(*r));
				r->mode = m;
				r->backing = backings[b];
				r->guest_mib = sizes[s];
				r->wss_mib = WSS_MIB;
				if (measure(r)) {
					fprintf(stderr, "trace_bench: %s %s %u MiB failed\n",
						mode_names[m], backings[b],
						sizes[s]);
					failed = 1;
					continue;
				}
				printf("%-13s %-10s %4uM %3uM %8.0f %8.0f %8llu %8llu %7.0f %6llu %5llu %6.3f\n",
				       mode_names[m], r->backing, r->guest_mib,
				       r->wss_mib, r->start_us, r->install_us,
				       r->entries, r->window_entries,
				       r->harvest_us, r->flush_requests,
				       r->kicks, r->ratio);
				fflush(stdout);
				n++;
			}
			if (b && system("echo 0 > /proc/sys/vm/nr_hugepages"))
				failed = 1;
		}
	}
	if (json) {
		f = fopen(json, "w");
		if (!f)
			return 1;
		print_json(f, runs, n);
		fclose(f);
	}
	return failed;
}
