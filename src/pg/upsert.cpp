/*
 * upsert.cpp
 *	  The PostgreSQL phases of user_upsert(): the lock-order protocol of
 *	  locking.cpp around the core's decision. Every function here runs with
 *	  only trivially destructible locals, because each can ereport.
 *
 * IDENTIFICATION
 *	  src/pg/upsert.cpp
 */
#include "core/call.hpp"
#include "pg/boundary.hpp"
#include "pg/guc.hpp"

#include <cstring>

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/timestamp.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

#include "pg/bulk.hpp"
#include "pg/direct.hpp"
#include "pg/errors.hpp"
#include "pg/jsonb.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"
#include "pg/statements.hpp"
#include "pg/upsert.hpp"

namespace uu::pg {

bool link_race_detected = false;

/* Nesting depth of the extension's own writes; the triggers stand aside while it is > 0. */
static int extension_write_depth = 0;

bool
extension_is_writing() {
	return extension_write_depth > 0;
}

void
as_extension_write(void (*fn)(void *), void *arg) {
	extension_write_depth++;
	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		extension_write_depth--;
		PG_RE_THROW();
	}
	PG_END_TRY();
	extension_write_depth--;
}

int
set_config_until_restored(const char *name, const char *value, GucContext context) {
	int nest_level = NewGUCNestLevel();
	(void) set_config_option(name, value, context, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest_level;
}

void
restore_config(int nest_level) {
	AtEOXact_GUC(true, nest_level);
}

int
pin_search_path() {
	return set_config_until_restored("search_path", "pg_catalog, pg_temp", PGC_USERSET);
}

void
unpin_search_path(int nest_level) {
	restore_config(nest_level);
}

/* Back-offs after which a call gives up; each one means another transaction made progress. */
constexpr int kMaxAttempts = 1000;

Datum
unix_micros_to_timestamptz(int64 unix_micros) {
	return TimestampTzGetDatum(static_cast<TimestampTz>(unix_micros + kUnixEpochFromPostgresEpoch));
}

Datum
text_array(const char *const *items, uint32 n) {
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * (n ? n : 1)));
	for (uint32 i = 0; i < n; i++)
		datums[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(datums, static_cast<int>(n), TEXTOID, -1, false, TYPALIGN_INT));
}

char *
text_column(int row, int column, bool *isnull) {
	Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, isnull);
	return *isnull ? nullptr : TextDatumGetCString(d);
}

bool
bool_column(int row, int column) {
	bool isnull;
	Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &isnull);
	return !isnull && DatumGetBool(d);
}

[[noreturn]] void
serialization_failure(const char *what) {
	ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
	                errmsg("could not serialize access due to concurrent update"),
	                errdetail("A concurrent transaction changed the owner of %s.", what),
	                errhint("Retry the transaction.")));
	pg_unreachable();
}

Resolved
resolve_user(const char *id, Snapshot snapshot) {
	DirectReader *reader = begin_direct_reads(snapshot);
	MergeChainEnd end = direct_follow_merges(DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(id))), reader);
	end_direct_reads(reader);
	return Resolved{end.exists, end.deleted, uuid_text(&end.live)};
}

namespace {

/* The live end of the merge chain of the user linked to (kind, value); not `exists` when nobody's. */
MergeChainEnd
owner_of_identity(const char *kind, const char *value, DirectReader *reader, OwnerProbe probe) {
	UserStatus status;
	if (probe == OwnerProbe::MirrorsFirst && direct_mirror_owner(kind, value, reader, &status))
		return direct_follow_merges(&status.id, reader, &status);
	pg_uuid_t owner;
	if (!direct_identity_owner_id(kind, value, reader, &owner))
		return MergeChainEnd{};
	return direct_follow_merges(&owner, reader);
}

} // namespace

IdentityLookupRows
lookup_identities(const core::PreparedCall &call, Snapshot snapshot, OwnerProbe probe) {
	IdentityLookupRows rows{static_cast<char **>(palloc0(sizeof(char *) * (call.nidentities + 1))),
	                        static_cast<bool *>(palloc0(sizeof(bool) * (call.nidentities + 1))),
	                        static_cast<char **>(palloc0(sizeof(char *) * (call.nidentities + 1))),
	                        static_cast<ItemPointerData *>(palloc0(sizeof(ItemPointerData) * (call.nidentities + 1)))};
	if (call.nidentities == 0)
		return rows;
	DirectReader *reader = begin_direct_reads(snapshot);
	for (uint32 i = 0; i < call.nidentities; i++) {
		const core::PayloadIdentity &identity = call.identities[i];
		rows.blocked[i] = direct_blocked_reason(identity.kind, identity.value, reader);
		MergeChainEnd end = owner_of_identity(identity.kind, identity.value, reader, probe);
		if (!end.exists)
			continue;
		rows.owner[i] = uuid_text(&end.live);
		rows.deleted[i] = end.deleted;
		rows.owner_row[i] = end.live_row;
	}
	end_direct_reads(reader);
	return rows;
}

