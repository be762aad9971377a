// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl's built-in guests, freestanding 64-bit code.
 *
 * idle:  every vCPU halts with interrupts off.
 * Either can take a periodic LAPIC timer interrupt (payload_params.tick_hz),
 * counted per vCPU in its status.
 * dirty: every vCPU rewrites its share of a working set at a set rate.
 *        Each page carries its page number, a generation and a checksum,
 *        and a table outside the pages holds each page's expected
 *        generation, so the payload can check any page at any time: a page
 *        that migration lost or sent stale fails the check.  Each page is
 *        checked before it is rewritten, and all pages on request
 *        (payload_params.verify_seq).
 */
#include "payload_abi.h"

#define PAGE_WORDS	512
#define SERIAL		0x3f8

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void puts_serial(const char *s)
{
	while (*s)
		outb(SERIAL, *s++);
}

static void putu(uint64_t v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	puts_serial(buf + i);
}

static void event(unsigned int ev, unsigned int vcpu, uint64_t arg)
{
	outl(PAYLOAD_PORT_EVENT, ev << 24 | (vcpu & 0xff) << 16 |
	     (arg > 0xffff ? 0xffff : arg));
}

/*
 * The LAPIC timer, for guests that must take a timer tick the way a real
 * kernel does (vmtrace's lazy TLB flush counts on such exits).  One IDT
 * for all vCPUs; each programs its own LAPIC.
 */
struct idt_gate {
	uint16_t offset_low, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

void timer_isr(void);
void spurious_isr(void);

#define LAPIC(reg)	(*(volatile uint32_t *)(0xfee00000UL + (reg)))
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_TMICT	0x380
#define LAPIC_TDCR	0x3e0
#define LVT_PERIODIC	(1U << 17)
/* KVM's LAPIC timer counts at 1 GHz (APIC_BUS_CYCLE_NS = 1). */
#define LAPIC_TIMER_HZ	1000000000U

static void idt_set(unsigned int vector, void (*handler)(void), uint16_t cs)
{
	uint64_t a = (uint64_t)handler;

	idt[vector] = (struct idt_gate) {
		.offset_low = a, .selector = cs, .type = 0x8e,
		.offset_mid = a >> 16, .offset_high = a >> 32,
	};
}

static void timer_start(uint32_t hz)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	/* Every vCPU writes the same gates: harmless, and no ordering. */
	idt_set(PAYLOAD_TIMER_VECTOR, timer_isr, cs);
	idt_set(PAYLOAD_SPURIOUS_VECTOR, spurious_isr, cs);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	LAPIC(LAPIC_SVR) = 0x100 | PAYLOAD_SPURIOUS_VECTOR;
	LAPIC(LAPIC_TDCR) = 0xb;	/* divide by 1 */
	LAPIC(LAPIC_LVT_TIMER) = LVT_PERIODIC | PAYLOAD_TIMER_VECTOR;
	LAPIC(LAPIC_TMICT) = LAPIC_TIMER_HZ / hz;
	__asm__ volatile("sti");
}

/* One spinlock for the console, so lines from vCPUs do not interleave. */
static volatile int console_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}

static void unlock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

struct share {
	uint64_t first, count;	/* page indexes within the working set */
};

struct dirty {
	volatile struct payload_params *params;
	struct payload_vcpu_status *st;
	uint32_t *gen;		/* expected generation per page */
	uint64_t *pages;	/* first page of the working set */
	struct share share;
	unsigned int vcpu;
};

static void fill_page(uint64_t *p, uint64_t idx, uint64_t gen)
{
	uint64_t sum = 0, i;

	p[0] = idx;
	p[1] = gen;
	for (i = 2; i < PAGE_WORDS - 1; i++)
		p[i] = mix(idx << 32 ^ gen << 12 ^ i);
	for (i = 0; i < PAGE_WORDS - 1; i++)
		sum = mix(sum ^ p[i]);
	p[PAGE_WORDS - 1] = sum;
}

/* A page is good if it is exactly what fill_page() wrote for its gen. */
static int page_ok(const uint64_t *p, uint64_t idx, uint64_t gen)
{
	uint64_t sum = 0, i;

	if (gen == 0)
		return 1;	/* never written */
	if (p[0] != idx || p[1] != gen)
		return 0;
	for (i = 2; i < PAGE_WORDS - 1; i++)
		if (p[i] != mix(idx << 32 ^ gen << 12 ^ i))
			return 0;
	for (i = 0; i < PAGE_WORDS - 1; i++)
		sum = mix(sum ^ p[i]);
	return p[PAGE_WORDS - 1] == sum;
}

