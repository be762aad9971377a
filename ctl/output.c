// SPDX-License-Identifier: GPL-2.0
/* Text or JSON output through one set of calls; see output.h. */
#include <inttypes.h>

#include "output.h"

static FILE *out_file;
static bool out_json;
static unsigned int out_count;
static bool out_in_list;
static unsigned int out_list_count;

void out_list_begin(void)
{
	out_in_list = true;
	out_list_count = 0;
	if (out_json)
		fputc('[', out_file);
}

void out_list_end(void)
{
	out_in_list = false;
	if (out_json)
		fputs("]\n", out_file);
	fflush(out_file);
}

void out_init(FILE *f, bool json)
{
	out_file = f;
	out_json = json;
}

void out_begin(void)
{
	out_count = 0;
	if (out_in_list && out_list_count++)
		fputs(out_json ? "," : "\n", out_file);
	if (out_json)
		fputc('{', out_file);
}

void out_end(void)
{
	if (out_json)
		fputs(out_in_list ? "}" : "}\n", out_file);
	fflush(out_file);
}

static void out_key(const char *key)
{
	if (out_json)
		fprintf(out_file, "%s\"%s\":", out_count ? "," : "", key);
	else
		fprintf(out_file, "%-20s ", key);
	out_count++;
}

static void out_json_string(const char *s)
{
	fputc('"', out_file);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(out_file, "\\%c", c);
		else if (c < 0x20)
			fprintf(out_file, "\\u%04x", c);
		else
			fputc(c, out_file);
	}
	fputc('"', out_file);
}

void out_str(const char *key, const char *val)
{
	out_key(key);
	if (out_json)
		out_json_string(val);
	else
		fprintf(out_file, "%s\n", val);
}

void out_uint(const char *key, uint64_t val)
{
	out_key(key);
	fprintf(out_file, out_json ? "%" PRIu64 : "%" PRIu64 "\n", val);
}

void out_bool(const char *key, bool val)
{
	out_key(key);
	fprintf(out_file, out_json ? "%s" : "%s\n", val ? "true" : "false");
}
