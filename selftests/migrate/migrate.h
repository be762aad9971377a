/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the migration selftests: a `vmotionctl receive` as a
 * child process, `vmotionctl migrate` in the foreground or background,
 * and its JSON report (read with selftests/lib/report.h).  Header-only: the
 * generic selftest rule links selftests/lib and nothing else.
 */
#ifndef SELFTESTS_MIGRATE_H
#define SELFTESTS_MIGRATE_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/genl.h"
#include "../lib/module.h"
#include "../lib/vmm.h"
#include "../../uapi/linux/vmtrace.h"

static inline double mt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The network namespace vmotionctl runs in, or NULL for this one. */
static const char *mt_netns;

static inline pid_t mt_spawn(const char *const *args, const char *out)
{
	return vmm_spawn_in(mt_netns, args, out);
}

/* The whole of a small file, NUL-terminated, in a static buffer. */
static inline const char *mt_slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static inline bool mt_file_wait(const char *path, const char *needle,
				int timeout_s)
{
	double end = mt_now() + timeout_s;

	while (mt_now() < end) {
		if (strstr(mt_slurp(path), needle))
			return true;
		usleep(20000);
	}
	return false;
}

/*
 * `vmotionctl receive --listen @addr` with @rx's sockets and log, plus
 * @extra (NULL-ended, may be NULL); waits until it listens.  0 or -1.
 */
static inline int mt_receiver_start(struct vmm *rx, const char *addr,
				    const char *const *extra)
{
	const char *all[32] = { "receive", "--listen", addr, "--control",
				rx->control, "--console", rx->console,
				"--log", rx->log };
	unsigned int n = 9;

	while (extra && *extra && n < 31)
		all[n++] = *extra++;
	all[n] = NULL;
	rx->pid = mt_spawn(all, rx->out);
	if (rx->pid < 0)
		return -1;
	return mt_file_wait(rx->out, "listening on", 10) ? 0 : -1;
}

/* Start `vmotionctl migrate` in the background; its output in @out. */
static inline pid_t mt_migrate_bg(const char *control, const char *to,
				  const char *json, const char *out,
				  const char *const *extra)
{
	const char *all[32] = { "migrate", "--control", control, "--to", to,
				"--json", json };
	unsigned int n = 7;

	while (extra && *extra && n < 31)
		all[n++] = *extra++;
	all[n] = NULL;
	return mt_spawn(all, out);
}