IdentityLookupRows
lookup_current_owners(const core::PreparedCall &call, bool refuse_blocked, OwnerProbe probe) {
	IdentityLookupRows rows = lookup_identities(call, nullptr, probe);
	if (IsolationUsesXactSnapshot()) {
		/* Owners a concurrent commit changed are invisible to us: 40001 (see locking.cpp). */
		IdentityLookupRows now = lookup_identities(call, GetLatestSnapshot(), probe);
		for (uint32 i = 0; i < call.nidentities; i++)
			if (!same_text(now.owner[i], rows.owner[i]) || now.deleted[i] != rows.deleted[i])
				serialization_failure(call.identities[i].field);
	}
	if (refuse_blocked)
		for (uint32 i = 0; i < call.nidentities; i++)
			if (rows.blocked[i])
				report_blocked(call.identities[i], rows.blocked[i]);
	return rows;
}

bool
same_text(const char *a, const char *b) {
	return (a == nullptr && b == nullptr) || (a && b && strcmp(a, b) == 0);
}

void
report_blocked(const core::PayloadIdentity &identity, const char *reason) {
	ereport(ERROR, (errcode(ERRCODE_UU_BLOCKED_IDENTITY), errmsg("blocked identity in \"%s\"", identity.field),
	                errdetail("Key (%s, %s) is listed in user_upsert.blocked_identities: %s.", identity.kind,
	                          identity.value, reason)));
}

int
compare_ids(const void *a, const void *b) {
	return strcmp(*static_cast<char *const *>(a), *static_cast<char *const *>(b));
}

/* Row `row` of a FetchUser / LockUserWaiting result (its columns from `first_column` on) into `record`. */
void
read_user_row(core::OwnerRecord &record, int row_number, int first_column) {
	bool isnull;
	HeapTuple tuple = SPI_tuptable->vals[row_number];
	TupleDesc desc = SPI_tuptable->tupdesc;
	Jsonb *row = DatumGetJsonbPCopy(SPI_getbinval(tuple, desc, first_column, &isnull));
	Datum identities = SPI_getbinval(tuple, desc, first_column + 3, &isnull);
	Datum *elems;
	bool *elem_nulls;
	int n;
	deconstruct_array(DatumGetArrayTypeP(identities), TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	record.row = jsonb_to_tokens(row);
	record.nidentities = static_cast<uint32>(n);
	record.identities = static_cast<core::IdentityRef *>(palloc(sizeof(core::IdentityRef) * (n ? n : 1)));
	for (int i = 0; i < n; i++) {
		char *pair = TextDatumGetCString(elems[i]);
		char *colon = strchr(pair, ':');
		*colon = '\0';
		record.identities[i] = core::IdentityRef{pair, colon + 1};
	}
}

namespace {

enum class LockOutcome { Locked, Busy, Changed };

} // namespace

/*
 * Row 0 of a LockUserWaiting result into `record`. The identities
 * in it are as of the statement's snapshot; when the locked row is a newer
 * version than that snapshot saw (column 5 false), another transaction
 * changed the user meanwhile, so the user is read again by a statement of its
 * own, whose snapshot includes that commit. (Every change of a user's
 * identities also writes the user's row, so an unchanged version means the
 * identities are current. Under REPEATABLE READ a newer version is already
 * a 40001 from FOR UPDATE.)
 */
void
read_locked_user(const char *id, core::OwnerRecord &record) {
	if (bool_column(0, 5)) {
		read_user_row(record);
		return;
	}
	Datum arg = CStringGetTextDatum(id);
	execute(Statement::FetchUser, &arg, " ", SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "user %s vanished while locked", id);
	read_user_row(record);
}

namespace {

/*
 * One owner row: FOR UPDATE SKIP LOCKED (direct_lock_user()) from `row`, the
 * version the lookup read (or none); when locked, `record` filled and `row`
 * the version locked.
 */
LockOutcome
try_lock_owner(const char *id, core::OwnerRecord &record, ItemPointerData &row) {
	DirectUser user{};
	DirectFetch read = DirectFetch::Missing;
	RowLock lock = direct_lock_user(id, row, user, read);
	if (lock == RowLock::Busy)
		return LockOutcome::Busy;
	if (lock == RowLock::Gone)
		return resolve_user(id, nullptr).exists ? LockOutcome::Busy : LockOutcome::Changed;
	row = user.locked_row;
	if (read == DirectFetch::Found) {
		if (user.merged) /* merged while we looked */
			return LockOutcome::Changed;
		record = user.record;
		return LockOutcome::Locked;
	}
	Datum arg = CStringGetTextDatum(id);
	execute(Statement::FetchUser, &arg, " ", SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "user %s vanished while locked", id);
	bool not_merged;
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &not_merged);
	if (!not_merged)
		return LockOutcome::Changed;
	read_user_row(record);
	return LockOutcome::Locked;
}

bool
wait_then_give_back(void *id) {
	Datum arg = CStringGetTextDatum(static_cast<const char *>(id));
	execute(Statement::WaitForUser, &arg, " ", SPI_OK_SELECT);
	return false; /* roll back: the lock was only waited for */
}

bool
wait_for_identities_then_give_back(void *id) {
	Datum arg = CStringGetTextDatum(static_cast<const char *>(id));
	execute(Statement::WaitForIdentityRows, &arg, " ", SPI_OK_SELECT);
	return false;
}

} // namespace

