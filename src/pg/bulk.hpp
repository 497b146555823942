/*
 * bulk.hpp
 *	  user_upsert_many()'s set-based path (bulk.cpp). Include after postgres.h.
 *
 * IDENTIFICATION
 *	  src/pg/bulk.hpp
 */
#pragma once

#include "core/call.hpp"

extern "C" {
#include "storage/itemptr.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
}

namespace uu::pg {

enum class BulkState : uint8 {
	Deferred,  /* left to the per-element path */
	Candidate, /* being decided by the chunk */
	Planned,   /* decided; `result` is its answer */
};

/* One element of a chunk. Everything is palloc'd in the chunk's context. */
struct BulkElement {
	int64 ordinal;
	JsonbValue element; /* the payload, in the batch's array */
	core::TokenSpan tokens;
	bool prepared; /* prepare_call() accepted the payload */
	core::PreparedCall call;
	BulkState state;
	const char **identity_owner; /* parallel to call.identities */
	bool *identity_owner_deleted;
	const char *owner_id; /* the one live owner, or nullptr: a new user */
	pg_uuid_t owner_uuid; /* the same owner, binary */
	ItemPointerData owner_tid; /* the owner's row version locked for the chunk */
	core::OwnerRecord owner;
	core::WritePlan plan;
	core::TokenSpan written_row;
	Jsonb *result;
};

/*
 * Decides what it can of `elements` (each prepared or not) set-wise and sets
 * their `result`; leaves the others Deferred, for the caller to run one by
 * one afterwards, in order. Connects to SPI itself.
 */
void run_chunk(BulkElement *elements, uint32 n);

/*
 * UPDATEs of the users rows at `tids` (versions this transaction holds
 * locked, none changed since) to `plans` (bulk.cpp); each row as written
 * comes back in `written` (callers check users_columns_convertible() first).
 */
void update_locked_users(const core::WritePlan *const *plans, const ItemPointerData *tids, uint32 n,
                         core::TokenSpan *written);

/*
 * INSERTs of the users rows of `plans` (new users) with the ids `ids`,
 * through the executor's single-row path, as one SQL INSERT would (bulk.cpp):
 * each row as written comes back in `written` and its id as stored (a BEFORE
 * trigger may change it) in `stored_ids`. False, with nothing written, when
 * the table has a column that SQL must fill (a default, an identity or
 * domain column the extension did not create) or a type the extension does
 * not spell: the caller runs the statement instead.
 */
bool insert_users(const core::WritePlan *const *plans, const pg_uuid_t *ids, uint32 n, core::TokenSpan *written,
                  pg_uuid_t *stored_ids);

/* insert_users() of one new user, its id the plan's or a random one; *user_id the id as stored. */
bool insert_user(const core::WritePlan &plan, core::TokenSpan *written, char **user_id);

/*
 * INSERT ... ON CONFLICT DO NOTHING of the identities (kinds[i], values[i])
 * for the users user_ids[i], created at `created_at` (now() when null),
 * through the executor's single-row path; returns how many rows it inserted,
 * or -1, with nothing written, when the table has a column SQL must fill.
 */
int64 insert_identities(const char *const *kinds, const char *const *values, const char *const *user_ids, uint32 n,
                        Datum created_at, bool created_at_null);

/* The answer with "ordinal" added. */
core::TokenSpan with_ordinal(core::TokenSpan answer, int64 ordinal);

/*
 * Installs the ExecutorStart hook that gives INSERTs and UPDATEs of users and
 * identities their CHECK constraints and trigger WHENs from the stored,
 * already parsed expressions (see bulk.cpp); called once from _PG_init.
 */
void register_stored_expressions();

} // namespace uu::pg
