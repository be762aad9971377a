// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 Linux boot protocol, 64-bit entry (Documentation/arch/x86/
 * boot.rst): check the setup header ("HdrS", protocol >= 2.12 with
 * XLF_KERNEL_64), copy the protected-mode kernel -- everything after the
 * (setup_sects + 1) * 512 bytes of real-mode setup -- to 1 MiB, fill a zero
 * page with the setup header, an e820 map, the command line and initrd, and
 * enter startup_64 (load address + 0x200) with %rsi pointing at the zero
 * page.  The MP table describes the vCPUs; there is no ACPI.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "boot_linux.h"
#include "layout.h"
#include "longmode.h"
#include "mptable.h"

#define SETUP_HDR_OFFSET	0x1f1
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define MIN_PROTOCOL		0x020c		/* XLF_KERNEL_64 exists */
#define LOADER_UNDEFINED	0xff
#define LOADED_HIGH_FLAG	0x01
#define CAN_USE_HEAP_FLAG	0x80
#define E820_RAM		1
#define E820_RESERVED		2

/* Read a whole file; the caller frees.  NULL after printing why. */
static void *read_file(const char *what, const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail("%s %s: not a regular file", what, path);
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	n = buf ? read(fd, buf, st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		fail("%s %s: short read", what, path);
		free(buf);
		return NULL;
	}
	*len = st.st_size;
	return buf;
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

int boot_linux(struct vm *vm, const char *kernel, const char *initrd,
	       const char *cmdline)
{
	struct boot_params *bp;
	struct setup_header hdr;
	size_t klen, ilen = 0, setup_len, cmdlen = strlen(cmdline) + 1;
	uint8_t *kimg, *iimg = NULL;
	uint64_t initrd_gpa = 0, initrd_max;
	int ret = -1;

	if (cmdlen > CMDLINE_MAX)
		return fail("--cmdline: longer than %d bytes", CMDLINE_MAX - 1);
	kimg = read_file("--kernel", kernel, &klen);
	if (!kimg)
		return -1;
	if (klen < SETUP_HDR_OFFSET + sizeof(hdr)) {
		fail("--kernel %s: too small to be a bzImage", kernel);
		goto out_free;
	}
	memcpy(&hdr, kimg + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.header != HDRS_MAGIC) {
		fail("--kernel %s: not a bzImage (no \"HdrS\" setup header)",
		     kernel);
		goto out_free;
	}
	if (hdr.version < MIN_PROTOCOL || !(hdr.xloadflags & XLF_KERNEL_64)) {
		fail("--kernel %s: boot protocol %u.%02u without 64-bit entry; need 2.12+",
		     kernel, hdr.version >> 8, hdr.version & 0xff);
		goto out_free;
	}
	setup_len = ((hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_len >= klen ||
	    vm_write(vm, HIGH_RAM_GPA, kimg + setup_len, klen - setup_len)) {
		fail("--kernel %s: does not fit in guest memory", kernel);
		goto out_free;
	}

	if (initrd) {
		iimg = read_file("--initrd", initrd, &ilen);
		if (!iimg)
			goto out_free;
		/* As high as allowed, page-aligned, above the kernel. */
		initrd_max = hdr.initrd_addr_max;
		if (initrd_max >= vm->mem_size)
			initrd_max = vm->mem_size - 1;
		initrd_gpa = (initrd_max + 1 - ilen) & ~(VM_PAGE_SIZE - 1);
		if (ilen > initrd_max ||
		    initrd_gpa < HIGH_RAM_GPA + hdr.init_size ||
		    vm_write(vm, initrd_gpa, iimg, ilen)) {
			fail("--initrd %s: does not fit in guest memory", initrd);
			goto out_free;
		}
	}

	bp = calloc(1, sizeof(*bp));
	if (!bp) {
		fail("out of memory");
		goto out_free;
	}
	bp->hdr = hdr;
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH_FLAG | CAN_USE_HEAP_FLAG;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = CMDLINE_GPA;
	bp->hdr.ramdisk_image = initrd_gpa;
	bp->hdr.ramdisk_size = ilen;
	bp->hdr.vid_mode = 0xffff;	/* "normal" */
	add_e820(bp, 0, EBDA_GPA, E820_RAM);
	add_e820(bp, EBDA_GPA, HIGH_RAM_GPA - EBDA_GPA, E820_RESERVED);
	add_e820(bp, HIGH_RAM_GPA, vm->mem_size - HIGH_RAM_GPA, E820_RAM);

	if (vm_write(vm, BOOT_PARAMS_GPA, bp, sizeof(*bp)) ||
	    vm_write(vm, CMDLINE_GPA, cmdline, cmdlen) ||
	    mptable_write(vm) || longmode_build_tables(vm)) {
		fail("guest memory too small for the boot structures");
		free(bp);
		goto out_free;
	}
	free(bp);

	/* Only the boot vCPU starts; the others wait for INIT/SIPI. */
	ret = longmode_enter(&vm->vcpus[0], HIGH_RAM_GPA + 0x200,
			     BOOT_PARAMS_GPA, 0, 0);
out_free:
	free(iimg);
	free(kimg);
	return ret;
}
