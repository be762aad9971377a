/* SPDX-License-Identifier: GPL-2.0 */
/* TCP endpoints for migration: ADDR:PORT parsing, connect and listen. */
#ifndef VMOTION_MIGRATE_NET_H
#define VMOTION_MIGRATE_NET_H

/* Connect to @addr ("HOST:PORT", "[V6]:PORT"); a socket fd, or -1 after fail(). */
int net_connect(const char *what, const char *addr, int timeout_s);
/* Listen on @addr; a socket fd, or -1 after fail(). */
int net_listen(const char *what, const char *addr);

/*
 * Fail a send or receive that makes no progress for @seconds: a cut link
 * must end in a rollback, not a migration hung forever.
 */
void net_set_timeout(int fd, int seconds);

#endif
