// SPDX-License-Identifier: GPL-2.0
/* The tracker interface: choosing an implementation, merging VMM writes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../uapi/linux/vmtrace.h"
#include "../vmotionctl.h"
#include "tracker.h"

int tracker_init(struct tracker *t, const char *name, struct vm_client *vmm,
		 int vm_fd, uint64_t nr_pages)
{
	uint64_t features = 0;

	memset(t, 0, sizeof(*t));
	t->vmm = vmm;
	t->vm_fd = vm_fd;
	t->nr_pages = nr_pages;
	if (!strcmp(name, "auto"))
		name = tracker_vmtrace_available(NULL) ? "vmtrace" : "kvm";
	if (!strcmp(name, "kvm")) {
		t->ops = &tracker_kvm_ops;
		return 0;
	}
	if (!strcmp(name, "vmtrace-stock"))
		t->vmtrace_mode = VMTRACE_MODE_STOCK;
	else if (!strcmp(name, "vmtrace-hierarchical"))
		t->vmtrace_mode = VMTRACE_MODE_HIERARCHICAL;
	else if (strcmp(name, "vmtrace"))
		return fail("--tracker \"%s\": auto, kvm, vmtrace, vmtrace-stock or vmtrace-hierarchical",
			    name);
	if (!tracker_vmtrace_available(&features))
		return fail("--tracker %s: vmtrace.ko is not loaded (or speaks another protocol)",
			    name);
	if (!t->vmtrace_mode)
		t->vmtrace_mode = features & VMTRACE_FEATURE_HIERARCHICAL ?
				  VMTRACE_MODE_HIERARCHICAL : VMTRACE_MODE_STOCK;
	t->ops = &tracker_vmtrace_ops;
	return 0;
}

int tracker_start(struct tracker *t)
{
	if (t->ops->start(t))
		return -1;
	t->started = true;
	return 0;
}

static int merge_vmm_writes(struct tracker *t, uint64_t *bitmap)
{
	size_t bytes = tracker_bitmap_bytes(t->nr_pages), i, len;
	char why[160];
	void *body;
	const uint64_t *vmm;
	int r = vm_client_body(t->vmm, "get-dirty", &body, &len, bytes, true,
			       why, sizeof(why));

	if (r)
		return fail("%s", r < 0 ? "get-dirty: lost the VMM" : why);
	vmm = body;
	for (i = 0; i < len / 8; i++)
		bitmap[i] |= vmm[i];
	free(body);
	return 0;
}

int64_t tracker_harvest(struct tracker *t, uint64_t *bitmap)
{
	size_t words = tracker_bitmap_bytes(t->nr_pages) / 8, i;
	int64_t n = 0;

	memset(bitmap, 0, words * 8);
	if (t->ops->harvest(t, bitmap) || merge_vmm_writes(t, bitmap))
		return -1;
	/* Bits past the last page mean nothing; keep them clear. */
	if (t->nr_pages % 64)
		bitmap[words - 1] &= (1ULL << (t->nr_pages % 64)) - 1;
	for (i = 0; i < words; i++)
		n += __builtin_popcountll(bitmap[i]);
	return n;
}

void tracker_stop(struct tracker *t)
{
	if (t->started)
		t->ops->stop(t);
	t->started = false;
}
