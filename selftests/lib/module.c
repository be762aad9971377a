// SPDX-License-Identifier: GPL-2.0
/* Loading and unloading vmtrace.ko from a test, and reading the log. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "module.h"

const char *vt_module_path(void)
{
	const char *p = getenv("VMTRACE_KO");

	return p && *p ? p : "kmod/vmtrace.ko";
}

int vt_module_load(const char *params)
{
	int fd, ret;

	fd = open(vt_module_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

int vt_module_unload(void)
{
	return syscall(SYS_delete_module, "vmtrace", O_NONBLOCK) ? -errno : 0;
}

bool vt_module_loaded(void)
{
	return access("/sys/module/vmtrace", F_OK) == 0;
}

int vt_module_ensure_loaded(void)
{
	int ret = vt_module_load(NULL);

	return ret == -EEXIST ? 0 : ret;
}

int vt_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

bool vt_kmsg_contains(int fd, const char *needle)
{
	char rec[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: keep going */
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, needle))
			return true;
	}
}