namespace {

/*
 * A back-off wait that PostgreSQL's deadlock detector ended: the caller held
 * nothing but its place in the row's lock queue, so it just starts again
 * (the others in the cycle go on). Inside user_upsert_many(), which holds
 * the rows it wrote, the error goes up to the batch, which rolls back and
 * starts again (many.cpp).
 */
void
rethrow_unless_broken_wait(ErrorData *error) {
	if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED && !batch_call_running())
		return;
	ReThrowError(error);
}

} // namespace

/* Waits until `id` is free, holding nothing afterwards (rule 3 of locking.cpp). */
void
wait_for_user_row(const char *id) {
	if (ErrorData *error = in_subtransaction(wait_then_give_back, const_cast<char *>(id)))
		rethrow_unless_broken_wait(error);
}

/* Waits until the identities rows of user `id` are free, holding nothing afterwards. */
void
wait_for_identity_rows(const char *id) {
	if (ErrorData *error = in_subtransaction(wait_for_identities_then_give_back, const_cast<char *>(id)))
		rethrow_unless_broken_wait(error);
}

namespace {

/*
 * Locks every owner in uuid order (rule 2). Returns the busy owner, or
 * nullptr when all are locked; sets *changed when an owner vanished or was
 * merged since the lookup. With several owners the tries run in a
 * subtransaction, rolled back on failure so that no row stays locked.
 */
struct OwnerLocks {
	char **ids;
	uint32 n;
	core::OwnerRecord *records;
	ItemPointerData *rows; /* each locked version */
	const char *busy;
	bool busy_identities; /* busy is a user whose identities rows are locked */
	bool changed;
};

/*
 * With several owners (a merge moves identities) the owners' identities rows
 * are locked too, skipping busy ones: a direct write of one holds that row
 * and waits for its user's row, so a busy one counts as a busy owner.
 */
bool
identity_rows_locked(const char *id, const core::OwnerRecord &record) {
	return direct_lock_identity_rows(id) >= record.nidentities;
}

bool
try_lock_owners(void *arg) {
	OwnerLocks *l = static_cast<OwnerLocks *>(arg);
	for (uint32 i = 0; i < l->n && !l->busy && !l->changed; i++) {
		LockOutcome outcome = try_lock_owner(l->ids[i], l->records[i], l->rows[i]);
		if (outcome == LockOutcome::Busy)
			l->busy = l->ids[i];
		else if (outcome == LockOutcome::Changed)
			l->changed = true;
		else if (!identity_rows_locked(l->ids[i], l->records[i])) {
			l->busy = l->ids[i];
			l->busy_identities = true;
		}
	}
	return !l->busy && !l->changed; /* keep the row locks only when all were had */
}

/*
 * Rule 2 for the owners `ids`: their rows locked, or the first busy one.
 * `may_meet_batch_links`: another session's batch runs (and this call is not
 * part of a batch), so even a single owner is locked in a subtransaction,
 * and a deadlock there counts as busy: a batch holds the rows it wrote until
 * it commits, so backing off must give back every row lock taken, the one on
 * a row found merged too.
 */
const char *
lock_owners(char **ids, uint32 n, core::OwnerRecord *records, ItemPointerData *rows, bool may_meet_batch_links,
            bool *changed, bool *busy_identities) {
	*changed = false;
	*busy_identities = false;
	if (n == 0)
		return nullptr;
	if (n == 1 && !may_meet_batch_links) {
		LockOutcome outcome = try_lock_owner(ids[0], records[0], rows[0]);
		*changed = outcome == LockOutcome::Changed;
		return outcome == LockOutcome::Busy ? ids[0] : nullptr;
	}
	OwnerLocks locks{ids, n, records, rows, nullptr, false, false};
	if (ErrorData *error = in_subtransaction(try_lock_owners, &locks)) {
		if (!may_meet_batch_links || error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(error);
		return ids[0];
	}
	*changed = locks.changed;
	*busy_identities = locks.busy_identities;
	return locks.busy;
}

/* The call's findings, once every lock is held. */
struct Findings {
	core::Lookup lookup;
	uint32 nowner_ids;
	char **owner_ids;          /* sorted */
	ItemPointerData *owner_rows; /* parallel: the version locked */
	bool batch_elsewhere;      /* a batch was announced when the identity locks were had (locking.hpp) */
};

/*
 * Rules 1-3 of locking.cpp: identity locks, owner lookup, owner row locks,
 * backing off and starting again while a row is busy.
 */
Findings
lock_and_look_up(const core::PreparedCall &call, OwnerProbe probe) {
	for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
		CHECK_FOR_INTERRUPTS();
		LockMark mark = identity_locks_mark();
		if (!lock_identities_or_back_off(call.lock_keys, call.nlocks)) {
			release_identities_since(mark);
			continue;
		}
		/*
		 * While a batch runs, an identity it linked may be invisible yet
		 * unlocked (it gives its identity locks back early): then wait for it
		 * holding nothing, as rule 3 waits for a row, and start again, rather
		 * than wait on its key later while holding the identity locks the
		 * batch may need.
		 */
		bool batch_elsewhere = batch_running_elsewhere();
		bool may_meet_batch_links = batch_elsewhere && !batch_call_running();
		if (may_meet_batch_links) {
			TransactionId writer = InvalidTransactionId;
			for (uint32 i = 0; i < call.nidentities && !TransactionIdIsValid(writer); i++)
				writer = direct_identity_in_progress(call.identities[i].kind, call.identities[i].value);
			if (TransactionIdIsValid(writer)) {
				release_identities_since(mark);
				(void) waited_for_transaction(writer);
				continue;
			}
		}

		IdentityLookupRows rows = lookup_current_owners(call, !call.skip_conflicts, probe);

		Findings f{};
		f.lookup.identity_owner = const_cast<const char **>(rows.owner);
		f.lookup.identity_owner_deleted = rows.deleted;
		f.lookup.identity_blocked = const_cast<const char **>(rows.blocked);
		f.lookup.id_state = core::IdState::Absent;
		Resolved id{};
		if (call.id) {
			id = resolve_user(call.id, nullptr);
			f.lookup.id_state = !id.exists ? core::IdState::NoRow
			                    : id.deleted ? core::IdState::Deleted
			                                 : core::IdState::Live;
			f.lookup.id_owner = id.exists ? id.id : nullptr;
		}

		if (call.id && IsolationUsesXactSnapshot()) {
			/* An id a concurrent commit created or merged is invisible to us: 40001 (see locking.cpp). */
			Resolved id_now = resolve_user(call.id, GetLatestSnapshot());
			if (id_now.exists != id.exists || !same_text(id_now.id, id.id))
				serialization_failure("\"id\"");
		}

		/* Distinct live owners, in uuid order. */
		char **owners = static_cast<char **>(palloc(sizeof(char *) * (call.nidentities + 1)));
		uint32 nowners = 0;
		auto add = [&](char *owner, bool deleted) {
			if (!owner || deleted)
				return;
			for (uint32 j = 0; j < nowners; j++)
				if (strcmp(owners[j], owner) == 0)
					return;
			owners[nowners++] = owner;
		};
		if (f.lookup.id_state == core::IdState::Live)
			add(id.id, false);
		for (uint32 i = 0; i < call.nidentities; i++)
			add(rows.owner[i], rows.deleted[i]);
		qsort(owners, nowners, sizeof(char *), compare_ids);

		core::OwnerRecord *records =
		    static_cast<core::OwnerRecord *>(palloc0(sizeof(core::OwnerRecord) * (nowners ? nowners : 1)));
		bool changed, busy_identities;
		/* Each owner locked from the version the lookup read: no second users_pkey probe. */
		ItemPointerData *locked_rows =
		    static_cast<ItemPointerData *>(palloc0(sizeof(ItemPointerData) * (nowners ? nowners : 1)));
		for (uint32 j = 0; j < nowners; j++)
			for (uint32 i = 0; i < call.nidentities; i++)
				if (rows.owner[i] && strcmp(rows.owner[i], owners[j]) == 0) {
					locked_rows[j] = rows.owner_row[i];
					break;
				}
		const char *busy =
		    lock_owners(owners, nowners, records, locked_rows, may_meet_batch_links, &changed, &busy_identities);
		if (busy || changed) {
			release_identities_since(mark);
			if (busy && busy_identities)
				wait_for_identity_rows(busy);
			else if (busy)
				wait_for_user_row(busy);
			continue;
		}
		f.lookup.nowners = nowners;
		f.lookup.owners = records;
		f.nowner_ids = nowners;
		f.owner_ids = owners;
		f.owner_rows = locked_rows;
		f.batch_elsewhere = batch_elsewhere;
		return f;
	}
	ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
	                errmsg("could not lock the users of this payload after %d attempts", kMaxAttempts),
	                errhint("Retry the transaction.")));
	pg_unreachable();
}

