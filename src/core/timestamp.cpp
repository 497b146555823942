/*
 * timestamp.cpp
 *	  Strict ISO 8601 and epoch-millisecond parsing for observed_at, and
 *	  to_jsonb()'s spelling of timestamps at a fixed UTC offset.
 *
 * IDENTIFICATION
 *	  src/core/timestamp.cpp
 */
#include "core/timestamp.hpp"

#include <cstdio>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
std::int64_t
days_from_civil(std::int64_t y, unsigned m, unsigned d) {
	y -= m <= 2;
	const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = static_cast<unsigned>(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void
civil_from_days(std::int64_t z, int &y, unsigned &m, unsigned &d) {
	z += 719468;
	const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = static_cast<unsigned>(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = static_cast<int>(yy + (m <= 2));
}

bool
is_leap(int y) {
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned
days_in_month(int y, unsigned m) {
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

class Cursor {
public:
	explicit Cursor(std::string_view s) : s_(s) {}
	bool done() const { return pos_ == s_.size(); }
	char peek() const { return done() ? '\0' : s_[pos_]; }
	bool eat(char c) {
		if (peek() != c || done())
			return false;
		pos_++;
		return true;
	}
	/* Exactly n digits. */
	bool digits(int n, int &out) {
		out = 0;
		for (int i = 0; i < n; i++) {
			char c = peek();
			if (done() || c < '0' || c > '9')
				return false;
			out = out * 10 + (c - '0');
			pos_++;
		}
		return true;
	}
	bool is_digit() const { return !done() && peek() >= '0' && peek() <= '9'; }
	void skip() { pos_++; }

private:
	std::string_view s_;
	std::size_t pos_ = 0;
};

constexpr std::int64_t kMicrosPerSecond = 1000000;
constexpr std::int64_t kMinMicros = -62135596800LL * kMicrosPerSecond;          /* 0001-01-01T00:00:00Z */
constexpr std::int64_t kMaxMicros = 253402300800LL * kMicrosPerSecond - 1;      /* 9999-12-31T23:59:59.999999Z */

} // namespace

std::optional<EpochMicros>
parse_iso8601(std::string_view text) {
	Cursor c(text);
	int year, month, day, hour, minute, second = 0;
	if (!c.digits(4, year) || !c.eat('-') || !c.digits(2, month) || !c.eat('-') || !c.digits(2, day))
		return std::nullopt;
	if (!c.eat('T') && !c.eat('t') && !c.eat(' '))
		return std::nullopt;
	if (!c.digits(2, hour) || !c.eat(':') || !c.digits(2, minute))
		return std::nullopt;
	std::int64_t micros = 0;
	if (c.eat(':')) {
		if (!c.digits(2, second))
			return std::nullopt;
		if (c.eat('.') || c.eat(',')) {
			if (!c.is_digit())
				return std::nullopt;
			/* rounded to the nearest microsecond, as PostgreSQL does */
			std::int64_t scale = 100000;
			int digits = 0;
			while (c.is_digit()) {
				if (digits < 6) {
					micros += (c.peek() - '0') * scale;
					scale /= 10;
				} else if (digits == 6 && c.peek() >= '5')
					micros++;
				digits++;
				c.skip();
			}
		}
	}
	if (year < 1 || month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month) ||
	    hour > 23 || minute > 59 || second > 59)
		return std::nullopt;

	int offset_minutes = 0;
	if (c.eat('Z') || c.eat('z')) {
	} else if (c.peek() == '+' || c.peek() == '-') {
		int sign = c.peek() == '-' ? -1 : 1;
		c.skip();
		int oh, om = 0;
		if (!c.digits(2, oh))
			return std::nullopt;
		if (c.eat(':')) {
			if (!c.digits(2, om))
				return std::nullopt;
		} else if (c.is_digit()) {
			if (!c.digits(2, om))
				return std::nullopt;
		}
		if (oh > 15 || om > 59)
			return std::nullopt;
		offset_minutes = sign * (oh * 60 + om);
	} else
		return std::nullopt; /* a time zone is required */
	if (!c.done())
		return std::nullopt;

	std::int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
	                       static_cast<std::int64_t>(offset_minutes) * 60;
	std::int64_t result = seconds * kMicrosPerSecond + micros;
	if (result < kMinMicros || result > kMaxMicros)
		return std::nullopt;
	return result;
}

std::optional<EpochMicros>
parse_epoch_millis(std::string_view text) {
	bool negative = false;
	std::size_t i = 0;
	if (i < text.size() && text[i] == '-') {
		negative = true;
		i++;
	}
	if (i == text.size() || text.size() - i > 15)
		return std::nullopt;
	std::int64_t ms = 0;
	for (; i < text.size(); i++) {
		if (text[i] < '0' || text[i] > '9')
			return std::nullopt;
		ms = ms * 10 + (text[i] - '0');
	}
	std::int64_t micros = (negative ? -ms : ms) * 1000;
	if (micros < kMinMicros || micros > kMaxMicros)
		return std::nullopt;
	return micros;
}

namespace {

/* A moment's calendar date and time of day (proleptic Gregorian, no time zone). */
struct CivilTime {
	int year;
	unsigned month, day;
	int hour, minute, second, micros;
};

CivilTime
civil_time(EpochMicros t) {
	std::int64_t seconds = t >= 0 ? t / kMicrosPerSecond : (t - kMicrosPerSecond + 1) / kMicrosPerSecond;
	std::int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
	std::int64_t rem = seconds - days * 86400;
	CivilTime c{};
	civil_from_days(days, c.year, c.month, c.day);
	c.hour = static_cast<int>(rem / 3600);
	c.minute = static_cast<int>(rem % 3600 / 60);
	c.second = static_cast<int>(rem % 60);
	c.micros = static_cast<int>(t - seconds * kMicrosPerSecond);
	return c;
}

} // namespace

std::string
format_iso8601_utc(EpochMicros t) {
	CivilTime c = civil_time(t);
	char buf[48];
	std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06d+00:00", c.year, c.month, c.day, c.hour,
	              c.minute, c.second, c.micros);
	return buf;
}

std::size_t
format_jsonb_timestamptz(EpochMicros t, std::int32_t utc_offset_seconds, char *out) {
	if (utc_offset_seconds % 60 != 0 || utc_offset_seconds <= -86400 || utc_offset_seconds >= 86400 ||
	    t < kMinMicros - kMicrosPerSecond * 86400 || t > kMaxMicros + kMicrosPerSecond * 86400)
		return 0;
	CivilTime c = civil_time(t + static_cast<EpochMicros>(utc_offset_seconds) * kMicrosPerSecond);
	if (c.year < 1 || c.year > 9999)
		return 0;
	char *p = out;
	auto digits = [&p](std::int64_t value, int width) {
		auto v = static_cast<std::uint32_t>(value);
		for (int i = width - 1; i >= 0; i--, v /= 10)
			p[i] = static_cast<char>('0' + v % 10);
		p += width;
	};
	digits(c.year, 4);
	*p++ = '-';
	digits(c.month, 2);
	*p++ = '-';
	digits(c.day, 2);
	*p++ = 'T';
	digits(c.hour, 2);
	*p++ = ':';
	digits(c.minute, 2);
	*p++ = ':';
	digits(c.second, 2);
	if (c.micros != 0) {
		*p++ = '.';
		digits(c.micros, 6);
		while (p[-1] == '0')
			p--;
	}
	std::int32_t offset_minutes = (utc_offset_seconds < 0 ? -utc_offset_seconds : utc_offset_seconds) / 60;
	*p++ = utc_offset_seconds < 0 ? '-' : '+';
	digits(offset_minutes / 60, 2);
	*p++ = ':';
	digits(offset_minutes % 60, 2);
	*p = '\0';
	return static_cast<std::size_t>(p - out);
}

} // namespace uu::core
