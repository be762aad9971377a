// SPDX-License-Identifier: GPL-2.0
/*
 * The SDPS controller.  vmtrace runs each vCPU for a period P, then puts
 * it to sleep S microseconds, so a vCPU keeps f = P / (P + S) of its time
 * and dirties memory at about f times its free rate.  After each pre-copy
 * phase the controller compares the dirty rate with the transmit rate and
 * scales f so that the guest dirties at most SDPS_TARGET of what the link
 * sends: a multiplicative step, up when the guest is too fast, down (to
 * no throttle at all) as soon as it is not -- never a ramp towards a
 * frozen guest.
 */
#include <errno.h>
#include <string.h>

#include "../../uapi/linux/vmtrace.h"
#include "../vmotionctl.h"
#include "sdps.h"

/* Dirty at most this share of the transmit rate. */
#define SDPS_TARGET		0.7
/* Never leave a vCPU less than this share of its time. */
#define SDPS_MIN_RUN		0.02
/* A throttle that would leave more than this is not worth having. */
#define SDPS_OFF_ABOVE		0.95

static const char *nl_reason(struct vmtrace_nl *nl, int err)
{
	const char *msg = vmtrace_nl_error(nl);

	return *msg ? msg : strerror(-err);
}

int sdps_attach(struct sdps *s, int vm_fd)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->period_us = VMTRACE_THROTTLE_PERIOD_US;
	s->nl = vmtrace_nl_open();
	if (!s->nl)
		return fail("SDPS: vmtrace: %s", errno == ENOENT ?
			    "the module is not loaded" : strerror(errno));
	err = vmtrace_nl_attach(s->nl, vm_fd, 0, 0, &s->id);
	if (err) {
		fail("SDPS: vmtrace attach: %s", nl_reason(s->nl, err));
		vmtrace_nl_close(s->nl);
		s->nl = NULL;
		return -1;
	}
	s->own_session = true;
	return 0;
}

int sdps_share(struct sdps *s, struct tracker *t)
{
	memset(s, 0, sizeof(*s));
	s->period_us = VMTRACE_THROTTLE_PERIOD_US;
	s->nl = tracker_vmtrace_session(t, &s->id);
	return s->nl ? 0 : fail("SDPS: the tracker has no vmtrace session");
}

bool sdps_active(const struct sdps *s)
{
	return s->nl != NULL;
}

double sdps_run_fraction(uint32_t sleep_us, uint32_t period_us)
{
	return (double)period_us / (period_us + sleep_us);
}

uint32_t sdps_sleep_for(double f, uint32_t period_us)
{
	double us;

	if (f >= SDPS_OFF_ABOVE)
		return 0;
	if (f < SDPS_MIN_RUN)
		f = SDPS_MIN_RUN;
	us = period_us * (1 / f - 1);
	if (us > VMTRACE_THROTTLE_MAX_US)
		us = VMTRACE_THROTTLE_MAX_US;
	return us < 1 ? 1 : (uint32_t)us;
}

int64_t sdps_update(struct sdps *s, double dirty, double tx)
{
	double f = sdps_run_fraction(s->sleep_us, s->period_us);
	uint32_t us;
	int err;

	if (!s->nl)
		return 0;
	if (tx <= 0)
		return s->sleep_us;
	/*
	 * The dirty rate was measured at run fraction f: the free rate is
	 * dirty / f, and the fraction that meets the target is target / free.
	 * A guest that dirtied nothing asks for no throttle.
	 */
	f = dirty > 0 ? f * SDPS_TARGET * tx / dirty : 1;
	us = sdps_sleep_for(f, s->period_us);
	if (us == s->sleep_us)
		return us;
	err = vmtrace_nl_set_throttle(s->nl, s->id, us, NULL);
	if (err) {
		fail("SDPS: set-throttle %u us: %s", us, nl_reason(s->nl, err));
		return -1;
	}
	s->sleep_us = us;
	return us;
}

int sdps_stop(struct sdps *s, struct vmtrace_throttle_info *ti)
{
	struct vmtrace_throttle_info mine;
	int err;

	if (!s->nl)
		return 0;
	err = vmtrace_nl_set_throttle(s->nl, s->id, 0, ti ? ti : &mine);
	if (err)
		return fail("SDPS: lifting the throttle: %s",
			    nl_reason(s->nl, err));
	s->sleep_us = 0;
	return 0;
}

void sdps_close(struct sdps *s)
{
	if (!s->nl)
		return;
	if (s->sleep_us)
		sdps_stop(s, NULL);
	/* Closing our own socket ends our session, and any sleeps with it. */
	if (s->own_session)
		vmtrace_nl_close(s->nl);
	s->nl = NULL;
}
