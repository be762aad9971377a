// SPDX-License-Identifier: GPL-2.0
/*
 * Talking to a running VMM:
 *
 *   vmotionctl ctl --control PATH REQUEST [ARG]
 *	one control request; prints the reply (a body, if any, to stdout)
 *   vmotionctl save --control PATH --state FILE --mem-file FILE [--quit]
 *	checkpoint a running VM: lock, pause, save the state and copy guest
 *	memory through the memfd the VMM hands out, then resume -- or quit,
 *	after which `vmotionctl run --restore` continues the VM elsewhere
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vm_client.h"
#include "vmotionctl.h"

static int write_file(const char *what, const char *path, const void *buf,
		      size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = buf;

	if (fd < 0)
		return fail("%s %s: %s", what, path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0) {
			close(fd);
			unlink(path);
			return fail("%s %s: %s", what, path, strerror(errno));
		}
		p += n;
		len -= n;
	}
	if (close(fd))
		return fail("%s %s: %s", what, path, strerror(errno));
	return 0;
}

static const struct cli_option ctl_options[] = {
	{ "control", 'C', "PATH", "the VM's control socket (required)" },
	{ NULL },
};

static int cmd_ctl(int argc, char **argv);

const struct cli_command ctl_command = {
	.name = "ctl",
	.fn = cmd_ctl,
	.summary = "Send one request to a running VM and print its reply.",
	.synopsis = "--control PATH REQUEST [ARG]",
	.description = "The requests (pause, resume, status, save-state, get-dirty, quit, ...) "
		       "are in Documentation/admin-guide/vmotionctl.rst; a reply with a body "
		       "writes the body to stdout.",
	.options = ctl_options,
};

static int cmd_ctl(int argc, char **argv)
{
	const char *control = NULL, *request, *arg;
	struct cli_parser p;
	struct vm_client c;
	char req[256];
	size_t body;
	char *buf;
	int ret;

	cli_init(&p, &ctl_command, argc, argv);
	while ((ret = cli_next(&p)) > 0)
		control = p.arg;
	if (ret == CLI_ERROR)
		return 1;
	if (!control || p.optind >= argc || argc - p.optind > 2)
		return fail("usage: ctl --control PATH REQUEST [ARG] (see ctl --help)");
	request = argv[p.optind];
	arg = p.optind + 1 < argc ? argv[p.optind + 1] : NULL;
	snprintf(req, sizeof(req), "%s%s%s", request, arg ? " " : "",
		 arg ? arg : "");
	if (vm_client_connect(&c, control))
		return 1;
	ret = vm_client_request(&c, req, NULL);
	if (ret < 0) {
		vm_client_close(&c);
		return fail("%s: connection lost", control);
	}
	if (ret) {
		vm_client_close(&c);
		return fail("%s", c.reply + (strncmp(c.reply, "error ", 6) ? 0 : 6));
	}
	/* Replies with a body say its size: "ok <bytes>". */
	if ((!strcmp(request, "save-state") || !strcmp(request, "get-dirty")) &&
	    sscanf(c.reply, "ok %zu", &body) == 1) {
		buf = malloc(body ? body : 1);
		if (!buf || vm_client_read_body(&c, buf, body) ||
		    fwrite(buf, 1, body, stdout) != body) {
			free(buf);
			vm_client_close(&c);
			return fail("%s: short body", request);
		}
		free(buf);
	} else {
		printf("%s\n", c.reply);
	}
	vm_client_close(&c);
	return 0;
}

static int copy_memory(int mem_fd, const char *path)
{
	struct stat st;
	void *mem;
	int ret;

	if (fstat(mem_fd, &st))
		return fail("guest memory: %s", strerror(errno));
	mem = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, mem_fd, 0);
	if (mem == MAP_FAILED)
		return fail("guest memory: mmap: %s", strerror(errno));
	ret = write_file("--mem-file", path, mem, st.st_size);
	munmap(mem, st.st_size);
	return ret;
}

static const struct cli_option save_options[] = {
	{ "control", 'C', "PATH", "the VM's control socket (required)" },
	{ "state", 's', "FILE", "write the VM's state (vCPUs, devices) here (required)" },
	{ "mem-file", 'm', "FILE", "write its memory here (required)" },
	{ "quit", 'q', NULL, "stop the VM once saved, for run --restore elsewhere" },
	{ NULL },
};

static int cmd_save(int argc, char **argv);

const struct cli_command save_command = {
	.name = "save",
	.fn = cmd_save,
	.summary = "Checkpoint a running VM to files, then resume it (or quit).",
	.synopsis = "--control PATH --state FILE --mem-file FILE [--quit]",
	.description = "vmotionctl run --restore STATE --mem-file FILE continues it.",
	.options = save_options,
};

static int cmd_save(int argc, char **argv)
{
	const char *control = NULL, *state = NULL, *mem = NULL;
	int fds[2] = { -1, -1 }, opt, ret = 1;
	struct cli_parser p;
	bool quit = false;
	struct vm_client c;
	size_t len;
	void *blob = NULL;

	cli_init(&p, &save_command, argc, argv);
	while ((opt = cli_next(&p)) > 0) {
		switch (opt) {
		case 'C': control = p.arg; break;
		case 's': state = p.arg; break;
		case 'm': mem = p.arg; break;
		case 'q': quit = true; break;
		}
	}
	if (opt == CLI_ERROR)
		return 1;
	if (p.optind < argc)
		return fail("save: unexpected argument \"%s\"", argv[p.optind]);
	if (!control || !state || !mem)
		return fail("save: --control, --state and --mem-file are required (see save --help)");
	if (vm_client_connect(&c, control))
		return 1;
	if (vm_client_request(&c, "lock", NULL) ||
	    vm_client_request(&c, "pause", NULL)) {
		fail("save: %s", c.reply);
		goto out;
	}
	if (vm_client_request(&c, "save-state", NULL) ||
	    sscanf(c.reply, "ok %zu", &len) != 1) {
		fail("save: %s", c.reply);
		goto out;
	}
	blob = malloc(len);
	if (!blob || vm_client_read_body(&c, blob, len)) {
		fail("save: state: connection lost");
		goto out;
	}
	if (vm_client_request(&c, "get-fds", fds) || fds[1] < 0) {
		fail("save: get-fds: %s", c.reply);
		goto out;
	}
	if (write_file("--state", state, blob, len) || copy_memory(fds[1], mem))
		goto out;
	ret = 0;
	if (quit && vm_client_request(&c, "quit", NULL))
		ret = fail("save: quit: %s", c.reply);
out:
	/* Closing the connection unlocks and resumes whatever it paused. */
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(blob);
	vm_client_close(&c);
	return ret;
}
