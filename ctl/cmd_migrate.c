// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl migrate: move a running VM to a `vmotionctl receive`.
 *
 *   vmotionctl migrate --control SOCKET --to ADDR:PORT [--tracker auto|kvm|vmtrace[-stock|-hierarchical]]
 *                      [--max-stun MS] [--max-iterations N] [--timeout S]
 *                      [--resolve-timeout S] [--json FILE]
 *
 * compatibility check -> spec -> lock -> prepare -> phase -1 (all
 * populated memory) -> pre-copy iterations with a convergence check after
 * each -> switchover (pause, last pages, checkpoint, destination restores,
 * source commits, destination resumes) -> the source VMM quits.
 *
 * Until the source commits, any failure rolls back: dirty logging goes
 * off, the VM resumes and is unlocked, and the destination is told to
 * discard its copy (a destination that restored it keeps it paused until
 * told; it never runs it without COMMIT).  Once committed the source never
 * runs the VM again by itself: if the destination's answer to COMMIT is
 * lost, migrate asks it again (RESOLVE, ctl/migrate/handoff.c) until it
 * knows the VM runs there, and otherwise leaves both copies paused, in
 * doubt, for `vmotionctl handoff`.  Never two running copies, and never
 * none that could be resumed.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/vmtrace.h"
#include "migrate/compat.h"
#include "migrate/handoff.h"
#include "migrate/net.h"
#include "migrate/pages.h"
#include "bitmap/dirty_set.h"
#include "migrate/sdps.h"
#include "migrate/tracker.h"
#include "migrate/wire.h"
#include "cli.h"
#include "parse.h"
#include "vm_client.h"
#include "vmm/vm.h"
#include "vmotionctl.h"

#define MAX_ITER_RECORDS	64
/* Chunks of the compacted dirty set: 64 KiB, as a netlink attribute. */
#define DIRTY_SET_CHUNK		(64 << 10)

struct iteration {
	int64_t number;
	uint64_t pages, bytes;
	double dirty_pages_per_s, tx_bytes_per_s, seconds;
	uint64_t bitmap_bytes;
	uint32_t sdps_us;	/* vCPU sleep per period during the phase */
};

struct migration {
	/* options */
	const char *control, *to, *tracker_name, *sdps_mode, *json;
	const char *dump_dirty;	/* directory for each harvest's bitmap */
	unsigned int max_stun_ms, max_iterations, timeout_s, resolve_timeout_s;

	/* the source VMM */
	struct vm_client vmm;
	bool locked, paused, committed;
	int vm_fd, mem_fd;
	uint8_t *mem;
	uint64_t mem_size, pages;
	unsigned int cpus;
	struct tracker tracker;
	struct sdps sdps;
	struct vmtrace_throttle_info stun;	/* SDPS totals at the end */
	bool stun_read;

	/* the destination */
	int fd;
	uint64_t migration_id;
	bool checkpoint_sent;	/* from here the destination may hold a copy */
	bool in_doubt;		/* committed, and the destination never said it runs */
	bool source_dead;	/* the source VMM died during the switchover */
	struct wire_stats st;
	double rtt_s, restore_s;

	/* pre-copy */
	uint64_t *bitmap, *hashes;
	struct page_batch batch;
	size_t state_bytes;
	double save_s;
	struct iteration iter[MAX_ITER_RECORDS];
	unsigned int nr_iter;

	/* the result */
	double t_start, stun_ms, predicted_stun_ms, total_ms;
	uint64_t switchover_pages;
	size_t switchover_bitmap_bytes;	/* compacted, on the wire */
	bool hash_equal, hash_checked;
	char reason[256];
};

static const struct cli_option migrate_options[] = {
	{ "control", 'C', "SOCKET", "the source VM's control socket (required)" },
	{ "to", 't', "ADDR:PORT", "where vmotionctl receive listens (required)" },
	{ "tracker", 'T', "auto|kvm|vmtrace|vmtrace-stock|vmtrace-hierarchical",
	  "how dirty pages are found (default auto: vmtrace when loaded)" },
	{ "sdps", 'S', "auto|on|off", "slow the vCPUs when the guest outruns the link (default auto)" },
	{ "max-stun", 's', "MS", "the switchover's window, 1 to 60000 ms (default 500)" },
	{ "max-iterations", 'i', "N", "pre-copy passes before giving up, 1 to 10000 (default 30)" },
	{ "timeout", 'o', "S", "roll back if pre-copy has not converged S seconds after the start, 1 to 86400 (default 300)" },
	{ "resolve-timeout", 'r', "S",
	  "ask for a lost commit answer this long, 0 to 86400 (default 60)" },
	{ "dump-dirty", 'd', "DIR", "write each pass's dirty bitmap into DIR" },
	{ "json", 'j', "FILE", "write the migration's report as JSON to FILE" },
	{ NULL },
};

static int cmd_migrate(int argc, char **argv);