/* Wait for a child; its exit status, or -1 after @timeout_s. */
static inline int mt_wait(pid_t pid, int timeout_s)
{
	double end = mt_now() + timeout_s;
	int status;

	while (mt_now() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static inline unsigned long long mt_field(const char *reply, const char *key)
{
	const char *p = strstr(reply, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : ~0ULL;
}

static inline int mt_count_session(struct nlattr **tb, void *arg)
{
	(void)tb;
	++*(int *)arg;
	return 0;
}

/*
 * How many vmtrace sessions exist in network namespace @netns (NULL: this
 * one), or -1.  Sessions are per namespace: a netlink socket sees those
 * of the namespace it was created in.
 */
static inline int mt_vmtrace_sessions(const char *netns)
{
	struct vt_genl g;
	int n = 0, err, home = -1, ns;
	char path[96];

	if (netns) {
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		home = open("/proc/self/ns/net", O_RDONLY);
		ns = open(path, O_RDONLY);
		if (home < 0 || ns < 0 || setns(ns, CLONE_NEWNET))
			return -1;
		close(ns);
	}
	err = vt_genl_open(&g);
	if (home >= 0) {
		setns(home, CLONE_NEWNET);
		close(home);
	}

	if (err)
		return err == -ENOENT ? 0 : -1;	/* not loaded: none */
	if (vt_genl_dump(&g, vt_genl_dump_msg(&g, VMTRACE_CMD_GET_SESSION),
			 VMTRACE_A_SESSION_MAX, mt_count_session, &n))
		n = -1;
	vt_genl_close(&g);
	return n;
}

static inline int mt_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline int mt_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * Two "hosts": network namespaces @nsa (10.77.0.1, source) and @nsb
 * (10.77.0.2, destination) joined by a veth pair va<id>/vb<id>, each end
 * shaped by netem to @mbit Mbit/s with 1 ms of delay.  0 or -1.
 */
struct mt_link {
	char nsa[32], nsb[32];
	int id;
};

static inline int mt_link_up(struct mt_link *l, unsigned int mbit)
{
	int id = getpid() % 10000;

	l->id = id;
	snprintf(l->nsa, sizeof(l->nsa), "vmsrc%d", id);
	snprintf(l->nsb, sizeof(l->nsb), "vmdst%d", id);
	if (mt_sh("ip netns add %s && ip netns add %s", l->nsa, l->nsb) ||
	    mt_sh("ip link add va%d type veth peer name vb%d && "
		  "ip link set va%d netns %s && ip link set vb%d netns %s",
		  id, id, id, l->nsa, id, l->nsb) ||
	    mt_sh("ip -n %s addr add 10.77.0.1/24 dev va%d && "
		  "ip -n %s link set va%d up && ip -n %s link set lo up && "
		  "ip -n %s addr add 10.77.0.2/24 dev vb%d && "
		  "ip -n %s link set vb%d up && ip -n %s link set lo up",
		  l->nsa, id, l->nsa, id, l->nsa, l->nsb, id, l->nsb, id,
		  l->nsb) ||
	    mt_sh("tc -n %s qdisc add dev va%d root netem delay 1ms rate %umbit limit 10000",
		  l->nsa, id, mbit) ||
	    mt_sh("tc -n %s qdisc add dev vb%d root netem delay 1ms rate %umbit limit 10000",
		  l->nsb, id, mbit))
		return -1;
	return 0;
}

static inline void mt_link_down(struct mt_link *l)
{
	if (l->nsa[0])
		mt_sh("ip netns del %s; ip netns del %s", l->nsa, l->nsb);
}

/*
 * A man in the middle for one connection: listen on 127.0.0.1:@port,
 * relay to 127.0.0.1:@to_port both ways, and flip one bit of the byte at
 * offset @at of the stream towards the destination.  Returns the relay's
 * pid once it listens, or -1.
 */
static inline pid_t mt_corrupting_relay(int port, int to_port,
					unsigned long long at)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int lfd, a, b, one = 1;
	unsigned long long seen = 0;
	char buf[65536];
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(port);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1))
		return -1;
	pid = fork();
	if (pid) {
		close(lfd);
		return pid;
	}
	a = accept(lfd, NULL, NULL);
	b = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(to_port);
	if (a < 0 || b < 0 || connect(b, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(1);
	for (;;) {
		struct pollfd p[2] = { { .fd = a, .events = POLLIN },
				       { .fd = b, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0)
			_exit(1);
		if (p[0].revents) {
			n = read(a, buf, sizeof(buf));
			if (n <= 0)
				_exit(0);
			if (seen <= at && at < seen + n)
				buf[at - seen] ^= 0x10;
			seen += n;
			if (write(b, buf, n) != n)
				_exit(0);
		}
		if (p[1].revents) {
			n = read(b, buf, sizeof(buf));
			if (n <= 0 || write(a, buf, n) != n)
				_exit(0);
		}
	}
}

/* A TCP port for this test process, so parallel runs do not collide. */
static inline int mt_port(int i);

/*
 * Two hosts joined by a 200 Mbit/s link (mt_link_up()): a source VMM
 * running @guest in namespace nsa, a receiver listening on
 * 10.77.0.2:mt_port(0) in nsb; migrate runs in nsa (mt_netns).
 */
struct mt_hosts {
	struct vmm src, dst;
	struct mt_link link;
	char to[64], json[128], out[128];
};

static inline int mt_hosts_up(struct mt_hosts *h, const char *const *guest)
{
	if (mt_link_up(&h->link, 200) || vmm_init(&h->src) ||
	    vmm_init(&h->dst))
		return -1;
	snprintf(h->to, sizeof(h->to), "10.77.0.2:%d", mt_port(0));
	snprintf(h->json, sizeof(h->json), "%s/report.json", h->src.dir);
	snprintf(h->out, sizeof(h->out), "%s/migrate.out", h->src.dir);
	if (vmm_start(&h->src, guest, 30))
		return -1;
	mt_netns = h->link.nsb;
	if (mt_receiver_start(&h->dst, h->to, NULL))
		return -1;
	mt_netns = h->link.nsa;
	return 0;
}

/* After a failure (@failed), what both VMMs said first. */
static inline void mt_hosts_down(struct mt_hosts *h, bool failed)
{
	if (failed) {
		vmm_dump(&h->src);
		vmm_dump(&h->dst);
	}
	vmm_cleanup(&h->src);
	vmm_cleanup(&h->dst);
	mt_link_down(&h->link);
}

/* A TCP port for this test process, so parallel runs do not collide. */
/*
 * Four ports per test process, below the kernel's ephemeral range
 * (32768-60999): a port in it may be the local end of someone's outgoing
 * connection, or one in TIME_WAIT, and a listener then fails with "Address
 * already in use" (seen once: corrupted_compressed_frame_rolls_back's
 * second receiver).
 */
static inline int mt_port(int i)
{
	return 10000 + (getpid() % 5000) * 4 + i;
}

#endif
