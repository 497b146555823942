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
 * Tokens written straight into jsonb's binary form, laid out byte for byte
 * as convertToJsonb() (jsonb_util.c) lays out the JsonbValue tree it is
 * given: no tree, no pushJsonbValue() state machine. Object keys go in
 * jsonb's order (shorter first, then bytewise; of duplicates the last wins,
 * as pushJsonbValue() keeps it).
 */
struct PairRef {
	const Token *key;
	uint32 value; /* index of the member's value token */
	uint32 order;
};

int
compare_pairs(const PairRef &a, const PairRef &b) {
	if (a.key->len != b.key->len)
		return a.key->len < b.key->len ? -1 : 1;
	int c = memcmp(a.key->str, b.key->str, a.key->len);
	if (c != 0)
		return c;
	return a.order > b.order ? -1 : 1; /* later first: it is the one kept */
}

int
compare_pairs_qsort(const void *a, const void *b) {
	return compare_pairs(*static_cast<const PairRef *>(a), *static_cast<const PairRef *>(b));
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

/* padBufferToInt(): zero bytes up to the next 4-byte boundary of the whole datum; their count. */
int
pad_to_int(StringInfo buf) {
	int padding = INTALIGN(buf->len) - buf->len;
	if (padding > 0) {
		enlargeStringInfo(buf, padding);
		memset(buf->data + buf->len, 0, padding);
		buf->len += padding;
	}
	return padding;
}

/* reserveFromBuffer(): `len` bytes to fill later, by offset (the buffer moves as it grows). */
int
reserve(StringInfo buf, int len) {
	enlargeStringInfo(buf, len);
	int offset = buf->len;
	buf->len += len;
	buf->data[buf->len] = '\0';
	return offset;
}

void
check_total_length(int total, const char *container) {
	if (total > static_cast<int>(JENTRY_OFFLENMASK))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("total size of jsonb %s elements exceeds the maximum of %d bytes", container,
		                       JENTRY_OFFLENMASK)));
}

JEntry write_value(StringInfo buf, TokenSpan span, uint32 *i);

/* One child's JEntry at `slot` of the container's array, every JB_OFFSET_STRIDE'th as an end offset. */
void
store_entry(StringInfo buf, int jentries, int slot, JEntry meta, int *total, const char *container) {
	*total += JBE_OFFLENFLD(meta);
	check_total_length(*total, container);
	if (slot % JB_OFFSET_STRIDE == 0)
		meta = (meta & JENTRY_TYPEMASK) | static_cast<uint32>(*total) | JENTRY_HAS_OFF;
	memcpy(buf->data + jentries + slot * sizeof(JEntry), &meta, sizeof(JEntry));
}

/* A string's bytes; its JEntry. */
JEntry
write_string(StringInfo buf, const Token &t) {
	if (t.len > JENTRY_OFFLENMASK)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("string too long to represent as jsonb string")));
	appendBinaryStringInfo(buf, t.str, static_cast<int>(t.len));
	return t.len;
}

/*
 * Opens a container as convertJsonbArray()/convertJsonbObject() do: padding,
 * header, room for its JEntries (*jentries: where). Returns where it began.
 */
int
begin_container(StringInfo buf, uint32 count, uint32 flag, uint32 nentries, const char *container, int *jentries) {
	if (count > JB_CMASK)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("too many jsonb %s members", container)));
	int base = buf->len;
	pad_to_int(buf);
	uint32 header = count | flag;
	appendBinaryStringInfo(buf, reinterpret_cast<const char *>(&header), sizeof(header));
	*jentries = reserve(buf, static_cast<int>(sizeof(JEntry) * nentries));
	return base;
}

/* The JEntry of the container begin_container() opened at `base`, its padding included. */
JEntry
end_container(StringInfo buf, int base, const char *container) {
	int total = buf->len - base;
	check_total_length(total, container);
	return JENTRY_ISCONTAINER | static_cast<uint32>(total);
}

JEntry
write_array(StringInfo buf, TokenSpan span, uint32 *i) {
	uint32 n = 0;
	for (uint32 j = *i; j < span.count && span.tokens[j].type != TokenType::ArrayEnd; j = core::value_end(span, j))
		n++;
	int jentries;
	int base = begin_container(buf, n, JB_FARRAY, n, "array", &jentries);
	int total = 0;
	for (uint32 k = 0; k < n; k++)
		store_entry(buf, jentries, static_cast<int>(k), write_value(buf, span, i), &total, "array");
	(*i)++; /* ArrayEnd */
	return end_container(buf, base, "array");
}

