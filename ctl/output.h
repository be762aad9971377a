/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output path for people and programs: every value is printed through
 * these helpers, as "key value" lines on a terminal or as one JSON object
 * with -j.  Keys are JSON names; the text form uses them as labels.
 */
#ifndef VMOTION_OUTPUT_H
#define VMOTION_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

void out_init(FILE *f, bool json);
void out_list_begin(void);	/* a JSON array of objects; text: blank lines */
void out_list_end(void);
void out_begin(void);
void out_end(void);
void out_str(const char *key, const char *val);
void out_uint(const char *key, uint64_t val);
void out_bool(const char *key, bool val);

#endif
