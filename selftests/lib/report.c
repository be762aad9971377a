// SPDX-License-Identifier: GPL-2.0
/* Top-level values of a JSON document, with json-c (json.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* The value at key, with a reference the caller puts; NULL if none. */
static struct json_object *value_of(const char *text, const char *key,
				    struct json_object **doc)
{
	struct json_object *v;

	*doc = text ? json_tokener_parse(text) : NULL;
	if (!*doc || !json_object_object_get_ex(*doc, key, &v))
		return NULL;
	return v;
}

const char *report_str(const char *text, const char *key)
{
	static char buf[1024];
	struct json_object *doc, *v = value_of(text, key, &doc);

	if (v && json_object_is_type(v, json_type_string))
		snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
	else
		snprintf(buf, sizeof(buf), "(no string %s)", key);
	json_object_put(doc);
	return buf;
}

int report_bool(const char *text, const char *key)
{
	struct json_object *doc, *v = value_of(text, key, &doc);
	int r = -1;

	if (v && json_object_is_type(v, json_type_boolean))
		r = json_object_get_boolean(v);
	json_object_put(doc);
	return r;
}

static double number(struct json_object *v)
{
	if (v && (json_object_is_type(v, json_type_int) ||
		  json_object_is_type(v, json_type_double)))
		return json_object_get_double(v);
	return -1;
}

double report_num(const char *text, const char *key)
{
	struct json_object *doc, *v = value_of(text, key, &doc);
	double r = number(v);

	json_object_put(doc);
	return r;
}

size_t report_array_len(const char *text, const char *key)
{
	struct json_object *doc, *v = value_of(text, key, &doc);
	size_t n = 0;

	if (v && json_object_is_type(v, json_type_array))
		n = json_object_array_length(v);
	json_object_put(doc);
	return n;
}

double report_array_num(const char *text, const char *key, size_t i)
{
	struct json_object *doc, *v = value_of(text, key, &doc);
	double r = -1;

	if (v && json_object_is_type(v, json_type_array) &&
	    i < json_object_array_length(v))
		r = number(json_object_array_get_idx(v, i));
	json_object_put(doc);
	return r;
}

char *report_item(const char *text, const char *key, double value)
{
	struct json_object *doc = text ? json_tokener_parse(text) : NULL;
	char *found = NULL;
	size_t i;

	if (doc && json_object_is_type(doc, json_type_array)) {
		for (i = 0; i < json_object_array_length(doc) && !found; i++) {
			struct json_object *o = json_object_array_get_idx(doc, i), *v;

			if (json_object_object_get_ex(o, key, &v) &&
			    number(v) == value)
				found = strdup(json_object_to_json_string(o));
		}
	}
	json_object_put(doc);
	return found;
}
