/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the migration engine gets its dirty pages.  Narrow on purpose:
 * start, harvest into a bitmap, stop.  Two implementations: KVM's own
 * dirty log (tracker_kvm.c) and vmtrace.ko (tracker_vmtrace.c).
 */
#ifndef VMOTION_TRACKER_H
#define VMOTION_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vm_client.h"

struct tracker;

struct tracker_ops {
	const char *name;
	int (*start)(struct tracker *t);
	/* OR the pages written since the last harvest into @bitmap. */
	int (*harvest)(struct tracker *t, uint64_t *bitmap);
	void (*stop)(struct tracker *t);
};

struct tracker {
	const struct tracker_ops *ops;
	struct vm_client *vmm;	/* the VMM's control connection */
	int vm_fd;		/* the KVM VM fd from get-fds */
	uint64_t nr_pages;
	uint32_t vmtrace_mode;	/* enum vmtrace_mode; 0: the best loaded */
	bool started;
	void *priv;		/* the implementation's own */
};

extern const struct tracker_ops tracker_kvm_ops;
extern const struct tracker_ops tracker_vmtrace_ops;

struct vmtrace_nl;
/* A started vmtrace tracker's socket and session id, else NULL. */
struct vmtrace_nl *tracker_vmtrace_session(struct tracker *t, uint32_t *id);

/*
 * Whether vmtrace.ko is loaded and speaks our protocol; if so and
 * @features is not NULL, its feature bits.
 */
bool tracker_vmtrace_available(uint64_t *features);

/*
 * Pick an implementation by name: "kvm", "vmtrace" (hierarchical mode
 * when the module offers it, else stock), "vmtrace-stock",
 * "vmtrace-hierarchical", or "auto" (vmtrace when it is loaded, else KVM's
 * dirty log); 0 or -1 after fail().
 */
int tracker_init(struct tracker *t, const char *name, struct vm_client *vmm,
		 int vm_fd, uint64_t nr_pages);
int tracker_start(struct tracker *t);
/*
 * Clear @bitmap and fill it with every page written since the last
 * harvest: the tracker's, plus the pages the VMM itself wrote (get-dirty),
 * which no tracker of guest writes sees.  The first harvest after start
 * returns every page.  Returns the number of pages set, or -1.
 */
int64_t tracker_harvest(struct tracker *t, uint64_t *bitmap);
void tracker_stop(struct tracker *t);

/* Bytes in a bitmap of @nr_pages. */
static inline size_t tracker_bitmap_bytes(uint64_t nr_pages)
{
	return (nr_pages + 63) / 64 * 8;
}

#endif
