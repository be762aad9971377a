/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sending and receiving frames of the migration protocol
 * (uapi/linux/vmotion_wire.h) over a connected socket.
 */
#ifndef VMOTION_MIGRATE_WIRE_H
#define VMOTION_MIGRATE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../../uapi/linux/vmotion_wire.h"

/* A received frame, header fields in host order. */
struct wire_frame {
	uint16_t command;
	uint16_t flags;
	uint64_t arg;
	uint64_t length;
	void *payload;		/* malloc'ed, @length bytes (NULL if 0) */
};

struct wire_stats {
	uint64_t bytes_sent;
	uint64_t bytes_received;
};

/* Send one frame: header + @len bytes of @payload.  0 or -1 (errno). */
int wire_send(int fd, struct wire_stats *st, uint16_t command, uint64_t arg,
	      const void *payload, size_t len);
/*
 * Send a frame with @flags whose payload is two parts (PAGES: descriptors,
 * then the data).
 */
int wire_send2(int fd, struct wire_stats *st, uint16_t command,
	       uint16_t flags, uint64_t arg, const void *a, size_t alen,
	       const void *b, size_t blen);

/*
 * Receive one frame, checking magic, command, flags, length bound and
 * checksum.  0, or -1 with a one-line reason in @err.
 */
int wire_recv(int fd, struct wire_stats *st, struct wire_frame *f,
	      char *err, size_t errlen);
void wire_frame_free(struct wire_frame *f);

/* "PAGES", "COMMIT"...; "unknown" for a number outside the protocol. */
const char *wire_command_name(unsigned int command);

/* Check a raw header; the length and reason as for wire_recv. */
int wire_check_header(const struct vmotion_frame *h, char *err, size_t errlen);
uint64_t wire_checksum(const struct vmotion_frame *h, const void *payload,
		       size_t len);

/* Send a RESPONSE; an error one carries its reason as text. */
int wire_respond(int fd, struct wire_stats *st, int status,
		 const void *payload, size_t len);
int wire_respond_error(int fd, struct wire_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Wait for the RESPONSE to a request.  0 for OK (payload in @f), 1 for an
 * error response (its text in @err), -1 when the connection failed.
 */
int wire_await(int fd, struct wire_stats *st, struct wire_frame *f,
	       char *err, size_t errlen);

#endif