const struct cli_command migrate_command = {
	.name = "migrate",
	.fn = cmd_migrate,
	.summary = "Live-migrate a running VM to a host where vmotionctl receive listens.",
	.synopsis = "--control SOCKET --to ADDR:PORT [OPTIONS]",
	.description = "Checks that the destination can run the VM, copies its memory while it "
		       "runs, then stops it for the switchover within --max-stun and resumes it "
		       "there.  Any failure before the commit leaves the VM running here; a "
		       "switchover in doubt keeps it paused on both sides until one is chosen "
		       "(vmotionctl handoff).",
	.options = migrate_options,
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Record why the migration stops; returns -1 for `return failed(...)`. */
static int failed(struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int failed(struct migration *m, const char *fmt, ...)
{
	va_list ap;

	if (m->reason[0])
		return -1;	/* the first reason is the real one */
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_migrate_opts(int argc, char **argv, struct migration *m)
{
	struct cli_parser p;
	uint64_t v;
	int c;

	cli_init(&p, &migrate_command, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'C': m->control = p.arg; break;
		case 't': m->to = p.arg; break;
		case 'T': m->tracker_name = p.arg; break;
		case 'd': m->dump_dirty = p.arg; break;
		case 'S': {
			static const char *const modes[] = { "auto", "on", "off", NULL };

			if (cli_choice(&p, modes) < 0)
				return 1;
			m->sdps_mode = p.arg;
			break;
		}
		case 'j': m->json = p.arg; break;
		case 's':
			if (parse_uint(p.arg, 1, 60000, &v))
				return cli_bad_value(&p, "milliseconds, 1 to 60000");
			m->max_stun_ms = v;
			break;
		case 'i':
			if (parse_uint(p.arg, 1, 10000, &v))
				return cli_bad_value(&p, "1 to 10000");
			m->max_iterations = v;
			break;
		case 'o':
			if (parse_uint(p.arg, 1, 86400, &v))
				return cli_bad_value(&p, "seconds, 1 to 86400");
			m->timeout_s = v;
			break;
		case 'r':
			if (parse_uint(p.arg, 0, 86400, &v))
				return cli_bad_value(&p, "seconds, 0 to 86400");
			m->resolve_timeout_s = v;
			break;
		}
	}
	if (c == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("migrate: unexpected argument \"%s\"", argv[p.optind]);
	if (!m->control || !m->to)
		return fail("migrate: --control SOCKET and --to ADDR:PORT are required");
	return 0;
}

static int vmm_req(struct migration *m, const char *req)
{
	int r = vm_client_request(&m->vmm, req, NULL);

	if (r < 0)
		return failed(m, "lost the source VMM (%s)", req);
	if (r > 0)
		return failed(m, "source VMM refused %s: %s", req, m->vmm.reply);
	return 0;
}

/* "ok LEN" + LEN bytes; malloc'ed body. */
static void *vmm_body(struct migration *m, const char *req, size_t *len,
		      size_t max)
{
	void *body;

	if (vmm_req(m, req))
		return NULL;
	*len = strtoull(m->vmm.reply + 3, NULL, 10);
	if (!*len || *len > max) {
		failed(m, "%s: a %zu-byte reply", req, *len);
		return NULL;
	}
	body = malloc(*len);
	if (!body || vm_client_read_body(&m->vmm, body, *len)) {
		free(body);
		failed(m, "%s: lost the source VMM", req);
		return NULL;
	}
	return body;
}

static unsigned long long status_field(const char *reply, const char *key)
{
	const char *p = strstr(reply, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* Lock the VM, learn its shape and map its memory. */
static int attach_source(struct migration *m)
{
	int fds[2];

	if (vm_client_connect(&m->vmm, m->control))
		return failed(m, "cannot reach the source VMM at %s", m->control);
	if (vmm_req(m, "lock"))
		return -1;
	m->locked = true;
	if (vmm_req(m, "status"))
		return -1;
	if (strstr(m->vmm.reply, "state=migrated"))
		return failed(m, "this VM was already migrated away");
	m->cpus = status_field(m->vmm.reply, "cpus=");
	m->mem_size = status_field(m->vmm.reply, "mem=");
	m->pages = m->mem_size / VM_PAGE_SIZE;
	if (!m->cpus || !m->pages)
		return failed(m, "unexpected status from the VMM: %s", m->vmm.reply);
	if (vm_client_request(&m->vmm, "get-fds", fds))
		return failed(m, "get-fds: %s", m->vmm.reply);
	m->vm_fd = fds[0];
	m->mem_fd = fds[1];
	if (m->mem_fd < 0)
		return failed(m, "get-fds: no memory fd passed");
	m->mem = mmap(NULL, m->mem_size, PROT_READ, MAP_SHARED, m->mem_fd, 0);
	if (m->mem == MAP_FAILED) {
		m->mem = NULL;
		return failed(m, "cannot map guest memory: %s", strerror(errno));
	}
	return 0;
}

/* HELLO: versions and what the destination offers, then the checks. */
static int handshake(struct migration *m, const struct kvm_cpuid2 *cpuid)
{
	struct vmotion_hello hello = { .version = htole32(VMOTION_WIRE_VERSION) };
	struct {
		struct vmotion_spec s;
		struct vmotion_cpuid e[256];
	} spec = { 0 };
	const struct vmotion_offer *o;
	struct wire_frame f;
	char err[256];
	uint32_t nent, n;
	double t0 = now_s();
	int r;

	if (wire_send(m->fd, &m->st, VMOTION_CMD_HELLO, 0, &hello, sizeof(hello)))
		return failed(m, "lost the destination: %s", strerror(errno));
	r = wire_await(m->fd, &m->st, &f, err, sizeof(err));
	if (r)
		return failed(m, "incompatible destination: %s", err);
	m->rtt_s = now_s() - t0;
	o = f.payload;
	if (f.length < sizeof(*o) ||
	    f.length != sizeof(*o) + le32toh(o->nent) * sizeof(struct vmotion_cpuid)) {
		wire_frame_free(&f);
		return failed(m, "destination sent a malformed offer");
	}
	n = compat_cpuid_to_wire(cpuid, spec.e, 256);
	if (le32toh(o->version) != VMOTION_WIRE_VERSION)
		r = snprintf(err, sizeof(err), "it speaks protocol version %u, we speak %u",
			     le32toh(o->version), VMOTION_WIRE_VERSION);
	else if (m->cpus > le32toh(o->max_cpus))
		r = snprintf(err, sizeof(err), "it runs at most %u vCPUs, the VM has %u",
			     le32toh(o->max_cpus), m->cpus);
	else if (m->mem_size > le64toh(o->max_mem))
		r = snprintf(err, sizeof(err), "it takes at most %llu MiB, the VM has %llu MiB",
			     (unsigned long long)le64toh(o->max_mem) >> 20,
			     (unsigned long long)m->mem_size >> 20);
	else if (compat_cpuid(spec.e, n, (const void *)(o + 1), le32toh(o->nent),
			      err, sizeof(err)))
		r = 1;
	else
		r = 0;
	wire_frame_free(&f);
	if (r)
		return failed(m, "incompatible destination: %s", err);
	progress("compatible: protocol %u, %u vCPUs, %llu MiB, %u CPUID leaves checked; round trip %.2f ms",
		 VMOTION_WIRE_VERSION, m->cpus,
		 (unsigned long long)m->mem_size >> 20, n, m->rtt_s * 1e3);

	nent = n;
	spec.s.version = htole32(VMOTION_WIRE_VERSION);
	spec.s.nr_cpus = htole32(m->cpus);
	spec.s.mem_size = htole64(m->mem_size);
	spec.s.backing = htole32(VM_BACKING_4K);
	spec.s.nent = htole32(nent);
	spec.s.migration_id = htole64(m->migration_id);
	gethostname(spec.s.source, sizeof(spec.s.source) - 1);
	if (wire_send(m->fd, &m->st, VMOTION_CMD_SPEC, 0, &spec,
		      sizeof(spec.s) + nent * sizeof(spec.e[0])))
		return failed(m, "lost the destination: %s", strerror(errno));
	r = wire_await(m->fd, &m->st, &f, err, sizeof(err));
	if (r)
		return failed(m, "prepare failed: %s", err);
	wire_frame_free(&f);
	progress("prepared: the destination created the VM, masked");
	return 0;
}

/*
 * The fixed costs of a switchover, measured on this VM before pre-copy:
 * one short pause to time a state save and learn the checkpoint's size.
 */
static int calibrate(struct migration *m)
{
	double t0 = now_s();
	size_t len;
	void *blob;

	if (vmm_req(m, "pause"))
		return -1;
	m->paused = true;
	blob = vmm_body(m, "save-state", &len, 64 << 20);
	if (vmm_req(m, "resume"))
		return -1;
	m->paused = false;
	if (!blob)
		return -1;
	free(blob);
	m->state_bytes = len;
	m->save_s = now_s() - t0;
	progress("fixed costs: checkpoint %zu bytes, pause+save+resume %.2f ms",
		 len, m->save_s * 1e3);
	return 0;
}

/* Pages holding data in the memfd; holes were never touched by anyone. */
static void mask_populated(struct migration *m, uint64_t *bitmap)
{
	uint64_t words = tracker_bitmap_bytes(m->pages) / 8, pfn, end;
	uint64_t *pop = calloc(words, 8);
	off_t off = 0, data, hole;

	if (!pop)
		return;		/* send everything; still correct */
	while (off < (off_t)m->mem_size) {
		data = lseek(m->mem_fd, off, SEEK_DATA);
		if (data < 0)
			break;
		hole = lseek(m->mem_fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = m->mem_size;
		end = ((uint64_t)hole + VM_PAGE_SIZE - 1) / VM_PAGE_SIZE;
		for (pfn = data / VM_PAGE_SIZE; pfn < end && pfn < m->pages; pfn++)
			pop[pfn / 64] |= 1ULL << (pfn % 64);
		off = hole;
	}
	if (off == 0 && errno != ENXIO) {
		free(pop);
		return;		/* no SEEK_DATA here: send everything */
	}
	for (pfn = 0; pfn < words; pfn++)
		bitmap[pfn] &= pop[pfn];
	free(pop);
}

static int send_bitmap_pages(struct migration *m, const uint64_t *bitmap,
			     bool first)
{
	uint64_t w, words = tracker_bitmap_bytes(m->pages) / 8;

	for (w = 0; w < words; w++) {
		uint64_t bits = bitmap[w];

		while (bits) {
			uint64_t pfn = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if (page_batch_add(&m->batch, m->mem, pfn, m->hashes,
					   first))
				return failed(m, "lost the destination: %s",
					      strerror(errno));
		}
	}
	if (page_batch_flush(&m->batch))
		return failed(m, "lost the destination: %s", strerror(errno));
	return 0;
}

/* Wait for the destination's OK to @what; the frame in @f. */
static int await_ok(struct migration *m, struct wire_frame *f,
		    const char *what)
{
	char err[256];
	int r = wire_await(m->fd, &m->st, f, err, sizeof(err));

	if (r < 0)
		return failed(m, "lost the destination at %s: %s", what, err);
	if (r > 0)
		return failed(m, "%s", err);
	return 0;
}

static int end_iteration(struct migration *m, int64_t number)
{
	struct wire_frame f;

	if (wire_send(m->fd, &m->st, VMOTION_CMD_ITER_END, (uint64_t)number,
		      NULL, 0))
		return failed(m, "lost the destination: %s", strerror(errno));
	if (await_ok(m, &f, "the end of a phase"))
		return -1;
	wire_frame_free(&f);
	return 0;
}

/*
 * --dump-dirty: a harvest's raw bitmap (little-endian 64-bit words, bit N
 * = page N) as DIR/phaseN.bin, to study real dirty sets (the bitmap
 * benchmark reads such captures).
 */
static void dump_dirty(struct migration *m, int64_t number)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/phase%lld.bin", m->dump_dirty,
		 (long long)number);
	f = fopen(path, "w");
	if (!f || fwrite(m->bitmap, tracker_bitmap_bytes(m->pages), 1, f) != 1)
		fail("--dump-dirty %s: %s", path, strerror(errno));
	if (f)
		fclose(f);
}

/*
 * The compacted encoding of a dirty set (the format of vmtrace_bitmap.h):
 * malloc'ed into *@out, its length, or -1.
 */
static ssize_t encode_dirty_set(struct migration *m, const uint64_t *bitmap,
				void **out)
{
	struct vmtrace_bitmap_src src = {
		.bitmap = (const unsigned long *)bitmap,
		.first_page = 0,
		.npages = m->pages,
	};
	size_t bound = dirty_set_encode_bound(m->pages, DIRTY_SET_CHUNK);
	void *buf = malloc(bound);
	ssize_t n;

	if (!buf)
		return -1;
	n = dirty_set_encode(&src, DIRTY_SET_CHUNK, buf, bound);
	if (n < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return n;
}

/* The stun a switchover now would cost, in seconds. */
static double predict_stun(struct migration *m, uint64_t pages_left,
			   double tx_rate)
{
	double bytes = pages_left * (double)(VMOTION_PAGE_SIZE + 8) +
		       m->state_bytes;

	return bytes / tx_rate + m->save_s + m->restore_s + 2 * m->rtt_s;
}

static int precopy(struct migration *m)
{
	double last_harvest = now_s(), deadline = m->t_start + m->timeout_s;
	double tx_rate = 0;
	int64_t number = -1, n;

	for (;;) {
		struct iteration *it;
		uint64_t sent0 = m->st.bytes_sent;
		double t0, t1, dirty_rate;
		size_t compact_bytes;

		if (interrupted)
			return failed(m, "interrupted");
		t0 = now_s();
		n = tracker_harvest(&m->tracker, m->bitmap);
		if (n < 0)
			return failed(m, "dirty-page harvest failed");
		dirty_rate = number < 0 ? 0 : n / (t0 - last_harvest);
		if (m->dump_dirty && number >= 0)
			dump_dirty(m, number);
		last_harvest = t0;
		if (number >= 0) {
			double predicted = predict_stun(m, n, tx_rate);

			progress("convergence: %lld pages left, dirty %.0f pages/s, transmit %.1f MiB/s, predicted stun %.1f ms (window %u ms)",
				 (long long)n, dirty_rate, tx_rate / (1 << 20),
				 predicted * 1e3, m->max_stun_ms);
			if (predicted * 1e3 <= m->max_stun_ms) {
				m->predicted_stun_ms = predicted * 1e3;
				return 0;
			}
			if (number + 1 >= (int64_t)m->max_iterations)
				return failed(m, "did not converge after %u iterations: dirty rate %.0f pages/s against a transmit rate of %.0f pages/s",
					      m->max_iterations, dirty_rate,
					      tx_rate / VMOTION_PAGE_SIZE);
			if (now_s() > deadline)
				return failed(m, "timed out after %u s in pre-copy",
					      m->timeout_s);
			/* SDPS: size the vCPU sleeps for the next phase. */
			if (sdps_active(&m->sdps)) {
				int64_t us = sdps_update(&m->sdps, dirty_rate,
							 tx_rate / VMOTION_PAGE_SIZE);

				if (us < 0)
					return failed(m, "SDPS failed");
				progress("SDPS: vCPUs sleep %lld us per %u us of running",
					 (long long)us, m->sdps.period_us);
			}
		} else {
			mask_populated(m, m->bitmap);
			n = 0;
			for (uint64_t w = 0; w < tracker_bitmap_bytes(m->pages) / 8; w++)
				n += __builtin_popcountll(m->bitmap[w]);
		}
		/* What this phase's set costs in the compacted format. */
		{
			void *enc = NULL;
			ssize_t len = encode_dirty_set(m, m->bitmap, &enc);

			compact_bytes = len < 0 ? 0 : len;
			free(enc);
		}
		if (send_bitmap_pages(m, m->bitmap, number < 0) ||
		    end_iteration(m, number))
			return -1;
		t1 = now_s();
		tx_rate = (m->st.bytes_sent - sent0) / (t1 - t0);
		if (m->nr_iter < MAX_ITER_RECORDS) {
			it = &m->iter[m->nr_iter++];
			*it = (struct iteration) {
				.number = number, .pages = n,
				.bytes = m->st.bytes_sent - sent0,
				.dirty_pages_per_s = dirty_rate,
				.tx_bytes_per_s = tx_rate,
				.seconds = t1 - t0,
				.bitmap_bytes = compact_bytes,
				.sdps_us = m->sdps.sleep_us,
			};
		}
		progress("phase %lld: %lld pages, %.1f MiB in %.2f s (%.1f MiB/s)",
			 (long long)number, (long long)n,
			 (m->st.bytes_sent - sent0) / 1048576.0, t1 - t0,
			 tx_rate / (1 << 20));
		/* A tiny phase measures latency, not bandwidth: keep a floor. */
		if (tx_rate < 1e6)
			tx_rate = 1e6;
		number++;
	}
}

/*
 * The VMM's control socket no longer answers: the process is gone (a
 * live VMM always listens on it; one that exits removes it).
 */
static bool source_vmm_dead(struct migration *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool dead;

	if (fd < 0 || strlen(m->control) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;	/* cannot tell: assume alive */
	}
	strcpy(sa.sun_path, m->control);
	dead = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	       (errno == ECONNREFUSED || errno == ENOENT);
	close(fd);
	return dead;
}

/*
 * Committed, the answer lost: ask the destination until it says the VM
 * runs there (then this copy quits, as after any migration), or until
 * --resolve-timeout; then both sides keep the VM paused, in doubt.
 */
static int resolve_committed(struct migration *m)
{
	double deadline = now_s() + m->resolve_timeout_s;
	char err[256] = "";
	int state = -1, tries = 0;

	do {
		if (tries++)
			sleep(1);
		state = handoff_resolve(m->to, m->migration_id, HANDOFF_COMMIT,
					5, err, sizeof(err));
		if (state == VMOTION_HANDOFF_RUNNING) {
			progress("resolved: the VM runs at the destination (asked %d time%s)",
				 tries, tries > 1 ? "s" : "");
			return 0;
		}
		if (state == VMOTION_HANDOFF_UNKNOWN)
			break;	/* it holds nothing: asking again will not help */
	} while (now_s() < deadline && !interrupted);
	m->in_doubt = true;
	if (m->source_dead)
		return failed(m, "in doubt: the source VMM died and the destination %s %s; its copy, if it holds one, is the only one: vmotionctl handoff --control PATH --force-resume on the destination runs it",
			      m->to, state == VMOTION_HANDOFF_UNKNOWN ?
			      "does not hold it" : "could not be reached");
	return failed(m, "in doubt: committed migration %016llx, and the destination %s %s; the VM stays paused here, and there it may be paused or running. Settle it with: vmotionctl handoff --control %s --resolve %s",
		      (unsigned long long)m->migration_id, m->to,
		      state == VMOTION_HANDOFF_UNKNOWN ?
		      "does not hold it (restarted or discarded?)" :
		      "could not be reached",
		      m->control, m->to);
}

/* Pause, last pages, checkpoint, commit.  Sets m->committed. */
static int switchover(struct migration *m)
{
	const struct vmotion_restored *res;
	struct wire_frame f;
	double t0 = now_s();
	char err[256];
	size_t len;
	void *blob;
	int64_t n;
	uint64_t src_hash, words = tracker_bitmap_bytes(m->pages) / 8, w;
	int r;

	/* A sleeping vCPU would only delay the pause: lift SDPS first. */
	if (sdps_active(&m->sdps)) {
		if (sdps_stop(&m->sdps, &m->stun))
			return failed(m, "SDPS: cannot lift the throttle");
		m->stun_read = true;
	}
	progress("switchover: pausing the source");
	if (vmm_req(m, "pause"))
		return -1;
	m->paused = true;
	/* The pages harvested at the convergence check are still in m->bitmap. */
	{
		uint64_t *more = calloc(words, 8);

		if (!more)
			return failed(m, "out of memory");
		n = tracker_harvest(&m->tracker, more);
		for (w = 0; w < words && n >= 0; w++)
			m->bitmap[w] |= more[w];
		free(more);
		if (n < 0)
			return failed(m, "dirty-page harvest failed");
	}
	for (w = 0; w < words; w++)
		m->switchover_pages += __builtin_popcountll(m->bitmap[w]);
	/*
	 * The set still to come, compacted, ahead of its pages: the
	 * destination refuses the checkpoint until every one has arrived.
	 */
	{
		void *enc = NULL;
		ssize_t len = encode_dirty_set(m, m->bitmap, &enc);

		if (len < 0 || (size_t)len > VMOTION_MAX_PAYLOAD) {
			free(enc);
			return failed(m, "cannot encode the switchover's dirty set");
		}
		m->switchover_bitmap_bytes = len;
		r = wire_send(m->fd, &m->st, VMOTION_CMD_DIRTY_SET,
			      m->switchover_pages, enc, len);
		free(enc);
		if (r)
			return failed(m, "lost the destination: %s",
				      strerror(errno));
	}
	if (send_bitmap_pages(m, m->bitmap, false))
		return -1;
	blob = vmm_body(m, "save-state", &len, 64 << 20);
	if (!blob)
		return -1;
	m->checkpoint_sent = true;
	r = wire_send(m->fd, &m->st, VMOTION_CMD_CHECKPOINT, 0, blob, len);
	free(blob);
	if (r)
		return failed(m, "lost the destination: %s", strerror(errno));
	if (await_ok(m, &f, "the checkpoint"))
		return -1;
	res = f.payload;
	if (f.length != sizeof(*res)) {
		wire_frame_free(&f);
		return failed(m, "destination sent a malformed restore reply");
	}
	src_hash = page_hashes_fold(m->hashes, m->pages);
	m->hash_equal = le64toh(res->memory_hash) == src_hash;
	m->restore_s = le64toh(res->restore_us) / 1e6;
	wire_frame_free(&f);
	if (!m->hash_equal)
		return failed(m, "memory hash mismatch at switchover (source %016llx, destination %016llx)",
			      (unsigned long long)src_hash,
			      (unsigned long long)le64toh(res->memory_hash));

	/*
	 * The point of no return: from here the source never runs the VM by
	 * itself.  The VMM records which migration it was committed to, for
	 * an operator who must settle a doubt by hand.
	 */
	snprintf(err, sizeof(err), "commit %016llx %s",
		 (unsigned long long)m->migration_id, m->to);
	if (vmm_req(m, err)) {
		/*
		 * A VMM that is merely disconnected resumes its VM, so then
		 * the destination's copy must go.  One that died took the
		 * source copy with it: the destination holds the only one,
		 * verified just now -- commit it there rather than lose it.
		 */
		if (!source_vmm_dead(m))
			return -1;
		progress("the source VMM died after the destination restored a verified copy: committing it there");
		m->source_dead = true;
		m->reason[0] = '\0';
	}
	m->committed = true;
	err[0] = '\0';
	r = wire_send(m->fd, &m->st, VMOTION_CMD_COMMIT, 0, NULL, 0);
	if (r)
		snprintf(err, sizeof(err), "%s", strerror(errno));
	else
		r = wire_await(m->fd, &m->st, &f, err, sizeof(err));
	if (r) {
		progress("committed, but the destination's answer to COMMIT was lost (%s): asking it again",
			 err);
		if (resolve_committed(m))
			return -1;
	} else {
		wire_frame_free(&f);
	}
	m->stun_ms = (now_s() - t0) * 1e3;
	progress("switchover done: stun %.1f ms (predicted %.1f ms), restore %.2f ms",
		 m->stun_ms, m->predicted_stun_ms, m->restore_s * 1e3);
	return 0;
}

/*
 * After the commit the source memory is frozen: hash all of it, holes as
 * zero pages, and compare with what the destination hashed on receipt.
 * This catches a page the tracker missed, which the switchover check of
 * sent-versus-received hashes cannot.
 */
static void verify_source_memory(struct migration *m)
{
	uint64_t *h = page_hashes_new(m->pages), pfn;
	uint64_t words = tracker_bitmap_bytes(m->pages) / 8;
	uint64_t *all = malloc(words * 8);

	if (!h || !all)
		goto out;
	memset(all, 0xff, words * 8);
	mask_populated(m, all);
	for (pfn = 0; pfn < m->pages; pfn++)
		if (all[pfn / 64] & (1ULL << (pfn % 64)))
			h[pfn] = page_hash(m->mem + pfn * VM_PAGE_SIZE);
	m->hash_checked = true;
	if (page_hashes_fold(h, m->pages) != page_hashes_fold(m->hashes, m->pages)) {
		m->hash_equal = false;
		progress("error: the source memory differs from what was sent: a write was not tracked");
	}
out:
	free(h);
	free(all);
}

/*
 * A destination that restored the checkpoint keeps its copy paused until
 * told: tell it, on a new connection if the first one is gone.  Only
 * tidiness -- it never runs the VM without COMMIT -- so a few tries.
 */
static void abort_destination_copy(struct migration *m)
{
	char err[256];
	int i, state = -1;

	for (i = 0; i < 5 && state != VMOTION_HANDOFF_UNKNOWN; i++) {
		if (i)
			sleep(1);
		state = handoff_resolve(m->to, m->migration_id, HANDOFF_ABORT,
					3, err, sizeof(err));
	}
	if (state == VMOTION_HANDOFF_RUNNING)
		progress("error: the destination runs migration %016llx although it was never committed (forced there?)",
			 (unsigned long long)m->migration_id);
	else if (state != VMOTION_HANDOFF_UNKNOWN)
		progress("the destination may still hold a paused copy of migration %016llx (%s); it never runs without a commit: vmotionctl handoff --control PATH --discard on the destination drops it",
			 (unsigned long long)m->migration_id, err);
}

static void rollback(struct migration *m)
{
	if (m->fd >= 0)
		wire_send(m->fd, NULL, VMOTION_CMD_ABORT, 0, m->reason,
			  strlen(m->reason));
	if (m->vmm.fd >= 0) {
		if (sdps_active(&m->sdps) && !sdps_stop(&m->sdps, &m->stun))
			m->stun_read = true;
		sdps_close(&m->sdps);
		tracker_stop(&m->tracker);
		if (m->paused && !vm_client_request(&m->vmm, "resume", NULL))
			m->paused = false;
		if (m->locked && !vm_client_request(&m->vmm, "unlock", NULL))
			m->locked = false;
	}
	/*
	 * The VM runs here again; now the destination's copy may go -- unless
	 * the source VMM died, when that copy may be the only one left.
	 */
	if (m->checkpoint_sent && source_vmm_dead(m))
		progress("the source VMM is gone: the destination's copy of migration %016llx, if it holds one, may be the only one left; it stays paused there (vmotionctl handoff --control PATH on the destination: --force-resume runs it)",
			 (unsigned long long)m->migration_id);
	else if (m->checkpoint_sent)
		abort_destination_copy(m);
}

/*
 * After a failure: did the source VM itself stop (a guest triple fault,
 * say)?  Its VMM says why on the control connection before it closes.
 */
static void check_source_vm(struct migration *m)
{
	char why[200];

	/* Committed: the reason that matters is the handoff's. */
	if (m->committed || m->vmm.fd < 0 ||
	    !vm_client_gone(&m->vmm, why, sizeof(why)))
		return;
	/* This is the real reason; whatever failed next only followed it. */
	snprintf(m->reason, sizeof(m->reason), "the source VM stopped: %s", why);
}

static void write_json(struct migration *m, const char *result)
{
	FILE *f = fopen(m->json, "w");
	unsigned int i;

	if (!f) {
		fail("--json %s: %s", m->json, strerror(errno));
		return;
	}
	fprintf(f, "{\n  \"result\": \"%s\",\n", result);
	if (m->reason[0]) {
		fputs("  \"reason\": \"", f);
		for (i = 0; m->reason[i]; i++) {
			if (m->reason[i] == '"' || m->reason[i] == '\\')
				fputc('\\', f);
			if ((unsigned char)m->reason[i] >= 0x20)
				fputc(m->reason[i], f);
		}
		fputs("\",\n", f);
	}
	fprintf(f, "  \"tracker\": \"%s\",\n",
		m->tracker.ops ? m->tracker.ops->name : "none");
	if (m->tracker.ops == &tracker_vmtrace_ops)
		fprintf(f, "  \"vmtrace_mode\": \"%s\",\n",
			m->tracker.vmtrace_mode == VMTRACE_MODE_HIERARCHICAL ?
			"hierarchical" : "stock");
	fprintf(f, "  \"total_ms\": %.1f,\n  \"stun_ms\": %.1f,\n"
		"  \"predicted_stun_ms\": %.1f,\n  \"max_stun_ms\": %u,\n"
		"  \"bytes_sent\": %llu,\n  \"memory_hash_equal\": %s,\n"
		"  \"source_memory_verified\": %s,\n"
		"  \"zero_pages\": %llu,\n  \"data_pages\": %llu,\n"
		"  \"state_bytes\": %zu,\n  \"rtt_ms\": %.3f,\n"
		"  \"switchover_pages\": %llu,\n"
		"  \"switchover_bitmap_bytes\": %zu,\n"
		"  \"iterations\": [",
		m->total_ms, m->stun_ms, m->predicted_stun_ms, m->max_stun_ms,
		(unsigned long long)m->st.bytes_sent,
		m->hash_equal && m->committed ? "true" : "false",
		m->hash_checked ? "true" : "false",
		(unsigned long long)m->batch.zero_pages,
		(unsigned long long)m->batch.data_pages, m->state_bytes,
		m->rtt_s * 1e3, (unsigned long long)m->switchover_pages,
		m->switchover_bitmap_bytes);
	for (i = 0; i < m->nr_iter; i++)
		fprintf(f, "%s\n    { \"phase\": %lld, \"pages\": %llu, \"bytes\": %llu, \"seconds\": %.3f, \"dirty_pages_per_s\": %.0f, \"tx_bytes_per_s\": %.0f, \"bitmap_bytes\": %llu, \"sdps_us\": %u }",
			i ? "," : "", (long long)m->iter[i].number,
			(unsigned long long)m->iter[i].pages,
			(unsigned long long)m->iter[i].bytes,
			m->iter[i].seconds, m->iter[i].dirty_pages_per_s,
			m->iter[i].tx_bytes_per_s,
			(unsigned long long)m->iter[i].bitmap_bytes,
			m->iter[i].sdps_us);
	fprintf(f, "%s],\n", m->nr_iter ? "\n  " : "");
	/* SDPS: what each vCPU slept in all, as vmtrace counted it. */
	fprintf(f, "  \"sdps\": %s,\n  \"sdps_stun_ms_per_vcpu\": [",
		m->stun_read ? "true" : "false");
	for (i = 0; m->stun_read && i < m->stun.nr_vcpus; i++)
		fprintf(f, "%s%.3f", i ? ", " : "",
			m->stun.vcpus[i].stun_ns / 1e6);
	fprintf(f, "]\n}\n");
	fclose(f);
}

/*
 * SDPS goes through vmtrace whatever the tracker: with KVM's dirty log an
 * own session, attached before the tracker starts (@before); with the
 * vmtrace tracker its session, once started.
 */
static int setup_sdps(struct migration *m, bool before)
{
	bool vmtrace = m->tracker.ops == &tracker_vmtrace_ops;
	bool want = !strcmp(m->sdps_mode, "on") ||
		    (!strcmp(m->sdps_mode, "auto") &&
		     (vmtrace || tracker_vmtrace_available(NULL)));

	if (!want || before == vmtrace)
		return 0;
	if (vmtrace ? sdps_share(&m->sdps, &m->tracker) :
		      sdps_attach(&m->sdps, m->vm_fd))
		return failed(m, "SDPS needs vmtrace.ko (or --sdps off)");
	return 0;
}

static int migrate(struct migration *m)
{
	struct kvm_cpuid2 *cpuid;
	size_t len;

	if (attach_source(m))
		return -1;
	cpuid = vmm_body(m, "get-cpuid", &len, 1 << 20);
	if (!cpuid)
		return -1;
	if (len < sizeof(*cpuid) ||
	    len != sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0])) {
		free(cpuid);
		return failed(m, "get-cpuid: malformed reply");
	}
	m->fd = net_connect("--to", m->to, 10);
	if (m->fd < 0) {
		free(cpuid);
		return failed(m, "cannot connect to %s", m->to);
	}
	net_set_timeout(m->fd, 15);
	if (handshake(m, cpuid)) {
		free(cpuid);
		return -1;
	}
	free(cpuid);
	m->bitmap = malloc(tracker_bitmap_bytes(m->pages));
	m->hashes = page_hashes_new(m->pages);
	if (!m->bitmap || !m->hashes ||
	    page_batch_init(&m->batch, m->fd, &m->st))
		return failed(m, "out of memory");
	if (calibrate(m))
		return -1;
	if (tracker_init(&m->tracker, m->tracker_name, &m->vmm, m->vm_fd,
			 m->pages))
		return failed(m, "no dirty-page tracker");
	if (setup_sdps(m, true))
		return -1;
	if (tracker_start(&m->tracker))
		return failed(m, "cannot start the %s tracker",
			      m->tracker.ops->name);
	if (setup_sdps(m, false))
		return -1;
	progress("tracking with %s; pre-copy; SDPS %s", m->tracker.ops->name,
		 sdps_active(&m->sdps) ? "ready" : "off");
	if (precopy(m) || switchover(m))
		return -1;
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	struct migration m = {
		.tracker_name = "auto",
		.sdps_mode = "auto",
		.max_stun_ms = 500,
		.max_iterations = 30,
		.timeout_s = 300,
		.resolve_timeout_s = 60,
		.fd = -1, .vm_fd = -1, .mem_fd = -1,
	};
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	const char *result;
	int ret;

	m.vmm.fd = -1;
	if (parse_migrate_opts(argc, argv, &m))
		return 1;
	if (getrandom(&m.migration_id, sizeof(m.migration_id), 0) !=
	    sizeof(m.migration_id))
		return fail("getrandom: %s", strerror(errno));
	m.migration_id |= 1;	/* never 0, which names no migration */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	m.t_start = now_s();
	ret = migrate(&m);
	if (ret)
		check_source_vm(&m);
	if (ret && !m.committed) {
		rollback(&m);
		result = "rolled-back";
		fail("migration failed, rolled back: %s", m.reason);
	} else if (ret) {
		result = "in-doubt";
		fail("%s", m.reason);
	} else {
		verify_source_memory(&m);
		/* The destination runs the VM: this copy has no future. */
		if (!m.source_dead && vm_client_request(&m.vmm, "quit", NULL))
			fail("source VMM did not quit: %s", m.vmm.reply);
		result = m.hash_equal ? "ok" : "memory-mismatch";
		if (!m.hash_equal)
			ret = -1;
	}
	m.total_ms = (now_s() - m.t_start) * 1e3;
	if (!ret)
		progress("done in %.0f ms, stun %.1f ms, %llu bytes sent, memory hashes equal",
			 m.total_ms, m.stun_ms,
			 (unsigned long long)m.st.bytes_sent);
	if (m.json)
		write_json(&m, result);
	sdps_close(&m.sdps);
	page_batch_free(&m.batch);
	free(m.bitmap);
	free(m.hashes);
	if (m.mem)
		munmap(m.mem, m.mem_size);
	if (m.fd >= 0)
		close(m.fd);
	if (m.vm_fd >= 0)
		close(m.vm_fd);
	if (m.mem_fd >= 0)
		close(m.mem_fd);
	vm_client_close(&m.vmm);
	return ret ? 1 : 0;
}
