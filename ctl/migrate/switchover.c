// SPDX-License-Identifier: GPL-2.0
/*
 * The switchover (source.h): pause the source, send the last dirty set
 * (compacted, ahead of its pages) and the checkpoint, compare the two
 * memories' hashes, commit, and settle a commit whose answer was lost.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "handoff.h"
#include "source.h"

/*
 * The VMM's control socket no longer answers: the process is gone (a
 * live VMM always listens on it; one that exits removes it).
 */
bool mig_source_vmm_dead(struct migration *m)
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
	double deadline = mig_now() + m->resolve_timeout_s;
	char err[256] = "";
	int state = -1, tries = 0;

	do {
		if (tries++)
			sleep(1);
		state = handoff_resolve(m->to, m->migration_id, HANDOFF_COMMIT,
					5, err, sizeof(err));
		if (state == VMOTION_HANDOFF_RUNNING) {
			mig_progress("resolved: the VM runs at the destination (asked %d time%s)",
				 tries, tries > 1 ? "s" : "");
			return 0;
		}
		if (state == VMOTION_HANDOFF_UNKNOWN)
			break;	/* it holds nothing: asking again will not help */
	} while (mig_now() < deadline && !migration_interrupted);
	m->in_doubt = true;
	if (m->source_dead)
		return mig_failed(m, "in doubt: the source VMM died and the destination %s %s; its copy, if it holds one, is the only one: vmotionctl handoff --control PATH --force-resume on the destination runs it",
			      m->to, state == VMOTION_HANDOFF_UNKNOWN ?
			      "does not hold it" : "could not be reached");
	return mig_failed(m, "in doubt: committed migration %016llx, and the destination %s %s; the VM stays paused here, and there it may be paused or running. Settle it with: vmotionctl handoff --control %s --resolve %s",
		      (unsigned long long)m->migration_id, m->to,
		      state == VMOTION_HANDOFF_UNKNOWN ?
		      "does not hold it (restarted or discarded?)" :
		      "could not be reached",
		      m->control, m->to);
}

/* Pause, last pages, checkpoint, commit.  Sets m->committed. */
int mig_switchover(struct migration *m)
{
	const struct vmotion_restored *res;
	struct wire_frame f;
	double t0;
	char err[256];
	size_t len;
	void *blob;
	int64_t n;
	uint64_t src_hash, words = tracker_bitmap_bytes(m->pages) / 8, w;
	int r;

	/* A sleeping vCPU would only delay the pause: lift SDPS first. */
	if (sdps_active(&m->sdps)) {
		if (sdps_stop(&m->sdps, &m->sdps_sleep))
			return mig_failed(m, "SDPS: cannot lift the throttle");
		m->sleep_read = true;
	}
	/* The stun is the guest's: from the pause on. */
	t0 = mig_now();
	mig_progress("switchover: pausing the source");
	if (mig_vmm_req(m, "pause"))
		return -1;
	m->paused = true;
	/* The pages harvested at the convergence check are still in m->bitmap. */
	{
		uint64_t *more = calloc(words, 8);

		if (!more)
			return mig_failed(m, "out of memory");
		n = tracker_harvest(&m->tracker, more);
		for (w = 0; w < words && n >= 0; w++)
			m->bitmap[w] |= more[w];
		free(more);
		if (n < 0)
			return mig_failed(m, "dirty-page harvest failed");
	}
	for (w = 0; w < words; w++)
		m->switchover_pages += __builtin_popcountll(m->bitmap[w]);
	/*
	 * The set still to come, compacted, ahead of its pages: the
	 * destination refuses the checkpoint until every one has arrived.
	 */
	{
		void *enc = NULL;
		ssize_t len = mig_encode_dirty_set(m, m->bitmap, &enc);

		if (len < 0 || (size_t)len > VMOTION_MAX_PAYLOAD) {
			free(enc);
			return mig_failed(m, "cannot encode the switchover's dirty set");
		}
		m->switchover_bitmap_bytes = len;
		r = wire_send(m->fd, &m->st, VMOTION_CMD_DIRTY_SET,
			      m->switchover_pages, enc, len);
		free(enc);
		if (r)
			return mig_failed(m, "lost the destination: %s",
				      strerror(errno));
	}
	if (mig_send_pages(m, m->bitmap, false))
		return -1;
	blob = mig_vmm_body(m, "save-state", &len, 64 << 20);
	if (!blob)
		return -1;
	m->checkpoint_sent = true;
	r = wire_send(m->fd, &m->st, VMOTION_CMD_CHECKPOINT, 0, blob, len);
	free(blob);
	if (r)
		return mig_failed(m, "lost the destination: %s", strerror(errno));
	if (mig_await_ok(m, &f, "the checkpoint"))
		return -1;
	res = f.payload;
	if (f.length != sizeof(*res)) {
		wire_frame_free(&f);
		return mig_failed(m, "destination sent a malformed restore reply");
	}
	src_hash = page_hashes_fold(m->hashes, m->pages);
	m->hash_equal = le64toh(res->memory_hash) == src_hash;
	m->restore_s = le64toh(res->restore_us) / 1e6;
	m->dst_cpu_s = le64toh(res->cpu_us) / 1e6;
	wire_frame_free(&f);
	if (!m->hash_equal)
		return mig_failed(m, "memory hash mismatch at switchover (source %016llx, destination %016llx)",
			      (unsigned long long)src_hash,
			      (unsigned long long)le64toh(res->memory_hash));

	/*
	 * The point of no return: from here the source never runs the VM by
	 * itself.  The VMM records which migration it was committed to, for
	 * an operator who must settle a doubt by hand.
	 */
	snprintf(err, sizeof(err), "commit %016llx %s",
		 (unsigned long long)m->migration_id, m->to);
	if (mig_vmm_req(m, err)) {
		/*
		 * A VMM that is merely disconnected resumes its VM, so then
		 * the destination's copy must go.  One that died took the
		 * source copy with it: the destination holds the only one,
		 * verified just now -- commit it there rather than lose it.
		 */
		if (!mig_source_vmm_dead(m))
			return -1;
		mig_progress("the source VMM died after the destination restored a verified copy: committing it there");
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
		mig_progress("committed, but the destination's answer to COMMIT was lost (%s): asking it again",
			 err);
		if (resolve_committed(m))
			return -1;
	} else {
		wire_frame_free(&f);
	}
	m->stun_ms = (mig_now() - t0) * 1e3;
	mig_progress("switchover done: stun %.1f ms (predicted %.1f ms), restore %.2f ms",
		     m->stun_ms, m->predicted_stun_ms, m->restore_s * 1e3);
	if (m->stun_ms > m->max_stun_ms)
		mig_progress("warning: the stun overran its %u ms window by %.1f ms (predicted %.1f ms)",
			     m->max_stun_ms, m->stun_ms - m->max_stun_ms,
			     m->predicted_stun_ms);
	return 0;
}

/*
 * A destination that restored the checkpoint keeps its copy paused until
 * told: tell it, on a new connection if the first one is gone.  Only
 * tidiness -- it never runs the VM without COMMIT -- so a few tries.
 */
void mig_abort_destination_copy(struct migration *m)
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
		mig_progress("error: the destination runs migration %016llx although it was never committed (forced there?)",
			 (unsigned long long)m->migration_id);
	else if (state != VMOTION_HANDOFF_UNKNOWN)
		mig_progress("the destination may still hold a paused copy of migration %016llx (%s); it never runs without a commit: vmotionctl handoff --control PATH --discard on the destination drops it",
			 (unsigned long long)m->migration_id, err);
}
