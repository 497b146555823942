/*
 * test_timestamp.cpp
 *	  Unit tests of observed_at parsing (DESIGN.md 4.1, 4.3): ISO 8601 text
 *	  with a time zone, epoch milliseconds, and the UTC rendering used for
 *	  stored values.
 *
 * IDENTIFICATION
 *	  test/unit/test_timestamp.cpp
 */
#define BOOST_TEST_MODULE timestamp
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/timestamp.hpp"

namespace core = uu::core;
using core::EpochMicros;

namespace {

constexpr EpochMicros kSecond = 1000000;
/* 2026-01-01T00:00:00Z */
constexpr EpochMicros T2026 = 1767225600LL * kSecond;
/* 2024-02-29T00:00:00Z */
constexpr EpochMicros T_LEAP = 1709164800LL * kSecond;
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
constexpr EpochMicros T_MIN = -62135596800LL * kSecond;
constexpr EpochMicros T_MAX = 253402300800LL * kSecond - 1;

std::string
show(const std::optional<EpochMicros> &t) {
	return t ? std::to_string(*t) : std::string("nullopt");
}

#define CHECK_ISO(text, expected)                                                                                   \
	do {                                                                                                            \
		const std::optional<EpochMicros> got_ = core::parse_iso8601(text);                                          \
		BOOST_TEST(got_.has_value(), "\"" << (text) << "\" refused");                                               \
		if (got_)                                                                                                   \
			BOOST_TEST(*got_ == (expected),                                                                         \
			           "\"" << (text) << "\" gives " << *got_ << ", expected " << (expected));                       \
	} while (0)

} // namespace

/* ================================================================== ISO 8601: accepted */

BOOST_AUTO_TEST_CASE(iso_zones) {
	CHECK_ISO("2026-01-01T00:00:00Z", T2026);
	CHECK_ISO("2026-01-01T00:00:00+00:00", T2026);
	CHECK_ISO("2026-01-01T00:00:00-00:00", T2026);
	CHECK_ISO("2026-01-01T00:00:00+0000", T2026);
	CHECK_ISO("2026-01-01T00:00:00+00", T2026);
	/* a local time east of UTC is earlier in UTC, west is later */
	CHECK_ISO("2026-01-01T00:00:00-05:30", T2026 + (5 * 3600 + 30 * 60) * kSecond);
	CHECK_ISO("2026-01-01T00:00:00+05:30", T2026 - (5 * 3600 + 30 * 60) * kSecond);
	CHECK_ISO("2026-01-01T00:00:00+0530", T2026 - (5 * 3600 + 30 * 60) * kSecond);
	CHECK_ISO("2026-01-01T00:00:00+05", T2026 - 5 * 3600 * kSecond);
	CHECK_ISO("2026-01-01T00:00:00-05", T2026 + 5 * 3600 * kSecond);
	CHECK_ISO("2026-01-01T05:30:00+05:30", T2026);
	CHECK_ISO("2025-12-31T19:00:00-05:00", T2026);
	CHECK_ISO("2026-01-01T14:00:00+14:00", T2026);
	CHECK_ISO("2025-12-31T12:00:00-12:00", T2026);
	CHECK_ISO("2026-01-01T00:00:00+15:59", T2026 - (15 * 3600 + 59 * 60) * kSecond);
}

BOOST_AUTO_TEST_CASE(iso_separators_and_precision) {
	CHECK_ISO("2026-01-01 00:00:00Z", T2026);
	CHECK_ISO("2026-01-01 00:00:00+00", T2026); /* the form PostgreSQL prints */
	CHECK_ISO("2026-01-01T00:00Z", T2026);      /* seconds may be omitted */
	CHECK_ISO("2026-01-01T13:14:15Z", T2026 + (13 * 3600 + 14 * 60 + 15) * kSecond);
	CHECK_ISO("2026-12-31T23:59:59Z", T2026 + (365LL * 86400 - 1) * kSecond);
}

BOOST_AUTO_TEST_CASE(iso_fraction_1_to_9_digits) {
	const std::vector<std::pair<const char *, EpochMicros>> cases = {
	    {"2026-01-01T00:00:00.1Z", 100000},
	    {"2026-01-01T00:00:00.12Z", 120000},
	    {"2026-01-01T00:00:00.123Z", 123000},
	    {"2026-01-01T00:00:00.1234Z", 123400},
	    {"2026-01-01T00:00:00.12345Z", 123450},
	    {"2026-01-01T00:00:00.123456Z", 123456},
	    {"2026-01-01T00:00:00.1234560Z", 123456},
	    {"2026-01-01T00:00:00.12345600Z", 123456},
	    {"2026-01-01T00:00:00.123456000Z", 123456},
	    {"2026-01-01T00:00:00.1234561Z", 123456},
	    {"2026-01-01T00:00:00.123456001Z", 123456},
	    {"2026-01-01T00:00:00.000001Z", 1},
	    {"2026-01-01T00:00:00.999999Z", 999999},
	    {"2026-01-01T00:00:00.000000000Z", 0},
	    {"2026-01-01T00:00:00.5+00:00", 500000},
	    {"2026-01-01T00:00:00.25-00:00", 250000},
	    {"2026-01-01T00:00:00.75+0000", 750000},
	    {"2026-01-01T00:00:00.125+00", 125000},
	};
	for (const auto &[text, micros] : cases)
		CHECK_ISO(text, T2026 + micros);
}

