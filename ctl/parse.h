/* SPDX-License-Identifier: GPL-2.0 */
/* Parsing of command-line numbers: sizes, counts, rates. */
#ifndef VMOTION_PARSE_H
#define VMOTION_PARSE_H

#include <stdint.h>

/*
 * "256M", "1G", "4096", "2MiB": binary units (K, M, G, T, with optional
 * "i" and "B").  Returns 0 or -EINVAL (not a size) / -ERANGE (overflows).
 */
int parse_size(const char *s, uint64_t *out);

/* A decimal unsigned integer in [min, max].  0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
