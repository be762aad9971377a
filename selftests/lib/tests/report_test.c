// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of selftests/lib/report.c: a recorded vmotionctl migrate
 * report (bench/migrate/tests/recorded/vmotion/engine.json) read back,
 * and documents that lack a value or are not JSON.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../report.h"
#include "kselftest_harness.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (f) {
		if (fread(buf, 1, (1 << 16) - 1, f) == 0)
			buf[0] = '\0';
		fclose(f);
	}
	return buf;
}

TEST(recorded_report)
{
	char *r = slurp("bench/migrate/tests/recorded/vmotion/engine.json");

	EXPECT_STREQ("ok", report_str(r, "result"));
	EXPECT_STREQ("vmtrace", report_str(r, "tracker"));
	EXPECT_EQ(1, report_bool(r, "memory_hash_equal"));
	EXPECT_EQ(0, report_bool(r, "sdps"));
	EXPECT_EQ(29.3, report_num(r, "stun_ms"));
	EXPECT_EQ(199055546, report_num(r, "bytes_sent"));
	EXPECT_EQ(1, report_array_len(r, "iterations"));
	EXPECT_EQ(0, report_array_len(r, "sdps_stun_ms_per_vcpu"));
	free(r);
}

TEST(missing_and_mistyped_values)
{
	const char *r = "{ \"result\": \"ok\", \"n\": \"7\", \"a\": [1.5, true] }";

	EXPECT_STREQ("(no string reason)", report_str(r, "reason"));
	EXPECT_EQ(-1, report_bool(r, "result"));
	EXPECT_EQ(-1, report_num(r, "n"));	/* a string, not a number */
	EXPECT_EQ(2, report_array_len(r, "a"));
	EXPECT_EQ(1.5, report_array_num(r, "a", 0));
	EXPECT_EQ(-1, report_array_num(r, "a", 1));
	EXPECT_EQ(-1, report_array_num(r, "a", 2));
}

TEST(item_of_an_array)
{
	const char *r = "[{\"session\":3,\"mode\":\"stock\"},"
			"{\"session\":4,\"mode\":\"hierarchical\"}]";
	char *s = report_item(r, "session", 4);

	ASSERT_NE(NULL, s);
	EXPECT_STREQ("hierarchical", report_str(s, "mode"));
	free(s);
	EXPECT_EQ(NULL, report_item(r, "session", 5));
	EXPECT_EQ(NULL, report_item("{\"session\":4}", "session", 4));
}

TEST(not_json)
{
	/* A report cut short, as a killed migrate leaves it. */
	EXPECT_STREQ("(no string result)",
		     report_str("{ \"result\": \"ok\", \"stun", "result"));
	EXPECT_EQ(-1, report_num("", "stun_ms"));
	EXPECT_EQ(-1, report_bool(NULL, "sdps"));
}

TEST_HARNESS_MAIN
