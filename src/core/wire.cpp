/*
 * wire.cpp
 *	  Json <-> token conversion for the phase boundary.
 *
 * IDENTIFICATION
 *	  src/core/wire.cpp
 */
#include "core/wire.hpp"

#include "core/error.hpp"

#include <vector>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

class TokenReader {
public:
	TokenReader(TokenSpan span, int max_depth) : span_(span), max_depth_(max_depth) {}

	Json
	read(int depth) {
		if (depth > max_depth_)
			throw_invalid("", "payload is nested too deeply",
			              "The limit is " + std::to_string(max_depth_) + " levels of nesting.");
		const Token &t = next();
		switch (t.type) {
		case TokenType::ObjectBegin: {
			Json obj = Json::object();
			obj.members().reserve(members_ahead());
			while (peek().type != TokenType::ObjectEnd) {
				const Token &key = next();
				if (key.type != TokenType::Key)
					throw std::logic_error("malformed token stream: key expected");
				std::string k(key.str, key.len);
				obj.members().emplace_back(std::move(k), read(depth + 1));
			}
			next();
			return obj;
		}
		case TokenType::ArrayBegin: {
			Json arr = Json::array();
			arr.items().reserve(members_ahead());
			while (peek().type != TokenType::ArrayEnd)
				arr.push(read(depth + 1));
			next();
			return arr;
		}
		case TokenType::String: return Json::string(std::string(t.str, t.len));
		case TokenType::Number: return Json::number(std::string(t.str, t.len));
		case TokenType::True: return Json::boolean(true);
		case TokenType::False: return Json::boolean(false);
		case TokenType::Null: return Json::null();
		default: throw std::logic_error("malformed token stream: value expected");
		}
	}

	bool at_end() const { return pos_ == span_.count; }

private:
	/* How many members (or items) the object (or array) just opened has: its tokens at depth 0. */
	std::size_t
	members_ahead() const {
		std::size_t n = 0;
		int depth = 0;
		for (std::uint32_t i = pos_; i < span_.count; i++) {
			TokenType type = span_.tokens[i].type;
			if (type == TokenType::ObjectEnd || type == TokenType::ArrayEnd) {
				if (depth-- == 0)
					break;
			} else if (depth == 0 && type != TokenType::Key)
				n++;
			if (type == TokenType::ObjectBegin || type == TokenType::ArrayBegin)
				depth++;
		}
		return n;
	}

	const Token &
	next() {
		if (pos_ >= span_.count)
			throw std::logic_error("malformed token stream: truncated");
		return span_.tokens[pos_++];
	}
	const Token &
	peek() const {
		if (pos_ >= span_.count)
			throw std::logic_error("malformed token stream: truncated");
		return span_.tokens[pos_];
	}

	TokenSpan span_;
	int max_depth_;
	std::uint32_t pos_ = 0;
};

void
count_tokens(const Json &j, std::size_t &n) {
	n++;
	if (j.is_array()) {
		for (const auto &i : j.items())
			count_tokens(i, n);
		n++;
	} else if (j.is_object()) {
		for (const auto &m : j.members()) {
			n++;
			count_tokens(m.second, n);
		}
		n++;
	}
}

void
emit(const Json &j, Token *tokens, std::size_t &pos, Allocator &allocator) {
	auto text = [&](TokenType type, const std::string &s) {
		tokens[pos++] = Token{type, static_cast<std::uint32_t>(s.size()), allocator.copy(s)};
	};
	switch (j.type()) {
	case Json::Type::Null: tokens[pos++] = Token{TokenType::Null, 0, nullptr}; break;
	case Json::Type::Bool: tokens[pos++] = Token{j.as_bool() ? TokenType::True : TokenType::False, 0, nullptr}; break;
	case Json::Type::Number: text(TokenType::Number, j.text()); break;
	case Json::Type::String: text(TokenType::String, j.text()); break;
	case Json::Type::Array:
		tokens[pos++] = Token{TokenType::ArrayBegin, 0, nullptr};
		for (const auto &i : j.items())
			emit(i, tokens, pos, allocator);
		tokens[pos++] = Token{TokenType::ArrayEnd, 0, nullptr};
		break;
	case Json::Type::Object:
		tokens[pos++] = Token{TokenType::ObjectBegin, 0, nullptr};
		for (const auto &m : j.members()) {
			text(TokenType::Key, m.first);
			emit(m.second, tokens, pos, allocator);
		}
		tokens[pos++] = Token{TokenType::ObjectEnd, 0, nullptr};
		break;
	}
}

} // namespace

Json
json_from_tokens(TokenSpan span, int max_depth) {
	TokenReader reader(span, max_depth);
	Json j = reader.read(1);
	if (!reader.at_end())
		throw std::logic_error("malformed token stream: trailing tokens");
	return j;
}

TokenSpan
json_to_tokens(const Json &json, Allocator &allocator) {
	std::size_t n = 0;
	count_tokens(json, n);
	Token *tokens = allocator.array<Token>(n);
	std::size_t pos = 0;
	emit(json, tokens, pos, allocator);
	return TokenSpan{tokens, static_cast<std::uint32_t>(n)};
}

} // namespace uu::core
