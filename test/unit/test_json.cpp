/*
 * test_json.cpp
 *	  Unit tests of the core's JSON value: RFC 7386 merge patch (every test
 *	  vector of the RFC's appendix A), jsonb equality semantics, compact dump
 *	  with escaping, and the token wire format (round trip, allocation through
 *	  the Allocator, depth limit, malformed streams).
 *
 * IDENTIFICATION
 *	  test/unit/test_json.cpp
 */
#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/wire.hpp"
#include "support.hpp"

using uu::core::Error;
using uu::core::Json;
using uu::core::Token;
using uu::core::TokenSpan;
using uu::core::TokenType;
namespace core = uu::core;

using uu::test::J;
using uu::test::capture;

namespace {


/*
 * An Allocator backed by malloc that records every block it hands out and
 * frees them all when it goes out of scope (as palloc memory goes away with
 * its context).
 */
class MallocArena {
public:
	MallocArena() : allocator{&MallocArena::alloc, this} {}
	MallocArena(const MallocArena &) = delete;
	MallocArena &operator=(const MallocArena &) = delete;
	~MallocArena() {
		for (void *p : blocks)
			std::free(p);
	}

	core::Allocator allocator;
	std::vector<void *> blocks;
	std::size_t bytes = 0;

private:
	static void *
	alloc(void *context, std::size_t size) {
		auto *self = static_cast<MallocArena *>(context);
		void *p = std::malloc(size == 0 ? 1 : size);
		if (!p)
			throw std::bad_alloc();
		self->blocks.push_back(p);
		self->bytes += size;
		return p;
	}
};

Json
round_trip(const Json &j, int max_depth = core::kMaxPayloadDepth) {
	MallocArena arena;
	const TokenSpan span = core::json_to_tokens(j, arena.allocator);
	return core::json_from_tokens(span, max_depth);
}

/* n nested arrays, the innermost empty: depth n */
Json
nested_arrays(int n) {
	Json j = Json::array();
	for (int i = 1; i < n; i++) {
		Json outer = Json::array();
		outer.push(std::move(j));
		j = std::move(outer);
	}
	return j;
}

/* n nested objects {"k": {"k": ... {}}}: depth n */
Json
nested_objects(int n) {
	Json j = Json::object();
	for (int i = 1; i < n; i++) {
		Json outer = Json::object();
		outer.set("k", std::move(j));
		j = std::move(outer);
	}
	return j;
}

} // namespace

/* ================================================================== merge patch */

