// SPDX-License-Identifier: GPL-2.0
/*
 * vmtrace: debugfs, for tests only.  vmtrace/bitmap_encode runs the
 * kernel's bitmap encoder on a bitmap written by a test, so the lab can
 * check that kernel and userspace produce the same bytes
 * (struct vmtrace_bitmap_encode_req in uapi/linux/vmtrace_bitmap.h).
 *
 * Nothing here may fail the module: a missing debugfs only loses tests.
 */
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>

#include "bitmap_codec.h"
#include "vmtrace.h"

static struct dentry *vmtrace_debugfs_dir;

/**
 * struct encode_file - one open of bitmap_encode
 * @lock: serializes writers and readers of this open file
 * @req: the request, once its whole header has been written
 * @in: the request header and the bitmap, as written
 * @in_size: bytes @in holds when complete
 * @in_len: bytes written so far
 * @out: the encoding, made on the first read
 * @out_len: bytes in @out
 */
struct encode_file {
	struct mutex lock;	/* the file's whole state */
	struct vmtrace_bitmap_encode_req req;
	u8 *in;
	size_t in_size;
	size_t in_len;
	u8 *out;
	size_t out_len;
};

static int encode_open(struct inode *inode, struct file *file)
{
	struct encode_file *ef = kzalloc(sizeof(*ef), GFP_KERNEL);

	if (!ef)
		return -ENOMEM;
	mutex_init(&ef->lock);
	file->private_data = ef;
	return nonseekable_open(inode, file);
}

static int encode_release(struct inode *inode, struct file *file)
{
	struct encode_file *ef = file->private_data;

	kvfree(ef->in);
	kvfree(ef->out);
	mutex_destroy(&ef->lock);
	kfree(ef);
	return 0;
}

/* Sizes the input buffer from the request header, checking it. */
static int encode_parse_req(struct encode_file *ef, const char __user *buf)
{
	struct vmtrace_bitmap_encode_req *req = &ef->req;
	u64 npages, first;
	u32 chunk;

	if (copy_from_user(req, buf, sizeof(*req)))
		return -EFAULT;
	npages = le64_to_cpu(req->npages);
	first = le64_to_cpu(req->first_page);
	chunk = le32_to_cpu(req->chunk_size);
	if (!npages || npages > VMTRACE_BITMAP_ENCODE_MAX_PAGES ||
	    first > VMTRACE_BITMAP_MAX_PAGES - npages ||
	    chunk < VMTRACE_BITMAP_CHUNK_MIN ||
	    chunk > VMTRACE_BITMAP_CHUNK_MAX ||
	    le32_to_cpu(req->flags) & ~VMTRACE_BITMAP_ENCODE_SUMMARY)
		return -EINVAL;
	ef->in_size = DIV_ROUND_UP(npages, 64) * 8;
	ef->in = kvzalloc(ef->in_size, GFP_KERNEL);
	return ef->in ? 0 : -ENOMEM;
}

static ssize_t encode_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct encode_file *ef = file->private_data;
	ssize_t ret;

	mutex_lock(&ef->lock);
	ret = -EBUSY;
	if (ef->out)
		goto out_unlock;
	ret = 0;
	if (!ef->in) {
		ret = -EINVAL;
		if (count < sizeof(ef->req))
			goto out_unlock;
		ret = encode_parse_req(ef, buf);
		if (ret)
			goto out_unlock;
		buf += sizeof(ef->req);
		count -= sizeof(ef->req);
		if (count > ef->in_size) {
			ret = -EFBIG;
			goto out_free_in;
		}
		ret = sizeof(ef->req);
	}
	if (count > ef->in_size - ef->in_len) {
		ret = -EFBIG;
		goto out_unlock;
	}
	if (copy_from_user(ef->in + ef->in_len, buf, count)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	ef->in_len += count;
	ret += count;
	goto out_unlock;
out_free_in:
	/* a request that cannot be met leaves the file as it was */
	kvfree(ef->in);
	ef->in = NULL;
out_unlock:
	mutex_unlock(&ef->lock);
	return ret;
}