Datum
nullable_text(const char *s, char *null_flag) {
	*null_flag = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* Inserts or updates the users row by SQL; returns the new row as to_jsonb() gives it and sets *user_id. */
Jsonb *
write_row(const core::WritePlan &plan, char **user_id) {
	Datum args[11];
	char nulls[12] = "           ";
	args[0] = nullable_text(plan.user_id, &nulls[0]);
	args[1] = CStringGetTextDatum(plan.kind);
	args[2] = Int64GetDatum(plan.fid);
	nulls[2] = plan.has_fid ? ' ' : 'n';
	args[3] = nullable_text(plan.primary_address, &nulls[3]);
	args[4] = nullable_text(plan.agent_id, &nulls[4]);
	args[5] = nullable_text(plan.email, &nulls[5]);
	args[6] = nullable_text(plan.username, &nulls[6]);
	args[7] = nullable_text(plan.display_name, &nulls[7]);
	args[8] = nullable_text(plan.avatar_url, &nulls[8]);
	args[9] = JsonbPGetDatum(tokens_to_jsonb(plan.attrs));
	args[10] = unix_micros_to_timestamptz(plan.observed_at);
	nulls[10] = plan.has_observed_at ? ' ' : 'n';

	if (plan.insert)
		execute(Statement::InsertUser, args, nulls, SPI_OK_INSERT_RETURNING);
	else
		execute(Statement::UpdateUser, args, nulls, SPI_OK_UPDATE_RETURNING);
	if (SPI_processed != 1)
		elog(ERROR, "user_upsert wrote %lu users rows, expected 1", static_cast<unsigned long>(SPI_processed));
	bool isnull;
	Jsonb *row = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*user_id = text_column(0, 2, &isnull);
	return row;
}

void
link_identities(const core::WritePlan &plan, const char *user_id) {
	if (plan.nlink == 0)
		return;
	const char **kinds = static_cast<const char **>(palloc(sizeof(char *) * plan.nlink));
	const char **values = static_cast<const char **>(palloc(sizeof(char *) * plan.nlink));
	for (uint32 i = 0; i < plan.nlink; i++) {
		kinds[i] = plan.link[i].kind;
		values[i] = plan.link[i].value;
	}
	link_identity_rows(kinds, values, plan.nlink, user_id, (Datum) 0, true);
}

} // namespace

