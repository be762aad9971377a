// SPDX-License-Identifier: GPL-2.0
/*
 * The source's orchestration (source.h): attach to the VMM, check the
 * destination and send the spec, measure the switchover's fixed costs,
 * start tracking, then pre-copy and switchover; on any failure before the
 * commit, roll back so that the VM runs here again, unlocked and untraced.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/vm.h"
#include "../vmotionctl.h"
#include "compat.h"
#include "net.h"
#include "source.h"

double mig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void mig_progress(const char *fmt, ...)
{
	va_list ap;

	fputs("migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mig_failed(struct migration *m, const char *fmt, ...)
{
	va_list ap;

	if (m->reason[0])
		return -1;	/* the first reason is the real one */
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	return -1;
}

int mig_vmm_req(struct migration *m, const char *req)
{
	int r = vm_client_request(&m->vmm, req, NULL);

	if (r < 0)
		return mig_failed(m, "lost the source VMM (%s)", req);
	if (r > 0)
		return mig_failed(m, "source VMM refused %s: %s", req, m->vmm.reply);
	return 0;
}

void *mig_vmm_body(struct migration *m, const char *req, size_t *len,
		   size_t max)
{
	char why[160];
	void *body;
	int r = vm_client_body(&m->vmm, req, &body, len, max, false, why,
			       sizeof(why));

	if (r < 0)
		mig_failed(m, "%s: lost the source VMM", req);
	else if (r && !strncmp(m->vmm.reply, "error", 5))
		mig_failed(m, "source VMM refused %s: %s", req, m->vmm.reply);
	else if (r)
		mig_failed(m, "%s", why);
	return r ? NULL : body;
}

