/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and unloading vmtrace.ko from a test, and reading the log. */
#ifndef SELFTESTS_MODULE_H
#define SELFTESTS_MODULE_H

#include <stdbool.h>
#include <stddef.h>

/* $VMTRACE_KO, or kmod/vmtrace.ko relative to the working directory. */
const char *vt_module_path(void);
/* finit_module(); 0 or -errno. */
int vt_module_load(const char *params);
/* delete_module(); 0 or -errno. */
int vt_module_unload(void);
bool vt_module_loaded(void);
/* Load unless already loaded; 0 or -errno. */
int vt_module_ensure_loaded(void);

/* A reader of /dev/kmsg positioned at its end when opened. */
int vt_kmsg_open(void);
/* Whether any record logged since vt_kmsg_open() contains @needle. */
bool vt_kmsg_contains(int fd, const char *needle);

#endif
