// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM dirty-log tracker (manual protect, initially set).  KVM only
 * takes VM ioctls from the process that created the VM, so the ioctls run
 * in the VMM: this side asks for them over the control socket
 * ("dirty-log on|harvest|off", see ctl/vmm/dirty_log.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../vmotionctl.h"
#include "tracker.h"

static int kvm_start(struct tracker *t)
{
	if (vm_client_request(t->vmm, "dirty-log on", NULL))
		return fail("dirty-log on: %s", t->vmm->reply);
	return 0;
}

static int kvm_harvest(struct tracker *t, uint64_t *bitmap)
{
	size_t want = tracker_bitmap_bytes(t->nr_pages), len;
	char why[160];
	void *body;
	int r = vm_client_body(t->vmm, "dirty-log harvest", &body, &len, want,
			       true, why, sizeof(why));

	if (r)
		return fail("%s", r < 0 ? "dirty-log harvest: lost the VMM" :
			    why);
	memcpy(bitmap, body, len);
	free(body);
	return 0;
}

static void kvm_stop(struct tracker *t)
{
	if (vm_client_request(t->vmm, "dirty-log off", NULL))
		fail("dirty-log off: %s", t->vmm->reply);
}

const struct tracker_ops tracker_kvm_ops = {
	.name = "kvm",
	.start = kvm_start,
	.harvest = kvm_harvest,
	.stop = kvm_stop,
};