/* Lock the VM, learn its shape and map its memory. */
static int attach_source(struct migration *m)
{
	struct vm_status st;
	int fds[2], r;

	if (vm_client_connect(&m->vmm, m->control))
		return mig_failed(m, "cannot reach the source VMM at %s", m->control);
	if (mig_vmm_req(m, "lock"))
		return -1;
	m->locked = true;
	r = vm_client_status(&m->vmm, &st);
	if (r < 0)
		return mig_failed(m, "lost the source VMM (status)");
	if (r)
		return mig_failed(m, "unexpected status from the VMM: %s", m->vmm.reply);
	if (!strcmp(st.state, "migrated"))
		return mig_failed(m, "this VM was already migrated away");
	m->cpus = st.cpus;
	m->mem_size = st.mem;
	m->pages = m->mem_size / VM_PAGE_SIZE;
	if (!m->pages || m->mem_size % VM_PAGE_SIZE)
		return mig_failed(m, "unexpected status from the VMM: %s", m->vmm.reply);
	if (vm_client_request(&m->vmm, "get-fds", fds))
		return mig_failed(m, "get-fds: %s", m->vmm.reply);
	m->vm_fd = fds[0];
	m->mem_fd = fds[1];
	if (m->mem_fd < 0)
		return mig_failed(m, "get-fds: no memory fd passed");
	m->mem = mmap(NULL, m->mem_size, PROT_READ, MAP_SHARED, m->mem_fd, 0);
	if (m->mem == MAP_FAILED) {
		m->mem = NULL;
		return mig_failed(m, "cannot map guest memory: %s", strerror(errno));
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
	double t0 = mig_now();
	int r;

	if (wire_send(m->fd, &m->st, VMOTION_CMD_HELLO, 0, &hello, sizeof(hello)))
		return mig_failed(m, "lost the destination: %s", strerror(errno));
	r = wire_await(m->fd, &m->st, &f, err, sizeof(err));
	if (r)
		return mig_failed(m, "incompatible destination: %s", err);
	m->rtt_s = mig_now() - t0;
	o = f.payload;
	if (f.length < sizeof(*o) ||
	    f.length != sizeof(*o) + le32toh(o->nent) * sizeof(struct vmotion_cpuid)) {
		wire_frame_free(&f);
		return mig_failed(m, "destination sent a malformed offer");
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
		return mig_failed(m, "incompatible destination: %s", err);
	mig_progress("compatible: protocol %u, %u vCPUs, %llu MiB, %u CPUID leaves checked; round trip %.2f ms",
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
		return mig_failed(m, "lost the destination: %s", strerror(errno));
	r = wire_await(m->fd, &m->st, &f, err, sizeof(err));
	if (r)
		return mig_failed(m, "prepare failed: %s", err);
	wire_frame_free(&f);
	mig_progress("prepared: the destination created the VM, masked");
	return 0;
}

/*
 * The fixed costs of a switchover, measured on this VM before pre-copy:
 * one short pause to time a state save and learn the checkpoint's size.
 */
static int calibrate(struct migration *m)
{
	double t0 = mig_now();
	size_t len;
	void *blob;

	if (mig_vmm_req(m, "pause"))
		return -1;
	m->paused = true;
	blob = mig_vmm_body(m, "save-state", &len, 64 << 20);
	if (mig_vmm_req(m, "resume"))
		return -1;
	m->paused = false;
	if (!blob)
		return -1;
	free(blob);
	m->state_bytes = len;
	m->save_s = mig_now() - t0;
	mig_progress("fixed costs: checkpoint %zu bytes, pause+save+resume %.2f ms",
		 len, m->save_s * 1e3);
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
	mig_mask_populated(m, all);
	for (pfn = 0; pfn < m->pages; pfn++)
		if (all[pfn / 64] & (1ULL << (pfn % 64)))
			h[pfn] = page_hash(m->mem + pfn * VM_PAGE_SIZE);
	m->hash_checked = true;
	if (page_hashes_fold(h, m->pages) != page_hashes_fold(m->hashes, m->pages)) {
		m->hash_equal = false;
		mig_progress("error: the source memory differs from what was sent: a write was not tracked");
	}
out:
	free(h);
	free(all);
}

static void rollback(struct migration *m)
{
	if (m->fd >= 0)
		wire_send(m->fd, NULL, VMOTION_CMD_ABORT, 0, m->reason,
			  strlen(m->reason));
	if (m->vmm.fd >= 0) {
		if (sdps_active(&m->sdps) && !sdps_stop(&m->sdps, &m->sdps_sleep))
			m->sleep_read = true;
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
	if (m->checkpoint_sent && mig_source_vmm_dead(m))
		mig_progress("the source VMM is gone: the destination's copy of migration %016llx, if it holds one, may be the only one left; it stays paused there (vmotionctl handoff --control PATH on the destination: --force-resume runs it)",
			 (unsigned long long)m->migration_id);
	else if (m->checkpoint_sent)
		mig_abort_destination_copy(m);
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
		return mig_failed(m, "SDPS needs vmtrace.ko (or --sdps off)");
	return 0;
}

static int migrate(struct migration *m)
{
	struct kvm_cpuid2 *cpuid;
	size_t len;

	if (attach_source(m))
		return -1;
	cpuid = mig_vmm_body(m, "get-cpuid", &len, 1 << 20);
	if (!cpuid)
		return -1;
	if (len < sizeof(*cpuid) ||
	    len != sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0])) {
		free(cpuid);
		return mig_failed(m, "get-cpuid: malformed reply");
	}
	m->fd = net_connect("--to", m->to, 10);
	if (m->fd < 0) {
		free(cpuid);
		return mig_failed(m, "cannot connect to %s", m->to);
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
		return mig_failed(m, "out of memory");
	{
		char err[128];

		if (compressor_init(&m->comp, m->compress, err, sizeof(err)))
			return mig_failed(m, "--compress %s", err);
		if (m->comp.mode != COMPRESS_NONE)
			m->batch.comp = &m->comp;
	}
	if (calibrate(m))
		return -1;
	if (tracker_init(&m->tracker, m->tracker_name, &m->vmm, m->vm_fd,
			 m->pages))
		return mig_failed(m, "no dirty-page tracker");
	if (setup_sdps(m, true))
		return -1;
	if (tracker_start(&m->tracker))
		return mig_failed(m, "cannot start the %s tracker",
			      m->tracker.ops->name);
	if (setup_sdps(m, false))
		return -1;
	mig_progress("tracking with %s; pre-copy; SDPS %s", m->tracker.ops->name,
		 sdps_active(&m->sdps) ? "ready" : "off");
	if (mig_precopy(m) || mig_switchover(m))
		return -1;
	return 0;
}

volatile sig_atomic_t migration_interrupted;

void migration_init(struct migration *m)
{
	*m = (struct migration){
		.tracker_name = "auto",
		.sdps_mode = "auto",
		.compress = "auto",
		.max_stun_ms = 500,
		.max_iterations = 30,
		.timeout_s = 300,
		.resolve_timeout_s = 60,
		.fd = -1, .vm_fd = -1, .mem_fd = -1,
	};
	m->vmm.fd = -1;
}

int migration_run(struct migration *m)
{
	int ret;

	if (getrandom(&m->migration_id, sizeof(m->migration_id), 0) !=
	    sizeof(m->migration_id)) {
		m->result = "rolled-back";
		return fail("getrandom: %s", strerror(errno)), -1;
	}
	m->migration_id |= 1;	/* never 0, which names no migration */
	m->t_start = mig_now();
	ret = migrate(m);
	if (ret)
		check_source_vm(m);
	if (ret && !m->committed) {
		rollback(m);
		m->result = "rolled-back";
		fail("migration failed, rolled back: %s", m->reason);
	} else if (ret) {
		m->result = "in-doubt";
		fail("%s", m->reason);
	} else {
		verify_source_memory(m);
		/* The destination runs the VM: this copy has no future. */
		if (!m->source_dead && vm_client_request(&m->vmm, "quit", NULL))
			fail("source VMM did not quit: %s", m->vmm.reply);
		m->result = m->hash_equal ? "ok" : "memory-mismatch";
		if (!m->hash_equal)
			ret = -1;
	}
	m->total_ms = (mig_now() - m->t_start) * 1e3;
	{
		struct rusage ru;

		if (!getrusage(RUSAGE_SELF, &ru))
			m->src_cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	if (!ret)
		mig_progress("done in %.0f ms, stun %.1f ms, %llu bytes sent, memory hashes equal; CPU per GiB of guest memory %.2f s here, %.2f s at the destination",
			     m->total_ms, m->stun_ms,
			     (unsigned long long)m->st.bytes_sent,
			     m->src_cpu_s / ((double)m->mem_size / (1 << 30)),
			     m->dst_cpu_s / ((double)m->mem_size / (1 << 30)));
	if (m->json)
		mig_report_write(m, m->result);
	return ret ? -1 : 0;
}

void migration_free(struct migration *m)
{
	sdps_close(&m->sdps);
	page_batch_free(&m->batch);
	compressor_free(&m->comp);
	free(m->bitmap);
	free(m->hashes);
	if (m->mem)
		munmap(m->mem, m->mem_size);
	if (m->fd >= 0)
		close(m->fd);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->mem_fd >= 0)
		close(m->mem_fd);
	vm_client_close(&m->vmm);
}
