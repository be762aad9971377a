// SPDX-License-Identifier: GPL-2.0
/* Running `vmotionctl run` from a test. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

/* ctl/vm_client.c reports errors through vmotionctl's fail(). */
int fail(const char *fmt, ...);

int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("# vm_client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

const char *vmm_binary(void)
{
	const char *p = getenv("VMOTIONCTL");

	return p && *p ? p : "ctl/vmotionctl";
}

const char *vmm_kernel(void)
{
	static char path[128];
	struct utsname u;

	if (getenv("VMM_KERNEL"))
		return getenv("VMM_KERNEL");
	uname(&u);
	snprintf(path, sizeof(path), "/boot/vmlinuz-%s", u.release);
	return path;
}

const char *vmm_initrd(void)
{
	const char *p = getenv("VMM_INITRD");

	return p && *p ? p : "build/guest/initramfs.cpio.gz";
}

bool file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int vmm_init(struct vmm *v)
{
	memset(v, 0, sizeof(*v));
	v->pid = -1;
	strcpy(v->dir, "/tmp/vmm-test.XXXXXX");
	if (!mkdtemp(v->dir))
		return -1;
	snprintf(v->control, sizeof(v->control), "%s/control", v->dir);
	snprintf(v->console, sizeof(v->console), "%s/console", v->dir);
	snprintf(v->log, sizeof(v->log), "%s/serial.log", v->dir);
	snprintf(v->out, sizeof(v->out), "%s/vmm.out", v->dir);
	return 0;
}

void vmm_cleanup(struct vmm *v)
{
	char cmd[128];

	vmm_kill(v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", v->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", v->dir);
}

/*
 * VMOTION_VCPU_CPU=N (the two-CPU lab): the vCPU threads of every VMM
 * (run and receive get --vcpu-cpu N) on CPU N, every other command
 * (migrate, the controller) on the other CPUs, so that vCPUs and the
 * controller always race on two CPUs for real, rather than when the
 * scheduler happens to part them.
 */
static const char *vcpu_cpu(void)
{
	const char *v = getenv("VMOTION_VCPU_CPU");

	return v && *v && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? v : NULL;
}

static bool runs_vcpus(const char *command)
{
	return !strcmp(command, "run") || !strcmp(command, "receive");
}

/* In the child: a command that runs no vCPU keeps off their CPU. */
static void keep_off_vcpu_cpu(const char *command)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), i;
	cpu_set_t set;

	if (!vcpu_cpu() || runs_vcpus(command))
		return;
	CPU_ZERO(&set);
	for (i = 0; i < ncpu; i++)
		if (i != atoi(vcpu_cpu()))
			CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

pid_t vmm_spawn_in(const char *netns, const char *const *args,
		   const char *out)
{
	const char *argv[64], *command = args[0];
	unsigned int n = 0;
	pid_t pid;
	int fd;

	if (netns) {
		argv[n++] = "/usr/sbin/ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = netns;
	}
	argv[n++] = vmm_binary();
	while (*args && n < 61)
		argv[n++] = *args++;
	if (vcpu_cpu() && runs_vcpus(command)) {
		argv[n++] = "--vcpu-cpu";
		argv[n++] = vcpu_cpu();
	}
	argv[n] = NULL;
	pid = fork();
	if (pid)
		return pid;
	/* Never outlive the test, even one that dies before its teardown. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	keep_off_vcpu_cpu(command);
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execv(argv[0], (char **)argv);
	_exit(127);
}

static pid_t spawn(const char *const *args, const char *out)
{
	return vmm_spawn_in(NULL, args, out);
}

int vmm_start(struct vmm *v, const char *const *args, int timeout_s)
{
	const char *all[64] = { "run", "--control", v->control, "--console",
				v->console, "--log", v->log };
	unsigned int n = 7;
	double end = now() + timeout_s;
	struct vm_client c;
	int status;

	while (*args && n < 63)
		all[n++] = *args++;
	all[n] = NULL;
	v->pid = spawn(all, v->out);
	if (v->pid < 0)
		return -1;
	while (now() < end) {
		if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
			v->pid = -1;
			return -1;
		}
		if (file_exists(v->control) && !vm_client_connect(&c, v->control)) {
			vm_client_close(&c);
			return 0;
		}
		usleep(20000);
	}
	return -1;
}

int vmm_cmd(const char *const *args, char *output, size_t len)
{
	char out[] = "/tmp/vmm-cmd.XXXXXX";
	int fd = mkstemp(out), status;
	pid_t pid;
	ssize_t n;

	if (fd < 0)
		return -1;
	close(fd);
	pid = spawn(args, out);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		unlink(out);
		return -1;
	}
	if (output && len) {
		fd = open(out, O_RDONLY);
		n = fd >= 0 ? read(fd, output, len - 1) : 0;
		output[n > 0 ? n : 0] = '\0';
		if (fd >= 0)
			close(fd);
	}
	status = WIFEXITED(status) ? WEXITSTATUS(status) :
				     128 + WTERMSIG(status);
	/* A failing command says why in the TAP output. */
	if (status)
		vmm_dump_file(args[0], out);
	unlink(out);
	return status;
}

