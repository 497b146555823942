/*
 * support.hpp
 *	  Test-only helpers shared by the unit tests: a JSON text reader, so tests
 *	  can write documents legibly, and error capture.
 *	  Numbers are kept as written (the core keeps numeric_out text); object
 *	  members keep their order. It trusts its input: errors are exceptions.
 *
 * IDENTIFICATION
 *	  test/unit/support.hpp
 */
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/json.hpp"

namespace uu::test {

using uu::core::Json;

class TestJsonReader {
public:
	explicit TestJsonReader(std::string_view s) : s_(s) {}

	Json
	read() {
		Json v = value();
		space();
		if (i_ != s_.size())
			fail("trailing text");
		return v;
	}

private:
	[[noreturn]] void
	fail(const char *what) const {
		throw std::runtime_error(std::string("test json: ") + what + " at offset " + std::to_string(i_) + " in " +
		                         std::string(s_));
	}

	void
	space() {
		while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
			i_++;
	}

	bool
	eat(std::string_view word) {
		if (s_.substr(i_, word.size()) != word)
			return false;
		i_ += word.size();
		return true;
	}

	unsigned
	hex4() {
		if (i_ + 4 > s_.size())
			fail("short \\u escape");
		unsigned v = 0;
		for (int k = 0; k < 4; k++) {
			char c = s_[i_++];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= static_cast<unsigned>(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= static_cast<unsigned>(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= static_cast<unsigned>(c - 'A' + 10);
			else
				fail("bad \\u escape");
		}
		return v;
	}

	static void
	utf8(std::string &out, unsigned cp) {
		if (cp < 0x80)
			out += static_cast<char>(cp);
		else if (cp < 0x800) {
			out += static_cast<char>(0xC0 | (cp >> 6));
			out += static_cast<char>(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			out += static_cast<char>(0xE0 | (cp >> 12));
			out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
			out += static_cast<char>(0x80 | (cp & 0x3F));
		} else {
			out += static_cast<char>(0xF0 | (cp >> 18));
			out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
			out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
			out += static_cast<char>(0x80 | (cp & 0x3F));
		}
	}

	std::string
	string() {
		if (!eat("\""))
			fail("string expected");
		std::string out;
		for (;;) {
			if (i_ >= s_.size())
				fail("unterminated string");
			char c = s_[i_++];
			if (c == '"')
				return out;
			if (c != '\\') {
				out += c;
				continue;
			}
			if (i_ >= s_.size())
				fail("unterminated escape");
			char e = s_[i_++];
			switch (e) {
			case '"': out += '"'; break;
			case '\\': out += '\\'; break;
			case '/': out += '/'; break;
			case 'b': out += '\b'; break;
			case 'f': out += '\f'; break;
			case 'n': out += '\n'; break;
			case 'r': out += '\r'; break;
			case 't': out += '\t'; break;
			case 'u': {
				unsigned cp = hex4();
				if (cp >= 0xD800 && cp < 0xDC00 && eat("\\u")) {
					unsigned low = hex4();
					cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
				}
				utf8(out, cp);
				break;
			}
			default: fail("bad escape");
			}
		}
	}

	Json
	value() {
		space();
		if (i_ >= s_.size())
			fail("value expected");
		char c = s_[i_];
		if (c == '{') {
			i_++;
			Json obj = Json::object();
			space();
			if (eat("}"))
				return obj;
			for (;;) {
				space();
				std::string key = string();
				space();
				if (!eat(":"))
					fail("':' expected");
				Json v = value();
				obj.members().emplace_back(std::move(key), std::move(v));
				space();
				if (eat(","))
					continue;
				if (eat("}"))
					return obj;
				fail("',' or '}' expected");
			}
		}
		if (c == '[') {
			i_++;
			Json arr = Json::array();
			space();
			if (eat("]"))
				return arr;
			for (;;) {
				arr.push(value());
				space();
				if (eat(","))
					continue;
				if (eat("]"))
					return arr;
				fail("',' or ']' expected");
			}
		}
		if (c == '"')
			return Json::string(string());
		if (eat("true"))
			return Json::boolean(true);
		if (eat("false"))
			return Json::boolean(false);
		if (eat("null"))
			return Json::null();
		std::size_t start = i_;
		while (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' ||
		                          s_[i_] == 'E' || (s_[i_] >= '0' && s_[i_] <= '9')))
			i_++;
		if (start == i_)
			fail("value expected");
		return Json::number(std::string(s_.substr(start, i_ - start)));
	}

	std::string_view s_;
	std::size_t i_ = 0;
};

/* The Json of a JSON text. */
inline Json
J(std::string_view text) {
	return TestJsonReader(text).read();
}

/* The core Error `f` throws, or nullopt. */
template <typename F>
std::optional<uu::core::Error>
capture(F &&f) {
	try {
		f();
	} catch (const uu::core::Error &e) {
		return e;
	}
	return std::nullopt;
}

inline bool
contains(const std::string &haystack, const std::string &needle) {
	return haystack.find(needle) != std::string::npos;
}

} // namespace uu::test
