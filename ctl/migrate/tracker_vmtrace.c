// SPDX-License-Identifier: GPL-2.0
/*
 * The vmtrace tracker: vmtrace.ko traces the VM (attached by the KVM VM
 * fd the VMM handed over with get-fds), and harvests come over generic
 * netlink.  Unlike KVM's dirty log, which only the VMM's process may
 * drive, harvests need no request to the VMM (tracker.c still merges in
 * the pages the VMM itself wrote, get-dirty, as for every tracker), and
 * the session dies with this process: a killed migrate leaves no tracing
 * behind.
 *
 * A harvest is acknowledged as soon as it is in the engine's bitmap: from
 * there the engine sends it or, on any failure, rolls back (and then the
 * pages need not be sent at all).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../uapi/linux/vmtrace.h"
#include "../netlink/vmtrace_nl.h"
#include "../vmotionctl.h"
#include "tracker.h"

struct vmtrace_tracker {
	struct vmtrace_nl *nl;
	uint32_t id;
	bool harvested;		/* the first harvest has been taken */
};

static const char *nl_reason(struct vmtrace_nl *nl, int err)
{
	const char *msg = vmtrace_nl_error(nl);

	return *msg ? msg : strerror(-err);
}

static int vt_start(struct tracker *t)
{
	struct vmtrace_tracker *vt = calloc(1, sizeof(*vt));
	int err;

	if (!vt)
		return fail("vmtrace: out of memory");
	vt->nl = vmtrace_nl_open();
	if (!vt->nl) {
		free(vt);
		return fail("vmtrace: %s", errno == ENOENT ?
			    "the module is not loaded" : strerror(errno));
	}
	err = vmtrace_nl_attach(vt->nl, t->vm_fd, t->vmtrace_mode, 0,
				&vt->id);
	if (!err) {
		err = vmtrace_nl_start(vt->nl, vt->id);
		if (err)
			fail("vmtrace: start: %s", nl_reason(vt->nl, err));
	} else {
		fail("vmtrace: attach: %s", nl_reason(vt->nl, err));
	}
	if (err) {
		/* Closing the socket ends any session it attached. */
		vmtrace_nl_close(vt->nl);
		free(vt);
		return -1;
	}
	t->priv = vt;
	return 0;
}

static int vt_harvest(struct tracker *t, uint64_t *bitmap)
{
	struct vmtrace_tracker *vt = t->priv;
	uint64_t seq;
	int64_t n;
	int err;

	n = vmtrace_nl_harvest(vt->nl, vt->id, bitmap, t->nr_pages, &seq);
	if (n < 0)
		return fail("vmtrace: harvest: %s", nl_reason(vt->nl, n));
	err = vmtrace_nl_harvest_ack(vt->nl, vt->id, seq);
	if (err)
		return fail("vmtrace: harvest ack: %s", nl_reason(vt->nl, err));
	/*
	 * In stock mode vmtrace's first harvest is what the guest wrote
	 * since start (hierarchical mode's is every page already); the
	 * engine's first is every page, like KVM's initially-set log.
	 */
	if (!vt->harvested)
		memset(bitmap, 0xff, tracker_bitmap_bytes(t->nr_pages));
	vt->harvested = true;
	return 0;
}

static void vt_stop(struct tracker *t)
{
	struct vmtrace_tracker *vt = t->priv;
	int err;

	err = vmtrace_nl_detach(vt->nl, vt->id);
	if (err && err != -ENOENT)
		fail("vmtrace: detach: %s", nl_reason(vt->nl, err));
	vmtrace_nl_close(vt->nl);
	free(vt);
	t->priv = NULL;
}

struct vmtrace_nl *tracker_vmtrace_session(struct tracker *t, uint32_t *id)
{
	struct vmtrace_tracker *vt = t->priv;

	if (t->ops != &tracker_vmtrace_ops || !vt)
		return NULL;
	*id = vt->id;
	return vt->nl;
}

const struct tracker_ops tracker_vmtrace_ops = {
	.name = "vmtrace",
	.start = vt_start,
	.harvest = vt_harvest,
	.stop = vt_stop,
};

bool tracker_vmtrace_available(uint64_t *features)
{
	struct vmtrace_nl *nl = vmtrace_nl_open();
	struct vmtrace_info info;
	bool ok;

	if (!nl)
		return false;
	ok = !vmtrace_nl_get_info(nl, &info) &&
	     info.protocol_version == VMTRACE_PROTOCOL_VERSION;
	if (ok && features)
		*features = info.features;
	vmtrace_nl_close(nl);
	return ok;
}
