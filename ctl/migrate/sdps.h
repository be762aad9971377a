/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stun During Page Send, the controller side: when the guest dirties
 * memory faster than the link sends it, vmtrace puts each vCPU to sleep a
 * few microseconds per millisecond, sized every iteration so that the
 * dirty rate falls below the transmit rate with a margin, and lifted as
 * soon as it is not needed.
 */
#ifndef VMOTION_SDPS_H
#define VMOTION_SDPS_H

#include <stdbool.h>
#include <stdint.h>

#include "../netlink/vmtrace_nl.h"
#include "tracker.h"

struct sdps {
	struct vmtrace_nl *nl;
	uint32_t id;
	bool own_session;	/* attached for SDPS alone (KVM tracker) */
	uint32_t sleep_us;	/* in force now */
	uint32_t period_us;
};

/*
 * Before the tracker starts: with KVM's dirty log, attach a vmtrace
 * session of our own (vmtrace refuses to attach to a VM already using the
 * dirty log).  0 or -1 after fail().
 */
int sdps_attach(struct sdps *s, int vm_fd);
/* After a vmtrace tracker started: share its session. */
int sdps_share(struct sdps *s, struct tracker *t);
bool sdps_active(const struct sdps *s);

/*
 * One controller step from the last phase's rates (pages/s): returns the
 * sleep now in force (us per vCPU per period), or -1 on error.
 */
int64_t sdps_update(struct sdps *s, double dirty_pages_s, double tx_pages_s);
/* Lift the throttle; the per-vCPU totals (may be NULL). */
int sdps_stop(struct sdps *s, struct vmtrace_throttle_info *ti);
/* End: lift the throttle and close what sdps_attach() opened. */
void sdps_close(struct sdps *s);

/* The run fraction a sleep leaves a vCPU, and the sleep for a fraction. */
double sdps_run_fraction(uint32_t sleep_us, uint32_t period_us);
uint32_t sdps_sleep_for(double run_fraction, uint32_t period_us);

#endif
