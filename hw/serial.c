// SPDX-License-Identifier: GPL-2.0
/*
 * An 8250/16550A UART at COM1 (0x3f8, IRQ 4) wired to the host terminal.
 * Transmission is instant, so THR is always empty; received bytes wait in
 * a FIFO. The interrupt line follows the pending state (gated by MCR OUT2,
 * as on a PC) and is driven as a level, so no edge is ever lost.
 */
#include <pthread.h>
#include <string.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"

/* Where COM1 is: I/O port 0x3f8 on x86; arm64 puts it in MMIO space. */
#ifdef ARCH_SERIAL0_MMIO_ADDR
#define SERIAL0_BUS(kvm)	(&(kvm)->mmio_bus)
#define SERIAL0_ADDR		ARCH_SERIAL0_MMIO_ADDR
#define SERIAL0_IRQ		ARCH_SERIAL0_IRQ
#else
#define SERIAL0_BUS(kvm)	(&(kvm)->pio_bus)
#define SERIAL0_ADDR		X86_SERIAL0_PORT
#define SERIAL0_IRQ		X86_SERIAL0_IRQ
#endif

#define UART_RX		0	/* DLAB=0: RBR (read) / THR (write) */
#define UART_IER	1
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
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
#define IIR_FIFO_BITS	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define RX_FIFO_SIZE	4096

struct uart {
	pthread_mutex_t lock;
	struct kvm *kvm;
	struct io_range io;
	u32 irq;
	bool irq_level;
	u8 dll, dlm, ier, fcr, lcr, mcr, scr;
	bool thri_pending;	/* THR-empty interrupt waiting to be seen */
	u8 rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

static struct uart com1;

static u8 uart_iir(struct uart *u)
{
	u8 fifo = u->fcr & FCR_ENABLE ? IIR_FIFO_BITS : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static void uart_update_irq(struct uart *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT) && (u->mcr & MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		kvm__irq_line(u->kvm, u->irq, level);
	}
}

static void rx_push(struct uart *u, u8 c)
{
	if (u->rx_count == RX_FIFO_SIZE)
		return;
	u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = c;
	u->rx_count++;
}

static void uart_write(struct uart *u, u64 off, u8 v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (off) {
	case UART_RX:
		if (dlab) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP)
			rx_push(u, v);
		else
			term_write(&u->kvm->term, &v, 1);
		u->thri_pending = true;		/* sent at once: empty again */
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		/* Enabling the THR-empty interrupt with THR empty raises it. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = true;
		u->ier = v & 0x0f;
		break;
	case UART_FCR:
		if (v & FCR_CLEAR_RX)
			u->rx_count = 0;
		u->fcr = v;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:		/* LSR, MSR: read-only */
		break;
	}
}

static u8 uart_read(struct uart *u, u64 off)
{
	bool dlab = u->lcr & LCR_DLAB;
	u8 v;

	switch (off) {
	case UART_RX:
		if (dlab)
			return u->dll;
		if (!u->rx_count)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
		u->rx_count--;
		return v;
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			u->thri_pending = false;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case UART_MSR:
		if (u->mcr & MCR_LOOP)
			return (u->mcr & MCR_RTS ? MSR_CTS : 0) |
			       (u->mcr & MCR_DTR ? MSR_DSR : 0) |
			       (u->mcr & MCR_OUT1 ? MSR_RI : 0) |
			       (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void uart_io(struct io_range *r __unused, u64 off, u8 *data, u32 len,
		    bool is_write, void *ctx)
{
	struct uart *u = ctx;
	u32 i;

	pthread_mutex_lock(&u->lock);
	/* Wider accesses act as consecutive byte accesses within the range. */
	for (i = 0; i < len && off + i < 8; i++) {
		if (is_write)
			uart_write(u, off + i, data[i]);
		else
			data[i] = uart_read(u, off + i);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static size_t uart_input(void *ctx, const u8 *buf, size_t len)
{
	struct uart *u = ctx;
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = min(len, (size_t)(RX_FIFO_SIZE - u->rx_count));
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

static int serial_init(struct kvm *kvm)
{
	struct uart *u = &com1;

	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->kvm = kvm;
	u->irq = SERIAL0_IRQ;
	u->mcr = MCR_OUT2;
	u->io = (struct io_range){
		.start = SERIAL0_ADDR, .len = 8, .fn = uart_io, .ctx = u,
		.name = "serial0",
	};
	if (iobus_register(SERIAL0_BUS(kvm), &u->io))
		return -1;
	if (!kvm->cfg.console || !strcmp(kvm->cfg.console, "serial"))
		term_set_input(&kvm->term, uart_input, u);
	return 0;
}

static void serial_exit(struct kvm *kvm)
{
	term_set_input(&kvm->term, NULL, NULL);
}
dev_init(serial_init, serial_exit);
