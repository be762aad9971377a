// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART emulation, after the register description in the National
 * Semiconductor PC16550D data sheet.  Only what Linux's 8250 driver and
 * the payloads use: no modem-status interrupts, no loopback data path.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"

#define UART_RX		0	/* in:  receive buffer (DLAB=0) */
#define UART_TX		0	/* out: transmit holding (DLAB=0) */
#define UART_IER	1
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define LCR_DLAB	0x80
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define MSR_DCD_DSR_CTS	0xb0

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* a gone reader must not stop the guest */
		p += n;
		len -= n;
	}
}

static void emit(struct serial *s, const void *buf, size_t len)
{
	if (s->log_fd >= 0)
		write_all(s->log_fd, buf, len);
	if (s->console_fd >= 0)
		write_all(s->console_fd, buf, len);
}

static uint8_t pending_iir(const struct serial *s)
{
	if ((s->r.ier & IER_RDI) && s->r.rx_len)
		return IIR_RDI;
	if ((s->r.ier & IER_THRI) && s->r.iir_pending_thri)
		return IIR_THRI;
	return IIR_NO_INT;
}

/* Called with s->lock held, after every change of interrupt state. */
static void update_irq(struct serial *s)
{
	int level = pending_iir(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->opaque, level);
	}
}

void serial_init(struct serial *s, int (*set_irq)(void *, int), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->r.lsr = LSR_THRE | LSR_TEMT;
	s->r.msr = MSR_DCD_DSR_CTS;
	s->log_fd = -1;
	s->console_fd = -1;
	s->set_irq = set_irq;
	s->opaque = opaque;
}

static void serial_write(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->r.lcr & LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			s->r.dll = v;
			break;
		}
		if (!(s->r.mcr & MCR_LOOP))
			emit(s, &v, 1);
		/* The byte leaves at once: THR is empty again. */
		s->r.iir_pending_thri = 1;
		break;
	case UART_IER:
		if (dlab) {
			s->r.dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises it (as 8250 expects). */
		if (!(s->r.ier & IER_THRI) && (v & IER_THRI))
			s->r.iir_pending_thri = 1;
		s->r.ier = v & 0x0f;
		break;
	case UART_FCR:
		s->r.fcr = v;
		if (v & 0x02)
			s->r.rx_len = 0;
		break;
	case UART_LCR:
		s->r.lcr = v;
		break;
	case UART_MCR:
		s->r.mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->r.scr = v;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
}

static uint8_t serial_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->r.lcr & LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case UART_RX:
		if (dlab)
			return s->r.dll;
		if (s->r.rx_len) {
			v = s->r.rx[0];
			memmove(s->r.rx, s->r.rx + 1, --s->r.rx_len);
		}
		return v;
	case UART_IER:
		return dlab ? s->r.dlm : s->r.ier;
	case UART_IIR:
		v = pending_iir(s);
		/* Reading IIR acknowledges a THRE interrupt. */
		if (v == IIR_THRI)
			s->r.iir_pending_thri = 0;
		return v | ((s->r.fcr & 1) ? IIR_FIFO : 0);
	case UART_LCR:
		return s->r.lcr;
	case UART_MCR:
		return s->r.mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->r.rx_len ? LSR_DR : 0);
	case UART_MSR:
		return s->r.msr;
	case UART_SCR:
		return s->r.scr;
	}
	return 0xff;
}

void serial_io(struct serial *s, uint16_t port, bool is_write, uint8_t *data)
{
	unsigned int reg = port - SERIAL_PORT_BASE;

	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, reg, *data);
	else
		*data = serial_read(s, reg);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_FIFO_SIZE - s->r.rx_len;
	if (n > len)
		n = len;
	memcpy(s->r.rx + s->r.rx_len, buf, n);
	s->r.rx_len += n;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_set_console(struct serial *s, int fd)
{
	pthread_mutex_lock(&s->lock);
	s->console_fd = fd;
	pthread_mutex_unlock(&s->lock);
}

void serial_output(struct serial *s, const char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	emit(s, buf, len);
	pthread_mutex_unlock(&s->lock);
}
