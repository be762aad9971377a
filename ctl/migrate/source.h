/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source side of a live migration, as a library: `vmotionctl migrate`
 * fills a struct migration from its options and calls migration_run().
 * The stages, one file each:
 *
 *   source.c      the orchestration: attach to the VMM, compatibility
 *                 check and spec, calibration, tracking, then pre-copy and
 *                 switchover; rollback on any failure before the commit
 *   precopy.c     the iterative pre-copy and its convergence check
 *   switchover.c  pause, last pages, checkpoint, commit, and the handoff
 *                 when the commit's answer is lost
 *   report.c      the JSON report (--json)
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
 * lost, migrate asks it again (RESOLVE, handoff.c) until it knows the VM
 * runs there, and otherwise leaves both copies paused, in doubt, for
 * `vmotionctl handoff`.  Never two running copies, and never none that
 * could be resumed.
 */
#ifndef VMOTION_MIGRATE_SOURCE_H
#define VMOTION_MIGRATE_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../uapi/linux/vmtrace.h"
#include "../vm_client.h"
#include "compress.h"
#include "pages.h"
#include "sdps.h"
#include "tracker.h"
#include "wire.h"

#define MAX_ITER_RECORDS	64

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
	const char *compress;	/* --compress: none, zstd[:LEVEL] or auto */
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
	/* SDPS: what the vCPUs slept in all (not the switchover's stun) */
	struct vmtrace_throttle_info sdps_sleep;
	bool sleep_read;

	/* the destination */
	int fd;
	uint64_t migration_id;
	bool checkpoint_sent;	/* from here the destination may hold a copy */
	bool in_doubt;		/* committed, and the destination never said it runs */
	bool source_dead;	/* the source VMM died during the switchover */
	struct wire_stats st;
	double rtt_s, restore_s;
	double dst_cpu_s;	/* the destination's receiving CPU time */

	/* pre-copy */
	uint64_t *bitmap, *hashes;
	struct page_batch batch;
	struct compressor comp;
	size_t state_bytes;
	double save_s;
	double harvest_s, encode_s;	/* the last phase's */
	struct iteration iter[MAX_ITER_RECORDS];
	unsigned int nr_iter;

	/* the result */
	double t_start, stun_ms, predicted_stun_ms, total_ms;
	double src_cpu_s;	/* this process's CPU time, user and system */
	uint64_t switchover_pages;
	size_t switchover_bitmap_bytes;	/* compacted, on the wire */
	bool hash_equal, hash_checked;
	const char *result;
	char reason[256];
};

/* Set by a signal handler: the migration stops and rolls back. */
extern volatile sig_atomic_t migration_interrupted;

/* The defaults of every option; the caller sets control, to and the rest. */
void migration_init(struct migration *m);
/*
 * Migrate; the result in m->result ("ok", "rolled-back", "in-doubt" or
 * "memory-mismatch") and, on failure, m->reason.  The report goes to
 * m->json if set.  0 when the VM runs at the destination, verified.
 */
int migration_run(struct migration *m);
void migration_free(struct migration *m);

/* Between the stages (source.c) */
double mig_now(void);
void mig_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record why the migration stops; returns -1 for `return mig_failed(...)`. */
int mig_failed(struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A request to the source VMM; its reply in m->vmm.reply. */
int mig_vmm_req(struct migration *m, const char *req);
/* "ok LEN" + LEN bytes; malloc'ed body. */
void *mig_vmm_body(struct migration *m, const char *req, size_t *len,
		   size_t max);

/* precopy.c */
int mig_precopy(struct migration *m);
/* Pages holding data in the memfd; holes were never touched by anyone. */
void mig_mask_populated(struct migration *m, uint64_t *bitmap);
/* Send every page of @bitmap; zero pages not at all in the @first pass. */
int mig_send_pages(struct migration *m, const uint64_t *bitmap, bool first);
/* Wait for the destination's OK to @what; the frame in @f. */
int mig_await_ok(struct migration *m, struct wire_frame *f, const char *what);
/* The compacted encoding of a dirty set: malloc'ed into *@out, its length. */
ssize_t mig_encode_dirty_set(struct migration *m, const uint64_t *bitmap,
			     void **out);

/* switchover.c */
int mig_switchover(struct migration *m);
bool mig_source_vmm_dead(struct migration *m);
void mig_abort_destination_copy(struct migration *m);

/* report.c */
void mig_report_write(struct migration *m, const char *result);

#endif
