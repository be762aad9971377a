// SPDX-License-Identifier: GPL-2.0
/*
 * Checking a restated kernel structure against BTF.
 *
 * Hierarchical mode reads one of KVM's private structures (kvm_ops.c).
 * Rather than trust that the running kvm.ko was built from the source the
 * restatement was written against, the module compares the restatement
 * with the kvm module's own type information, /sys/kernel/btf/kvm, once at
 * load.  The kernel's BTF parser is not exported to modules, and the check
 * needs very little of it: find one struct by name, compare its size and a
 * few members' bit offsets.
 *
 * A module's BTF is "split" BTF: its type ids continue after vmlinux's, and
 * a name offset below the size of vmlinux's string section names a string
 * of vmlinux's BTF, so that section is read too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/btf.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <uapi/linux/btf.h>

#include "vmtrace.h"

/* At most this much is read of a BTF file's section: vmlinux's are ~3 MB. */
#define VMTRACE_BTF_MAX_SECTION	(64U << 20)

struct vmtrace_btf {
	void *data;		/* the file, or of vmlinux only its strings */
	size_t size;
	struct btf_header hdr;	/* as checked by vmtrace_btf_header() */
	const char *strs;
	u32 str_len;
};

static int vmtrace_btf_read(const char *path, loff_t pos, void *buf,
			    size_t len)
{
	struct file *f = filp_open(path, O_RDONLY, 0);
	ssize_t n;

	if (IS_ERR(f))
		return PTR_ERR(f);
	while (len) {
		n = kernel_read(f, buf, len, &pos);
		if (n <= 0)
			break;
		buf += n;
		len -= n;
	}
	filp_close(f, NULL);
	return len ? -EIO : 0;
}

static int vmtrace_btf_header(const char *path, struct btf_header *hdr)
{
	int err = vmtrace_btf_read(path, 0, hdr, sizeof(*hdr));

	if (err)
		return err;
	/* Offsets and lengths are u32: checked in u64, they cannot wrap. */
	if (hdr->magic != BTF_MAGIC || hdr->hdr_len < sizeof(*hdr) ||
	    hdr->hdr_len > PAGE_SIZE ||
	    (u64)hdr->type_off + hdr->type_len > VMTRACE_BTF_MAX_SECTION ||
	    (u64)hdr->str_off + hdr->str_len > VMTRACE_BTF_MAX_SECTION)
		return -EINVAL;
	return 0;
}

/* Read a BTF file whole (@types), or only its string section. */
static int vmtrace_btf_load(struct vmtrace_btf *b, const char *path,
			    bool types)
{
	struct btf_header *hdr = &b->hdr;
	loff_t from;
	int err;

	err = vmtrace_btf_header(path, hdr);
	if (err)
		return err;
	from = types ? 0 : (loff_t)hdr->hdr_len + hdr->str_off;
	b->size = types ? (size_t)hdr->hdr_len +
			  max((u64)hdr->type_off + hdr->type_len,
			      (u64)hdr->str_off + hdr->str_len)
			: hdr->str_len;
	if (!b->size)
		return -EINVAL;
	b->data = kvmalloc(b->size, GFP_KERNEL);
	if (!b->data)
		return -ENOMEM;
	err = vmtrace_btf_read(path, from, b->data, b->size);
	if (err) {
		kvfree(b->data);
		return err;
	}
	b->strs = types ? (char *)b->data + hdr->hdr_len + hdr->str_off :
			  b->data;
	b->str_len = hdr->str_len;
	return 0;
}

/* A name of the split BTF @mod, whose base is @base; NULL if invalid. */
static const char *vmtrace_btf_name(const struct vmtrace_btf *mod,
				    const struct vmtrace_btf *base, u32 off)
{
	const struct vmtrace_btf *b = mod;

	if (off < base->str_len)
		b = base;
	else
		off -= base->str_len;
	if (off >= b->str_len || !memchr(b->strs + off, 0, b->str_len - off))
		return NULL;
	return b->strs + off;
}

/* Bytes that follow a type's struct btf_type, by kind; -1 if unknown. */
static long vmtrace_btf_extra(const struct btf_type *t)
{
	u32 vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return sizeof(u32);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return vlen * sizeof(struct btf_var_secinfo);
	default:
		return -1;
	}
}

static const char *vmtrace_btf_compare(const struct vmtrace_btf *mod,
				       const struct vmtrace_btf *base,
				       const struct btf_type *t, u32 size,
				       const struct vmtrace_btf_member *want)
{
	const struct btf_member *m = (const struct btf_member *)(t + 1);
	u32 i, vlen = BTF_INFO_VLEN(t->info);
	bool kflag = BTF_INFO_KFLAG(t->info);

	if (t->size != size) {
		pr_warn("BTF: size %u, expected %u\n", t->size, size);
		return "its size differs";
	}
	for (; want->name; want++) {
		for (i = 0; i < vlen; i++) {
			const char *name = vmtrace_btf_name(mod, base,
							    m[i].name_off);

			if (name && !strcmp(name, want->name))
				break;
		}
		if (i == vlen) {
			pr_warn("BTF: member %s missing\n", want->name);
			return "a member is missing";
		}
		if ((kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset) !=
		    want->bit_offset) {
			pr_warn("BTF: member %s at bit %u, expected %u\n",
				want->name, m[i].offset, want->bit_offset);
			return "a member moved";
		}
	}
	return NULL;
}

/**
 * vmtrace_btf_check_struct() - does a module's struct look as restated?
 * @module: the module whose BTF describes the struct ("kvm")
 * @name: the struct's name
 * @size: its expected size in bytes
 * @members: names and bit offsets expected, ended by an empty entry
 *
 * Return: NULL if BTF agrees, else a short reason (details in the log).
 */
const char *vmtrace_btf_check_struct(const char *module, const char *name,
				     u32 size,
				     const struct vmtrace_btf_member *members)
{
	struct vmtrace_btf base = {}, mod = {};
	const char *why = "it is not in the module's BTF";
	char path[64];
	const u8 *p, *end;

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	if (vmtrace_btf_load(&base, "/sys/kernel/btf/vmlinux", false))
		return "no readable vmlinux BTF";
	if (vmtrace_btf_load(&mod, path, true)) {
		kvfree(base.data);
		return "no readable module BTF";
	}

	/* Both sections lie within mod.size: vmtrace_btf_load() sized it so. */
	p = (const u8 *)mod.data + mod.hdr.hdr_len + mod.hdr.type_off;
	end = p + mod.hdr.type_len;
	while (p + sizeof(struct btf_type) <= end) {
		const struct btf_type *t = (const struct btf_type *)p;
		long extra = vmtrace_btf_extra(t);
		const char *tname;

		if (extra < 0 || p + sizeof(*t) + extra > end) {
			why = "its BTF cannot be parsed";
			break;
		}
		tname = vmtrace_btf_name(&mod, &base, t->name_off);
		if (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT && tname &&
		    !strcmp(tname, name)) {
			why = vmtrace_btf_compare(&mod, &base, t, size, members);
			break;
		}
		p += sizeof(*t) + extra;
	}
	kvfree(mod.data);
	kvfree(base.data);
	return why;
}
