/*
 * lookups.hpp
 *	  SPI helpers shared by user_upsert() and the triggers. All run inside
 *	  SPI_connect, allocate in the current (SPI) context and can ereport.
 *	  Include after postgres.h.
 *
 * IDENTIFICATION
 *	  src/pg/lookups.hpp
 */
#pragma once

#include "core/call.hpp"

extern "C" {
#include "utils/guc.h"
#include "utils/snapshot.h"
#include "datatype/timestamp.h"
}

namespace uu::pg {

/* The Unix epoch in PostgreSQL's timestamp units (microseconds since 2000-01-01). */
constexpr int64 kUnixEpochFromPostgresEpoch = -(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * static_cast<int64>(USECS_PER_DAY);

/* The core's timestamps (microseconds since the Unix epoch) as a timestamptz datum, and back. */
Datum unix_micros_to_timestamptz(int64 unix_micros);

inline int64
timestamptz_to_unix_micros(TimestampTz t) {
	return t - kUnixEpochFromPostgresEpoch;
}

/* A text[] datum of `n` C strings. */
Datum text_array(const char *const *items, uint32 n);

/* Column `column` (1-based) of row `row` of SPI_tuptable as a C string, or nullptr. */
char *text_column(int row, int column, bool *isnull);
bool bool_column(int row, int column);

/* Where a user id leads: the live end of its merge chain. */
struct Resolved {
	bool exists;
	bool deleted;
	char *id; /* the end of the chain */
};
Resolved resolve_user(const char *id, Snapshot snapshot);

/*
 * How an identity's owner is found. users.fid and users.agent_id mirror
 * identities rows and name the owner with one probe of a unique index; the
 * identities row (and the owner's id, then users_pkey) decides for the other
 * kinds, when no mirror row matches, and in the triggers, which look up
 * while they write the two sides.
 */
enum class OwnerProbe { MirrorsFirst, IdentitiesOnly };

struct IdentityLookupRows {
	char **owner; /* resolved live end of the chain, or nullptr */
	bool *deleted;
	char **blocked;
	ItemPointerData *owner_row; /* the owner's row version read */
};
/* Owner and block status of each identity of `call` (in its order). */
IdentityLookupRows lookup_identities(const core::PreparedCall &call, Snapshot snapshot, OwnerProbe probe);

/*
 * lookup_identities() under the current snapshot, cross-checked against the
 * latest one under REPEATABLE READ / SERIALIZABLE (a difference is 40001),
 * reporting a blocked identity (UU002) when `refuse_blocked`.
 */
IdentityLookupRows lookup_current_owners(const core::PreparedCall &call, bool refuse_blocked, OwnerProbe probe);

/* Two nullable C strings are equal. */
bool same_text(const char *a, const char *b);

/* ereport 40001 naming what a concurrent commit changed. */
[[noreturn]] void serialization_failure(const char *what);

/* Inserts identity rows for `user_id`; created_at NULL means now(). UU001 if one was taken concurrently. */
void link_identity_rows(const char *const *kinds, const char *const *values, uint32 n, const char *user_id,
                        Datum created_at, bool created_at_null);

/* The whole user_upsert() call, for the triggers' merge mode: owners found with OwnerProbe::IdentitiesOnly. */
Jsonb *run_upsert_in_trigger(Jsonb *payload);

/* ereport UU002 for a blocked identity. */
[[noreturn]] void report_blocked(const core::PayloadIdentity &identity, const char *reason);

/*
 * Row `row_number` of a FetchUser-shaped result into `record`: the to_jsonb()
 * row in column `first_column`, the "kind:value" identities three columns on.
 */
void read_user_row(core::OwnerRecord &record, int row_number = 0, int first_column = 1);

/* Waits until user `id`'s row lock is free, holding nothing afterwards (rule 3 of locking.cpp). */
void wait_for_user_row(const char *id);

/* Waits until the identities rows of user `id` are free, holding nothing afterwards. */
void wait_for_identity_rows(const char *id);

/* Row 0 of a LockUserWaiting result, read again when the lock found a newer row version. */
void read_locked_user(const char *id, core::OwnerRecord &record);

/* Runs fn(arg) with extension_is_writing() true; restores it on error too. */
void as_extension_write(void (*fn)(void *), void *arg);

/*
 * Runs fn(arg) in an internal subtransaction, kept when fn returns true and
 * rolled back when it returns false. On error the subtransaction is rolled
 * back and the error returned (copied into the caller's context, error state
 * flushed) for the caller to re-throw or report; nullptr otherwise.
 */
ErrorData *in_subtransaction(bool (*fn)(void *), void *arg);

/*
 * Runs fn(arg) in a subtransaction; returns false (everything rolled back)
 * when it lost a race to a user_upsert_many() batch that released its
 * identity locks early: a unique violation, or identities linked meanwhile
 * (or, outside a batch, a deadlock the detector broke while the write
 * waited on a batch's key). Any other error is re-thrown.
 */
bool writes_or_lost_race(void (*fn)(void *), void *arg);

/* Set when LinkIdentities found an identity linked by someone else. */
extern bool link_race_detected;

/* True while user_upsert_many() runs in this backend (it holds the rows it wrote: see many.cpp). */
bool batch_call_running();

/* True while the extension writes its own tables: the triggers then stand aside. */
bool extension_is_writing();

/*
 * SET search_path = pg_catalog, pg_temp until unpin_search_path(), as
 * fmgr_security_definer() applies a function's SET clause: for the trigger
 * functions, which declare none because they stand aside for the extension's
 * own writes, before they run any SQL. An error unwinds it with the
 * (sub)transaction.
 */
int pin_search_path();
void unpin_search_path(int nest_level);

/*
 * The same for any setting: `name` = `value` (set with `context`'s rights)
 * until restore_config(), or until an error unwinds the (sub)transaction.
 */
int set_config_until_restored(const char *name, const char *value, GucContext context);
void restore_config(int nest_level);

} // namespace uu::pg
