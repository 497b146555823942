/*
 * jsonb.cpp
 *	  Jsonb reading and writing for the core's token streams.
 *
 * IDENTIFICATION
 *	  src/pg/jsonb.cpp
 */
#include "core/wire.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

#include "pg/jsonb.hpp"

namespace uu::pg {

using core::Token;
using core::TokenSpan;
using core::TokenType;

namespace {

struct TokenBuffer {
	Token *tokens;
	uint32 count;
	uint32 capacity;

	void
	push(TokenType type, const char *str, uint32 len) {
		if (count == capacity) {
			capacity *= 2;
			tokens = static_cast<Token *>(repalloc(tokens, sizeof(Token) * capacity));
		}
		tokens[count++] = Token{type, len, str};
	}
};

void
push_scalar(TokenBuffer &buf, const JsonbValue &v) {
	switch (v.type) {
	case jbvNull: buf.push(TokenType::Null, nullptr, 0); break;
	case jbvBool: buf.push(v.val.boolean ? TokenType::True : TokenType::False, nullptr, 0); break;
	case jbvString: buf.push(TokenType::String, v.val.string.val, static_cast<uint32>(v.val.string.len)); break;
	case jbvNumeric: {
		char *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		buf.push(TokenType::Number, text, static_cast<uint32>(strlen(text)));
		break;
	}
	default: elog(ERROR, "unexpected jsonb value type %d", static_cast<int>(v.type));
	}
}

} // namespace

TokenSpan
jsonb_to_tokens(Jsonb *jb) {
	TokenBuffer buf{static_cast<Token *>(palloc(sizeof(Token) * 32)), 0, 32};
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue v;
	JsonbIteratorToken r;
	bool raw_scalar = false;

	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
		CHECK_FOR_INTERRUPTS();
		switch (r) {
		case WJB_BEGIN_ARRAY:
			if (v.val.array.rawScalar)
				raw_scalar = true;
			else
				buf.push(TokenType::ArrayBegin, nullptr, 0);
			break;
		case WJB_END_ARRAY:
			if (!raw_scalar)
				buf.push(TokenType::ArrayEnd, nullptr, 0);
			break;
		case WJB_BEGIN_OBJECT: buf.push(TokenType::ObjectBegin, nullptr, 0); break;
		case WJB_END_OBJECT: buf.push(TokenType::ObjectEnd, nullptr, 0); break;
		case WJB_KEY: buf.push(TokenType::Key, v.val.string.val, static_cast<uint32>(v.val.string.len)); break;
		case WJB_VALUE:
		case WJB_ELEM: push_scalar(buf, v); break;
		default: elog(ERROR, "unexpected jsonb iterator token %d", static_cast<int>(r));
		}
	}
	return TokenSpan{buf.tokens, buf.count};
}

Jsonb *
tokens_to_jsonb(TokenSpan span) {
	JsonbParseState *state = nullptr;
	JsonbValue *result = nullptr;
	/* Which container each nesting level is, to push WJB_VALUE or WJB_ELEM. */
	bool in_object[core::kMaxPayloadDepth * 32];
	int depth = 0;

	if (span.count == 1 && span.tokens[0].type != TokenType::ObjectBegin &&
	    span.tokens[0].type != TokenType::ArrayBegin)
		elog(ERROR, "scalar jsonb documents are not built by user_upsert");

	for (uint32 i = 0; i < span.count; i++) {
		const Token &t = span.tokens[i];
		JsonbValue v;
		switch (t.type) {
		case TokenType::ObjectBegin:
		case TokenType::ArrayBegin:
			check_stack_depth();
			if (depth >= static_cast<int>(sizeof in_object))
				elog(ERROR, "jsonb document too deeply nested");
			in_object[depth++] = t.type == TokenType::ObjectBegin;
			result = pushJsonbValue(&state, t.type == TokenType::ObjectBegin ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY,
			                        nullptr);
			continue;
		case TokenType::ObjectEnd:
		case TokenType::ArrayEnd:
			depth--;
			result = pushJsonbValue(&state, t.type == TokenType::ObjectEnd ? WJB_END_OBJECT : WJB_END_ARRAY, nullptr);
			continue;
		case TokenType::Key:
			v.type = jbvString;
			v.val.string.val = const_cast<char *>(t.str);
			v.val.string.len = static_cast<int>(t.len);
			result = pushJsonbValue(&state, WJB_KEY, &v);
			continue;
		case TokenType::String:
			v.type = jbvString;
			v.val.string.val = const_cast<char *>(t.str);
			v.val.string.len = static_cast<int>(t.len);
			break;
		case TokenType::Number: {
			char *text = pnstrdup(t.str, t.len);
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(
			    DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
			break;
		}
		case TokenType::True:
		case TokenType::False:
			v.type = jbvBool;
			v.val.boolean = t.type == TokenType::True;
			break;
		case TokenType::Null: v.type = jbvNull; break;
		}
		result = pushJsonbValue(&state, in_object[depth - 1] ? WJB_VALUE : WJB_ELEM, &v);
	}
	return JsonbValueToJsonb(result);
}

} // namespace uu::pg
