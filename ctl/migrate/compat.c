// SPDX-License-Identifier: GPL-2.0
/* The compatibility check of CPUID feature bits. */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vmotionctl.h"
#include "compat.h"

/* The leaves whose bits are features a guest may depend on. */
static const struct {
	uint32_t function, index;
	uint8_t regs;		/* bit 0 eax, 1 ebx, 2 ecx, 3 edx */
} feature_leaves[] = {
	{ 0x1, 0, 0xc },
	{ 0x7, 0, 0xe },
	{ 0x7, 1, 0x1 },
	{ 0xd, 1, 0x1 },
	{ 0x80000001, 0, 0xc },
	{ 0x80000008, 0, 0x2 },
};

static const char *const reg_names[] = { "eax", "ebx", "ecx", "edx" };

static uint32_t reg(const struct vmotion_cpuid *e, int r)
{
	switch (r) {
	case 0: return le32toh(e->eax);
	case 1: return le32toh(e->ebx);
	case 2: return le32toh(e->ecx);
	default: return le32toh(e->edx);
	}
}

static const struct vmotion_cpuid *find(const struct vmotion_cpuid *v,
					uint32_t n, uint32_t fn, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (le32toh(v[i].function) == fn && le32toh(v[i].index) == idx)
			return &v[i];
	return NULL;
}

int compat_cpuid(const struct vmotion_cpuid *guest, uint32_t nguest,
		 const struct vmotion_cpuid *offer, uint32_t noffer,
		 char *err, size_t errlen)
{
	static const struct vmotion_cpuid none;
	size_t i;
	int r;

	for (i = 0; i < sizeof(feature_leaves) / sizeof(feature_leaves[0]); i++) {
		const struct vmotion_cpuid *g, *o;

		g = find(guest, nguest, feature_leaves[i].function,
			 feature_leaves[i].index);
		if (!g)
			continue;
		o = find(offer, noffer, feature_leaves[i].function,
			 feature_leaves[i].index);
		if (!o)
			o = &none;
		for (r = 0; r < 4; r++) {
			uint32_t missing;

			if (!(feature_leaves[i].regs & (1 << r)))
				continue;
			missing = reg(g, r) & ~reg(o, r);
			if (missing) {
				snprintf(err, errlen,
					 "the destination lacks CPUID.%#x.%u:%s bit %d, which the guest has",
					 feature_leaves[i].function,
					 feature_leaves[i].index, reg_names[r],
					 __builtin_ctz(missing));
				return -1;
			}
		}
	}
	return 0;
}

uint32_t compat_cpuid_to_wire(const struct kvm_cpuid2 *c,
			      struct vmotion_cpuid *out, uint32_t max)
{
	uint32_t i;

	for (i = 0; i < c->nent && i < max; i++) {
		out[i] = (struct vmotion_cpuid) {
			.function = htole32(c->entries[i].function),
			.index = htole32(c->entries[i].index),
			.eax = htole32(c->entries[i].eax),
			.ebx = htole32(c->entries[i].ebx),
			.ecx = htole32(c->entries[i].ecx),
			.edx = htole32(c->entries[i].edx),
		};
	}
	return i;
}

int compat_cpuid_clear(struct kvm_cpuid2 *c, const char *spec)
{
	char regname[8];
	unsigned int leaf, bit, i;
	int r;

	if (sscanf(spec, "%i.%7[a-z].%u", &leaf, regname, &bit) != 3 ||
	    bit > 31)
		return fail("--cpuid-clear \"%s\": expected LEAF.REG.BIT, e.g. 7.ebx.5",
			    spec);
	for (r = 0; r < 4; r++)
		if (!strcmp(regname, reg_names[r]))
			break;
	if (r == 4)
		return fail("--cpuid-clear \"%s\": register eax, ebx, ecx or edx",
			    spec);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t *v[4] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

		if (e->function == leaf && e->index == 0)
			*v[r] &= ~(1u << bit);
	}
	return 0;
}
