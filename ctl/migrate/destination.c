// SPDX-License-Identifier: GPL-2.0
/*
 * The destination's state machine (destination.h): one migration at a
 * time, per connection HELLO -> SPEC -> PAGES/ITER_END -> CHECKPOINT ->
 * COMMIT, and once a VM is held, its VMM.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../bitmap/dirty_set.h"
#include "../vmm/layout.h"
#include "../vmm/state.h"
#include "../vmotionctl.h"
#include "compat.h"
#include "destination.h"
#include "handoff.h"
#include "net.h"
#include "pages.h"

#define MAX_CPUID	256
/* Seconds without a frame before the connection is given up. */
#define PRECOPY_TIMEOUT_S	30
#define RESTORED_TIMEOUT_S	10

/* What became of one connection of the migration. */
enum rx_outcome {
	RX_DISCARD,	/* nothing (left) to keep: drop the VM if any */
	RX_ANSWERED,	/* a RESOLVE about a migration not held here */
	RX_HELD,	/* a VM is held: running, or restored and in doubt */
};

static const char *const rx_state_names[] = {
	"hello", "spec", "pre-copy", "restored", "running",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("receive: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Forget a half-built VM: nothing of it stays (socket, memory, KVM VM). */
static void discard(struct receiver *r)
{
	vmm_host_drop(&r->host);
	pages_apply_done();
	free(r->hashes);
	r->hashes = NULL;
	free(r->pending);
	r->pending = NULL;
	r->nr_pending = 0;
}

/*
 * DIRTY_SET: the compacted bitmap of the pages the switchover will send.
 * Data from the network: the decoder checks every length and offset, and
 * the set must tile exactly this guest's pages and hold @arg pages.
 */
static int on_dirty_set(struct receiver *r, const struct wire_frame *f)
{
	size_t words = (r->pages + BITS_PER_LONG - 1) / BITS_PER_LONG, i;
	uint64_t n = 0;

	if (r->pending)
		return wire_respond_error(r->fd, &r->st,
					  "a second DIRTY_SET"), -1;
	r->pending = calloc(words, sizeof(long));
	if (!r->pending)
		return wire_respond_error(r->fd, &r->st, "out of memory"), -1;
	if (dirty_set_decode_bitmap(f->payload, f->length, 0, r->pages,
				    r->pending))
		return wire_respond_error(r->fd, &r->st,
					  "DIRTY_SET: malformed compacted bitmap"), -1;
	for (i = 0; i < words; i++)
		n += __builtin_popcountl(r->pending[i]);
	if (n != f->arg)
		return wire_respond_error(r->fd, &r->st,
					  "DIRTY_SET: %llu pages, announced %llu",
					  (unsigned long long)n,
					  (unsigned long long)f->arg), -1;
	r->nr_pending = n;
	note("switchover: %llu pages to come, announced in %llu bytes",
	     (unsigned long long)n, (unsigned long long)f->length);
	return 0;
}

/* A PAGES frame that pages_apply() accepted: tick off announced pages. */
static void pages_arrived(struct receiver *r, const struct wire_frame *f)
{
	const uint8_t *p = f->payload;
	struct vmotion_page_desc d;
	uint64_t i, pfn;

	if (!r->pending)
		return;
	for (i = 0; i < f->arg; i++) {
		memcpy(&d, p + i * sizeof(d), sizeof(d));
		pfn = le64toh(d.pfn) & VMOTION_PFN_MASK;
		if (r->pending[pfn / BITS_PER_LONG] & (1UL << (pfn % BITS_PER_LONG))) {
			r->pending[pfn / BITS_PER_LONG] &= ~(1UL << (pfn % BITS_PER_LONG));
			r->nr_pending--;
		}
	}
}

/* HELLO on @fd: the version check, then this host's offer. */
static int answer_hello(struct receiver *r, int fd, struct wire_stats *st,
			const struct wire_frame *f)
{
	const struct vmotion_hello *h = f->payload;
	struct {
		struct vmotion_offer o;
		struct vmotion_cpuid e[MAX_CPUID];
	} offer;
	uint32_t n;

	if (f->command != VMOTION_CMD_HELLO || f->length != sizeof(*h))
		return wire_respond_error(fd, st, "HELLO of %llu bytes",
					  (unsigned long long)f->length), -1;
	if (le32toh(h->version) != r->wire_version)
		return wire_respond_error(fd, st,
					  "protocol version %u, this receiver speaks version %u",
					  le32toh(h->version), r->wire_version), -1;
	n = compat_cpuid_to_wire(r->offer_cpuid, offer.e, MAX_CPUID);
	offer.o = (struct vmotion_offer) {
		.version = htole32(r->wire_version),
		.max_cpus = htole32(r->max_cpus),
		.max_mem = htole64(r->mem_limit),
		.nent = htole32(n),
	};
	return wire_respond(fd, st, VMOTION_STATUS_OK, &offer,
			    sizeof(offer.o) + n * sizeof(offer.e[0]));
}

/* This thread's CPU time (user and system): the receiver's work. */
static double thread_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int on_hello(struct receiver *r, const struct wire_frame *f)
{
	r->cpu0 = thread_cpu_s();
	if (answer_hello(r, r->fd, &r->st, f))
		return -1;
	r->state = RX_SPEC;
	return 0;
}

/* What this receiver holds of migration @id. */
static int handoff_state(const struct receiver *r, uint64_t id)
{
	if (!id || id != r->migration_id)
		return VMOTION_HANDOFF_UNKNOWN;
	if (r->state == RX_RESTORED)
		return VMOTION_HANDOFF_RESTORED;
	if (r->state == RX_RUNNING)
		return VMOTION_HANDOFF_RUNNING;
	return VMOTION_HANDOFF_UNKNOWN;
}

static int answer_resolve(struct receiver *r, int fd, struct wire_stats *st,
			  const struct wire_frame *f)
{
	struct vmotion_handoff h = {
		.state = htole32(handoff_state(r, f->arg)),
	};

	if (f->length)
		return wire_respond_error(fd, st, "RESOLVE with a payload"), -1;
	note("RESOLVE of migration %016llx: %s",
	     (unsigned long long)f->arg, handoff_state_name(le32toh(h.state)));
	return wire_respond(fd, st, VMOTION_STATUS_OK, &h, sizeof(h));
}

/* The source committed (or the operator forced it): only now may it run. */
static int start_vm(struct receiver *r)
{
	if (vm_start(&r->host.vm))
		return -1;
	r->state = RX_RUNNING;
	return 0;
}

static int on_spec(struct receiver *r, const struct wire_frame *f)
{
	const struct vmotion_spec *s = f->payload;
	struct vmotion_cpuid offer[MAX_CPUID];
	uint32_t nent, cpus, backing, noffer;
	uint64_t mem;
	char err[200];

	if (f->length < sizeof(*s))
		return wire_respond_error(r->fd, &r->st, "SPEC of %llu bytes",
					  (unsigned long long)f->length), -1;
	nent = le32toh(s->nent);
	cpus = le32toh(s->nr_cpus);
	backing = le32toh(s->backing);
	mem = le64toh(s->mem_size);
	if (le32toh(s->version) != r->wire_version || nent > MAX_CPUID ||
	    f->length != sizeof(*s) + nent * sizeof(struct vmotion_cpuid))
		return wire_respond_error(r->fd, &r->st, "malformed SPEC"), -1;
	if (cpus < 1 || cpus > (uint32_t)r->max_cpus)
		return wire_respond_error(r->fd, &r->st,
					  "%u vCPUs; this host runs 1 to %d",
					  cpus, r->max_cpus), -1;
	if (mem % VM_PAGE_SIZE || mem < MEM_MIN || mem > MEM_MAX ||
	    mem > r->mem_limit)
		return wire_respond_error(r->fd, &r->st,
					  "%llu MiB of memory; this host takes %llu to %llu MiB",
					  (unsigned long long)mem >> 20,
					  MEM_MIN >> 20,
					  (unsigned long long)r->mem_limit >> 20), -1;
	if (!s->migration_id)
		return wire_respond_error(r->fd, &r->st, "SPEC without a migration id"), -1;
	if (backing > VM_BACKING_1G)
		return wire_respond_error(r->fd, &r->st,
					  "unknown memory backing %u", backing), -1;
	/* The source checked already; a receiver trusts no peer. */
	noffer = compat_cpuid_to_wire(r->offer_cpuid, offer, MAX_CPUID);
	if (compat_cpuid((const void *)(s + 1), nent, offer, noffer, err,
			 sizeof(err)))
		return wire_respond_error(r->fd, &r->st, "%s", err), -1;

	r->migration_id = le64toh(s->migration_id);
	snprintf(r->source, sizeof(r->source), "%.*s",
		 (int)strnlen(s->source, sizeof(s->source)), s->source);
	note("preparing a masked VM: %u vCPUs, %llu MiB, from %s, migration %016llx",
	     cpus, (unsigned long long)mem >> 20, r->source,
	     (unsigned long long)r->migration_id);
	if (vmm_host_create(&r->host, mem, cpus, backing, r->vcpu_cpu))
		return wire_respond_error(r->fd, &r->st,
					  "cannot create the VM (see the receiver's log)"), -1;
	r->pages = mem / VM_PAGE_SIZE;
	r->hashes = page_hashes_new(r->pages);
	if (!r->hashes)
		return wire_respond_error(r->fd, &r->st, "out of memory"), -1;
	if (vmm_host_control(&r->host, r->control, r->console))
		return wire_respond_error(r->fd, &r->st,
					  "cannot open the control socket %s",
					  r->control), -1;
	r->state = RX_PRECOPY;
	return wire_respond(r->fd, &r->st, VMOTION_STATUS_OK, NULL, 0);
}

static int on_checkpoint(struct receiver *r, const struct wire_frame *f)
{
	struct vmotion_restored res;
	double t0 = now_s();

	if (r->nr_pending)
		return wire_respond_error(r->fd, &r->st,
					  "%llu pages of the switchover's dirty set did not arrive",
					  (unsigned long long)r->nr_pending), -1;
	if (r->test_drop && !strcmp(r->test_drop, "checkpoint")) {
		note("test: dropping the connection at the checkpoint");
		return -1;
	}
	if (state_check(f->payload, f->length, "checkpoint") ||
	    state_restore(&r->host.vm, f->payload, f->length))
		return wire_respond_error(r->fd, &r->st,
					  "the checkpoint does not restore (see the receiver's log)"), -1;
	res.memory_hash = htole64(page_hashes_fold(r->hashes, r->pages));
	res.restore_us = htole64((uint64_t)((now_s() - t0) * 1e6));
	res.cpu_us = htole64((uint64_t)((thread_cpu_s() - r->cpu0) * 1e6));
	r->state = RX_RESTORED;
	/*
	 * Only COMMIT or ABORT can come now, a round trip away.  A link gone
	 * silent is given up on sooner than in pre-copy, so that this copy is
	 * held in doubt -- answering RESOLVE -- before the source, whose own
	 * timeout is longer, comes back to ask.
	 */
	net_set_timeout(r->fd, RESTORED_TIMEOUT_S);
	if (r->test_drop && !strcmp(r->test_drop, "restored")) {
		note("test: dropping the connection after the restore");
		return -1;
	}
	return wire_respond(r->fd, &r->st, VMOTION_STATUS_OK, &res, sizeof(res));
}

/* One frame; -1 ends this migration (the reason is already out). */
static int step(struct receiver *r, const struct wire_frame *f)
{
	char err[200];

	if (f->command == VMOTION_CMD_ABORT) {
		note("the source aborted: %.*s",
		     (int)(f->length < 200 ? f->length : 200),
		     f->payload ? (char *)f->payload : "");
		return -1;
	}
	switch (r->state) {
	case RX_HELLO:
		if (f->command == VMOTION_CMD_HELLO)
			return on_hello(r, f);
		break;
	case RX_SPEC:
		if (f->command == VMOTION_CMD_SPEC)
			return on_spec(r, f);
		if (f->command == VMOTION_CMD_RESOLVE) {
			answer_resolve(r, r->fd, &r->st, f);
			return -1;
		}
		break;
	case RX_PRECOPY:
		if (f->command == VMOTION_CMD_PAGES) {
			const struct page_target t = {
				.mem = r->host.vm.mem,
				.fd = r->host.vm.backing == VM_BACKING_4K ?
				      r->host.vm.mem_fd : -1,
				.nr_pages = r->pages,
				.hashes = r->hashes,
			};

			if (pages_apply(&t, f, err, sizeof(err)) < 0) {
				note("%s", err);
				wire_respond_error(r->fd, &r->st, "%s", err);
				return -1;
			}
			pages_arrived(r, f);
			return 0;
		}
		if (f->command == VMOTION_CMD_DIRTY_SET)
			return on_dirty_set(r, f);
		if (f->command == VMOTION_CMD_ITER_END)
			return wire_respond(r->fd, &r->st, VMOTION_STATUS_OK,
					    NULL, 0);
		if (f->command == VMOTION_CMD_CHECKPOINT)
			return on_checkpoint(r, f);
		break;
	case RX_RESTORED:
		if (f->command == VMOTION_CMD_COMMIT) {
			if (start_vm(r)) {
				wire_respond_error(r->fd, &r->st,
						   "cannot start the vCPUs");
				return -1;
			}
			wire_respond(r->fd, &r->st, VMOTION_STATUS_OK, NULL, 0);
			return 0;
		}
		break;
	case RX_RUNNING:
		break;
	}
	wire_respond_error(r->fd, &r->st, "unexpected %s frame in state %s",
			   wire_command_name(f->command),
			   rx_state_names[r->state]);
	note("unexpected %s frame in state %s", wire_command_name(f->command),
	     rx_state_names[r->state]);
	return -1;
}

/*
 * Serve one connection of a migration.  A VM restored here is never
 * dropped for a lost, stalled or garbled connection -- its source may have
 * committed -- only for the source's ABORT.
 */
static enum rx_outcome receive_one(struct receiver *r)
{
	struct wire_frame f;
	char err[200];
	int cmd;

	r->state = RX_HELLO;
	r->migration_id = 0;
	r->discard_req = false;
	memset(&r->st, 0, sizeof(r->st));
	while (r->state != RX_RUNNING) {
		if (wire_recv(r->fd, &r->st, &f, err, sizeof(err))) {
			note("%s (in state %s)", err, rx_state_names[r->state]);
			/* Tell a live peer why, if it still listens. */
			wire_respond_error(r->fd, &r->st, "%s", err);
			return r->state == RX_RESTORED ? RX_HELD : RX_DISCARD;
		}
		cmd = f.command;
		if (step(r, &f)) {
			wire_frame_free(&f);
			if (cmd == VMOTION_CMD_RESOLVE && r->state == RX_SPEC)
				return RX_ANSWERED;
			return r->state == RX_RESTORED &&
			       cmd != VMOTION_CMD_ABORT ? RX_HELD : RX_DISCARD;
		}
		wire_frame_free(&f);
	}
	return RX_HELD;
}

/*
 * A connection to the listener while a VM is held: a source asking what
 * became of its migration (HELLO, RESOLVE, then COMMIT or ABORT if in
 * doubt), or a new migration, which is refused.  Served from the control
 * loop, with short timeouts: a silent peer holds it up for seconds only.
 */
static void question(struct receiver *r, int fd)
{
	struct wire_stats st = { 0 };
	struct wire_frame f;
	char err[200];

	if (wire_recv(fd, &st, &f, err, sizeof(err)))
		return;
	if (answer_hello(r, fd, &st, &f)) {
		wire_frame_free(&f);
		return;
	}
	wire_frame_free(&f);
	if (wire_recv(fd, &st, &f, err, sizeof(err)))
		return;
	if (f.command != VMOTION_CMD_RESOLVE) {
		wire_respond_error(fd, &st, "this receiver holds the VM of migration %016llx from %s (%s); it takes no other: start another receive",
				   (unsigned long long)r->migration_id, r->source,
				   handoff_state_name(handoff_state(r, r->migration_id)));
		wire_frame_free(&f);
		return;
	}
	if (answer_resolve(r, fd, &st, &f) ||
	    handoff_state(r, f.arg) != VMOTION_HANDOFF_RESTORED) {
		wire_frame_free(&f);
		return;
	}
	wire_frame_free(&f);
	if (wire_recv(fd, &st, &f, err, sizeof(err))) {
		note("%s (resolving migration %016llx); still in doubt", err,
		     (unsigned long long)r->migration_id);
		return;
	}
	if (f.command == VMOTION_CMD_COMMIT) {
		if (start_vm(r)) {
			wire_respond_error(fd, &st, "cannot start the vCPUs");
		} else {
			note("the source committed migration %016llx: the VM runs here",
			     (unsigned long long)r->migration_id);
			wire_respond(fd, &st, VMOTION_STATUS_OK, NULL, 0);
		}
	} else if (f.command == VMOTION_CMD_ABORT) {
		note("the source did not commit migration %016llx: dropping this copy",
		     (unsigned long long)r->migration_id);
		r->discard_req = true;
		control_stop(r->host.ctl);
	} else {
		wire_respond_error(fd, &st, "unexpected %s frame in state in-doubt",
				   wire_command_name(f.command));
	}
	wire_frame_free(&f);
}

static void peer_readable(void *opaque)
{
	struct receiver *r = opaque;
	int fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	net_set_timeout(fd, 5);
	question(r, fd);
	close(fd);
}

static void peer_describe(void *opaque, char *buf, size_t len)
{
	struct receiver *r = opaque;

	snprintf(buf, len, "state=%s id=%016llx source=%s",
		 handoff_state_name(handoff_state(r, r->migration_id)),
		 (unsigned long long)r->migration_id, r->source);
}

static int peer_force_resume(void *opaque, char *buf, size_t len)
{
	struct receiver *r = opaque;

	if (start_vm(r)) {
		snprintf(buf, len, "cannot start the vCPUs");
		return -1;
	}
	note("the operator forced migration %016llx to run here",
	     (unsigned long long)r->migration_id);
	snprintf(buf, len, "running here; if the source %s also resumed migration %016llx, two copies of this VM now run",
		 r->source, (unsigned long long)r->migration_id);
	return 0;
}

static int peer_discard(void *opaque, char *buf, size_t len)
{
	struct receiver *r = opaque;

	note("the operator discarded migration %016llx", (unsigned long long)r->migration_id);
	r->discard_req = true;
	snprintf(buf, len, "discarded migration %016llx; if the source did commit it, no copy of this VM is left",
		 (unsigned long long)r->migration_id);
	return 0;
}

/* Held: restored, not started, and not already being dropped. */
static bool peer_held(void *opaque)
{
	const struct receiver *r = opaque;

	return r->state == RX_RESTORED && !r->discard_req;
}

/*
 * A VM is held here: serve its control socket, and the listener for its
 * source's questions, until it stops (0) or is dropped while in doubt (1).
 */
static int serve(struct receiver *r)
{
	r->peer = (struct control_peer) {
		.fd = r->lfd, .readable = peer_readable,
		.describe = peer_describe, .force_resume = peer_force_resume,
		.discard = peer_discard, .held = peer_held, .opaque = r,
	};
	control_set_peer(r->host.ctl, &r->peer);
	if (r->state == RX_RESTORED)
		note("in doubt: migration %016llx from %s is restored, and its source may have committed; the VM stays paused until the source resolves it (or vmotionctl handoff --control %s)",
		     (unsigned long long)r->migration_id, r->source, r->control);
	else
		note("VM running: %llu bytes received",
		     (unsigned long long)r->st.bytes_received);
	control_loop(r->host.ctl);
	/* A copy that runs is never dropped, whatever was asked before. */
	return r->discard_req && r->state != RX_RUNNING ? 1 : 0;
}

void receiver_init(struct receiver *r)
{
	*r = (struct receiver){
		.mem_limit = MEM_MAX,
		.wire_version = VMOTION_WIRE_VERSION,
		.kvm_fd = -1, .fd = -1, .vcpu_cpu = -1,
	};
	vmm_host_init(&r->host);
}

int receiver_run(struct receiver *r)
{
	int lfd = -1, ret = 1, i;
	enum rx_outcome outcome;

	r->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r->kvm_fd < 0)
		return fail("/dev/kvm: %s", strerror(errno));
	r->max_cpus = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r->max_cpus <= 0 || r->max_cpus > VM_MAX_CPUS)
		r->max_cpus = VM_MAX_CPUS;
	r->offer_cpuid = vm_supported_cpuid(r->kvm_fd);
	if (!r->offer_cpuid) {
		fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < r->nr_cpuid_clear; i++)
		if (compat_cpuid_clear(r->offer_cpuid, r->cpuid_clear[i]))
			goto out;
	if (vmm_host_open_log(&r->host, r->log))
		goto out;
	lfd = net_listen("--listen", r->listen);
	if (lfd < 0)
		goto out;
	r->lfd = lfd;
	note("listening on %s", r->listen);
	for (;;) {
		r->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (r->fd < 0) {
			if (errno == EINTR)
				continue;
			fail("--listen %s: accept: %s", r->listen, strerror(errno));
			goto out;
		}
		net_set_timeout(r->fd, PRECOPY_TIMEOUT_S);
		outcome = receive_one(r);
		close(r->fd);
		r->fd = -1;
		if (outcome == RX_HELD) {
			free(r->hashes);
			r->hashes = NULL;
			if (!serve(r))
				break;
		}
		discard(r);
		if (outcome != RX_ANSWERED)
			note("migration discarded; listening again");
	}
	close(lfd);
	lfd = -1;
	ret = vmm_host_finish(&r->host);
	discard(r);
out:
	if (lfd >= 0)
		close(lfd);
	vmm_host_close(&r->host);
	close(r->kvm_fd);
	free(r->offer_cpuid);
	return ret;
}
