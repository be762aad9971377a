/* SPDX-License-Identifier: GPL-2.0 */
/* vmotionctl: the subcommands, and what they share. */
#ifndef VMOTIONCTL_H
#define VMOTIONCTL_H

#include <stdbool.h>

extern bool opt_json;

/* Print "vmotionctl: <msg>" to stderr; returns 1 for `return fail(...)`. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The commands, each in its file: its options, parser and body. */
struct cli_command;
extern const struct cli_command run_command, ctl_command, save_command,
	migrate_command, receive_command, handoff_command, status_command,
	trace_command, info_command, config_command;

#endif