/* Marks the regions with a set bit, as tracking will for a harvest. */
static unsigned long *encode_summary(const unsigned long *bitmap, u64 npages)
{
	u64 r, nregions = vmtrace_bitmap_nregions(npages);
	unsigned long *summary = bitmap_zalloc(nregions, GFP_KERNEL);

	if (!summary)
		return NULL;
	for (r = 0; r < nregions; r++) {
		u64 first = r << VMTRACE_BITMAP_REGION_SHIFT;
		u64 end = min_t(u64, npages, first + VMTRACE_BITMAP_REGION_PAGES);

		if (find_next_bit(bitmap, end, first) < end)
			__set_bit(r, summary);
	}
	return summary;
}

static int encode_run(struct encode_file *ef)
{
	struct vmtrace_bitmap_src src = {
		.first_page = le64_to_cpu(ef->req.first_page),
		.npages = le64_to_cpu(ef->req.npages),
	};
	size_t chunk = le32_to_cpu(ef->req.chunk_size);
	unsigned long *bitmap = (unsigned long *)ef->in;
	unsigned long *summary = NULL;
	size_t words = ef->in_size / 8, i, room;
	u64 region = 0;
	ssize_t n;
	int err = 0;

	/* the words arrive little-endian; KVM's bitmaps are native longs */
	for (i = 0; i < words; i++)
		bitmap[i] = get_unaligned_le64(ef->in + 8 * i);
	if (le32_to_cpu(ef->req.flags) & VMTRACE_BITMAP_ENCODE_SUMMARY) {
		summary = encode_summary(bitmap, src.npages);
		if (!summary)
			return -ENOMEM;
	}
	src.bitmap = bitmap;
	src.summary = summary;

	/* a chunk is at most the raw bitmap of its regions plus overhead */
	room = ef->in_size + vmtrace_bitmap_nregions(src.npages) *
	       (VMTRACE_BITMAP_HEADER_MAX + VMTRACE_BITMAP_VARINT_MAX) +
	       VMTRACE_BITMAP_CHUNK_MIN;
	ef->out = kvmalloc(room, GFP_KERNEL);
	if (!ef->out) {
		err = -ENOMEM;
		goto out_free_summary;
	}
	do {
		n = vmtrace_bitmap_encode(&src, &region, ef->out + ef->out_len,
					  min(chunk, room - ef->out_len));
		if (n > 0)
			ef->out_len += n;
	} while (n > 0);
	if (n < 0) {
		err = n;
		kvfree(ef->out);
		ef->out = NULL;
		ef->out_len = 0;
	}
out_free_summary:
	bitmap_free(summary);
	return err;
}

static ssize_t encode_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct encode_file *ef = file->private_data;
	ssize_t ret;

	mutex_lock(&ef->lock);
	if (!ef->out) {
		ret = -ENODATA;
		if (!ef->in || ef->in_len != ef->in_size)
			goto out_unlock;
		ret = encode_run(ef);
		if (ret)
			goto out_unlock;
	}
	ret = simple_read_from_buffer(buf, count, ppos, ef->out, ef->out_len);
out_unlock:
	mutex_unlock(&ef->lock);
	return ret;
}

static const struct file_operations encode_fops = {
	.owner = THIS_MODULE,
	.open = encode_open,
	.release = encode_release,
	.write = encode_write,
	.read = encode_read,
	.llseek = no_llseek,
};

/**
 * vmtrace_debugfs_init() - create vmtrace's debugfs files
 *
 * Failures are ignored on purpose: debugfs serves tests, and the module
 * works without it.
 */
void vmtrace_debugfs_init(void)
{
	vmtrace_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("bitmap_encode", 0600, vmtrace_debugfs_dir, NULL,
			    &encode_fops);
}

void vmtrace_debugfs_exit(void)
{
	debugfs_remove_recursive(vmtrace_debugfs_dir);
}
