/*
 * events.cpp
 *	  Auth-provider paths (DESIGN.md section 7): user_upsert_from() and the
 *	  idempotent Clerk webhook ledger of user_apply_event().
 *
 *	  Lock order: an event first takes its event lock E (an identity lock on
 *	  ("event", event_id)), so that a redelivery waits for the first delivery
 *	  and then finds its ledger row. Nobody waits for E while holding another
 *	  lock, so E sits before the R and I locks of locking.cpp. A user.deleted
 *	  takes the user's row (R) and then the identity locks (I) of everything
 *	  it frees, the triggers' order.
 *
 *	  Every function here can ereport; locals are trivially destructible.
 *
 * IDENTIFICATION
 *	  src/pg/events.cpp
 */
#include "core/call.hpp"
#include "core/payload.hpp"
#include "pg/boundary.hpp"

#include <algorithm>
#include <cstring>

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include "pg/direct.hpp"
#include "pg/jsonb.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"
#include "pg/statements.hpp"
#include "pg/upsert.hpp"

namespace uu::pg {

namespace {

Jsonb *
in_context(core::TokenSpan answer, MemoryContext context) {
	MemoryContext previous = MemoryContextSwitchTo(context);
	Jsonb *result = tokens_to_jsonb(answer);
	MemoryContextSwitchTo(previous);
	return result;
}

/* The live or deleted user owning external identity clerk:<id>; nullptr when none. */
char *
clerk_owner(const char *clerk_id, bool *deleted) {
	core::PayloadIdentity identity{"external", psprintf("clerk:%s", clerk_id), "data.id"};
	core::PreparedCall call{};
	call.nidentities = 1;
	call.identities = &identity;
	IdentityLookupRows rows = lookup_identities(call, nullptr, OwnerProbe::MirrorsFirst);
	*deleted = rows.deleted[0];
	return rows.owner[0];
}

struct DeletionLock {
	const char *owner;
	core::OwnerRecord *user;
	bool found, merged, deleted, identities_busy;
};

/*
 * The user's row (R, waiting: the triggers' order) and then its identities'
 * rows, skipping busy ones: a direct write of one of them holds that row and
 * waits for the user's row, so when one is busy the subtransaction gives the
 * user's row back (returns false) and the caller waits, holding nothing.
 */
bool
lock_for_deletion(void *arg) {
	DeletionLock *l = static_cast<DeletionLock *>(arg);
	Datum id = CStringGetTextDatum(l->owner);
	execute(Statement::LockUserWaiting, &id, " ", SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	l->found = true;
	bool isnull;
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	l->merged = !isnull;
	l->deleted = bool_column(0, 3);
	read_locked_user(l->owner, *l->user);
	if (l->merged || l->deleted)
		return true;
	l->identities_busy = direct_lock_identity_rows(l->owner) < l->user->nidentities;
	return !l->identities_busy;
}

struct Erase {
	const char *user_id;
	Datum observed_at;
	bool observed_at_null;
	Jsonb *row;
};

void
erase_user(void *arg) {
	Erase *e = static_cast<Erase *>(arg);
	Datum id = CStringGetTextDatum(e->user_id);
	execute(Statement::UnlinkFreeable, &id, " ", SPI_OK_DELETE);
	Datum args[2] = {id, e->observed_at};
	const char nulls[3] = {' ', e->observed_at_null ? 'n' : ' ', '\0'};
	execute(Statement::EraseUser, args, nulls, SPI_OK_UPDATE_RETURNING);
	bool isnull;
	e->row = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	execute(Statement::EraseMerged, &id, " ", SPI_OK_UPDATE);
}

/* A user holding only external identity clerk:<clerk_id>, made by user_upsert() (or the one a concurrent call made). */
void
create_clerk_user(const char *clerk_id) {
	StringInfoData payload;
	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"external\": {\"clerk\": ");
	escape_json(&payload, clerk_id);
	appendStringInfoString(&payload, "}}");
	(void) run_upsert(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(payload.data))),
	                  "user_apply_event()");
}

/*
 * user.deleted: erase the user's personal fields, free its fid, wallets and
 * agent for new users, keep its external identities (so a late event finds
 * it deleted), unless the envelope timestamp is older than what it holds.
 * A deletion that arrives before the user's user.created (webhooks come in
 * any order) leaves the same tombstone: the user is created empty and erased,
 * so the late user.created answers "deleted" instead of bringing it back.
 */
