// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the built-in payloads and serving their port.  The payload image
 * (ctl/payload/, built freestanding) is linked into vmotionctl.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "layout.h"
#include "longmode.h"
#include "payload.h"
#include "vm.h"

extern const uint8_t payload_image[];
extern const uint8_t payload_image_end[];

/* The dirty payload's region starts above its image, at 4 MiB. */
#define PAYLOAD_REGION_GPA	(4ULL << 20)

int payload_boot(struct vm *vm, const struct payload_config *cfg)
{
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct payload_params pp = {
		.magic = PAYLOAD_PARAMS_MAGIC,
		.version = PAYLOAD_ABI_VERSION,
		.nr_vcpus = vm->nr_cpus,
		.mem_size = vm->mem_size,
		.region_start = PAYLOAD_REGION_GPA,
		.region_end = vm->mem_size,
		.rate = cfg->rate,
		.tick_hz = cfg->tick_hz,
	};
	struct payload_status status;
	unsigned int i;
	int khz;

	if (!strcmp(cfg->name, "dirty")) {
		pp.wss_percent = cfg->wss_percent;
		pp.flags = (cfg->touch_all ? PAYLOAD_F_TOUCH_ALL : 0) |
			   (cfg->random ? PAYLOAD_F_RANDOM : 0);
		if (pp.wss_percent < 1 || pp.wss_percent > 100)
			return fail("--wss: must be 1%% to 100%%");
	} else if (strcmp(cfg->name, "idle")) {
		return fail("--payload %s: unknown (idle, dirty)", cfg->name);
	}
	if (vm->mem_size < 2 * PAYLOAD_REGION_GPA)
		return fail("--payload needs at least %llu MiB of memory",
			    2 * PAYLOAD_REGION_GPA >> 20);
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return fail("KVM_GET_TSC_KHZ: %s", strerror(errno));
	pp.tsc_khz = khz;

	memset(&status, 0, sizeof(status));
	if (vm_write(vm, PAYLOAD_LOAD_GPA, payload_image,
		     payload_image_end - payload_image) ||
	    vm_write(vm, PAYLOAD_PARAMS_GPA, &pp, sizeof(pp)) ||
	    vm_write(vm, PAYLOAD_STATUS_GPA, &status, sizeof(status)) ||
	    longmode_build_tables(vm))
		return fail("guest memory too small for the payload");
	vm->payload_status_gpa = PAYLOAD_STATUS_GPA;

	for (i = 0; i < vm->nr_cpus; i++) {
		if (longmode_enter(&vm->vcpus[i], PAYLOAD_LOAD_GPA,
				   PAYLOAD_PARAMS_GPA, i,
				   STACKS_TOP_GPA - i * STACK_SIZE))
			return -1;
		/* APs would otherwise wait for a SIPI that never comes. */
		if (i && ioctl(vm->vcpus[i].fd, KVM_SET_MP_STATE, &runnable))
			return fail("vCPU %u: KVM_SET_MP_STATE: %s", i,
				    strerror(errno));
	}
	return 0;
}

void payload_io(struct vcpu *vcpu, uint16_t port, bool out, uint8_t *data,
		unsigned int size)
{
	uint32_t v = 0;
	char msg[96];

	if (!out || port != PAYLOAD_PORT_EVENT || size != 4) {
		if (!out)
			memset(data, 0xff, size);
		return;
	}
	memcpy(&v, data, 4);
	if (v >> 24 == PAYLOAD_EV_CORRUPT) {
		snprintf(msg, sizeof(msg),
			 "vmotionctl: payload vCPU %u found a corrupt page\n",
			 (v >> 16) & 0xff);
		serial_output(&vcpu->vm->serial, msg, strlen(msg));
	}
}

long payload_verify(struct vm *vm, unsigned int timeout_ms)
{
	volatile struct payload_params *pp;
	volatile struct payload_status *st;
	uint64_t seq, bad_before = 0, bad_after = 0;
	struct timespec ts = { .tv_nsec = 1000000 };
	unsigned int i, waited;

	pp = vm_ptr(vm, PAYLOAD_PARAMS_GPA, sizeof(*pp));
	st = vm_ptr(vm, PAYLOAD_STATUS_GPA, sizeof(*st));
	if (!vm->payload_status_gpa || !pp || !pp->wss_percent)
		return -EINVAL;
	for (i = 0; i < vm->nr_cpus; i++)
		bad_before += st->vcpu[i].bad_pages;
	/* The guest polls this word; the VMM wrote it, so report it dirty. */
	seq = __atomic_add_fetch(&pp->verify_seq, 1, __ATOMIC_SEQ_CST);
	vm_mark_dirty(vm, PAYLOAD_PARAMS_GPA, sizeof(*pp));
	for (waited = 0;; waited++) {
		for (i = 0; i < vm->nr_cpus; i++)
			if (__atomic_load_n(&st->vcpu[i].verify_seq,
					    __ATOMIC_ACQUIRE) != seq)
				break;
		if (i == vm->nr_cpus)
			break;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < vm->nr_cpus; i++)
		bad_after += st->vcpu[i].bad_pages;
	return bad_after - bad_before;
}