BOOST_AUTO_TEST_CASE(iso_fraction_beyond_microseconds_rounds) {
	/*
	 * CONTRACT: DESIGN.md is silent on digits beyond the microsecond, so its
	 * preamble applies: "build what a PostgreSQL user would expect".
	 * PostgreSQL 15 rounds such input to the nearest microsecond
	 * ('2026-01-01 00:00:00.1234567+00'::timestamptz is .123457,
	 * '...00.999999999+00' is 00:00:01), and the README records no other
	 * choice; parse_iso8601 truncates (.123456 and .999999).
	 */
	CHECK_ISO("2026-01-01T00:00:00.1234567Z", T2026 + 123457);
	CHECK_ISO("2026-01-01T00:00:00.999999999Z", T2026 + kSecond);
}

BOOST_AUTO_TEST_CASE(iso_calendar) {
	/* leap days */
	CHECK_ISO("2024-02-29T00:00:00Z", T_LEAP);
	CHECK_ISO("2000-02-29T00:00:00Z", 951782400LL * kSecond);
	CHECK_ISO("2024-03-01T00:00:00Z", T_LEAP + 86400 * kSecond);
	/* month lengths */
	CHECK_ISO("2026-01-31T00:00:00Z", T2026 + 30LL * 86400 * kSecond);
	CHECK_ISO("2026-04-30T00:00:00Z", T2026 + 119LL * 86400 * kSecond);
	/* the epoch and before it */
	CHECK_ISO("1970-01-01T00:00:00Z", 0);
	CHECK_ISO("1969-12-31T23:59:59.999999Z", -1);
	CHECK_ISO("1970-01-01T00:00:00+01:00", -3600 * kSecond);
	/* the range: years 0001 to 9999 */
	CHECK_ISO("0001-01-01T00:00:00Z", T_MIN);
	CHECK_ISO("0001-01-01T01:00:00+01:00", T_MIN);
	CHECK_ISO("9999-12-31T23:59:59.999999Z", T_MAX);
	CHECK_ISO("9999-12-31T23:59:59.999999+01:00", T_MAX - 3600 * kSecond);
}

/* ================================================================== ISO 8601: refused */