core::TokenSpan
apply_deletion(const core::EventPlan &event, core::Allocator &allocator) {
	for (int attempt = 0; attempt < 100; attempt++) {
		bool deleted;
		char *owner = clerk_owner(event.clerk_id, &deleted);
		if (!owner) {
			create_clerk_user(event.clerk_id);
			continue;
		}
		core::OwnerRecord user{};
		DeletionLock lock{owner, &user, false, false, false, false};
		if (ErrorData *error = in_subtransaction(lock_for_deletion, &lock))
			ReThrowError(error);
		if (lock.identities_busy) {
			wait_for_identity_rows(owner);
			continue;
		}
		if (!lock.found || lock.merged)
			continue; /* gone or merged meanwhile: look the owner up again */
		bool is_deleted = lock.deleted;
		if (is_deleted)
			return cxx_phase("user_apply_event()", [&] {
				return core::event_answer("deleted", user.row, user.nidentities, user.identities, nullptr, allocator);
			});

		uint64 *keys = static_cast<uint64 *>(palloc(sizeof(uint64) * (user.nidentities + 1)));
		uint32 nkeys = 0;
		for (uint32 i = 0; i < user.nidentities; i++)
			keys[nkeys++] = core::identity_lock_key(user.identities[i].kind, user.identities[i].value);
		std::sort(keys, keys + nkeys);
		uint32 ndistinct = 0;
		for (uint32 i = 0; i < nkeys; i++)
			if (ndistinct == 0 || keys[ndistinct - 1] != keys[i])
				keys[ndistinct++] = keys[i];
		lock_identities(keys, ndistinct);

		/* Stale by the envelope timestamp against the newest source time the user holds. */
		if (event.has_timestamp) {
			bool stale = cxx_phase("user_apply_event()", [&] {
				return core::is_older_than_user(event.timestamp, user.row);
			});
			if (stale)
				return cxx_phase("user_apply_event()", [&] {
					return core::event_answer("stale", user.row, user.nidentities, user.identities, nullptr,
					                          allocator);
				});
		}
		Erase erase{owner, (Datum) 0, !event.has_timestamp, nullptr};
		if (event.has_timestamp)
			erase.observed_at = unix_micros_to_timestamptz(event.timestamp);
		as_extension_write(erase_user, &erase);
		core::IdentityRef *kept =
		    static_cast<core::IdentityRef *>(palloc(sizeof(core::IdentityRef) * (user.nidentities + 1)));
		uint32 nkept = 0;
		for (uint32 i = 0; i < user.nidentities; i++)
			if (strcmp(user.identities[i].kind, "external") == 0)
				kept[nkept++] = user.identities[i];
		core::TokenSpan row = jsonb_to_tokens(erase.row);
		return cxx_phase("user_apply_event()",
		                 [&] { return core::event_answer("deleted", row, nkept, kept, nullptr, allocator); });
	}
	ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
	                errmsg("could not lock the user of Clerk id %s", event.clerk_id), errhint("Retry the event.")));
	pg_unreachable();
}

} // namespace

Jsonb *
run_from(const char *provider, Jsonb *profile, const char *policy) {
	MemoryContext call_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(call_context);
	core::TokenSpan given = jsonb_to_tokens(profile);
	core::TokenSpan payload = cxx_phase("user_upsert_from()", [&] {
		return core::from_profile(provider, given, policy, allocator);
	});
	return run_upsert(tokens_to_jsonb(payload), "user_upsert_from()");
}

Jsonb *
run_apply_event(Jsonb *event_jsonb, const char *event_id) {
	MemoryContext call_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(call_context);
	core::TokenSpan tokens = jsonb_to_tokens(event_jsonb);
	core::EventPlan event = cxx_phase("user_apply_event()", [&] {
		if (event_id)
			core::check_event_id(event_id);
		return core::plan_event(tokens, allocator);
	});

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (event_id) {
		uint64 key = core::identity_lock_key("event", event_id);
		lock_identities(&key, 1);
		Datum arg = CStringGetTextDatum(event_id);
		execute(Statement::LedgerFind, &arg, " ", SPI_OK_SELECT);
		if (SPI_processed == 1) {
			HeapTuple row = SPI_tuptable->vals[0];
			TupleDesc desc = SPI_tuptable->tupdesc;
			char *recorded_type = SPI_getvalue(row, desc, 2);
			char *recorded_subject = SPI_getvalue(row, desc, 3);
			(void) cxx_phase("user_apply_event()", [&] {
				core::check_redelivery(event_id, recorded_type, recorded_subject, event);
				return true;
			});
			bool isnull;
			Jsonb *first = DatumGetJsonbPCopy(SPI_getbinval(row, desc, 1, &isnull));
			core::TokenSpan first_tokens = jsonb_to_tokens(first);
			core::TokenSpan answer = cxx_phase("user_apply_event()",
			                                   [&] { return core::duplicate_answer(first_tokens, allocator); });
			Jsonb *result = in_context(answer, call_context);
			SPI_finish();
			return result;
		}
	}

	Jsonb *result = nullptr;
	if (event.kind == core::EventKind::Ignore) {
		core::TokenSpan answer = cxx_phase("user_apply_event()", [&] {
			return core::event_answer("ignored", core::TokenSpan{nullptr, 0}, 0, nullptr, nullptr, allocator);
		});
		result = in_context(answer, call_context);
	} else if (event.kind == core::EventKind::Delete) {
		result = in_context(apply_deletion(event, allocator), call_context);
	} else {
		bool deleted;
		char *owner = clerk_owner(event.clerk_id, &deleted);
		if (owner && deleted) {
			Datum arg = CStringGetTextDatum(owner);
			execute(Statement::FetchUser, &arg, " ", SPI_OK_SELECT);
			core::OwnerRecord user{};
			read_user_row(user);
			core::TokenSpan answer = cxx_phase("user_apply_event()", [&] {
				return core::event_answer("deleted", user.row, user.nidentities, user.identities, nullptr, allocator);
			});
			result = in_context(answer, call_context);
		} else {
			MemoryContext spi_context = MemoryContextSwitchTo(call_context);
			Jsonb *payload = tokens_to_jsonb(event.payload);
			/* A user deleted while this event waited for its locks answers "deleted" too. */
			result = run_upsert_answering_deleted(payload, "user_apply_event()");
			MemoryContextSwitchTo(spi_context);
		}
	}

	if (event_id) {
		Datum args[3] = {CStringGetTextDatum(event_id), CStringGetTextDatum(event.type), JsonbPGetDatum(result)};
		execute(Statement::LedgerRecord, args, "   ", SPI_OK_INSERT);
		if (SPI_processed != 1) /* recorded by a delivery this transaction cannot see */
			serialization_failure("the ledger row of this event");
	}
	SPI_finish();
	return result;
}

} // namespace uu::pg
