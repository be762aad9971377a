// SPDX-License-Identifier: GPL-2.0
/*
 * vmotionctl run: the VMM.
 *
 *   vmotionctl run --kernel BZIMAGE [--initrd F] [--cmdline S] | --payload NAME
 *                  [--mem SIZE] [--cpus N] [--control PATH] [--console PATH]
 *                  [--log FILE] [--hugepages 2M|1G] [--rate R] [--wss P%]
 *                  [--touch-all] [--order seq|random] [--tick-hz HZ]
 *   vmotionctl run --restore STATE --mem-file F [--control PATH] ...
 *
 * Setup follows kvmtool's init/work/exit split: everything is created
 * before the first vCPU runs, and every error path undoes what was made,
 * so a bad argument leaves no socket, file or process behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "vmm/boot_linux.h"
#include "vmm/control.h"
#include "vmm/host.h"
#include "vmm/layout.h"
#include "vmm/payload.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmotionctl.h"

struct run_opts {
	const char *kernel, *initrd, *cmdline;
	const char *control, *console, *log;
	const char *restore, *mem_file;
	struct payload_config payload;
	uint64_t mem_size;
	unsigned int cpus;
	enum vm_backing backing;
	bool mem_set, cpus_set;
	int vcpu_cpu;
	const char *shutdown_dump;
};

static const struct cli_option run_options[] = {
	{ "kernel", 'k', "BZIMAGE", "boot this Linux bzImage" },
	{ "initrd", 'i', "FILE", "its initramfs (with --kernel)" },
	{ "cmdline", 'c', "STRING", "its command line (default \"console=ttyS0 panic=-1\")" },
	{ "payload", 'p', "idle|dirty", "run a built-in payload instead of Linux" },
	{ "restore", 'R', "STATE", "continue a VM saved by save or sent by migrate" },
	{ "mem-file", 'M', "FILE", "the restored VM's memory (with --restore)" },
	{ "mem", 'm', "SIZE", "guest memory, 16M to 3G (default 256M)" },
	{ "cpus", 'n', "N", "vCPUs, up to what KVM allows, at most 64 (default 1)" },
	{ "hugepages", 'H', "2M|1G", "back guest memory with hugetlbfs pages" },
	{ "control", 'C', "PATH", "listen for control requests on this UNIX socket" },
	{ "console", 'S', "PATH", "serve the guest's serial console on this UNIX socket" },
	{ "log", 'l', "FILE", "append the guest's serial console to FILE (default: stdout)" },
	{ "rate", 'r', "RATE", "dirty payload: bytes written per second, e.g. 200M/s (default: as fast as it can)" },
	{ "wss", 'w', "P%", "dirty payload: working set, percent of memory (default 30%)" },
	{ "touch-all", 'A', NULL, "dirty payload: touch all memory once first" },
	{ "order", 'O', "seq|random", "dirty payload: order of the writes (default seq)" },
	{ "tick-hz", 'T', "HZ", "payload: timer ticks per second" },
	{ "vcpu-cpu", 'P', "N", "pin the vCPU threads to this host CPU" },
	{ "shutdown-dump", 'D', "FILE", "on a guest shutdown, write the first 2 MiB of its memory here" },
	{ NULL },
};

static int cmd_run(int argc, char **argv);

const struct cli_command run_command = {
	.name = "run",
	.fn = cmd_run,
	.summary = "Run a VM: a Linux kernel, a built-in payload, or a saved or migrated VM.",
	.synopsis = "--kernel BZIMAGE | --payload idle|dirty | --restore STATE --mem-file FILE [OPTIONS]",
	.description = "The VM runs until the guest powers off or a quit request arrives on "
		       "its control socket, which is also where migrate finds it.",
	.options = run_options,
};

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	struct cli_parser p;
	uint64_t v;
	int c;

	*o = (struct run_opts) {
		.cmdline = "console=ttyS0 panic=-1",
		.mem_size = 256ULL << 20,
		.cpus = 1,
		.payload = { .wss_percent = 30 },
		.vcpu_cpu = -1,
	};
	cli_init(&p, &run_command, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'k': o->kernel = p.arg; break;
		case 'i': o->initrd = p.arg; break;
		case 'c': o->cmdline = p.arg; break;
		case 'C': o->control = p.arg; break;
		case 'S': o->console = p.arg; break;
		case 'l': o->log = p.arg; break;
		case 'p': o->payload.name = p.arg; break;
		case 'R': o->restore = p.arg; break;
		case 'M': o->mem_file = p.arg; break;
		case 'D': o->shutdown_dump = p.arg; break;
		case 'm':
			if (parse_size(p.arg, &o->mem_size))
				return cli_bad_value(&p, "not a size");
			if (o->mem_size % VM_PAGE_SIZE)
				return cli_bad_value(&p,
						     "not a multiple of the 4 KiB page size");
			if (o->mem_size < MEM_MIN || o->mem_size > MEM_MAX)
				return cli_bad_value(&p, "must be %llu MiB to %llu GiB",
						     MEM_MIN >> 20, MEM_MAX >> 30);
			o->mem_set = true;
			break;
		case 'n':
			if (parse_uint(p.arg, 1, 1024, &v))
				return cli_bad_value(&p, "not a vCPU count");
			o->cpus = v;
			o->cpus_set = true;
			break;
		case 'H': {
			static const char *const sizes[] = { "2M", "1G", NULL };
			int k = cli_choice(&p, sizes);

			if (k < 0)
				return 1;
			o->backing = k ? VM_BACKING_1G : VM_BACKING_2M;
			break;
		}
		case 'r': {
			char *slash = strstr(p.arg, "/s");

			if (slash && !slash[2])
				*slash = '\0';
			if (parse_size(p.arg, &o->payload.rate)) {
				if (slash)
					*slash = '/';
				return cli_bad_value(&p, "not a rate (e.g. 200M/s)");
			}
			break;
		}
		case 'w': {
			char *pct = strchr(p.arg, '%');

			if (pct && !pct[1])
				*pct = '\0';
			if (parse_uint(p.arg, 1, 100, &v))
				return cli_bad_value(&p, "a percentage, 1%% to 100%%");
			o->payload.wss_percent = v;
			break;
		}
		case 'A':
			o->payload.touch_all = true;
			break;
		case 'O': {
			static const char *const orders[] = { "seq", "random", NULL };
			int k = cli_choice(&p, orders);

			if (k < 0)
				return 1;
			o->payload.random = k == 1;
			break;
		}
		case 'P':
			if (parse_uint(p.arg, 0, CPU_SETSIZE - 1, &v))
				return cli_bad_value(&p, "a host CPU number");
			o->vcpu_cpu = v;
			break;
		case 'T':
			if (parse_uint(p.arg, 1, 10000, &v))
				return cli_bad_value(&p, "1 to 10000");
			o->payload.tick_hz = v;
			break;
		}
	}
	if (c == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("run: unexpected argument \"%s\"", argv[p.optind]);
	if (!!o->kernel + !!o->payload.name + !!o->restore != 1)
		return fail("run: give exactly one of --kernel, --payload, --restore");
	if (!!o->restore != !!o->mem_file)
		return fail("run: --restore and --mem-file go together");
	if (o->initrd && !o->kernel)
		return fail("run: --initrd needs --kernel");
	if (o->backing == VM_BACKING_2M && o->mem_size % (2ULL << 20))
		return fail("--mem: not a multiple of 2 MiB huge pages");
	if (o->backing == VM_BACKING_1G && o->mem_size % (1ULL << 30))
		return fail("--mem: not a multiple of 1 GiB huge pages");
	return 0;
}

static void *read_whole(const char *what, const char *path, size_t *len)
{
	struct stat st;
	void *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail("%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail("%s %s: not a regular file", what, path);
	} else {
		buf = malloc(st.st_size ? st.st_size : 1);
		if (buf && read(fd, buf, st.st_size) != st.st_size) {
			fail("%s %s: short read", what, path);
			free(buf);
			buf = NULL;
		}
		*len = st.st_size;
	}
	close(fd);
	return buf;
}

/* Guest memory from a file of exactly the VM's size. */
static int load_memory(struct vm *vm, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t done = 0;
	struct stat st;

	if (fd < 0)
		return fail("--mem-file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || (uint64_t)st.st_size != vm->mem_size) {
		close(fd);
		return fail("--mem-file %s: %lld bytes, the state says %llu",
			    path, (long long)st.st_size,
			    (unsigned long long)vm->mem_size);
	}
	while (done < vm->mem_size) {
		ssize_t n = read(fd, vm->mem + done, vm->mem_size - done);

		if (n <= 0) {
			close(fd);
			return fail("--mem-file %s: read error", path);
		}
		done += n;
	}
	close(fd);
	/* All of it came from the VMM: a migration must send all of it. */
	vm_mark_dirty(vm, 0, vm->mem_size);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	const struct state_header *h;
	struct vmm_host host;
	struct run_opts o;
	void *blob = NULL;
	size_t blob_len = 0;
	int ret = 1;

	vmm_host_init(&host);
	if (parse_run_opts(argc, argv, &o))
		return 1;
	if (o.restore) {
		blob = read_whole("--restore", o.restore, &blob_len);
		if (!blob || state_check(blob, blob_len, o.restore))
			goto out;
		h = blob;
		if ((o.mem_set && h->mem_size != o.mem_size) ||
		    (o.cpus_set && h->nr_cpus != o.cpus)) {
			fail("--restore %s: saved with %u vCPUs and %llu MiB",
			     o.restore, h->nr_cpus,
			     (unsigned long long)h->mem_size >> 20);
			goto out;
		}
		o.mem_size = h->mem_size;
		o.cpus = h->nr_cpus;
	}
	if (vmm_host_open_log(&host, o.log) ||
	    vmm_host_create(&host, o.mem_size, o.cpus, o.backing, o.vcpu_cpu))
		goto out;
	host.vm.shutdown_dump = o.shutdown_dump;

	if (o.restore) {
		if (load_memory(&host.vm, o.mem_file) ||
		    state_restore(&host.vm, blob, blob_len))
			goto out;
	} else if (o.kernel) {
		if (boot_linux(&host.vm, o.kernel, o.initrd, o.cmdline))
			goto out;
	} else if (payload_boot(&host.vm, &o.payload)) {
		goto out;
	}

	if (vmm_host_control(&host, o.control, o.console) ||
	    vm_start(&host.vm))
		goto out;
	control_loop(host.ctl);
	ret = vmm_host_finish(&host);
out:
	vmm_host_close(&host);
	free(blob);
	return ret;
}