BOOST_AUTO_TEST_CASE(iso_refused) {
	const char *const bad[] = {
	    /* no time zone */
	    "2026-01-01T00:00:00",
	    "2026-01-01 00:00:00",
	    "2026-01-01T00:00:00.123456",
	    "2026-01-01T00:00",
	    /* not a date-time */
	    "",
	    "2026",
	    "2026-01-01",
	    "2026-01-01Z",
	    "2026-01-01T",
	    "2026-01-01T00Z",
	    "now",
	    "1767225600000",
	    /* invalid dates */
	    "2026-02-30T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-01-00T00:00:00Z",
	    "2026-01-32T00:00:00Z",
	    "0000-01-01T00:00:00Z",
	    "0000-12-31T23:59:59Z",
	    /* invalid times */
	    "2026-01-01T24:00:00Z",
	    "2026-01-01T25:00:00Z",
	    "2026-01-01T23:60:00Z",
	    "2026-01-01T23:59:61Z",
	    "2026-01-01T00:00.5Z",
	    "2026-01-01T00:00:00.Z",
	    "2026-01-01T00:00:00.+00:00",
	    /* wrong field widths and separators */
	    "2026-1-01T00:00:00Z",
	    "2026-01-1T00:00:00Z",
	    "2026-01-01T0:00:00Z",
	    "2026-01-01T00:0:00Z",
	    "2026-01-01T00:00:0Z",
	    "26-01-01T00:00:00Z",
	    "+2026-01-01T00:00:00Z",
	    "-2026-01-01T00:00:00Z",
	    "10000-01-01T00:00:00Z",
	    "2026/01/01T00:00:00Z",
	    "2026-01-01X00:00:00Z",
	    "2026-01-01T00-00-00Z",
	    "20260101T000000Z",
	    /* malformed zones */
	    "2026-01-01T00:00:00+5",
	    "2026-01-01T00:00:00+05:3",
	    "2026-01-01T00:00:00+053",
	    "2026-01-01T00:00:00+05:",
	    "2026-01-01T00:00:00+",
	    "2026-01-01T00:00:00+16:00",
	    "2026-01-01T00:00:00+05:60",
	    "2026-01-01T00:00:00UTC",
	    "2026-01-01T00:00:00 Z",
	    /* trailing junk */
	    "2026-01-01T00:00:00Zjunk",
	    "2026-01-01T00:00:00ZZ",
	    "2026-01-01T00:00:00Z ",
	    "2026-01-01T00:00:00Z\n",
	    " 2026-01-01T00:00:00Z",
	    "2026-01-01T00:00:00+00:00:00",
	    "2026-01-01T00:00:00+00:00Z",
	    "2026-01-01T00:00:00Z+01:00",
	    "2026-01-01T00:00:00.123x456Z",
	    /* outside years 0001..9999 once the zone is applied */
	    "0001-01-01T00:00:00+00:01",
	    "0001-01-01T00:59:59.999999+01:00",
	    "9999-12-31T23:59:59-00:01",
	    "9999-12-31T23:00:00-01:00",
	};
	for (const char *text : bad)
		BOOST_TEST_CONTEXT("\"" << text << "\"") {
			const auto got = core::parse_iso8601(text);
			BOOST_TEST(!got.has_value(), "accepted as " << show(got));
		}
	/* NUL inside */
	BOOST_TEST(!core::parse_iso8601(std::string_view("2026-01-01T00:00:00Z\0", 21)).has_value());
	BOOST_TEST(!core::parse_iso8601(std::string_view("2026-01-01T00:00:00\0Z", 21)).has_value());
}

/* ================================================================== epoch milliseconds */

BOOST_AUTO_TEST_CASE(epoch_millis_accepted) {
	const std::vector<std::pair<const char *, EpochMicros>> cases = {
	    {"0", 0},
	    {"-0", 0},
	    {"1", 1000},
	    {"-1", -1000},
	    {"1767225600000", T2026},
	    {"1767225600123", T2026 + 123000},
	    {"-86400000", -86400 * kSecond},
	    {"-62135596800000", T_MIN},
	    {"253402300799999", T_MAX - 999},
	};
	for (const auto &[text, micros] : cases)
		BOOST_TEST_CONTEXT(text) {
			const auto got = core::parse_epoch_millis(text);
			BOOST_TEST_REQUIRE(got.has_value());
			BOOST_TEST(*got == micros);
		}
}

BOOST_AUTO_TEST_CASE(epoch_millis_refused) {
	const char *const bad[] = {
	    /* fractions, even .0 */
	    "1.5",
	    "1.0",
	    "0.0",
	    "-1.0",
	    "1767225600000.5",
	    /* not an integer */
	    "",
	    "-",
	    "+1",
	    "--1",
	    "1e3",
	    " 1",
	    "1 ",
	    "0x10",
	    "NaN",
	    "Infinity",
	    /* out of range: before 0001-01-01 or after 9999-12-31 */
	    "-62135596800001",
	    "253402300800000",
	    "999999999999999",
	    "-999999999999999",
	    "9999999999999999",
	    "9223372036854775807",
	    "-9223372036854775808",
	    "99999999999999999999999999999",
	};
	for (const char *text : bad)
		BOOST_TEST_CONTEXT("\"" << text << "\"") {
			const auto got = core::parse_epoch_millis(text);
			BOOST_TEST(!got.has_value(), "accepted as " << show(got));
		}
}

/* ================================================================== format */

BOOST_AUTO_TEST_CASE(format_utc) {
	BOOST_TEST(core::format_iso8601_utc(0) == "1970-01-01T00:00:00.000000+00:00");
	BOOST_TEST(core::format_iso8601_utc(-1) == "1969-12-31T23:59:59.999999+00:00");
	BOOST_TEST(core::format_iso8601_utc(1) == "1970-01-01T00:00:00.000001+00:00");
	BOOST_TEST(core::format_iso8601_utc(T2026) == "2026-01-01T00:00:00.000000+00:00");
	BOOST_TEST(core::format_iso8601_utc(T2026 + 123456) == "2026-01-01T00:00:00.123456+00:00");
	BOOST_TEST(core::format_iso8601_utc(T_LEAP + 86399 * kSecond + 999999) == "2024-02-29T23:59:59.999999+00:00");
	BOOST_TEST(core::format_iso8601_utc(-86400 * kSecond) == "1969-12-31T00:00:00.000000+00:00");
	BOOST_TEST(core::format_iso8601_utc(-86400 * kSecond - 1) == "1969-12-30T23:59:59.999999+00:00");
	BOOST_TEST(core::format_iso8601_utc(T_MIN) == "0001-01-01T00:00:00.000000+00:00");
	BOOST_TEST(core::format_iso8601_utc(T_MAX) == "9999-12-31T23:59:59.999999+00:00");
}

