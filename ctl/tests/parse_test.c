// SPDX-License-Identifier: GPL-2.0
/* Host unit tests of ctl/parse.c: sizes and bounded integers. */
#include <errno.h>
#include <stdint.h>

#include "../parse.h"
#include "kselftest_harness.h"

TEST(size_plain_and_units)
{
	uint64_t v;

	ASSERT_EQ(0, parse_size("4096", &v));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, parse_size("256M", &v));
	EXPECT_EQ(256ULL << 20, v);
	ASSERT_EQ(0, parse_size("2MiB", &v));
	EXPECT_EQ(2ULL << 20, v);
	ASSERT_EQ(0, parse_size("1g", &v));
	EXPECT_EQ(1ULL << 30, v);
	ASSERT_EQ(0, parse_size("24T", &v));
	EXPECT_EQ(24ULL << 40, v);
	ASSERT_EQ(0, parse_size("64KB", &v));
	EXPECT_EQ(64ULL << 10, v);
}

TEST(size_rejects_garbage)
{
	uint64_t v = 7;

	EXPECT_EQ(-EINVAL, parse_size("", &v));
	EXPECT_EQ(-EINVAL, parse_size("M", &v));
	EXPECT_EQ(-EINVAL, parse_size("-1", &v));
	EXPECT_EQ(-EINVAL, parse_size("12X", &v));
	EXPECT_EQ(-EINVAL, parse_size("12MM", &v));
	EXPECT_EQ(-EINVAL, parse_size("1 G", &v));
	EXPECT_EQ(7, v);	/* untouched on error */
}

TEST(size_overflow)
{
	uint64_t v;

	EXPECT_EQ(-ERANGE, parse_size("18446744073709551616", &v));
	EXPECT_EQ(0, parse_size("18446744073709551615", &v));
	EXPECT_EQ(UINT64_MAX, v);
	EXPECT_EQ(-ERANGE, parse_size("16777216T", &v));
	EXPECT_EQ(0, parse_size("16777215T", &v));
}

TEST(uint_bounds)
{
	uint64_t v;

	EXPECT_EQ(0, parse_uint("1", 1, 10, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, parse_uint("10", 1, 10, &v));
	EXPECT_EQ(-ERANGE, parse_uint("0", 1, 10, &v));
	EXPECT_EQ(-ERANGE, parse_uint("11", 1, 10, &v));
	EXPECT_EQ(-EINVAL, parse_uint("5k", 1, 10, &v));
	EXPECT_EQ(-EINVAL, parse_uint(" 5", 1, 10, &v));
}

TEST_HARNESS_MAIN
