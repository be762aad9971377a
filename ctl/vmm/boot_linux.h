/* SPDX-License-Identifier: GPL-2.0 */
/* Loading a Linux bzImage (and initrd) and entering it in 64-bit mode. */
#ifndef VMOTION_BOOT_LINUX_H
#define VMOTION_BOOT_LINUX_H

#include "vm.h"

int boot_linux(struct vm *vm, const char *kernel, const char *initrd,
	       const char *cmdline);

#endif