BOOST_AUTO_TEST_CASE(rfc7386_appendix_a) {
	/* RFC 7386, Appendix A "Example Test Cases": original, patch, result */
	const char *const cases[][3] = {
	    {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
	    {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
	    {R"({"a":"b"})", R"({"a":null})", R"({})"},
	    {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
	    {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
	    {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
	    {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
	    {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
	    {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
	    {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
	    {R"({"a":"foo"})", R"(null)", R"(null)"},
	    {R"({"a":"foo"})", R"("bar")", R"("bar")"},
	    {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
	    {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
	    {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
	};
	BOOST_TEST(std::size(cases) == 15u);
	for (const auto &c : cases) {
		BOOST_TEST_CONTEXT(c[0] << " patched by " << c[1]) {
			const Json original = J(c[0]);
			const Json patch = J(c[1]);
			const Json result = core::merge_patch(original, patch);
			BOOST_TEST((result == J(c[2])), "got " << result.dump() << ", expected " << c[2]);
			/* the inputs are not modified */
			BOOST_TEST((original == J(c[0])));
			BOOST_TEST((patch == J(c[1])));
		}
	}
}

BOOST_AUTO_TEST_CASE(rfc7386_section_3_example) {
	/* the example of RFC 7386 section 3 */
	const Json target = J(R"({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
	                          "tags": ["example", "sample"], "content": "This will be unchanged"})");
	const Json patch = J(R"({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null},
	                         "tags": ["example"]})");
	const Json expected = J(R"({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
	                            "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})");
	BOOST_TEST((core::merge_patch(target, patch) == expected), core::merge_patch(target, patch).dump());
}

BOOST_AUTO_TEST_CASE(merge_patch_keeps_member_order) {
	const Json r = core::merge_patch(J(R"({"b": 1, "a": 2})"), J(R"({"c": 3, "b": 4})"));
	BOOST_TEST(r.dump() == R"({"b": 4, "a": 2, "c": 3})");
}

BOOST_AUTO_TEST_CASE(merge_patch_removes_and_readds) {
	/* a removed key leaves the others in order; keys the patch adds come after them */
	const Json r = core::merge_patch(J(R"({"a": 1, "b": 2, "c": 3, "d": {"x": 1}})"),
	                                 J(R"({"b": null, "e": 5, "d": {"x": null, "y": 2}, "zz": null})"));
	BOOST_TEST(r.dump() == R"({"a": 1, "c": 3, "d": {"y": 2}, "e": 5})");
}

BOOST_AUTO_TEST_CASE(merge_patch_large_objects) {
	/* 20,000 keys, every third removed, every other replaced, 10,000 added: the result key by key */
	Json target = Json::object(), patch = Json::object();
	for (int i = 0; i < 20000; i++)
		target.members().emplace_back("k" + std::to_string(i), Json::number(i));
	for (int i = 0; i < 30000; i++)
		if (i < 20000 && i % 3 == 0)
			patch.members().emplace_back("k" + std::to_string(i), Json::null());
		else if (i % 2 == 0 || i >= 20000)
			patch.members().emplace_back("k" + std::to_string(i), Json::number(-i));
	const Json r = core::merge_patch(target, patch);
	std::map<std::string, const Json *> got;
	for (const auto &m : r.members())
		got.emplace(m.first, &m.second);
	std::size_t expected = 0;
	for (int i = 0; i < 30000; i++) {
		auto at = got.find("k" + std::to_string(i));
		const Json *v = at == got.end() ? nullptr : at->second;
		if (i < 20000 && i % 3 == 0) {
			BOOST_TEST_REQUIRE(!v, i);
			continue;
		}
		expected++;
		BOOST_TEST_REQUIRE(v, i);
		BOOST_TEST_REQUIRE(v->text() == std::to_string(i % 2 == 0 || i >= 20000 ? -i : i), i);
	}
	BOOST_TEST(r.members().size() == expected);
}

BOOST_AUTO_TEST_CASE(add_missing_members_keeps_present_values) {
	Json object = J(R"({"a": 1, "b": null})");
	core::add_missing_members(object, J(R"({"b": 2, "c": null, "d": 4, "a": 9})"), true);
	BOOST_TEST(object.dump() == R"({"a": 1, "b": null, "d": 4})");
	core::add_missing_members(object, J(R"({"c": null})"), false);
	BOOST_TEST(object.dump() == R"({"a": 1, "b": null, "d": 4, "c": null})");
}

/* ================================================================== equality */

BOOST_AUTO_TEST_CASE(equality_object_order_ignored) {
	BOOST_TEST((J(R"({"a": 1, "b": [1, 2], "c": {"x": null, "y": true}})") ==
	            J(R"({"c": {"y": true, "x": null}, "b": [1, 2], "a": 1})")));
	BOOST_TEST((J(R"({"a": 1})") != J(R"({"a": 1, "b": 2})")));
	BOOST_TEST((J(R"({"a": 1, "b": 2})") != J(R"({"a": 1})")));
	BOOST_TEST((J(R"({"a": 1})") != J(R"({"b": 1})")));
	BOOST_TEST((J(R"({})") == J(R"({})")));
	BOOST_TEST((J(R"({})") != J(R"([])")));
	/* same keys in another order, one value differing, found through the index */
	BOOST_TEST((J(R"({"a": 1, "b": 2, "c": 3})") != J(R"({"c": 3, "a": 1, "b": 20})")));
	BOOST_TEST((J(R"({"a": 1, "b": 2})") != J(R"({"b": 2, "c": 1})")));
	/* arrays keep their order */
	BOOST_TEST((J(R"([1, 2])") != J(R"([2, 1])")));
	BOOST_TEST((J(R"([1, 2])") != J(R"([1, 2, 3])")));
	BOOST_TEST((J(R"([[1], {"a": [2]}])") == J(R"([[1.0], {"a": [2.00]}])")));
}

BOOST_AUTO_TEST_CASE(equality_numbers_by_value) {
	const std::vector<std::pair<const char *, const char *>> equal = {
	    {"1", "1"}, {"1.0", "1"}, {"1.0", "1.00"}, {"1.50", "1.5"}, {"-0", "0"}, {"-0.0", "0"},
	    {"0.000", "0"}, {"100", "100.0"}, {"-2.10", "-2.1"}, {"12345678901234567890.0", "12345678901234567890"},
	};
	for (const auto &[a, b] : equal)
		BOOST_TEST_CONTEXT(a << " == " << b) {
			BOOST_TEST((Json::number(a) == Json::number(b)));
			BOOST_TEST((Json::number(b) == Json::number(a)));
		}
	const std::vector<std::pair<const char *, const char *>> different = {
	    {"1", "10"}, {"100", "1"}, {"1.01", "1.1"}, {"-1", "1"}, {"0.1", "1"}, {"10", "1.0"},
	};
	for (const auto &[a, b] : different)
		BOOST_TEST_CONTEXT(a << " != " << b) {
			BOOST_TEST((Json::number(a) != Json::number(b)));
		}
}

BOOST_AUTO_TEST_CASE(equality_types) {
	BOOST_TEST((Json::null() == Json::null()));
	BOOST_TEST((Json::null() != Json::boolean(false)));
	BOOST_TEST((Json::boolean(true) == Json::boolean(true)));
	BOOST_TEST((Json::boolean(true) != Json::boolean(false)));
	BOOST_TEST((Json::string("1") != Json::number("1")));
	BOOST_TEST((Json::string("a") == Json::string("a")));
	BOOST_TEST((Json::string("a") != Json::string("A")));
	BOOST_TEST((Json::string("") != Json::null()));
	BOOST_TEST((Json::number(std::int64_t{42}) == Json::number("42")));
	BOOST_TEST((Json::number(std::int64_t{-9}) == Json::number("-9.0")));
	BOOST_TEST((Json::array() != Json::object()));
}

/* ================================================================== object members */

BOOST_AUTO_TEST_CASE(find_set_erase) {
	Json o = Json::object();
	BOOST_TEST(o.find("a") == nullptr);
	o.set("a", Json::number("1"));
	o.set("b", Json::string("x"));
	o.set("a", Json::boolean(true));
	BOOST_TEST(o.members().size() == 2u);
	BOOST_TEST(o.dump() == R"({"a": true, "b": "x"})");
	BOOST_TEST_REQUIRE(o.find("b") != nullptr);
	BOOST_TEST(o.find("b")->text() == "x");
	o.erase("a");
	o.erase("missing");
	BOOST_TEST(o.dump() == R"({"b": "x"})");
	const Json &c = o;
	BOOST_TEST(c.find("b") != nullptr);
	BOOST_TEST(c.find("a") == nullptr);
}

BOOST_AUTO_TEST_CASE(type_names) {
	BOOST_TEST(std::string(core::json_type_name(Json::Type::Null)) == "null");
	BOOST_TEST(std::string(core::json_type_name(Json::Type::Bool)) == "a boolean");
	BOOST_TEST(std::string(core::json_type_name(Json::Type::Number)) == "a number");
	BOOST_TEST(std::string(core::json_type_name(Json::Type::String)) == "a string");
	BOOST_TEST(std::string(core::json_type_name(Json::Type::Array)) == "an array");
	BOOST_TEST(std::string(core::json_type_name(Json::Type::Object)) == "an object");
}

/* ================================================================== dump */

BOOST_AUTO_TEST_CASE(dump_scalars_and_layout) {
	BOOST_TEST(Json::null().dump() == "null");
	BOOST_TEST(Json::boolean(true).dump() == "true");
	BOOST_TEST(Json::boolean(false).dump() == "false");
	BOOST_TEST(Json::number("1.50").dump() == "1.50");
	BOOST_TEST(Json::number(std::int64_t{-7}).dump() == "-7");
	BOOST_TEST(Json::string("abc").dump() == "\"abc\"");
	BOOST_TEST(Json::array().dump() == "[]");
	BOOST_TEST(Json::object().dump() == "{}");
	BOOST_TEST(J(R"({"a":[1,{"b":null}],"c":"d"})").dump() == R"({"a": [1, {"b": null}], "c": "d"})");
}

BOOST_AUTO_TEST_CASE(dump_escaping) {
	BOOST_TEST(Json::string("a\"b").dump() == R"("a\"b")");
	BOOST_TEST(Json::string("a\\b").dump() == R"("a\\b")");
	BOOST_TEST(Json::string("\n\r\t").dump() == R"("\n\r\t")");
	BOOST_TEST(Json::string("\b\f").dump() == R"("\u0008\u000c")");
	BOOST_TEST(Json::string(std::string("\0", 1)).dump() == R"("\u0000")");
	BOOST_TEST(Json::string("\x01\x1f").dump() == R"("\u0001\u001f")");
	/* DEL, '/', printable ASCII and UTF-8 pass through */
	BOOST_TEST(Json::string("\x7f/ ~").dump() == "\"\x7f/ ~\"");
	BOOST_TEST(Json::string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80").dump() == "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* keys are escaped too */
	Json o = Json::object();
	o.set("k\"\n", Json::string("v"));
	BOOST_TEST(o.dump() == R"({"k\"\n": "v"})");
	/* the dump reads back as the same value */
	const std::string all = std::string("\"\\/\b\f\n\r\t\x01\x1f\x7f", 11) + std::string("\0x", 2) + "\xc3\xa9";
	BOOST_TEST((J(Json::string(all).dump()) == Json::string(all)));
	Json nested = Json::object();
	nested.set(all, Json::string(all));
	BOOST_TEST((J(nested.dump()) == nested));
}

/* ================================================================== wire */

BOOST_AUTO_TEST_CASE(wire_tokens_in_iterator_order) {
	MallocArena arena;
	const Json j = J(R"({"a": [1.50, "x"], "b": null, "c": true, "d": false, "e": {}})");
	const TokenSpan span = core::json_to_tokens(j, arena.allocator);
	const std::vector<TokenType> expected = {
	    TokenType::ObjectBegin, TokenType::Key,    TokenType::ArrayBegin, TokenType::Number, TokenType::String,
	    TokenType::ArrayEnd,    TokenType::Key,    TokenType::Null,       TokenType::Key,    TokenType::True,
	    TokenType::Key,         TokenType::False,  TokenType::Key,        TokenType::ObjectBegin,
	    TokenType::ObjectEnd,   TokenType::ObjectEnd,
	};
	BOOST_TEST_REQUIRE(span.count == expected.size());
	for (std::size_t i = 0; i < expected.size(); i++)
		BOOST_TEST_CONTEXT("token " << i) {
			BOOST_TEST((span.tokens[i].type == expected[i]));
		}
	BOOST_TEST(std::string(span.tokens[1].str, span.tokens[1].len) == "a");
	BOOST_TEST(std::string(span.tokens[3].str, span.tokens[3].len) == "1.50");
	BOOST_TEST(std::string(span.tokens[4].str, span.tokens[4].len) == "x");
	BOOST_TEST(std::string(span.tokens[12].str, span.tokens[12].len) == "e");
	/* everything came from the allocator */
	BOOST_TEST(!arena.blocks.empty());
	BOOST_TEST(arena.bytes >= sizeof(Token) * expected.size());
	for (std::uint32_t i = 0; i < span.count; i++) {
		const Token &t = span.tokens[i];
		if (t.type == TokenType::Key || t.type == TokenType::String || t.type == TokenType::Number) {
			bool from_arena = false;
			for (void *b : arena.blocks)
				if (b == static_cast<const void *>(t.str))
					from_arena = true;
			BOOST_TEST(from_arena, "token " << i << " text not allocated by the allocator");
		}
	}
}

BOOST_AUTO_TEST_CASE(wire_round_trip) {
	const char *const docs[] = {
	    R"({"action": "updated", "user": {"id": "11111111-1111-4111-8111-111111111111", "fid": 3,
	        "attrs": {"a": [1, 2.50, -0, {"b": [[], {}]}], "": ""}, "wallets": [], "external": {},
	        "observed_at": null, "flag": true, "off": false, "big": 123456789012345678901234567890.123}})",
	    R"([])",
	    R"({})",
	    R"([null])",
	    R"("just a string")",
	    R"(3.25)",
	    R"(null)",
	    R"(true)",
	    R"(false)",
	    R"({"\u0000\n\"": "\u00e9\ud83d\ude00\\", "k": "v\u0001"})",
	};
	for (const char *doc : docs) {
		BOOST_TEST_CONTEXT(doc) {
			const Json j = J(doc);
			const Json back = round_trip(j);
			BOOST_TEST((back == j));
			/* member order and number spelling survive too */
			BOOST_TEST(back.dump() == j.dump());
		}
	}
}

BOOST_AUTO_TEST_CASE(wire_round_trip_embedded_nul) {
	Json j = Json::object();
	j.set(std::string("k\0ey", 4), Json::string(std::string("a\0b", 3)));
	const Json back = round_trip(j);
	BOOST_TEST_REQUIRE(back.members().size() == 1u);
	BOOST_TEST(back.members()[0].first.size() == 4u);
	BOOST_TEST(back.members()[0].second.text().size() == 3u);
	BOOST_TEST((back == j));
}

BOOST_AUTO_TEST_CASE(wire_round_trip_large) {
	Json arr = Json::array();
	for (int i = 0; i < 5000; i++) {
		Json o = Json::object();
		o.set("i", Json::number(std::int64_t{i}));
		o.set("s", Json::string(std::string(static_cast<std::size_t>(i % 97), 'x')));
		arr.push(std::move(o));
	}
	BOOST_TEST((round_trip(arr) == arr));
}

BOOST_AUTO_TEST_CASE(wire_depth_limit) {
	for (int max_depth : {1, 2, 3, 10, core::kMaxPayloadDepth}) {
		BOOST_TEST_CONTEXT("max_depth " << max_depth) {
			/* at the limit: accepted */
			BOOST_TEST((round_trip(nested_arrays(max_depth), max_depth) == nested_arrays(max_depth)));
			BOOST_TEST((round_trip(nested_objects(max_depth), max_depth) == nested_objects(max_depth)));
			/* one level deeper: 22023 */
			for (const Json &deep : {nested_arrays(max_depth + 1), nested_objects(max_depth + 1)}) {
				const auto e = capture([&] { (void) round_trip(deep, max_depth); });
				BOOST_TEST_REQUIRE(e.has_value());
				BOOST_TEST((e->code == Error::Code::InvalidParameter));
				BOOST_TEST(e->field == "");
				BOOST_TEST(e->message == "payload is nested too deeply");
				BOOST_TEST(e->detail.find(std::to_string(max_depth)) != std::string::npos, e->detail);
			}
		}
	}
	/* a scalar inside the innermost container counts as a level */
	Json two = Json::array();
	two.push(Json::number("1"));
	BOOST_TEST((round_trip(two, 2) == two));
	const auto e = capture([&] { (void) round_trip(two, 1); });
	BOOST_TEST(e.has_value());
	/* a scalar document is depth 1 */
	BOOST_TEST((round_trip(Json::null(), 1) == Json::null()));
	/* a token stream far too deep (as a hostile Jsonb would give): refused without exhausting the stack */
	std::vector<Token> tokens(200000, Token{TokenType::ArrayBegin, 0, nullptr});
	for (std::size_t i = 100000; i < tokens.size(); i++)
		tokens[i].type = TokenType::ArrayEnd;
	const TokenSpan span{tokens.data(), static_cast<std::uint32_t>(tokens.size())};
	const auto deep = capture([&] { (void) core::json_from_tokens(span, core::kMaxPayloadDepth); });
	BOOST_TEST_REQUIRE(deep.has_value());
	BOOST_TEST(deep->message == "payload is nested too deeply");
}

BOOST_AUTO_TEST_CASE(wire_malformed_streams) {
	auto tok = [](TokenType t, const char *s = nullptr) {
		return Token{t, s ? static_cast<std::uint32_t>(std::char_traits<char>::length(s)) : 0u, s};
	};
	const std::vector<std::vector<Token>> bad = {
	    {tok(TokenType::ArrayBegin)},                                       /* truncated */
	    {tok(TokenType::ObjectBegin), tok(TokenType::Key, "a")},             /* truncated after a key */
	    {tok(TokenType::Null), tok(TokenType::Null)},                       /* trailing */
	    {tok(TokenType::ObjectBegin), tok(TokenType::String, "a"), tok(TokenType::Null), tok(TokenType::ObjectEnd)},
	    {tok(TokenType::ArrayEnd)},                                         /* no value */
	    {tok(TokenType::Key, "a")},                                         /* a key is no value */
	};
	for (std::size_t i = 0; i < bad.size(); i++)
		BOOST_TEST_CONTEXT("stream " << i) {
			const TokenSpan span{bad[i].data(), static_cast<std::uint32_t>(bad[i].size())};
			BOOST_CHECK_THROW((void) core::json_from_tokens(span, 10), std::logic_error);
		}
	const TokenSpan empty{nullptr, 0};
	BOOST_CHECK_THROW((void) core::json_from_tokens(empty, 10), std::logic_error);
}

BOOST_AUTO_TEST_CASE(allocator_array_and_copy) {
	MallocArena arena;
	BOOST_TEST(arena.allocator.array<Token>(0) == nullptr);
	BOOST_TEST(arena.blocks.empty());
	Token *t = arena.allocator.array<Token>(3);
	BOOST_TEST(arena.blocks.size() == 1u);
	/* value-initialized */
	BOOST_TEST(t[2].len == 0u);
	BOOST_TEST(t[2].str == nullptr);
	const char *s = arena.allocator.copy(std::string_view("ab\0c", 4));
	BOOST_TEST(std::string(s, 5) == std::string("ab\0c\0", 5));
	BOOST_TEST(arena.blocks.size() == 2u);
}

BOOST_AUTO_TEST_CASE(value_end_steps_over_one_value) {
	/* {"a": [1, {"b": null}], "c": "x"} */
	const std::vector<Token> t = {
	    {TokenType::ObjectBegin, 0, nullptr}, {TokenType::Key, 1, "a"},          {TokenType::ArrayBegin, 0, nullptr},
	    {TokenType::Number, 1, "1"},          {TokenType::ObjectBegin, 0, nullptr}, {TokenType::Key, 1, "b"},
	    {TokenType::Null, 0, nullptr},        {TokenType::ObjectEnd, 0, nullptr},  {TokenType::ArrayEnd, 0, nullptr},
	    {TokenType::Key, 1, "c"},             {TokenType::String, 1, "x"},         {TokenType::ObjectEnd, 0, nullptr},
	};
	const TokenSpan span{t.data(), static_cast<std::uint32_t>(t.size())};
	BOOST_TEST(core::value_end(span, 0) == 12u); /* the whole document */
	BOOST_TEST(core::value_end(span, 2) == 9u);  /* the array, nested object included */
	BOOST_TEST(core::value_end(span, 3) == 4u);  /* a scalar */
	BOOST_TEST(core::value_end(span, 4) == 8u);  /* the inner object */
	BOOST_TEST(core::value_end(span, 10) == 11u);
	/* A stream that ends inside the value, or an index at its end: the stream's length, nothing read past it. */
	const TokenSpan truncated{t.data(), 5};
	BOOST_TEST(core::value_end(truncated, 2) == 5u);
	BOOST_TEST(core::value_end(span, 12) == 12u);
}
