/*
 * jsonb.hpp
 *	  Jsonb <-> core tokens without a text round trip (JsonbIterator in, as
 *	  contrib/jsonb_plpython does; out, the binary layout convertToJsonb()
 *	  writes, straight from the tokens). Include after
 *	  postgres.h. Both functions can ereport; call them only in PG phases.
 *
 * IDENTIFICATION
 *	  src/pg/jsonb.hpp
 */
#pragma once

#include "core/wire.hpp"

namespace uu::pg {

/* A growing token array palloc'd in CurrentMemoryContext (zero-initialize it). */
struct TokenBuffer {
	core::Token *tokens;
	uint32 count;
	uint32 capacity;

	void push(core::TokenType type, const char *str, uint32 len);
};

/*
 * Flattens `jb` into tokens palloc'd in CurrentMemoryContext. Strings point
 * into `jb`, which must outlive the tokens; numbers are numeric_out text.
 */
core::TokenSpan jsonb_to_tokens(Jsonb *jb);

/*
 * The same for a container: a jsonb's root, or an element or member inside
 * one (v.val.binary.data); the tokens point into it. The append_ form adds
 * them to `buf`.
 */
core::TokenSpan container_to_tokens(JsonbContainer *container);
void append_container_tokens(TokenBuffer &buf, JsonbContainer *container);

/* Builds a Jsonb in CurrentMemoryContext from tokens. */
Jsonb *tokens_to_jsonb(core::TokenSpan span);

} // namespace uu::pg