void
link_identity_rows(const char *const *kinds, const char *const *values, uint32 n, const char *user_id,
                   Datum created_at, bool created_at_null) {
	const char **user_ids = static_cast<const char **>(palloc(sizeof(char *) * Max(n, 1)));
	for (uint32 i = 0; i < n; i++)
		user_ids[i] = user_id;
	int64 inserted = insert_identities(kinds, values, user_ids, n, created_at, created_at_null);
	if (inserted < 0) {
		Datum args[4] = {text_array(kinds, n), text_array(values, n), CStringGetTextDatum(user_id), created_at};
		const char nulls[5] = {' ', ' ', ' ', created_at_null ? 'n' : ' ', '\0'};
		execute(Statement::LinkIdentities, args, nulls, SPI_OK_INSERT);
		inserted = static_cast<int64>(SPI_processed);
	}
	if (inserted != n) {
		link_race_detected = true;
		/* Only a writer that bypassed the identity locks can get here. */
		ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
		                errmsg("identity was linked to another user concurrently"),
		                errdetail("A write that did not take user_upsert's identity locks linked one of the "
		                          "payload's identities while this call held them.")));
	}
}

namespace {

/*
 * Tombstones each loser into the survivor, moves its identities and records
 * the merge (4.4). Runs before the survivor's row is written, so that the
 * mirrored unique columns are free when the survivor takes them.
 */
void
write_merges(const core::WritePlan &plan, Jsonb *payload) {
	if (plan.nmerges == 0)
		return;
	StringInfoData notice;
	initStringInfo(&notice);
	appendStringInfo(&notice, "{\"survivor_id\": \"%s\", \"merged_ids\": [", plan.user_id);
	for (uint32 i = 0; i < plan.nmerges; i++) {
		const core::MergeRecord &m = plan.merges[i];
		Datum ids[2] = {CStringGetTextDatum(m.loser_id), CStringGetTextDatum(plan.user_id)};
		execute(Statement::TombstoneUser, ids, "  ", SPI_OK_UPDATE);
		execute(Statement::MoveIdentities, ids, "  ", SPI_OK_UPDATE);
		Datum audit[5] = {ids[1], ids[0], JsonbPGetDatum(tokens_to_jsonb(m.moved)),
		                  JsonbPGetDatum(tokens_to_jsonb(m.snapshot)), JsonbPGetDatum(payload)};
		execute(Statement::RecordMerge, audit, "     ", SPI_OK_INSERT);
		appendStringInfo(&notice, "%s\"%s\"", i ? ", " : "", m.loser_id);
	}
	appendStringInfoString(&notice, "]}");
	Datum arg = CStringGetTextDatum(notice.data);
	execute(Statement::NotifyMerge, &arg, " ", SPI_OK_SELECT);
}

} // namespace