namespace {

std::string
jsonb_spelling(EpochMicros t, std::int32_t offset) {
	char buf[40];
	std::size_t n = core::format_jsonb_timestamptz(t, offset, buf);
	return n ? std::string(buf, n) : std::string("(none)");
}

} // namespace

/* Expected strings are PostgreSQL 15's to_jsonb(timestamptz) under the matching fixed-offset TimeZone. */
BOOST_AUTO_TEST_CASE(format_as_to_jsonb_spells_it) {
	BOOST_TEST(jsonb_spelling(0, 0) == "1970-01-01T00:00:00+00:00");
	BOOST_TEST(jsonb_spelling(T2026 + 777000, 0) == "2026-01-01T00:00:00.777+00:00");
	BOOST_TEST(jsonb_spelling(T2026 + 1, 0) == "2026-01-01T00:00:00.000001+00:00");
	BOOST_TEST(jsonb_spelling(T2026 + 123456, 0) == "2026-01-01T00:00:00.123456+00:00");
	BOOST_TEST(jsonb_spelling(T2026 + 100000, 0) == "2026-01-01T00:00:00.1+00:00");
	BOOST_TEST(jsonb_spelling(-1, 0) == "1969-12-31T23:59:59.999999+00:00");
	BOOST_TEST(jsonb_spelling(T2026, 19800) == "2026-01-01T05:30:00+05:30");
	BOOST_TEST(jsonb_spelling(T2026, -28800) == "2025-12-31T16:00:00-08:00");
	BOOST_TEST(jsonb_spelling(T2026 + 5, -3600 * 13 - 45 * 60) == "2025-12-31T10:15:00.000005-13:45");
	BOOST_TEST(jsonb_spelling(T_LEAP + 86399 * kSecond, 3600) == "2024-03-01T00:59:59+01:00");
	BOOST_TEST(jsonb_spelling(T_MIN, 0) == "0001-01-01T00:00:00+00:00");
	BOOST_TEST(jsonb_spelling(T_MAX, 0) == "9999-12-31T23:59:59.999999+00:00");
	/* Left to PostgreSQL: years it spells with a BC suffix or five digits, offsets with seconds. */
	BOOST_TEST(jsonb_spelling(T_MIN, -60) == "(none)");
	BOOST_TEST(jsonb_spelling(T_MAX, 60) == "(none)");
	BOOST_TEST(jsonb_spelling(T2026, 30) == "(none)");
	BOOST_TEST(jsonb_spelling(T2026, 86400) == "(none)");
	BOOST_TEST(jsonb_spelling(INT64_MIN, 0) == "(none)");
	BOOST_TEST(jsonb_spelling(INT64_MAX, 0) == "(none)");
}

BOOST_AUTO_TEST_CASE(format_parse_round_trip) {
	std::vector<EpochMicros> values = {0,          -1,        1,           T2026,      T2026 + 123456, T_LEAP,
	                                   T_LEAP - 1, T_MIN,     T_MIN + 1,   T_MAX,      T_MAX - 1,
	                                   951782400LL * kSecond + 500000,   -86400 * kSecond - 1,
	                                   -12219292800LL * kSecond /* 1582-10-15 */};
	/* a spread of values across the whole range, including odd microseconds */
	const EpochMicros span = T_MAX - T_MIN;
	for (int i = 0; i < 1000; i++)
		values.push_back(T_MIN + span / 1000 * i + (i * 7919) % kSecond);
	for (EpochMicros t : values) {
		const std::string text = core::format_iso8601_utc(t);
		BOOST_TEST_CONTEXT(t << " -> " << text) {
			BOOST_TEST(text.size() == 32u);
			const auto back = core::parse_iso8601(text);
			BOOST_TEST_REQUIRE(back.has_value());
			BOOST_TEST(*back == t);
			BOOST_TEST(core::format_iso8601_utc(*back) == text);
		}
	}
	/* text -> micros -> canonical text */
	BOOST_TEST(core::format_iso8601_utc(core::parse_iso8601("2026-01-01 05:30:00.5+05:30").value()) ==
	           "2026-01-01T00:00:00.500000+00:00");
	BOOST_TEST(core::format_iso8601_utc(core::parse_epoch_millis("1767225600123").value()) ==
	           "2026-01-01T00:00:00.123000+00:00");
}
