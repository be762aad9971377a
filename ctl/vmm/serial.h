/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART at COM1 (0x3f8, IRQ 4): enough of it for Linux's 8250
 * driver and for the built-in payloads' console.  Output goes to a log file
 * and to whoever is connected to the console socket; input comes from the
 * console socket.
 */
#ifndef VMOTION_SERIAL_H
#define VMOTION_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_PORT_BASE	0x3f8
#define SERIAL_PORT_COUNT	8
#define SERIAL_IRQ		4
#define SERIAL_FIFO_SIZE	64

/* The guest-visible registers: saved and restored with the VM. */
struct serial_regs {
	uint8_t ier, iir_pending_thri, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t rx_len;
	uint8_t rx[SERIAL_FIFO_SIZE];
};

struct serial {
	pthread_mutex_t lock;
	struct serial_regs r;
	int log_fd;		/* -1: none */
	int console_fd;		/* connected console client, or -1 */
	int irq_level;
	/* raise or lower the IRQ line */
	int (*set_irq)(void *opaque, int level);
	void *opaque;
};

void serial_init(struct serial *s, int (*set_irq)(void *, int), void *opaque);
void serial_io(struct serial *s, uint16_t port, bool is_write, uint8_t *data);
/* Feed bytes typed on the console; returns how many were taken. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
void serial_set_console(struct serial *s, int fd);
/* Emit bytes as if the guest had written them (VMM messages). */
void serial_output(struct serial *s, const char *buf, size_t len);

#endif