ErrorData *
in_subtransaction(bool (*fn)(void *), void *arg) {
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData *volatile error = nullptr;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		if (fn(arg))
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	CurrentResourceOwner = owner;
	return error;
}

struct RacingWrite {
	void (*fn)(void *);
	void *arg;
};

bool
write_as_extension(void *arg) {
	RacingWrite *w = static_cast<RacingWrite *>(arg);
	link_race_detected = false;
	as_extension_write(w->fn, w->arg);
	return true;
}

bool
writes_or_lost_race(void (*fn)(void *), void *arg) {
	RacingWrite write{fn, arg};
	ErrorData *error = in_subtransaction(write_as_extension, &write);
	/*
	 * A write waiting on a batch's uncommitted key while holding identity
	 * locks the batch waits for is a cycle the detector breaks: outside a
	 * batch that is a lost race too (decided again); inside, the batch starts over.
	 */
	bool broken_wait = error && error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED && !batch_call_running();
	if (error && error->sqlerrcode != ERRCODE_UNIQUE_VIOLATION && !link_race_detected && !broken_wait)
		ReThrowError(error);
	return error == nullptr;
}

namespace {

struct Writes {
	const core::WritePlan *plan;
	Jsonb *payload;
	const ItemPointerData *locked_row; /* an update's row version, locked by this call */
	char *user_id;
	Jsonb *written;              /* the row as SQL wrote it, or */
	core::TokenSpan written_row; /* the row as update_locked_users() wrote it */
};

/* Every write of one call, in an order that keeps the unique mirrors free: merges, the row, the links. */
void
do_writes(void *arg) {
	Writes *w = static_cast<Writes *>(arg);
	write_merges(*w->plan, w->payload);
	/*
	 * The statement finds the row itself after a merge (whose writes may have
	 * given it a newer version) and spells columns the direct reader cannot.
	 */
	if (w->locked_row && w->plan->nmerges == 0 && users_columns_convertible()) {
		update_locked_users(&w->plan, w->locked_row, 1, &w->written_row);
		w->user_id = pstrdup(w->plan->user_id);
	} else if (!w->plan->insert || !insert_user(*w->plan, &w->written_row, &w->user_id))
		w->written = write_row(*w->plan, &w->user_id);
	link_identities(*w->plan, w->user_id);
}

uint32
owner_index(const Findings &f, const char *id) {
	for (uint32 i = 0; i < f.nowner_ids; i++)
		if (strcmp(f.owner_ids[i], id) == 0)
			return i;
	elog(ERROR, "user_upsert answered for user %s it did not lock", id);
	pg_unreachable();
}

const core::OwnerRecord *
owner_record(const Findings &f, const char *id) {
	return &f.lookup.owners[owner_index(f, id)];
}

} // namespace

Jsonb *
run_lookup(const char *kind, const char *value) {
	MemoryContext call_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(call_context);
	core::IdentityRef key = cxx_phase("user_lookup()", [&] { return core::prepare_lookup(kind, value, allocator); });

	/* The owner and its row under one snapshot, through the indexes. */
	DirectReader *reader = begin_direct_reads();
	if (strcmp(key.kind, "id") != 0)
		if (char *reason = direct_blocked_reason(key.kind, key.value, reader)) {
			end_direct_reads(reader);
			report_blocked(core::PayloadIdentity{key.kind, key.value, "value"}, reason); /* DESIGN 3: every function */
		}
	MergeChainEnd owner =
	    strcmp(key.kind, "id") == 0
	        ? direct_follow_merges(DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(key.value))), reader)
	        : owner_of_identity(key.kind, key.value, reader, OwnerProbe::MirrorsFirst);
	DirectUser user{};
	DirectFetch read = owner.exists && !owner.deleted ? direct_fetch_user_at(&owner.live_row, reader, user)
	                                                   : DirectFetch::Missing;
	end_direct_reads(reader);

	Jsonb *result = nullptr;
	auto answer = [&](const core::OwnerRecord &record) {
		core::TokenSpan document = cxx_phase("user_lookup()", [&] {
			return core::document_call(record.row, record.nidentities, record.identities, allocator);
		});
		MemoryContext previous = MemoryContextSwitchTo(call_context);
		result = tokens_to_jsonb(document);
		MemoryContextSwitchTo(previous);
	};
	if (read == DirectFetch::Found)
		answer(user.record);
	else if (read == DirectFetch::Unsupported) { /* a users column the direct reader does not spell */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		Datum arg = CStringGetTextDatum(uuid_text(&owner.live));
		execute(Statement::FetchUser, &arg, " ", SPI_OK_SELECT);
		if (SPI_processed == 1) {
			core::OwnerRecord record;
			read_user_row(record);
			answer(record);
		}
		SPI_finish();
	}
	return result;
}

