/*
 * wire.hpp
 *	  Plain-old-data shapes that cross between the glue's PostgreSQL phases and
 *	  the core's C++ phases. Everything here is trivially destructible, so a
 *	  PostgreSQL error may longjmp over it; its memory comes from an Allocator
 *	  the glue backs with palloc.
 *
 * IDENTIFICATION
 *	  src/core/wire.hpp
 */
#pragma once

#include "core/json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>

namespace uu::core {

/* Memory for wire data; alloc throws std::bad_alloc (or the glue's error) on failure. */
struct Allocator {
	void *(*alloc)(void *context, std::size_t size);
	void *context;

	template <typename T>
	T *
	array(std::size_t n) {
		static_assert(std::is_trivially_destructible_v<T>);
		if (n == 0)
			return nullptr;
		void *p = alloc(context, sizeof(T) * n);
		return new (p) T[n]();
	}

	const char *
	copy(std::string_view s) {
		char *p = static_cast<char *>(alloc(context, s.size() + 1));
		std::memcpy(p, s.data(), s.size());
		p[s.size()] = '\0';
		return p;
	}
};

enum class TokenType : std::uint8_t {
	ObjectBegin,
	ObjectEnd,
	ArrayBegin,
	ArrayEnd,
	Key,
	String,
	Number, /* str holds numeric_out text */
	True,
	False,
	Null,
};

struct Token {
	TokenType type;
	std::uint32_t len;
	const char *str; /* Key, String, Number: not NUL-terminated */
};

/* A JSON document as a flat token sequence (the order JsonbIteratorNext yields). */
struct TokenSpan {
	const Token *tokens;
	std::uint32_t count;
};

struct IdentityRef {
	const char *kind;
	const char *value;
};

static_assert(std::is_trivially_destructible_v<Token>);
static_assert(std::is_trivially_destructible_v<TokenSpan>);
static_assert(std::is_trivially_destructible_v<IdentityRef>);

/* Index just past the value that starts at tokens[i]; span.count when the stream ends inside it. */
inline std::uint32_t
value_end(TokenSpan span, std::uint32_t i) {
	int depth = 0;
	while (i < span.count) {
		TokenType t = span.tokens[i++].type;
		if (t == TokenType::ObjectBegin || t == TokenType::ArrayBegin)
			depth++;
		else if (t == TokenType::ObjectEnd || t == TokenType::ArrayEnd)
			depth--;
		if (depth <= 0)
			return i;
	}
	return span.count;
}

/* Builds a Json from tokens; refuses documents nested deeper than max_depth. */
Json json_from_tokens(TokenSpan span, int max_depth);

/* Flattens a Json into tokens allocated from `allocator`. */
TokenSpan json_to_tokens(const Json &json, Allocator &allocator);

/* Nesting depth past which a payload is refused (22023) before it is parsed. */
constexpr int kMaxPayloadDepth = 64;

/* Nesting depth accepted when reading rows back from the tables (direct SQL may store deep attrs). */
constexpr int kMaxStoredDepth = 1000;

} // namespace uu::core
