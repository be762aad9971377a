// SPDX-License-Identifier: GPL-2.0
/* A client of a VMM's control socket. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm_client.h"
#include "vmotionctl.h"

int vm_client_connect(struct vm_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return fail("--control %s: path too long", path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fail("--control %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

void vm_client_close(struct vm_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int recv_some(struct vm_client *c, int fds[2])
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {
		.iov_base = c->buf + c->buf_len,
		.iov_len = sizeof(c->buf) - c->buf_len,
	};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		int got[2] = { -1, -1 };
		size_t nfds;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(got, CMSG_DATA(cmsg), (nfds > 2 ? 2 : nfds) * sizeof(int));
		if (fds) {
			fds[0] = got[0];
			fds[1] = got[1];
		} else {
			/* Not asked for: do not leak them. */
			if (got[0] >= 0)
				close(got[0]);
			if (got[1] >= 0)
				close(got[1]);
		}
	}
	c->buf_len += n;
	return 0;
}

int vm_client_request(struct vm_client *c, const char *req, int fds[2])
{
	size_t len = strlen(req);
	char *nl;

	if (fds)
		fds[0] = fds[1] = -1;
	if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(c->fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return -1;
	while (!(nl = memchr(c->buf, '\n', c->buf_len))) {
		if (c->buf_len == sizeof(c->buf) || recv_some(c, fds))
			return -1;
	}
	*nl = '\0';
	len = nl - c->buf + 1;
	if (len > sizeof(c->reply))
		return -1;	/* no reply line is that long */
	memcpy(c->reply, c->buf, len);
	memmove(c->buf, c->buf + len, c->buf_len - len);
	c->buf_len -= len;
	if (!strncmp(c->reply, "ok", 2) && (!c->reply[2] || c->reply[2] == ' '))
		return 0;
	return 1;
}

int vm_client_read_body(struct vm_client *c, void *dst, size_t len)
{
	size_t take = c->buf_len < len ? c->buf_len : len;
	char *p = dst;

	memcpy(p, c->buf, take);
	memmove(c->buf, c->buf + take, c->buf_len - take);
	c->buf_len -= take;
	p += take;
	len -= take;
	while (len) {
		ssize_t n = recv(c->fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

#define VM_STOPPED "error vm-stopped: "

/* Take the first line out of c->buf into @line; false if there is none. */
static bool take_line(struct vm_client *c, char *line, size_t len)
{
	char *nl = memchr(c->buf, '\n', c->buf_len);
	size_t used;

	if (!nl)
		return false;
	used = nl - c->buf + 1;
	snprintf(line, len, "%.*s", (int)(used - 1), c->buf);
	memmove(c->buf, c->buf + used, c->buf_len - used);
	c->buf_len -= used;
	return true;
}

int vm_client_gone(struct vm_client *c, char *why, size_t len)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char line[sizeof(c->reply)];

	if (!strncmp(c->reply, VM_STOPPED, strlen(VM_STOPPED))) {
		snprintf(why, len, "%s", c->reply + strlen(VM_STOPPED));
		return 1;
	}
	/*
	 * A stopping VMM writes its line, then closes: give it a second
	 * (the lab is slow), then read lines until that one or the end.
	 */
	for (;;) {
		while (take_line(c, line, sizeof(line)))
			if (!strncmp(line, VM_STOPPED, strlen(VM_STOPPED))) {
				snprintf(why, len, "%s", line + strlen(VM_STOPPED));
				return 1;
			}
		if (poll(&pfd, 1, 1000) != 1)
			return 0;	/* silent: it still serves */
		if (c->buf_len == sizeof(c->buf))
			c->buf_len = 0;	/* an unread body: not a line */
		if (recv_some(c, NULL))
			break;
	}
	snprintf(why, len, "its VMM exited");
	return 1;
}

int vm_client_body(struct vm_client *c, const char *req, void **body,
		   size_t *len, size_t max, bool exact, char *why,
		   size_t why_len)
{
	unsigned long long n;
	char *end;
	int r;

	*body = NULL;
	r = vm_client_request(c, req, NULL);
	if (r) {
		snprintf(why, why_len, "%s: %s", req, c->reply);
		return r;
	}
	if (strncmp(c->reply, "ok ", 3)) {
		snprintf(why, why_len, "%s: a reply \"%s\" without a length",
			 req, c->reply);
		return 1;
	}
	n = strtoull(c->reply + 3, &end, 10);
	if (end == c->reply + 3 || (*end && *end != ' ') || !n || n > max ||
	    (exact && n != max)) {
		snprintf(why, why_len, "%s: a %s reply, where %s%zu bytes were expected",
			 req, c->reply, exact ? "" : "1 to ", max);
		return 1;
	}
	*body = malloc(n);
	if (!*body || vm_client_read_body(c, *body, n)) {
		free(*body);
		*body = NULL;
		return -1;
	}
	*len = n;
	return 0;
}

/* The unsigned number after " KEY=" in @reply; -1 if there is none. */
static int field(const char *reply, const char *key, unsigned long long *v)
{
	char pat[32], *end;
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(reply, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	*v = strtoull(p, &end, 10);
	return end == p || (*end && *end != ' ') ? -1 : 0;
}

int vm_client_status(struct vm_client *c, struct vm_status *st)
{
	unsigned long long cpus, mem, locked;
	const char *p;
	int r = vm_client_request(c, "status", NULL);

	memset(st, 0, sizeof(*st));
	if (r)
		return r;
	p = strstr(c->reply, " state=");
	if (!p || sscanf(p, " state=%15[a-z-]", st->state) != 1 ||
	    field(c->reply, "cpus", &cpus) || field(c->reply, "mem", &mem) ||
	    field(c->reply, "locked", &locked) || !cpus || cpus > 1024 || !mem)
		return 1;
	st->cpus = cpus;
	st->mem = mem;
	st->locked = locked;
	return 0;
}