static void verify_all(struct dirty *d, uint64_t seq)
{
	uint64_t i, bad = 0;

	for (i = d->share.first; i < d->share.first + d->share.count; i++) {
		if (!page_ok(d->pages + i * PAGE_WORDS, i, d->gen[i]))
			bad++;
		d->st->pages_verified++;
	}
	d->st->bad_pages += bad;
	__atomic_store_n(&d->st->verify_seq, seq, __ATOMIC_RELEASE);
	lock();
	puts_serial("dirty: vcpu ");
	putu(d->vcpu);
	puts_serial(" verified ");
	putu(d->share.count);
	puts_serial(" pages, ");
	putu(bad);
	puts_serial(" bad\n");
	unlock();
	event(PAYLOAD_EV_VERIFIED, d->vcpu, bad);
}

/*
 * --order random: pass k visits page k * STRIDE mod count.  STRIDE is a
 * prime above any share's page count (MEM_MAX is 786,432 pages), so
 * coprime with it: a permutation, every page once per pass, consecutive
 * writes STRIDE mod count pages apart, all over the share's 2 MB and 1 GB
 * regions.
 */
#define STRIDE	790003ULL

static void dirty_main(unsigned int vcpu, volatile struct payload_params *pp,
		       struct payload_status *status)
{
	uint64_t region_pages, wss, per, nr_gen_pages, tsc_per_page = 0;
	uint64_t i, k, t0, written = 0;
	int random = !!(pp->flags & PAYLOAD_F_RANDOM);
	struct dirty d = { .params = pp, .st = &status->vcpu[vcpu],
			   .vcpu = vcpu };

	/* The generation table comes first in the region, then the pages. */
	region_pages = (pp->region_end - pp->region_start) / 4096;
	nr_gen_pages = (region_pages * 4 + 4095) / 4096;
	wss = (region_pages - nr_gen_pages) * pp->wss_percent / 100;
	d.gen = (uint32_t *)pp->region_start;
	d.pages = (uint64_t *)(pp->region_start + nr_gen_pages * 4096);
	per = wss / pp->nr_vcpus;
	d.share.first = per * vcpu;
	d.share.count = vcpu == pp->nr_vcpus - 1 ? wss - d.share.first : per;
	if (pp->rate)
		tsc_per_page = pp->tsc_khz * 1000 * 4096 / pp->rate *
			       pp->nr_vcpus;

	/*
	 * A guest that has run a while has touched all its memory: every
	 * page then has a mapping for dirty tracking to protect.  Adding 0
	 * atomically writes the page without changing it, even where another
	 * vCPU already fills its working set.
	 */
	if (pp->flags & PAYLOAD_F_TOUCH_ALL) {
		uint64_t share = region_pages / pp->nr_vcpus;
		uint64_t from = share * vcpu, to = vcpu == pp->nr_vcpus - 1 ?
						     region_pages : from + share;

		for (i = from; i < to; i++)
			__atomic_fetch_add((uint64_t *)(pp->region_start +
							i * 4096), 0,
					   __ATOMIC_RELAXED);
	}
	event(PAYLOAD_EV_STARTED, vcpu, 0);
	t0 = rdtsc();
	for (;;) {
		for (k = 0; k < d.share.count; k++) {
			uint64_t seq = pp->verify_seq;
			uint64_t *p;

			i = d.share.first +
			    (random ? k * STRIDE % d.share.count : k);
			p = d.pages + i * PAGE_WORDS;

			if (seq != d.st->verify_seq)
				verify_all(&d, seq);
			if (!page_ok(p, i, d.gen[i])) {
				d.st->bad_pages++;
				event(PAYLOAD_EV_CORRUPT, vcpu, 0);
			}
			fill_page(p, i, d.gen[i] + 1);
			d.gen[i]++;
			d.st->pages_written++;
			written++;
			while (tsc_per_page && rdtsc() - t0 < written * tsc_per_page)
				__asm__ volatile("pause");
		}
		d.st->passes++;
	}
}

void payload_main(unsigned long vcpu, struct payload_params *pp);

void payload_main(unsigned long vcpu, struct payload_params *pp)
{
	struct payload_status *status = (void *)0x6000;

	if (pp->magic != PAYLOAD_PARAMS_MAGIC || pp->version != PAYLOAD_ABI_VERSION)
		return;
	if (pp->tick_hz)
		timer_start(pp->tick_hz);
	if (pp->wss_percent) {
		dirty_main(vcpu, pp, status);
		return;
	}
	if (vcpu == 0) {
		lock();
		puts_serial("idle: up\n");
		unlock();
	}
	event(PAYLOAD_EV_STARTED, vcpu, 0);
}