/*
 * user_ensure()'s read: when every identity the payload names (and its id)
 * resolves to one live user, answers from one snapshot with no lock and no
 * write, reading through the indexes (direct.hpp); returns nullptr when the
 * locking path must decide.
 */
static Jsonb *
ensure_without_locks(core::TokenSpan tokens, const core::Config &config, const core::PreparedCall &call,
                     core::Allocator &allocator, DirectReader *reader) {
	DirectUser owner{};
	const char *owner_id = nullptr;
	uint32 n = call.nidentities;
	const char **identity_owner = static_cast<const char **>(palloc0(sizeof(char *) * (n + 1)));
	bool *identity_deleted = static_cast<bool *>(palloc0(sizeof(bool) * (n + 1)));

	/* A merged or deleted user, or a row the direct reader cannot convert: the locking path resolves it. */
	auto live = [&](DirectFetch fetched) {
		return fetched == DirectFetch::Found && !owner.merged && !owner.deleted;
	};
	auto owned_by_owner = [&](const core::PayloadIdentity &identity) {
		for (uint32 j = 0; j < owner.record.nidentities; j++)
			if (strcmp(owner.record.identities[j].kind, identity.kind) == 0 &&
			    strcmp(owner.record.identities[j].value, identity.value) == 0)
				return true;
		return false;
	};
	if (call.id) {
		DirectFetch by_id = direct_fetch_user(call.id, reader, owner);
		if (by_id == DirectFetch::Found && owner.merged) {
			/* A tombstone's id reaches its survivor (DESIGN 4.2), still without locks. */
			MergeChainEnd end = direct_follow_merges(&owner.uuid, reader);
			if (!end.exists || end.deleted)
				return nullptr;
			by_id = direct_fetch_user(uuid_text(&end.live), reader, owner);
		}
		if (!live(by_id))
			return nullptr;
		owner_id = owner.id;
	}
	for (uint32 i = 0; i < n; i++) {
		const core::PayloadIdentity &identity = call.identities[i];
		if (char *blocked = direct_blocked_reason(identity.kind, identity.value, reader)) {
			if (!call.skip_conflicts)
				report_blocked(identity, blocked);
			return nullptr;
		}
		if (!owner_id) {
			DirectFetch by_mirror = direct_fetch_user_by_mirror(identity.kind, identity.value, reader, owner);
			if (by_mirror != DirectFetch::Missing) {
				if (!live(by_mirror))
					return nullptr;
				owner_id = identity_owner[i] = owner.id;
				continue;
			}
		} else if (owned_by_owner(identity)) {
			identity_owner[i] = owner_id;
			continue;
		}
		char *user_id = direct_identity_owner(identity.kind, identity.value, reader);
		if (!user_id)
			continue;
		if (owner_id && strcmp(owner_id, user_id) != 0)
			return nullptr; /* several owners */
		if (!owner_id && !live(direct_fetch_user(user_id, reader, owner)))
			return nullptr;
		owner_id = identity_owner[i] = user_id;
	}
	if (!owner_id)
		return nullptr; /* nobody yet: create under locks */

	core::TokenSpan answer = cxx_phase("user_ensure()", [&] {
		return core::ensure_answer(call, owner.record.row, owner.record.nidentities, owner.record.identities,
		                           allocator);
	});
	if (answer.count > 0)
		return tokens_to_jsonb(answer);

	core::Lookup lookup{};
	lookup.identity_owner = identity_owner;
	lookup.identity_owner_deleted = identity_deleted;
	lookup.id_state = call.id ? core::IdState::Live : core::IdState::Absent;
	lookup.id_owner = call.id ? owner_id : nullptr;
	lookup.nowners = 1;
	lookup.owners = &owner.record;
	core::WritePlan plan =
	    cxx_phase("user_ensure()", [&] { return core::plan_call(tokens, config, lookup, allocator); });
	if (plan.write_row)
		return nullptr; /* the payload adds something: write under locks */
	answer = cxx_phase("user_ensure()", [&] {
		return core::answer_call(plan, owner.record.row, owner.record.nidentities, owner.record.identities,
		                         allocator);
	});
	return tokens_to_jsonb(answer);
}

Jsonb *
run_ensure(Jsonb *payload) {
	MemoryContext call_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(call_context);
	core::Config config = current_config();
	/* user_upsert() with policy keep: the payload's own policy is replaced. */
	core::TokenSpan given = jsonb_to_tokens(payload);
	core::TokenSpan tokens = cxx_phase("user_ensure()", [&] { return core::with_policy(given, "keep", allocator); });
	core::PreparedCall call = cxx_phase("user_ensure()", [&] { return core::prepare_call(tokens, config, allocator); });
	DirectReader *reader = begin_direct_reads();
	Jsonb *result = ensure_without_locks(tokens, config, call, allocator, reader);
	end_direct_reads(reader);
	if (result)
		return result;
	return run_upsert(tokens_to_jsonb(tokens), "user_ensure()");
}

