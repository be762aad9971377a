/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A TCP relay between migrate and receive that understands the wire's
 * framing (uapi/linux/vmotion_wire.h) and breaks the link at one chosen
 * frame: before or after passing it, by cutting the connection or by
 * stalling it (nothing more passes, nothing is closed, as a link that
 * goes silent), or only holding it back a while.  The fault hits the first connection only; later ones --
 * the source coming back to RESOLVE -- pass cleanly.
 *
 * A frame is named by its direction and command; towards the source,
 * by the request it answers (the RESPONSE to CHECKPOINT, say).  PAGES
 * means the first PAGES frame of the switchover (after DIRTY_SET).
 * Header-only, like migrate.h: the selftest rule links selftests/lib only.
 */
#ifndef SELFTESTS_FAULT_RELAY_H
#define SELFTESTS_FAULT_RELAY_H

#include <endian.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../uapi/linux/vmotion_wire.h"

enum fault_dir { FAULT_TO_DST, FAULT_TO_SRC };

struct fault {
	enum fault_dir dir;
	int cmd;		/* enum vmotion_cmd; to the source: the request */
	bool after;		/* pass the frame first */
	bool stall;		/* go silent instead of closing */
	int delay_ms;		/* or only hold the frame this long */
	const char *fired;	/* created when the fault strikes */
};

struct fault_conn {
	const struct fault *f;	/* NULL: a clean connection */
	useconds_t f_delay_us;
	int src, dst;
	volatile int last_req;	/* the last request towards the destination */
	volatile bool dirty_set_seen, struck;
};

static inline bool fr_read(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static inline bool fr_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static inline void fr_strike(struct fault_conn *c)
{
	int fd;

	fd = open(c->f->fired, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	if (c->f->delay_ms) {
		c->f = NULL;	/* once */
		usleep(c->f_delay_us);
		return;
	}
	c->struck = true;
	if (c->f->stall)
		for (;;)
			pause();	/* silent until killed */
	shutdown(c->src, SHUT_RDWR);
	shutdown(c->dst, SHUT_RDWR);
	_exit(0);
}

static inline bool fr_matches(struct fault_conn *c, enum fault_dir dir,
			      int cmd)
{
	const struct fault *f = c->f;

	if (!f || c->struck || f->dir != dir)
		return false;
	if (dir == FAULT_TO_SRC)
		return cmd == VMOTION_CMD_RESPONSE && c->last_req == f->cmd;
	if (f->cmd == VMOTION_CMD_PAGES)
		return cmd == VMOTION_CMD_PAGES && c->dirty_set_seen;
	return cmd == f->cmd;
}

/* One direction of one connection, a frame at a time. */
static inline void fr_pump(struct fault_conn *c, enum fault_dir dir)
{
	int from = dir == FAULT_TO_DST ? c->src : c->dst;
	int to = dir == FAULT_TO_DST ? c->dst : c->src;
	static char payload[VMOTION_MAX_PAYLOAD];
	static char payload2[VMOTION_MAX_PAYLOAD];
	char *buf = dir == FAULT_TO_DST ? payload : payload2;
	struct vmotion_frame h;
	uint64_t len;
	bool hit;
	int cmd;

	while (fr_read(from, &h, sizeof(h))) {
		cmd = le16toh(h.command);
		len = le64toh(h.length);
		if (len > VMOTION_MAX_PAYLOAD || !fr_read(from, buf, len))
			break;
		if (dir == FAULT_TO_DST && cmd != VMOTION_CMD_PAGES &&
		    cmd != VMOTION_CMD_DIRTY_SET && cmd != VMOTION_CMD_ABORT)
			c->last_req = cmd;
		hit = fr_matches(c, dir, cmd);
		if (dir == FAULT_TO_DST && cmd == VMOTION_CMD_DIRTY_SET)
			c->dirty_set_seen = true;
		if (hit && (!c->f->after || c->f->delay_ms))
			fr_strike(c);
		while (c->struck)	/* the other direction stalled */
			pause();
		if (!fr_write(to, &h, sizeof(h)) || !fr_write(to, buf, len))
			break;
		if (hit && c->f && c->f->after)
			fr_strike(c);
	}
	/* An end passes through as an end. */
	shutdown(to, SHUT_WR);
}

static inline void *fr_pump_back(void *arg)
{
	fr_pump(arg, FAULT_TO_SRC);
	return NULL;
}

/*
 * Relay 127.0.0.1:@port to 127.0.0.1:@to_port with fault @f on the first
 * connection.  The relay's pid (kill it to end it, connections and all),
 * or -1.
 */
static inline pid_t fault_relay(int port, int to_port, const struct fault *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int lfd, one = 1, n = 0;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(port);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 4))
		return -1;
	pid = fork();
	if (pid) {
		close(lfd);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGCHLD, SIG_IGN);	/* no zombies of finished connections */
	for (;; n++) {
		struct fault_conn c = { .f = n ? NULL : f, .last_req = -1,
					.f_delay_us = f->delay_ms * 1000 };
		pthread_t back;

		c.src = accept(lfd, NULL, NULL);
		if (c.src < 0)
			_exit(1);
		if (fork()) {
			close(c.src);
			continue;
		}
		/* One process per connection, dying with the relay. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(lfd);
		c.dst = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_port = htons(to_port);
		if (c.dst < 0 || connect(c.dst, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		setsockopt(c.dst, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c.src, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&back, NULL, fr_pump_back, &c))
			_exit(1);
		fr_pump(&c, FAULT_TO_DST);
		pthread_join(back, NULL);
		_exit(0);
	}
}

#endif
