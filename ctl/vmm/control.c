// SPDX-License-Identifier: GPL-2.0
/*
 * Control and console sockets.
 *
 * The lock and any pause belong to the control connection that took them:
 * when it closes -- a migration controller that crashed, say -- the VM is
 * unlocked and resumed, so it is never left paused by a client that is
 * gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../vmotionctl.h"
#include "control.h"
#include "dirty_log.h"
#include "payload.h"
#include "state.h"

#define MAX_CLIENTS	8
#define LINE_MAX_LEN	256

struct client {
	int fd;
	char line[LINE_MAX_LEN];
	size_t len;
	bool paused;	/* this connection paused the VM */
};

struct control {
	struct vm *vm;
	int listen_fd, console_listen_fd, console_fd;
	char *path, *console_path;
	struct client clients[MAX_CLIENTS];
	struct client *lock_owner;
	struct client *log_owner;	/* turned KVM dirty logging on */
	bool committed;	/* handed to a destination: never runs here again */
	/* The migration it was committed to (the commit request's words). */
	char commit_id[24], commit_peer[96];
	const struct control_peer *peer;
	/*
	 * Console input the UART FIFO could not take yet.  Never waited
	 * for in the loop: a paused or held guest drains nothing, and the
	 * loop must go on serving the handoff.
	 */
	uint8_t console_pending[64];
	size_t console_pending_len;
	bool quit;
};

static int bind_unix(const char *what, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("%s %s: path too long", what, path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("%s: socket: %s", what, strerror(errno));
		return -1;
	}
	/* A path that answers belongs to a live VMM; one that does not is stale. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fail("%s %s: in use by another process", what, path);
		close(fd);
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		fail("%s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct control *control_open(struct vm *vm, const char *control_path,
			     const char *console_path)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	unsigned int i;

	if (!ctl) {
		fail("out of memory");
		return NULL;
	}
	ctl->vm = vm;
	ctl->listen_fd = ctl->console_listen_fd = ctl->console_fd = -1;
	for (i = 0; i < MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	if (control_path) {
		ctl->listen_fd = bind_unix("--control", control_path);
		if (ctl->listen_fd < 0)
			goto err;
		ctl->path = strdup(control_path);
	}
	if (console_path) {
		ctl->console_listen_fd = bind_unix("--console", console_path);
		if (ctl->console_listen_fd < 0)
			goto err;
		ctl->console_path = strdup(console_path);
	}
	return ctl;
err:
	control_close(ctl);
	return NULL;
}

void control_set_peer(struct control *ctl, const struct control_peer *peer)
{
	ctl->peer = peer;
}

void control_stop(struct control *ctl)
{
	ctl->quit = true;
}

void control_close(struct control *ctl)
{
	unsigned int i;

	if (!ctl)
		return;
	for (i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			close(ctl->clients[i].fd);
	if (ctl->console_fd >= 0)
		close(ctl->console_fd);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		unlink(ctl->path);
	}
	if (ctl->console_listen_fd >= 0) {
		close(ctl->console_listen_fd);
		unlink(ctl->console_path);
	}
	free(ctl->path);
	free(ctl->console_path);
	free(ctl);
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int reply(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int reply(struct client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	return send_all(c->fd, buf, n);
}

/* The last word to a client: never blocks on one that does not read. */
static void notify_stopped(struct client *c, const char *why)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "error vm-stopped: %s\n", why);

	if (n > 0 && send(c->fd, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1,
			  MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
	}
}