static Jsonb *upsert(Jsonb *payload, const char *function_name, bool deleted_is_answer, OwnerProbe probe);

Jsonb *
run_upsert(Jsonb *payload, const char *function_name) {
	return upsert(payload, function_name, false, OwnerProbe::MirrorsFirst);
}

Jsonb *
run_upsert_answering_deleted(Jsonb *payload, const char *function_name) {
	return upsert(payload, function_name, true, OwnerProbe::MirrorsFirst);
}

Jsonb *
run_upsert_in_trigger(Jsonb *payload) {
	return upsert(payload, "user_upsert trigger", false, OwnerProbe::IdentitiesOnly);
}

static Jsonb *
upsert(Jsonb *payload, const char *function_name, bool deleted_is_answer, OwnerProbe probe) {
	MemoryContext call_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(call_context);
	const core::Config config = current_config();

	core::TokenSpan tokens = jsonb_to_tokens(payload);
	core::PreparedCall call = cxx_phase(function_name, [&] { return core::prepare_call(tokens, config, allocator); });

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	int lost_races = 0;
again:
	LockMark attempt_mark = identity_locks_mark();
	Findings found = lock_and_look_up(call, probe);
	if (deleted_is_answer)
		for (uint32 i = 0; i < call.nidentities; i++)
			if (found.lookup.identity_owner_deleted[i]) {
				Datum arg = CStringGetTextDatum(found.lookup.identity_owner[i]);
				execute(Statement::FetchUser, &arg, " ", SPI_OK_SELECT);
				core::OwnerRecord user{};
				read_user_row(user);
				core::TokenSpan answer = cxx_phase(function_name, [&] {
					return core::event_answer("deleted", user.row, user.nidentities, user.identities, nullptr,
					                          allocator);
				});
				MemoryContext spi_context = MemoryContextSwitchTo(call_context);
				Jsonb *result = tokens_to_jsonb(answer);
				MemoryContextSwitchTo(spi_context);
				SPI_finish();
				return result;
			}
	core::WritePlan plan =
	    cxx_phase(function_name, [&] { return core::plan_call(tokens, config, found.lookup, allocator); });

	core::TokenSpan row;
	uint32 nidentities = 0;
	core::IdentityRef *identities = nullptr;
	if (plan.write_row) {
		Writes writes{&plan, payload, plan.insert ? nullptr : &found.owner_rows[owner_index(found, plan.user_id)],
		              nullptr, nullptr, {}};
		if (!found.batch_elsewhere)
			as_extension_write(do_writes, &writes);
		else if (!writes_or_lost_race(do_writes, &writes)) {
			/* A batch that released its identity locks committed first: decide again on what it wrote. */
			release_identities_since(attempt_mark);
			if (++lost_races > 100)
				ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				                errmsg("user_upsert lost 100 races against user_upsert_many()"),
				                errhint("Retry the transaction.")));
			goto again;
		}
		char *user_id = writes.user_id;
		row = writes.written ? jsonb_to_tokens(writes.written) : writes.written_row;
		const core::OwnerRecord *before = plan.insert ? nullptr : owner_record(found, user_id);
		uint32 total = (before ? before->nidentities : 0) + plan.nlink;
		for (uint32 i = 0; i < plan.nmerges; i++)
			total += plan.merges[i].nmoved;
		identities = static_cast<core::IdentityRef *>(palloc(sizeof(core::IdentityRef) * (total + 1)));
		for (uint32 i = 0; before && i < before->nidentities; i++)
			identities[nidentities++] = before->identities[i];
		for (uint32 i = 0; i < plan.nmerges; i++)
			for (uint32 j = 0; j < plan.merges[i].nmoved; j++)
				identities[nidentities++] = plan.merges[i].moved_identities[j];
		for (uint32 i = 0; i < plan.nlink; i++)
			identities[nidentities++] = plan.link[i];
	} else {
		const core::OwnerRecord *owner = owner_record(found, plan.user_id);
		row = owner->row;
		nidentities = owner->nidentities;
		identities = owner->identities;
	}

	core::TokenSpan answer = cxx_phase(function_name, [&] {
		return core::answer_call(plan, row, nidentities, identities, allocator);
	});

	MemoryContext spi_context = MemoryContextSwitchTo(call_context);
	Jsonb *result = tokens_to_jsonb(answer);
	MemoryContextSwitchTo(spi_context);
	SPI_finish();

	/*
	 * A transaction that makes many calls (SELECT user_upsert(p) FROM a big
	 * table) would hold one lock-table entry per identity until it ends: past
	 * a bound it runs as a batch, as user_upsert_many() does (locking.hpp).
	 */
	shed_identity_locks_if_many();
	return result;
}

} // namespace uu::pg