void vmm_dump_file(const char *what, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	long size;

	if (!f)
		return;
	/* The last 4 KiB is where the reason is. */
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size > 4096) {
		fseek(f, size - 4096, SEEK_SET);
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
	} else {
		rewind(f);
	}
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "# %s| %s%s", what, line,
			strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

void vmm_dump(struct vmm *v)
{
	struct timeval tv = { .tv_sec = 5 };
	struct vm_client c;

	int status;

	vmm_dump_file("vmm", v->out);
	vmm_dump_file("serial", v->log);
	if (v->pid < 0)
		return;
	if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
		fprintf(stderr, "# vmm| exited: %s %d\n",
			WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) :
					    WTERMSIG(status));
		v->pid = -1;
		return;
	}
	/* Where the vCPUs are, if the VMM still answers within 5 s. */
	if (vm_client_connect(&c, v->control))
		return;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (vm_client_request(&c, "pause", NULL) ||
	    vm_client_request(&c, "cpu-state", NULL))
		fprintf(stderr, "# vmm| cannot pause: %s\n",
			c.reply[0] ? c.reply : "no answer in 5 s");
	else
		fprintf(stderr, "# vmm| %s\n", c.reply);
	vm_client_close(&c);
}

int vmm_wait(struct vmm *v, int timeout_s)
{
	double end = now() + timeout_s;
	int status;

	if (v->pid < 0)
		return -1;
	while (now() < end) {
		if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
			v->pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		}
		usleep(20000);
	}
	return -1;
}

void vmm_kill(struct vmm *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
		v->pid = -1;
	}
}

int vmm_request(struct vmm *v, const char *req, char *reply, size_t len)
{
	struct vm_client c;
	int ret;

	if (vm_client_connect(&c, v->control))
		return -1;
	ret = vm_client_request(&c, req, NULL);
	if (reply && len)
		snprintf(reply, len, "%s", c.reply);
	vm_client_close(&c);
	return ret;
}

bool vmm_log_wait(struct vmm *v, const char *needle, int timeout_s)
{
	double end = now() + timeout_s;
	static char buf[1 << 16];

	while (now() < end) {
		int fd = open(v->log, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, needle))
				return true;
		}
		usleep(50000);
	}
	return false;
}

int vmm_console_open(struct vmm *v)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->console);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int vmm_console_send(int fd, const char *s)
{
	size_t len = strlen(s);

	return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

bool vmm_console_expect(int fd, const char *needle, int timeout_s, char *buf,
			size_t len)
{
	double end = now() + timeout_s;
	size_t have = 0;

	buf[0] = '\0';
	while (now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (have + 1 >= len) {
			/* keep the tail: the needle may straddle */
			memmove(buf, buf + len / 2, have - len / 2);
			have -= len / 2;
		}
		n = read(fd, buf + have, len - 1 - have);
		if (n <= 0)
			return false;
		have += n;
		buf[have] = '\0';
		if (strstr(buf, needle))
			return true;
	}
	return false;
}

double vmm_console_ask(int console, const char *cmd, const char *tag)
{
	char line[256], buf[4096];
	char *p;

	snprintf(line, sizeof(line), "echo %s=$(%s)-END\n", tag, cmd);
	if (vmm_console_send(console, line))
		return -1;
	/* The echoed command has "$(", the answer does not. */
	snprintf(line, sizeof(line), "%s=", tag);
	for (;;) {
		if (!vmm_console_expect(console, "-END", 30, buf, sizeof(buf)))
			return -1;
		p = strstr(buf, line);
		if (p && p[strlen(line)] != '$')
			return strtod(p + strlen(line), NULL);
	}
}
