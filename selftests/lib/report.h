/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Top-level values of a JSON document -- vmotionctl's migration reports --
 * read with json-c, so that a test checks what the document says, not how
 * it happens to be spelled.  Each call parses text again: reports are
 * small and tests read a few values.
 */
#ifndef SELFTESTS_REPORT_H
#define SELFTESTS_REPORT_H

#include <stddef.h>

/* The string at key; "(no string KEY)" when there is none. */
const char *report_str(const char *text, const char *key);
/* 1 or 0 for a boolean at key; -1 when there is none. */
int report_bool(const char *text, const char *key);
/* The number at key; -1 when there is none. */
double report_num(const char *text, const char *key);
/* The length of the array at key (0 when there is none), and its items. */
size_t report_array_len(const char *text, const char *key);
double report_array_num(const char *text, const char *key, size_t i);
/*
 * In a document that is an array of objects (vmotionctl -j status), the
 * first whose number at key is value, as JSON text to free(); NULL if none.
 */
char *report_item(const char *text, const char *key, double value);

#endif
