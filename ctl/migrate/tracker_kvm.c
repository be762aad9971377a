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

	if (vm_client_request(t->vmm, "dirty-log harvest", NULL))
		return fail("dirty-log harvest: %s", t->vmm->reply);
	len = strtoull(t->vmm->reply + 3, NULL, 10);
	if (len != want)
		return fail("dirty-log harvest: %zu bytes, expected %zu", len,
			    want);
	if (vm_client_read_body(t->vmm, bitmap, len))
		return fail("dirty-log harvest: lost the VMM");
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
