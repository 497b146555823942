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

void
TokenBuffer::push(TokenType type, const char *str, uint32 len) {
	if (count == capacity) {
		capacity = capacity ? capacity * 2 : 32;
		tokens = static_cast<Token *>(tokens ? repalloc(tokens, sizeof(Token) * capacity)
		                                     : palloc(sizeof(Token) * capacity));
	}
	tokens[count++] = Token{type, len, str};
}

TokenSpan
jsonb_to_tokens(Jsonb *jb) {
	return container_to_tokens(&jb->root);
}

TokenSpan
container_to_tokens(JsonbContainer *container) {
	TokenBuffer buf{};
	append_container_tokens(buf, container);
	return TokenSpan{buf.tokens, buf.count};
}

void
append_container_tokens(TokenBuffer &buf, JsonbContainer *container) {
	JsonbIterator *it = JsonbIteratorInit(container);
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
}

namespace {

/*
 * A JsonbValue tree straight from tokens, for JsonbValueToJsonb(): no
 * pushJsonbValue() state machine. Object keys are put in jsonb's order here
 * (shorter first, then bytewise; of duplicates the last wins, as
 * pushJsonbValue() keeps it).
 */
int
compare_pairs(const void *a, const void *b) {
	const JsonbPair *pa = static_cast<const JsonbPair *>(a);
	const JsonbPair *pb = static_cast<const JsonbPair *>(b);
	int la = pa->key.val.string.len, lb = pb->key.val.string.len;
	if (la != lb)
		return la < lb ? -1 : 1;
	int c = memcmp(pa->key.val.string.val, pb->key.val.string.val, la);
	if (c != 0)
		return c;
	return pa->order > pb->order ? -1 : 1; /* later first: it is the one kept */
}

Numeric
number_value(const Token &t) {
	/* Integers (ids, versions, fids) skip numeric_in's parser. */
	if (t.len > 0 && t.len <= 18) {
		bool integer = true;
		for (uint32 i = (t.str[0] == '-' ? 1 : 0); i < t.len && integer; i++)
			integer = t.str[i] >= '0' && t.str[i] <= '9';
		if (integer && !(t.len == 1 && t.str[0] == '-')) {
			int64 v = 0;
			for (uint32 i = (t.str[0] == '-' ? 1 : 0); i < t.len; i++)
				v = v * 10 + (t.str[i] - '0');
			return int64_to_numeric(t.str[0] == '-' ? -v : v);
		}
	}
	char *text = pnstrdup(t.str, t.len);
	return DatumGetNumeric(
	    DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* Number of direct children of the container opening at tokens[i] (pairs for an object). */
uint32
count_children(TokenSpan span, uint32 i) {
	uint32 n = 0;
	int depth = 0;
	for (uint32 j = i + 1; j < span.count; j++) {
		TokenType t = span.tokens[j].type;
		if (t == TokenType::ObjectEnd || t == TokenType::ArrayEnd) {
			if (depth == 0)
				return n;
			depth--;
			continue;
		}
		if (depth == 0 && t != TokenType::Key)
			n++;
		if (t == TokenType::ObjectBegin || t == TokenType::ArrayBegin)
			depth++;
	}
	elog(ERROR, "unterminated container in a token stream");
	pg_unreachable();
}

/* Fills `out` from the value at tokens[*i], leaving *i past it. */
void
build_value(TokenSpan span, uint32 *i, JsonbValue *out) {
	check_stack_depth();
	if (*i >= span.count)
		elog(ERROR, "truncated token stream");
	const Token &t = span.tokens[(*i)++];
	switch (t.type) {
	case TokenType::ObjectBegin: {
		uint32 n = count_children(span, *i - 1);
		out->type = jbvObject;
		out->val.object.nPairs = static_cast<int>(n);
		out->val.object.pairs = static_cast<JsonbPair *>(palloc(sizeof(JsonbPair) * (n ? n : 1)));
		for (uint32 k = 0; k < n; k++) {
			const Token &key = span.tokens[(*i)++];
			if (key.type != TokenType::Key)
				elog(ERROR, "object member without a key in a token stream");
			JsonbPair &pair = out->val.object.pairs[k];
			pair.key.type = jbvString;
			pair.key.val.string.val = const_cast<char *>(key.str);
			pair.key.val.string.len = static_cast<int>(key.len);
			pair.order = k;
			build_value(span, i, &pair.value);
		}
		(*i)++; /* ObjectEnd */
		if (n > 1) {
			JsonbPair *pairs = out->val.object.pairs;
			if (n <= 32) /* pg_qsort swaps these 40-byte pairs bytewise: slower than this for a row's keys */
				for (uint32 k = 1; k < n; k++) {
					JsonbPair moving = pairs[k];
					uint32 j = k;
					for (; j > 0 && compare_pairs(&pairs[j - 1], &moving) > 0; j--)
						pairs[j] = pairs[j - 1];
					pairs[j] = moving;
				}
			else
				qsort(pairs, n, sizeof(JsonbPair), compare_pairs);
			uint32 kept = 1;
			for (uint32 k = 1; k < n; k++)
				if (pairs[k].key.val.string.len != pairs[kept - 1].key.val.string.len ||
				    memcmp(pairs[k].key.val.string.val, pairs[kept - 1].key.val.string.val,
				           pairs[k].key.val.string.len) != 0)
					pairs[kept++] = pairs[k];
			out->val.object.nPairs = static_cast<int>(kept);
		}
		return;
	}
	case TokenType::ArrayBegin: {
		uint32 n = count_children(span, *i - 1);
		out->type = jbvArray;
		out->val.array.rawScalar = false;
		out->val.array.nElems = static_cast<int>(n);
		out->val.array.elems = static_cast<JsonbValue *>(palloc(sizeof(JsonbValue) * (n ? n : 1)));
		for (uint32 k = 0; k < n; k++)
			build_value(span, i, &out->val.array.elems[k]);
		(*i)++; /* ArrayEnd */
		return;
	}
	case TokenType::String:
		out->type = jbvString;
		out->val.string.val = const_cast<char *>(t.str);
		out->val.string.len = static_cast<int>(t.len);
		return;
	case TokenType::Number:
		out->type = jbvNumeric;
		out->val.numeric = number_value(t);
		return;
	case TokenType::True:
	case TokenType::False:
		out->type = jbvBool;
		out->val.boolean = t.type == TokenType::True;
		return;
	case TokenType::Null: out->type = jbvNull; return;
	case TokenType::Key:
	case TokenType::ObjectEnd:
	case TokenType::ArrayEnd: break;
	}
	elog(ERROR, "unexpected token %d in a token stream", static_cast<int>(t.type));
}

} // namespace

Jsonb *
tokens_to_jsonb(TokenSpan span) {
	if (span.count == 0 ||
	    (span.tokens[0].type != TokenType::ObjectBegin && span.tokens[0].type != TokenType::ArrayBegin))
		elog(ERROR, "scalar jsonb documents are not built by user_upsert");
	JsonbValue root;
	uint32 i = 0;
	build_value(span, &i, &root);
	if (i != span.count)
		elog(ERROR, "trailing tokens after a jsonb document");
	return JsonbValueToJsonb(&root);
}

} // namespace uu::pg