static int send_fds(struct client *c, int fd1, int fd2)
{
	char line[] = "ok vm-fd mem-fd\n";
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = line, .iov_len = sizeof(line) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int fds[2] = { fd1, fd2 };

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	return sendmsg(c->fd, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static bool locked_by_other(struct control *ctl, struct client *c)
{
	return ctl->lock_owner && ctl->lock_owner != c;
}

static void release_client(struct control *ctl, struct client *c)
{
	if (ctl->lock_owner == c)
		ctl->lock_owner = NULL;
	if (ctl->log_owner == c) {
		dirty_log_set(ctl->vm, false);
		ctl->log_owner = NULL;
	}
	/* A committed VM runs at the destination now; it stays paused here. */
	if (c->paused && !ctl->committed) {
		c->paused = false;
		vm_resume(ctl->vm);
	}
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* A destination's VM restored but not started: no vCPU thread to kick. */
static bool peer_holds(struct control *ctl)
{
	return ctl->peer && ctl->peer->held(ctl->peer->opaque);
}

static int cmd_status(struct control *ctl, struct client *c)
{
	struct vm *vm = ctl->vm;
	char extra[256] = "";

	if (vm->payload_status_gpa) {
		struct payload_status *st = vm_ptr(vm, vm->payload_status_gpa,
						   sizeof(*st));
		uint64_t passes = 0, written = 0, bad = 0, ticks = 0;
		unsigned int i;

		for (i = 0; i < vm->nr_cpus; i++) {
			passes += st->vcpu[i].passes;
			written += st->vcpu[i].pages_written;
			bad += st->vcpu[i].bad_pages;
			ticks += st->vcpu[i].ticks;
		}
		snprintf(extra, sizeof(extra),
			 " passes=%llu pages_written=%llu bad_pages=%llu ticks=%llu",
			 (unsigned long long)passes,
			 (unsigned long long)written, (unsigned long long)bad,
			 (unsigned long long)ticks);
	}
	return reply(c, "ok state=%s cpus=%u mem=%llu locked=%d%s",
		     ctl->committed ? "migrated" :
		     peer_holds(ctl) ? "in-doubt" :
		     vm->pause_req ? "paused" : "running", vm->nr_cpus,
		     (unsigned long long)vm->mem_size, ctl->lock_owner != NULL,
		     extra);
}

static int cmd_save_state(struct control *ctl, struct client *c)
{
	size_t len;
	void *blob;
	int ret;

	if (!ctl->vm->pause_req)
		return reply(c, "error save-state needs a paused VM");
	blob = state_save(ctl->vm, &len);
	if (!blob)
		return reply(c, "error cannot read the VM state");
	ret = reply(c, "ok %zu", len);
	if (!ret)
		ret = send_all(c->fd, blob, len);
	free(blob);
	return ret;
}

static int cmd_get_dirty(struct control *ctl, struct client *c)
{
	struct vm *vm = ctl->vm;
	size_t words = (vm->mem_size / VM_PAGE_SIZE + 63) / 64;
	uint64_t *copy = malloc(words * 8);
	int ret;

	if (!copy)
		return reply(c, "error out of memory");
	pthread_mutex_lock(&vm->lock);
	memcpy(copy, vm->vmm_dirty, words * 8);
	memset(vm->vmm_dirty, 0, words * 8);
	pthread_mutex_unlock(&vm->lock);
	ret = reply(c, "ok %zu", words * 8);
	if (!ret)
		ret = send_all(c->fd, copy, words * 8);
	free(copy);
	return ret;
}

/*
 * KVM's dirty log, for a migration controller in another process: KVM
 * refuses VM ioctls from any process but the VM's creator, so the VMM
 * turns logging on and off and harvests on the controller's behalf.
 */
static int cmd_dirty_log(struct control *ctl, struct client *c,
			 const char *arg)
{
	struct vm *vm = ctl->vm;
	size_t len;
	void *bm;
	int ret;

	if (!arg)
		return reply(c, "error dirty-log needs on, off or harvest");
	if (locked_by_other(ctl, c))
		return reply(c, "error locked by another control connection");
	if (!strcmp(arg, "on")) {
		if (ctl->log_owner)
			return reply(c, "error dirty logging already on");
		if (dirty_log_set(vm, true))
			return reply(c, "error cannot enable KVM dirty logging");
		ctl->log_owner = c;
		return reply(c, "ok");
	}
	if (ctl->log_owner != c)
		return reply(c, "error this connection has not turned dirty logging on");
	if (!strcmp(arg, "off")) {
		ctl->log_owner = NULL;
		if (dirty_log_set(vm, false))
			return reply(c, "error cannot disable KVM dirty logging");
		return reply(c, "ok");
	}
	if (strcmp(arg, "harvest"))
		return reply(c, "error dirty-log needs on, off or harvest");
	bm = dirty_log_harvest(vm, &len);
	if (!bm)
		return reply(c, "error KVM dirty-log harvest failed");
	ret = reply(c, "ok %zu", len);
	if (!ret)
		ret = send_all(c->fd, bm, len);
	free(bm);
	return ret;
}

static int cmd_get_cpuid(struct control *ctl, struct client *c)
{
	const struct kvm_cpuid2 *cpuid = ctl->vm->cpuid;
	size_t len = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	int ret = reply(c, "ok %zu", len);

	return ret ? ret : send_all(c->fd, cpuid, len);
}

/*
 * The handoff, for the operator (vmotionctl handoff): which migration this
 * VM belongs to and in what state, and the two ways out of a doubt that
 * only a human may take.
 */
static int cmd_migration(struct control *ctl, struct client *c)
{
	char buf[400];

	if (ctl->committed)
		return reply(c, "ok role=source state=committed id=%s peer=%s paused=%d",
			     ctl->commit_id, ctl->commit_peer,
			     ctl->vm->pause_req);
	if (ctl->peer) {
		ctl->peer->describe(ctl->peer->opaque, buf, sizeof(buf));
		return reply(c, "ok role=destination %s", buf);
	}
	return reply(c, "ok state=none");
}

static int cmd_force_resume(struct control *ctl, struct client *c)
{
	char buf[400];

	if (locked_by_other(ctl, c))
		return reply(c, "error locked by another control connection (is a migration still resolving it?)");
	if (ctl->committed) {
		if (!ctl->vm->pause_req)
			return reply(c, "error not paused");
		ctl->committed = false;
		vm_resume(ctl->vm);
		return reply(c, "ok resumed here; if the destination %s also runs migration %s, two copies of this VM now run",
			     ctl->commit_peer, ctl->commit_id);
	}
	if (ctl->peer && peer_holds(ctl)) {
		if (ctl->peer->force_resume(ctl->peer->opaque, buf, sizeof(buf)))
			return reply(c, "error %s", buf);
		return reply(c, "ok %s", buf);
	}
	return reply(c, "error nothing to force: the VM is not held by a migration");
}

static int cmd_discard(struct control *ctl, struct client *c)
{
	char buf[400];

	if (!peer_holds(ctl))
		return reply(c, "error only a destination holding a VM in doubt discards it");
	if (ctl->peer->discard(ctl->peer->opaque, buf, sizeof(buf)))
		return reply(c, "error %s", buf);
	ctl->quit = true;
	return reply(c, "ok %s", buf);
}

/* Returns -1 when the connection should be dropped. */
static int handle_request(struct control *ctl, struct client *c, char *line)
{
	char *cmd = strtok(line, " \t\r");
	char *arg = strtok(NULL, " \t\r");

	if (!cmd)
		return reply(c, "error empty request");
	if (!strcmp(cmd, "status"))
		return cmd_status(ctl, c);
	if (!strcmp(cmd, "migration"))
		return cmd_migration(ctl, c);
	if (!strcmp(cmd, "force-resume"))
		return cmd_force_resume(ctl, c);
	if (!strcmp(cmd, "discard"))
		return cmd_discard(ctl, c);
	if (peer_holds(ctl))
		return reply(c, "error the VM is in doubt here (restored, not started): see vmotionctl handoff");
	if (!strcmp(cmd, "lock")) {
		if (locked_by_other(ctl, c))
			return reply(c, "error locked by another control connection");
		ctl->lock_owner = c;
		return reply(c, "ok");
	}
	if (!strcmp(cmd, "unlock")) {
		if (ctl->lock_owner != c)
			return reply(c, "error this connection holds no lock");
		ctl->lock_owner = NULL;
		return reply(c, "ok");
	}
	if (!strcmp(cmd, "pause")) {
		if (locked_by_other(ctl, c))
			return reply(c, "error locked by another control connection");
		if (ctl->vm->pause_req)
			return reply(c, "error already paused");
		vm_pause(ctl->vm);
		c->paused = true;
		return reply(c, "ok");
	}
	if (!strcmp(cmd, "resume")) {
		if (locked_by_other(ctl, c))
			return reply(c, "error locked by another control connection");
		if (!ctl->vm->pause_req)
			return reply(c, "error not paused");
		if (ctl->committed)
			return reply(c, "error the VM was migrated away; it never runs here again");
		c->paused = false;
		vm_resume(ctl->vm);
		return reply(c, "ok");
	}
	if (!strcmp(cmd, "save-state"))
		return cmd_save_state(ctl, c);
	if (!strcmp(cmd, "cpu-state")) {
		char state[480];

		if (!ctl->vm->pause_req)
			return reply(c, "error cpu-state needs a paused VM");
		if (vm_describe_cpus(ctl->vm, state, sizeof(state)))
			return reply(c, "error cannot read the vCPUs");
		return reply(c, "ok %s", state);
	}
	if (!strcmp(cmd, "get-fds"))
		return send_fds(c, ctl->vm->vm_fd, ctl->vm->mem_fd);
	if (!strcmp(cmd, "get-dirty"))
		return cmd_get_dirty(ctl, c);
	if (!strcmp(cmd, "dirty-log"))
		return cmd_dirty_log(ctl, c, arg);
	if (!strcmp(cmd, "get-cpuid"))
		return cmd_get_cpuid(ctl, c);
	if (!strcmp(cmd, "commit")) {
		/* The migration's point of no return on the source side. */
		char *peer = strtok(NULL, " \t\r");

		if (ctl->lock_owner != c || !ctl->vm->pause_req)
			return reply(c, "error commit needs the lock and a paused VM");
		snprintf(ctl->commit_id, sizeof(ctl->commit_id), "%s",
			 arg ? arg : "-");
		snprintf(ctl->commit_peer, sizeof(ctl->commit_peer), "%s",
			 peer ? peer : "-");
		ctl->committed = true;
		return reply(c, "ok");
	}
	if (!strcmp(cmd, "verify")) {
		long bad = payload_verify(ctl->vm, arg ? atoi(arg) : 10000);

		if (bad == -EINVAL)
			return reply(c, "error verify needs the dirty payload");
		if (bad == -ETIMEDOUT)
			return reply(c, "error verify timed out (is the VM paused?)");
		return reply(c, "ok bad_pages=%ld", bad);
	}
	if (!strcmp(cmd, "quit")) {
		if (locked_by_other(ctl, c))
			return reply(c, "error locked by another control connection");
		ctl->quit = true;
		return reply(c, "ok");
	}
	return reply(c, "error unknown request \"%s\"", cmd);
}

static void client_readable(struct control *ctl, struct client *c)
{
	ssize_t n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len, 0);
	char *nl;

	if (n <= 0) {
		release_client(ctl, c);
		return;
	}
	c->len += n;
	/* Nothing after a request that ends the loop (discard, quit). */
	while (!ctl->quit && (nl = memchr(c->line, '\n', c->len))) {
		size_t used = nl - c->line + 1;

		*nl = '\0';
		if (handle_request(ctl, c, c->line) < 0) {
			release_client(ctl, c);
			return;
		}
		memmove(c->line, c->line + used, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->line)) {
		reply(c, "error request too long");
		release_client(ctl, c);
	}
}

static void accept_client(struct control *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	unsigned int i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (ctl->clients[i].fd < 0) {
			ctl->clients[i].fd = fd;
			ctl->clients[i].len = 0;
			return;
		}
	}
	send_all(fd, "error too many control connections\n", 35);
	close(fd);
}

/* Hand the guest what its UART FIFO takes of the pending input. */
static void console_feed(struct control *ctl)
{
	size_t done;

	if (!ctl->console_pending_len)
		return;
	done = serial_input(&ctl->vm->serial, ctl->console_pending,
			    ctl->console_pending_len);
	memmove(ctl->console_pending, ctl->console_pending + done,
		ctl->console_pending_len - done);
	ctl->console_pending_len -= done;
}

static void console_readable(struct control *ctl)
{
	ssize_t n = read(ctl->console_fd, ctl->console_pending,
			 sizeof(ctl->console_pending));

	if (n <= 0) {
		serial_set_console(&ctl->vm->serial, -1);
		close(ctl->console_fd);
		ctl->console_fd = -1;
		return;
	}
	ctl->console_pending_len = n;
	console_feed(ctl);
}

static void accept_console(struct control *ctl)
{
	int fd = accept4(ctl->console_listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (ctl->console_fd >= 0) {
		send_all(fd, "console in use\n", 15);
		close(fd);
		return;
	}
	ctl->console_fd = fd;
	serial_set_console(&ctl->vm->serial, fd);
}

int control_loop(struct control *ctl)
{
	struct pollfd pfd[MAX_CLIENTS + 5];
	struct client *who[MAX_CLIENTS + 5];
	unsigned int i, n;

	while (!ctl->quit && !__atomic_load_n(&ctl->vm->exit_req,
					       __ATOMIC_ACQUIRE)) {
		n = 0;
		pfd[n] = (struct pollfd){ .fd = ctl->vm->wake_fd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = ctl->listen_fd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = ctl->console_listen_fd,
					  .events = POLLIN };
		who[n++] = NULL;
		/* Read no more input until the guest took what is pending. */
		pfd[n] = (struct pollfd){ .fd = ctl->console_pending_len ? -1 :
					  ctl->console_fd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = ctl->peer ? ctl->peer->fd : -1,
					  .events = POLLIN };
		who[n++] = NULL;
		for (i = 0; i < MAX_CLIENTS; i++) {
			if (ctl->clients[i].fd < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = ctl->clients[i].fd,
						  .events = POLLIN };
			who[n++] = &ctl->clients[i];
		}
		/* Pending console input: look again in 10 ms. */
		if (poll(pfd, n, ctl->console_pending_len ? 10 : -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll: %s", strerror(errno));
		}
		if (pfd[1].revents & POLLIN)
			accept_client(ctl);
		if (pfd[2].revents & POLLIN)
			accept_console(ctl);
		console_feed(ctl);
		if (pfd[3].revents & (POLLIN | POLLHUP | POLLERR))
			console_readable(ctl);
		if (pfd[4].revents & POLLIN)
			ctl->peer->readable(ctl->peer->opaque);
		for (i = 5; i < n && !ctl->quit; i++)
			if (pfd[i].revents && who[i]->fd == pfd[i].fd)
				client_readable(ctl, who[i]);
	}
	/*
	 * The guest stopped by itself: a migration controller in the middle
	 * of its work learns why from its connection, not from whatever of
	 * its own next fails.
	 */
	if (__atomic_load_n(&ctl->vm->exit_req, __ATOMIC_ACQUIRE))
		for (i = 0; i < MAX_CLIENTS; i++)
			if (ctl->clients[i].fd >= 0)
				notify_stopped(&ctl->clients[i], ctl->vm->exit_reason);
	return 0;
}
