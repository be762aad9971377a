// SPDX-License-Identifier: GPL-2.0
/*
 * Frames on the wire.  Every header is checked before its length is
 * trusted, and every payload against the frame's checksum before it is
 * handed on, so nothing a peer sends is used unverified.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
/* XXH64_state_t on the stack, not malloc'ed per frame. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "wire.h"

static int send_iov(int fd, struct iovec *iov, int cnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = cnt };

	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * How much of a @len-byte payload the checksum covers: all of it, but in a
 * well-formed PAGES frame only the descriptors, whose hashes cover the
 * pages (pages_apply() checks those).  A malformed one is covered whole,
 * and refused by pages_apply() if it gets that far.
 */
static size_t covered(const struct vmotion_frame *h, size_t len)
{
	uint64_t n = le64toh(h->arg);

	if (le16toh(h->command) == VMOTION_CMD_PAGES && n >= 1 &&
	    n <= VMOTION_MAX_BATCH && n * sizeof(struct vmotion_page_desc) <= len)
		return n * sizeof(struct vmotion_page_desc);
	return len;
}

static uint64_t checksum2(const struct vmotion_frame *h, const void *a,
			  size_t alen, const void *b, size_t blen)
{
	struct vmotion_frame copy = *h;
	size_t cover = covered(h, alen + blen);
	XXH64_state_t s;

	if (alen > cover)
		alen = cover;
	blen = cover - alen < blen ? cover - alen : blen;
	copy.checksum = 0;
	XXH64_reset(&s, 0);
	XXH64_update(&s, &copy, sizeof(copy));
	if (alen)
		XXH64_update(&s, a, alen);
	if (blen)
		XXH64_update(&s, b, blen);
	return XXH64_digest(&s);
}

uint64_t wire_checksum(const struct vmotion_frame *h, const void *payload,
		       size_t len)
{
	return checksum2(h, payload, len, NULL, 0);
}

int wire_send2(int fd, struct wire_stats *st, uint16_t command,
	       uint16_t flags, uint64_t arg, const void *a, size_t alen,
	       const void *b, size_t blen)
{
	struct vmotion_frame h = {
		.magic = htole32(VMOTION_WIRE_MAGIC),
		.command = htole16(command),
		.flags = htole16(flags),
		.arg = htole64(arg),
		.length = htole64(alen + blen),
	};
	struct iovec iov[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)a, .iov_len = alen },
		{ .iov_base = (void *)b, .iov_len = blen },
	};

	h.checksum = htole64(checksum2(&h, a, alen, b, blen));
	if (send_iov(fd, iov, blen ? 3 : alen ? 2 : 1))
		return -1;
	if (st)
		st->bytes_sent += sizeof(h) + alen + blen;
	return 0;
}

int wire_send(int fd, struct wire_stats *st, uint16_t command, uint64_t arg,
	      const void *payload, size_t len)
{
	return wire_send2(fd, st, command, 0, arg, payload, len, NULL, 0);
}

const char *wire_command_name(unsigned int command)
{
	static const char *const names[VMOTION_CMD_MAX] = {
		"invalid", "HELLO", "SPEC", "PAGES", "ITER_END", "CHECKPOINT",
		"COMMIT", "ABORT", "RESPONSE", "DIRTY_SET", "RESOLVE",
	};

	return command < VMOTION_CMD_MAX ? names[command] : "unknown";
}

int wire_check_header(const struct vmotion_frame *h, char *err, size_t errlen)
{
	uint16_t cmd = le16toh(h->command);

	if (le32toh(h->magic) != VMOTION_WIRE_MAGIC) {
		snprintf(err, errlen, "not a vmotion frame (bad magic %#x)",
			 le32toh(h->magic));
		return -1;
	}
	if (cmd == VMOTION_CMD_INVALID || cmd >= VMOTION_CMD_MAX) {
		snprintf(err, errlen, "unknown frame command %u", cmd);
		return -1;
	}
	if (le16toh(h->flags) & ~(cmd == VMOTION_CMD_PAGES ? VMOTION_FRAME_ZSTD : 0)) {
		snprintf(err, errlen, "frame flags %#x not defined for command %u",
			 le16toh(h->flags), cmd);
		return -1;
	}
	if (le64toh(h->length) > VMOTION_MAX_PAYLOAD) {
		snprintf(err, errlen, "frame of %llu bytes exceeds the %u limit",
			 (unsigned long long)le64toh(h->length),
			 VMOTION_MAX_PAYLOAD);
		return -1;
	}
	return 0;
}

int wire_recv(int fd, struct wire_stats *st, struct wire_frame *f,
	      char *err, size_t errlen)
{
	struct vmotion_frame h;

	memset(f, 0, sizeof(*f));
	if (recv_all(fd, &h, sizeof(h))) {
		snprintf(err, errlen, "connection lost: %s", strerror(errno));
		return -1;
	}
	if (wire_check_header(&h, err, errlen))
		return -1;
	f->command = le16toh(h.command);
	f->flags = le16toh(h.flags);
	f->arg = le64toh(h.arg);
	f->length = le64toh(h.length);
	if (f->length) {
		f->payload = malloc(f->length);
		if (!f->payload) {
			snprintf(err, errlen, "out of memory for a %llu-byte frame",
				 (unsigned long long)f->length);
			return -1;
		}
		if (recv_all(fd, f->payload, f->length)) {
			snprintf(err, errlen, "connection lost in a frame: %s",
				 strerror(errno));
			wire_frame_free(f);
			return -1;
		}
	}
	if (wire_checksum(&h, f->payload, f->length) != le64toh(h.checksum)) {
		snprintf(err, errlen, "checksum mismatch in a %s frame",
			 wire_command_name(f->command));
		wire_frame_free(f);
		return -1;
	}
	if (st)
		st->bytes_received += sizeof(h) + f->length;
	return 0;
}

void wire_frame_free(struct wire_frame *f)
{
	free(f->payload);
	f->payload = NULL;
}

int wire_respond(int fd, struct wire_stats *st, int status,
		 const void *payload, size_t len)
{
	return wire_send(fd, st, VMOTION_CMD_RESPONSE, status, payload, len);
}

int wire_respond_error(int fd, struct wire_stats *st, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	return wire_respond(fd, st, VMOTION_STATUS_ERROR, buf, n);
}

int wire_await(int fd, struct wire_stats *st, struct wire_frame *f,
	       char *err, size_t errlen)
{
	if (wire_recv(fd, st, f, err, errlen))
		return -1;
	if (f->command != VMOTION_CMD_RESPONSE) {
		snprintf(err, errlen, "peer sent command %u, expected a response",
			 f->command);
		wire_frame_free(f);
		return -1;
	}
	if (f->arg != VMOTION_STATUS_OK) {
		snprintf(err, errlen, "destination: %.*s",
			 (int)(f->length < 200 ? f->length : 200),
			 f->payload ? (char *)f->payload : "error");
		wire_frame_free(f);
		return 1;
	}
	return 0;
}
