/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination of a live migration, as a library: `vmotionctl receive`
 * fills a struct receiver from its options (receiver_init() sets the
 * defaults) and calls receiver_run(), which returns once the VM it took
 * has stopped.  destination.c has the state machine.
 *
 * One migration at a time, an explicit state machine per connection:
 * HELLO -> SPEC (the VM is created, masked) -> PAGES/ITER_END (pre-copy)
 * -> CHECKPOINT (restored, still masked) -> COMMIT (runs).  Anything else,
 * a bad frame or a lost connection before the restore discards the
 * half-built VM and waits for the next migration.  After the restore the
 * source may have committed, so a lost connection keeps the VM, paused
 * and in doubt, until the source comes back to RESOLVE it (or an operator
 * does, through `vmotionctl handoff`); only COMMIT starts it, only ABORT
 * or the operator drops it.  Once it runs this process is the VM's VMM,
 * with the same control socket as `vmotionctl run`, so the VM can be
 * migrated on again, and it still answers RESOLVE for the migration that
 * brought it, for a source that never heard the COMMIT's answer.
 */
#ifndef VMOTION_MIGRATE_DESTINATION_H
#define VMOTION_MIGRATE_DESTINATION_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/host.h"
#include "wire.h"

enum rx_state {
	RX_HELLO,	/* waiting for the version */
	RX_SPEC,	/* waiting for the migration spec */
	RX_PRECOPY,	/* VM created masked; memory streaming in */
	RX_RESTORED,	/* checkpoint restored; waiting for the commit */
	RX_RUNNING,	/* committed: the VM is ours */
};

struct receiver {
	const char *listen, *control, *console, *log;
	uint64_t mem_limit;
	uint32_t wire_version;
	int vcpu_cpu;		/* --vcpu-cpu, or -1 */
	/*
	 * Tests: drop the connection at this point of the switchover, as a
	 * link cut would (NULL: never).  "checkpoint": on receiving it;
	 * "restored": after restoring, before answering the source.
	 */
	const char *test_drop;
	const char *cpuid_clear[16];	/* --cpuid-clear, tests */
	int nr_cpuid_clear;
	int kvm_fd;
	struct kvm_cpuid2 *offer_cpuid;
	int max_cpus;

	int lfd;	/* the listener: migrations, then RESOLVE */

	/* One migration. */
	int fd;
	uint64_t migration_id;
	double cpu0;		/* the receiving thread's CPU time at HELLO */
	char source[64];
	bool discard_req;	/* ABORT or the operator, while in doubt */
	struct control_peer peer;
	enum rx_state state;
	struct wire_stats st;
	struct vmm_host host;	/* the VM, its console log, its control socket */
	uint64_t *hashes;
	uint64_t pages;
	/*
	 * The switchover's dirty set (DIRTY_SET): pages announced and not
	 * yet received.  The checkpoint is refused while any is missing.
	 */
	unsigned long *pending;
	uint64_t nr_pending;
};

void receiver_init(struct receiver *r);
/* Take one migration, then run its VM until it stops: the exit status. */
int receiver_run(struct receiver *r);

#endif
