/* SPDX-License-Identifier: GPL-2.0 */
/* The Intel MultiProcessor table that tells the guest about its vCPUs. */
#ifndef VMOTION_MPTABLE_H
#define VMOTION_MPTABLE_H

#include "vm.h"

int mptable_write(struct vm *vm);

#endif
