// SPDX-License-Identifier: GPL-2.0
/*
 * TCP for the migration stream.  Plain TCP for now: the stream is framed
 * and checksummed, but neither authenticated nor encrypted (TLS 1.3 is
 * planned; see vmotion-protocol.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "net.h"

static int split(const char *what, const char *addr, char *host,
		 size_t hostlen, const char **port)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t n;

	if (!colon || !colon[1])
		return fail("%s \"%s\": expected ADDR:PORT", what, addr);
	n = colon - addr;
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (!n || n >= hostlen)
		return fail("%s \"%s\": expected ADDR:PORT", what, addr);
	memcpy(host, h, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int resolve(const char *what, const char *addr, int passive,
		   struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	const char *port = NULL;
	char host[256];
	int err;

	if (split(what, addr, host, sizeof(host), &port))
		return -1;
	err = getaddrinfo(host, port, &hints, res);
	if (err)
		return fail("%s %s: %s", what, addr, gai_strerror(err));
	return 0;
}

static void tune(int fd)
{
	int one = 1, buf = 4 << 20;

	/* Responses are small and awaited: do not let Nagle hold them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
}

int net_connect(const char *what, const char *addr, int timeout_s)
{
	struct addrinfo *res, *ai;
	int fd = -1, err = 0;

	if (resolve(what, addr, 0, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		if (err == EINPROGRESS) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, timeout_s * 1000) == 1 &&
			    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) &&
			    !err)
				break;
			if (!err)
				err = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fail("%s %s: %s", what, addr, strerror(err));
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tune(fd);
	return fd;
}

int net_listen(const char *what, const char *addr)
{
	struct addrinfo *res;
	int fd, one = 1;

	if (resolve(what, addr, 1, &res))
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
		    res->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(res);
		fail("%s %s: socket: %s", what, addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		fail("%s %s: %s", what, addr, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	tune(fd);
	return fd;
}

void net_set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}
