/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmotion migration wire protocol, version 3.
 *
 * One TCP connection from the source (`vmotionctl migrate`) to the
 * destination (`vmotionctl receive`) per migration, and short ones after
 * it to settle a switchover whose connection was cut (RESOLVE).
 * Everything on them is a frame: a fixed 32-byte little-endian header
 * followed by @length payload bytes.  The
 * checksum is XXH64 (seed 0) over the header with @checksum zeroed, then
 * the payload; in a PAGES frame, over the header and the descriptors
 * only, since each descriptor carries its page's own hash.  So a flipped
 * bit anywhere in a frame is caught, and a page's data is hashed once on
 * each side (the hash both sides keep to compare memories anyway).
 *
 * The source sends requests; the destination answers HELLO, SPEC,
 * ITER_END, CHECKPOINT, COMMIT and RESOLVE with one RESPONSE each.  PAGES frames are
 * not answered one by one (that would cost a round trip per batch): an
 * error found in them is reported in the RESPONSE to the next ITER_END or
 * CHECKPOINT, or by closing the connection.
 *
 * See Documentation/admin-guide/vmotion-protocol.rst.
 */
#ifndef _UAPI_LINUX_VMOTION_WIRE_H
#define _UAPI_LINUX_VMOTION_WIRE_H

#include <linux/const.h>
#include <linux/types.h>

#define VMOTION_WIRE_MAGIC	0x4e544f4d /* "MOTN", little-endian */
#define VMOTION_WIRE_VERSION	3

enum vmotion_cmd {
	VMOTION_CMD_INVALID = 0,
	VMOTION_CMD_HELLO,	/* struct vmotion_hello; the first frame */
	VMOTION_CMD_SPEC,	/* struct vmotion_spec + CPUID entries */
	VMOTION_CMD_PAGES,	/* @arg page descriptors, then the non-zero pages */
	VMOTION_CMD_ITER_END,	/* @arg = iteration number; no payload */
	VMOTION_CMD_CHECKPOINT,	/* the VM state blob (vmotionctl.rst) */
	VMOTION_CMD_COMMIT,	/* the source will never run the VM again */
	VMOTION_CMD_ABORT,	/* payload: reason text; no response */
	VMOTION_CMD_RESPONSE,	/* @arg = enum vmotion_status */
	/*
	 * @arg pages; the compacted bitmap (vmtrace_bitmap.h chunks tiling
	 * the guest) of the pages the switchover still sends
	 */
	VMOTION_CMD_DIRTY_SET,
	/*
	 * @arg = migration id; no payload.  Instead of SPEC: what became of
	 * that migration here?  RESPONSE payload: struct vmotion_handoff.
	 * A handoff in doubt is then settled by COMMIT or ABORT.
	 */
	VMOTION_CMD_RESOLVE,
	VMOTION_CMD_MAX,
};

enum vmotion_status {
	VMOTION_STATUS_OK = 0,
	VMOTION_STATUS_ERROR = 1,	/* payload: the reason, text */
};

struct vmotion_frame {
	__le32 magic;
	__le16 command;		/* enum vmotion_cmd */
	__le16 flags;		/* VMOTION_FRAME_*; others must be 0 */
	__le64 arg;		/* per command */
	__le64 length;		/* payload bytes following the header */
	__le64 checksum;
};

/*
 * PAGES only: the page data after the descriptors is one zstd frame,
 * which decompresses to exactly the 4096 bytes of each data page.
 */
#define VMOTION_FRAME_ZSTD	0x0001

/* No payload is larger: a PAGES batch is at most 256 pages. */
#define VMOTION_MAX_PAYLOAD	(16U << 20)
#define VMOTION_PAGE_SIZE	4096U
#define VMOTION_MAX_BATCH	256U

/*
 * A PAGES descriptor: the guest page frame number, plus VMOTION_PAGE_ZERO
 * when the page is all zeroes (no data follows for it, and @hash is 0);
 * otherwise @hash is XXH3_64bits (seed 0) of the page's 4096 bytes.
 */
struct vmotion_page_desc {
	__le64 pfn;
	__le64 hash;
};

#define VMOTION_PAGE_ZERO	_BITULL(63)
#define VMOTION_PFN_MASK	(_BITULL(52) - 1)

struct vmotion_hello {
	__le32 version;		/* VMOTION_WIRE_VERSION */
	__le32 reserved;
};

/*
 * The destination's answer to HELLO (RESPONSE payload): what it offers.
 * Followed by @nent struct vmotion_cpuid entries: the CPUID its KVM supports.
 */
struct vmotion_offer {
	__le32 version;
	__le32 max_cpus;
	__le64 max_mem;
	__le32 nent;
	__le32 reserved;
};

struct vmotion_cpuid {
	__le32 function;
	__le32 index;
	__le32 eax, ebx, ecx, edx;
};

/* The migration spec.  Followed by @nent struct vmotion_cpuid (the guest's). */
struct vmotion_spec {
	__le32 version;
	__le32 nr_cpus;
	__le64 mem_size;
	__le32 backing;		/* 0: 4 KiB, 1: 2 MiB, 2: 1 GiB huge pages */
	__le32 nent;
	__le64 migration_id;	/* random, non-zero: names it in RESOLVE */
	char source[64];	/* host name of the source, NUL-terminated */
};

/* RESPONSE payload to CHECKPOINT: the destination's memory hash. */
struct vmotion_restored {
	__le64 memory_hash;	/* XXH64 over the per-page XXH3 hashes */
	__le64 restore_us;	/* time to restore the checkpoint */
	__le64 cpu_us;		/* the receiver's CPU time since HELLO */
};

/*
 * What a destination holds of one migration (RESPONSE payload to RESOLVE).
 * The destination runs the VM only on COMMIT and never drops a restored
 * VM by itself, so RESTORED means: paused, and it will run only when
 * told to commit.
 */
enum vmotion_handoff_state {
	VMOTION_HANDOFF_UNKNOWN = 0,	/* no such migration is held here */
	VMOTION_HANDOFF_RESTORED = 1,	/* restored and paused: in doubt */
	VMOTION_HANDOFF_RUNNING = 2,	/* committed: the VM runs here */
};

struct vmotion_handoff {
	__le32 state;		/* enum vmotion_handoff_state */
	__le32 reserved;
};

#endif
