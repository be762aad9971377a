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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

int cmd_ctl(int argc, char **argv)
{
	struct vm_client c;
	char req[256];
	size_t body;
	char *p;
	int ret;

	if (argc < 4 || strcmp(argv[1], "--control"))
		return fail("usage: ctl --control PATH REQUEST [ARG]");
	snprintf(req, sizeof(req), "%s%s%s", argv[3], argc > 4 ? " " : "",
		 argc > 4 ? argv[4] : "");
	if (vm_client_connect(&c, argv[2]))
		return 1;
	ret = vm_client_request(&c, req, NULL);
	if (ret < 0) {
		vm_client_close(&c);
		return fail("%s: connection lost", argv[2]);
	}
	if (ret) {
		vm_client_close(&c);
		return fail("%s", c.reply + (strncmp(c.reply, "error ", 6) ? 0 : 6));
	}
	/* Replies with a body say its size: "ok <bytes>". */
	if ((!strcmp(argv[3], "save-state") || !strcmp(argv[3], "get-dirty")) &&
	    sscanf(c.reply, "ok %zu", &body) == 1) {
		p = malloc(body ? body : 1);
		if (!p || vm_client_read_body(&c, p, body) ||
		    fwrite(p, 1, body, stdout) != body) {
			free(p);
			vm_client_close(&c);
			return fail("%s: short body", argv[3]);
		}
		free(p);
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

int cmd_save(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "mem-file", required_argument, NULL, 'm' },
		{ "quit", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *control = NULL, *state = NULL, *mem = NULL;
	int fds[2] = { -1, -1 }, opt, ret = 1;
	bool quit = false;
	struct vm_client c;
	size_t len;
	void *blob = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': control = optarg; break;
		case 's': state = optarg; break;
		case 'm': mem = optarg; break;
		case 'q': quit = true; break;
		default: return fail("save: unknown option");
		}
	}
	if (!control || !state || !mem)
		return fail("usage: save --control PATH --state FILE --mem-file FILE [--quit]");
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