JEntry
write_object(StringInfo buf, TokenSpan span, uint32 *i) {
	uint32 n = 0;
	for (uint32 j = *i; j < span.count && span.tokens[j].type == TokenType::Key; j = core::value_end(span, j + 1))
		n++;
	PairRef small[32];
	PairRef *pairs = n <= lengthof(small) ? small : static_cast<PairRef *>(palloc(sizeof(PairRef) * n));
	for (uint32 k = 0; k < n; k++) {
		pairs[k] = PairRef{&span.tokens[*i], *i + 1, k};
		*i = core::value_end(span, *i + 1);
	}
	if (*i >= span.count || span.tokens[*i].type != TokenType::ObjectEnd)
		elog(ERROR, "object member without a key in a token stream");
	(*i)++; /* ObjectEnd */
	if (n > 1) {
		if (n <= lengthof(small)) /* a row's keys, mostly in order already */
			for (uint32 k = 1; k < n; k++) {
				PairRef moving = pairs[k];
				uint32 j = k;
				for (; j > 0 && compare_pairs(pairs[j - 1], moving) > 0; j--)
					pairs[j] = pairs[j - 1];
				pairs[j] = moving;
			}
		else
			qsort(pairs, n, sizeof(PairRef), compare_pairs_qsort);
		uint32 kept = 1;
		for (uint32 k = 1; k < n; k++)
			if (pairs[k].key->len != pairs[kept - 1].key->len ||
			    memcmp(pairs[k].key->str, pairs[kept - 1].key->str, pairs[k].key->len) != 0)
				pairs[kept++] = pairs[k];
		n = kept;
	}
	int jentries;
	int base = begin_container(buf, n, JB_FOBJECT, n * 2, "object", &jentries);
	int total = 0;
	for (uint32 k = 0; k < n; k++)
		store_entry(buf, jentries, static_cast<int>(k), write_string(buf, *pairs[k].key), &total, "object");
	for (uint32 k = 0; k < n; k++) {
		uint32 j = pairs[k].value;
		store_entry(buf, jentries, static_cast<int>(k + n), write_value(buf, span, &j), &total, "object");
	}
	return end_container(buf, base, "object");
}

/* Writes the value at tokens[*i], leaving *i past it; its JEntry. */
JEntry
write_value(StringInfo buf, TokenSpan span, uint32 *i) {
	check_stack_depth();
	if (*i >= span.count)
		elog(ERROR, "truncated token stream");
	const Token &t = span.tokens[(*i)++];
	switch (t.type) {
	case TokenType::ObjectBegin: return write_object(buf, span, i);
	case TokenType::ArrayBegin: return write_array(buf, span, i);
	case TokenType::String: return write_string(buf, t);
	case TokenType::Number: {
		Numeric number = number_value(t);
		int padding = pad_to_int(buf);
		int size = static_cast<int>(VARSIZE_ANY(number));
		appendBinaryStringInfo(buf, reinterpret_cast<const char *>(number), size);
		return JENTRY_ISNUMERIC | static_cast<uint32>(padding + size);
	}
	case TokenType::True: return JENTRY_ISBOOL_TRUE;
	case TokenType::False: return JENTRY_ISBOOL_FALSE;
	case TokenType::Null: return JENTRY_ISNULL;
	case TokenType::Key:
	case TokenType::ObjectEnd:
	case TokenType::ArrayEnd: break;
	}
	elog(ERROR, "unexpected token %d in a token stream", static_cast<int>(t.type));
	pg_unreachable();
}

} // namespace

Jsonb *
tokens_to_jsonb(TokenSpan span) {
	if (span.count == 0 ||
	    (span.tokens[0].type != TokenType::ObjectBegin && span.tokens[0].type != TokenType::ArrayBegin))
		elog(ERROR, "scalar jsonb documents are not built by user_upsert");
	StringInfoData buf;
	initStringInfo(&buf);
	reserve(&buf, VARHDRSZ);
	uint32 i = 0;
	(void) write_value(&buf, span, &i);
	if (i != span.count)
		elog(ERROR, "trailing tokens after a jsonb document");
	Jsonb *jb = reinterpret_cast<Jsonb *>(buf.data);
	SET_VARSIZE(jb, buf.len);
	return jb;
}

} // namespace uu::pg
