/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel interfaces kmod/bitmap_codec.c uses, for building that
 * same file in userspace.  Nothing more: anything the codec starts to use
 * must be added here, which keeps the codec's kernel dependencies visible.
 */
#ifndef _VMOTION_BITMAP_KCOMPAT_H
#define _VMOTION_BITMAP_KCOMPAT_H

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

/* As in the kernel's build_bug.h: the message is optional. */
#undef static_assert	/* <assert.h>'s, if a user included it first */
#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)

#define BITS_PER_LONG		(__SIZEOF_LONG__ * 8)
#define U32_MAX			UINT32_MAX
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))

static inline unsigned int hweight64(u64 w)
{
	return __builtin_popcountll(w);
}

/* Index of the lowest set bit; undefined for 0, as in the kernel. */
static inline unsigned int __ffs64(u64 w)
{
	return __builtin_ctzll(w);
}

#define cpu_to_le16(x)	((__le16)htole16(x))
#define le16_to_cpu(x)	le16toh((__u16)(x))
#define cpu_to_le32(x)	((__le32)htole32(x))
#define cpu_to_le64(x)	((__le64)htole64(x))
#define le32_to_cpu(x)	le32toh((__u32)(x))
#define le64_to_cpu(x)	le64toh((__u64)(x))

static inline u64 get_unaligned_le64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void put_unaligned_le64(u64 v, void *p)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

#endif /* _VMOTION_BITMAP_KCOMPAT_H */
