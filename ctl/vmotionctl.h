/* SPDX-License-Identifier: GPL-2.0 */
/* vmotionctl: the subcommands, and what they share. */
#ifndef VMOTIONCTL_H
#define VMOTIONCTL_H

#include <stdbool.h>

extern bool opt_json;

/* Print "vmotionctl: <msg>" to stderr; returns 1 for `return fail(...)`. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_info(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_trace_status(int argc, char **argv);
int cmd_trace_stats(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_handoff(int argc, char **argv);

#endif
