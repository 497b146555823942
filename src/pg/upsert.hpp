/*
 * upsert.hpp
 *	  One user_upsert() call: lock, look up, plan, write, answer.
 *
 * IDENTIFICATION
 *	  src/pg/upsert.hpp
 */
#pragma once

namespace uu::pg {

/*
 * Runs the call for `payload` and returns the result document, allocated in
 * the caller's CurrentMemoryContext. Connects to SPI itself; takes the locks
 * of locking.cpp; ereports with the contract's SQLSTATEs.
 */
Jsonb *run_upsert(Jsonb *payload, const char *function_name);

/* run_upsert(), but an identity owned by a deleted user answers {"action": "deleted"} instead of UU001. */
Jsonb *run_upsert_answering_deleted(Jsonb *payload, const char *function_name);

/* user_upsert_from(provider, profile, policy) */
Jsonb *run_from(const char *provider, Jsonb *profile, const char *policy);

/* user_apply_event(event, event_id): event_id may be nullptr (then nothing is recorded). */
Jsonb *run_apply_event(Jsonb *event, const char *event_id);

/* user_ensure(payload): user_upsert() with policy keep, answered without locks or writes when the user exists. */
Jsonb *run_ensure(Jsonb *payload);

/* user_lookup(kind, value): the live owner's user document, or nullptr. Read-only, no locks. */
Jsonb *run_lookup(const char *kind, const char *value);

} // namespace uu::pg
