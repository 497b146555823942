/*
 * triggers.cpp
 *	  Direct SQL on user_upsert.users and user_upsert.identities keeps the
 *	  guarantees of user_upsert() (DESIGN.md section 6).
 *
 *	  Lock order (see locking.cpp): a trigger holds, or first takes, the row
 *	  lock of every user it will change (R), and only then takes identity
 *	  locks (I). That is the order a direct UPDATE imposes anyway, since the
 *	  executor locks the row before its BEFORE trigger runs; user_upsert()
 *	  never waits for R while holding I, so the two orders cannot deadlock.
 *	  The merge mode calls user_upsert() itself, which backs off as usual.
 *
 *	  While the extension writes its own tables (user_upsert(), or a trigger
 *	  writing the other table) extension_is_writing() is true and the triggers
 *	  stand aside: no work is done twice.
 *
 *	  Every function here can ereport; locals are trivially destructible.
 *
 * IDENTIFICATION
 *	  src/pg/triggers.cpp
 */
#include "core/call.hpp"
#include "core/normalize.hpp"
#include "core/payload.hpp"
#include "pg/boundary.hpp"
#include "pg/guc.hpp"

#include <cstring>

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"
#include "storage/proc.h"
}

#include "pg/direct.hpp"
#include "pg/errors.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"
#include "pg/statements.hpp"

namespace uu::pg {

namespace {

/* Column numbers of user_upsert.users used here. */
struct UserColumns {
	int id, fid, primary_address, agent_id, version, updated_at, merged_into, created_at, deleted_at;
	int email, username, display_name, avatar_url, attrs;
};

UserColumns
user_columns(TupleDesc desc) {
	return UserColumns{SPI_fnumber(desc, "id"),          SPI_fnumber(desc, "fid"),
	                   SPI_fnumber(desc, "primary_address"), SPI_fnumber(desc, "agent_id"),
	                   SPI_fnumber(desc, "version"),     SPI_fnumber(desc, "updated_at"),
	                   SPI_fnumber(desc, "merged_into"), SPI_fnumber(desc, "created_at"),
	                   SPI_fnumber(desc, "deleted_at"),  SPI_fnumber(desc, "email"),
	                   SPI_fnumber(desc, "username"),    SPI_fnumber(desc, "display_name"),
	                   SPI_fnumber(desc, "avatar_url"),  SPI_fnumber(desc, "attrs")};
}

/* A column as text (SPI_getvalue: palloc'd), or nullptr when NULL. */
char *
column_text(HeapTuple tuple, TupleDesc desc, int attnum) {
	return SPI_getvalue(tuple, desc, attnum);
}


const char *
normalize(const char *kind, const char *value, const char *field) {
	core::Allocator allocator = palloc_allocator(CurrentMemoryContext);
	return cxx_phase("user_upsert trigger",
	                 [&] { return core::normalize_identity_value(kind, value, field, allocator); });
}

/* Identity locks for the given (kind, value) pairs, in key order (rule 1 of locking.cpp). */
void
lock_pairs(const char *const *kinds, const char *const *values, int n) {
	uint64 keys[8];
	int nkeys = 0;
	for (int i = 0; i < n; i++)
		if (values[i])
			keys[nkeys++] = core::identity_lock_key(kinds[i], values[i]);
	/* at most six keys: insertion sort, dropping duplicates */
	int ndistinct = 0;
	for (int i = 0; i < nkeys; i++) {
		uint64 key = keys[i];
		int j = ndistinct;
		while (j > 0 && keys[j - 1] > key)
			j--;
		if (j > 0 && keys[j - 1] == key)
			continue;
		memmove(&keys[j + 1], &keys[j], sizeof(uint64) * (ndistinct - j));
		keys[j] = key;
		ndistinct++;
	}
	lock_identities(keys, static_cast<uint32>(ndistinct));
	/*
	 * A batch gives its identity locks back before it commits: an identity it
	 * linked is then held by nobody yet invisible. Wait for such an insert to
	 * end, as a unique index would, before deciding on these identities, and
	 * keep the locks while waiting: when the batch restarts (its deadlock
	 * check makes it the one to give way), the wait ends with the batch's
	 * subtransaction (waited_for_transaction()) and the batch then waits for
	 * these locks instead of linking the identity again at once (b93e750
	 * gave them back: more stalls).
	 */
	if (batch_running_elsewhere())
		for (int i = 0; i < n; i++)
			if (values[i])
				wait_for_uncommitted_identity(kinds[i], values[i]);
}

/* Owners of identities, cross-checked and refusing blocked values as user_upsert() does. */
IdentityLookupRows
owners_of(core::PayloadIdentity *identities, uint32 n) {
	core::PreparedCall call{};
	call.nidentities = n;
	call.identities = identities;
	return lookup_current_owners(call, true, OwnerProbe::IdentitiesOnly);
}

[[noreturn]] void
owned_elsewhere(const core::PayloadIdentity &identity, const char *owner, bool deleted, const char *hint) {
	ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
	                errmsg("identity in \"%s\" belongs to another user", identity.field),
	                errdetail("Key (%s, %s) belongs to %suser %s.", identity.kind, identity.value,
	                          deleted ? "deleted " : "", owner),
	                errhint("%s", hint)));
	pg_unreachable();
}

const char *const kMergeHint =
    "Use user_upsert(), or SET user_upsert.direct_conflict = 'merge' to merge the users.";
const char *const kNewRowHint =
    "Use user_upsert() or the users_upsert view, which merge: a direct INSERT of a new users row never does.";
const char *const kDeletedOwnerHint = "A deleted user's identities cannot be merged.";

/* The payload that links one identity to `user_id` through user_upsert(). */
Jsonb *
link_payload(const char *user_id, const char *kind, const char *value) {
	StringInfoData s;
	initStringInfo(&s);
	appendStringInfoString(&s, "{\"id\": ");
	escape_json(&s, user_id);
	if (strcmp(kind, "fid") == 0)
		appendStringInfo(&s, ", \"fid\": %s", value);
	else if (strcmp(kind, "wallet") == 0) {
		appendStringInfoString(&s, ", \"wallets\": [");
		escape_json(&s, value);
		appendStringInfoChar(&s, ']');
	} else if (strcmp(kind, "agent") == 0) {
		appendStringInfoString(&s, ", \"agent_id\": ");
		escape_json(&s, value);
	} else {
		const char *colon = strchr(value, ':');
		appendStringInfoString(&s, ", \"external\": {");
		escape_json(&s, pnstrdup(value, colon - value));
		appendStringInfoString(&s, ": ");
		escape_json(&s, colon + 1);
		appendStringInfoChar(&s, '}');
	}
	appendStringInfoChar(&s, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

/* The hint of a refused identity: a deleted owner's cannot be merged whatever the setting. */
const char *
conflict_hint(bool owner_deleted, const char *otherwise) {
	return owner_deleted ? kDeletedOwnerHint : otherwise;
}

bool
run_lock_user_waiting(void *arg) {
	execute(Statement::LockUserWaiting, static_cast<Datum *>(arg), " ", SPI_OK_SELECT);
	return true;
}

/*
 * Locks a user row, waiting (the triggers' row-first order); fills `record`.
 * False when absent. A wait the deadlock detector ends is waited again: the
 * other side is a batch that waits in the same cycle and restarts (many.cpp).
 */
bool
lock_user_waiting(const char *id, core::OwnerRecord &record, bool *merged, bool *deleted) {
	Datum arg = CStringGetTextDatum(id);
	for (int attempt = 0;; attempt++) {
		ErrorData *error = in_subtransaction(run_lock_user_waiting, &arg);
		if (error == nullptr)
			break;
		if (error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED || attempt >= 10)
			ReThrowError(error);
	}
	if (SPI_processed == 0)
		return false;
	bool isnull;
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*merged = !isnull;
	*deleted = bool_column(0, 3);
	read_locked_user(id, record);
	return true;
}

/* The value `user` holds for a one-per-user kind (fid, agent, or external of `provider`), or nullptr. */
const char *
held_value(const core::OwnerRecord &user, const char *kind, const char *value) {
	size_t provider_len = 0;
	if (strcmp(kind, "external") == 0)
		provider_len = static_cast<size_t>(strchr(value, ':') - value) + 1;
	for (uint32 i = 0; i < user.nidentities; i++) {
		const core::IdentityRef &held = user.identities[i];
		if (strcmp(held.kind, kind) != 0)
			continue;
		if (provider_len == 0 || strncmp(held.value, value, provider_len) == 0)
			return held.value;
	}
	return nullptr;
}

/* UU001 when `user` already holds another identity of a one-per-user kind (4.3). */
void
check_one_per_user(const core::OwnerRecord &user, const char *user_id, const core::PayloadIdentity &identity) {
	if (strcmp(identity.kind, "wallet") == 0)
		return;
	const char *held = held_value(user, identity.kind, identity.value);
	if (held && strcmp(held, identity.value) != 0)
		ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
		                errmsg("user already has a different %s",
		                       strcmp(identity.kind, "external") == 0 ? "subject for this provider" : identity.kind),
		                errdetail("User %s has (%s, %s); the write gives (%s, %s).", user_id, identity.kind, held,
		                          identity.kind, identity.value),
		                errhint("Unlink the old identity first with DELETE on user_upsert.identities.")));
}

/* UU001 when linking wallet `identity` would give `user` more than user_upsert.max_wallets (4.3), as user_upsert() refuses. */
void
check_wallet_room(const core::OwnerRecord &user, const char *user_id, const core::PayloadIdentity &identity) {
	if (strcmp(identity.kind, "wallet") != 0)
		return;
	int wallets = 1;
	for (uint32 i = 0; i < user.nidentities; i++)
		if (strcmp(user.identities[i].kind, "wallet") == 0) {
			if (strcmp(user.identities[i].value, identity.value) == 0)
				return;
			wallets++;
		}
	if (wallets > guc_max_wallets)
		ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT), errmsg("too many wallets for one user"),
		                errdetail("The write would give user %s %d wallets; user_upsert.max_wallets is %d.", user_id,
		                          wallets, guc_max_wallets),
		                errhint("Unlink a wallet first with DELETE on user_upsert.identities.")));
}

/*
 * Before a trigger calls user_upsert() to merge (direct_conflict = merge), it
 * gives back the identity locks it took, so that the call's back-off waits
 * for a busy row holding only the row lock of the statement (rule 3 of
 * locking.cpp as far as a trigger can keep it). The transaction announces
 * itself as a batch first: what it wrote under those locks is uncommitted.
 */
void
give_back_identity_locks(LockMark mark) {
	announce_batch();
	release_identities_since(mark);
}

/*
 * direct_conflict = merge: (kind, value), owned by another live user, is
 * linked to `user_id` by user_upsert() with that id, which merges the owner
 * into it. The trigger's identity locks since `trigger_mark` are given back
 * first: user_upsert() takes its own in key order.
 */
void
link_merging_owner(LockMark trigger_mark, const char *user_id, const char *kind, const char *value) {
	give_back_identity_locks(trigger_mark);
	(void) run_upsert_in_trigger(link_payload(user_id, kind, value));
}

/* --- users ------------------------------------------------------------- */

/* The identity columns of a users row, normalized. */
struct IdentityColumns {
	const char *fid;
	const char *wallet;
	const char *agent;
};

constexpr int UUID_TEXT_LEN = 37;

/*
 * Merges a BEFORE UPDATE left for its AFTER UPDATE trigger, in the
 * transaction's memory; entries of an earlier transaction are ignored.
 */
struct PendingMerge {
	LocalTransactionId lxid;
	LockMark mark; /* identity locks taken from here on belong to the pending merge's UPDATE */
	char user_id[UUID_TEXT_LEN];
	char *fid, *wallet, *agent;
};
PendingMerge *pending = nullptr;
int npending = 0, pending_capacity = 0;
LocalTransactionId pending_lxid = InvalidLocalTransactionId;

char *
keep(const char *s) {
	return s ? MemoryContextStrdup(TopTransactionContext, s) : nullptr;
}

void
remember_pending_merge(const char *user_id, const IdentityColumns &wanted, LockMark mark) {
	if (pending_lxid != MyProc->lxid) {
		pending = nullptr;
		npending = pending_capacity = 0;
		pending_lxid = MyProc->lxid;
	}
	if (npending == pending_capacity) {
		pending_capacity = pending_capacity ? pending_capacity * 2 : 8;
		pending = static_cast<PendingMerge *>(
		    pending ? repalloc(pending, sizeof(PendingMerge) * pending_capacity)
		            : MemoryContextAlloc(TopTransactionContext, sizeof(PendingMerge) * pending_capacity));
	}
	PendingMerge &p = pending[npending++];
	p.lxid = MyProc->lxid;
	p.mark = mark;
	strlcpy(p.user_id, user_id, sizeof p.user_id);
	p.fid = keep(wanted.fid);
	p.wallet = keep(wanted.wallet);
	p.agent = keep(wanted.agent);
}

bool
take_pending_merge(const char *user_id, IdentityColumns *wanted, LockMark *mark) {
	if (pending_lxid != MyProc->lxid)
		return false;
	for (int i = 0; i < npending; i++)
		if (strcmp(pending[i].user_id, user_id) == 0) {
			*wanted = IdentityColumns{pending[i].fid, pending[i].wallet, pending[i].agent};
			*mark = pending[i].mark;
			pending[i] = pending[--npending];
			return true;
		}
	return false;
}


struct NewUserTuple {
	HeapTuple tuple;
	IdentityColumns values;
};

/*
 * Normalizes NEW's identity columns and email, and checks its text
 * attributes and attrs as a payload's (22023), rewriting the tuple when a
 * value changes.
 */
NewUserTuple
normalize_user_tuple(HeapTuple tuple, TupleDesc desc, const UserColumns &c) {
	NewUserTuple out{tuple, {column_text(tuple, desc, c.fid), column_text(tuple, desc, c.primary_address),
	                         column_text(tuple, desc, c.agent_id)}};
	if (out.values.fid)
		out.values.fid = normalize("fid", out.values.fid, "fid");
	int cols[3];
	Datum values[3];
	bool nulls[3] = {false, false, false};
	int n = 0;
	if (const char *email = column_text(tuple, desc, c.email)) {
		core::Allocator allocator = palloc_allocator(CurrentMemoryContext);
		const char *normalized = cxx_phase("user_upsert trigger", [&] {
			return allocator.copy(core::normalize_email(email, "email"));
		});
		if (strcmp(normalized, email) != 0) {
			cols[n] = c.email;
			values[n++] = CStringGetTextDatum(normalized);
		}
	}
	for (int column : {c.username, c.display_name, c.avatar_url})
		if (const char *text = column_text(tuple, desc, column)) {
			const char *field = SPI_fname(desc, column);
			(void) cxx_phase("user_upsert trigger", [&] {
				core::check_text_attribute(text, field);
				return true;
			});
		}
	bool attrs_null;
	Datum attrs = heap_getattr(tuple, c.attrs, desc, &attrs_null);
	if (!attrs_null) {
		Jsonb *object = DatumGetJsonbP(attrs);
		if (!JB_ROOT_IS_OBJECT(object))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("\"attrs\" must be a JSON object"),
			                errdetail("The value is %s.", JB_ROOT_IS_SCALAR(object) ? "a scalar" : "an array")));
	}
	if (out.values.wallet) {
		const char *normalized = normalize("wallet", out.values.wallet, "primary_address");
		if (strcmp(normalized, out.values.wallet) != 0) {
			cols[n] = c.primary_address;
			values[n++] = CStringGetTextDatum(normalized);
		}
		out.values.wallet = normalized;
	}
	if (out.values.agent) {
		const char *normalized = normalize("agent", out.values.agent, "agent_id");
		if (strcmp(normalized, out.values.agent) != 0) {
			cols[n] = c.agent_id;
			values[n++] = CStringGetTextDatum(normalized);
		}
		out.values.agent = normalized;
	}
	if (n > 0)
		out.tuple = heap_modify_tuple_by_cols(tuple, desc, n, cols, values, nulls);
	return out;
}

struct Links {
	const char *kinds[3];
	const char *values[3];
	uint32 n;
	const char *user_id;
	Datum created_at;
	bool created_at_null;
	/* unlinked when the column moved away from them */
	const char *unlink_kinds[2];
	const char *unlink_values[2];
	uint32 nunlink;
};

void
write_links(void *arg) {
	Links *l = static_cast<Links *>(arg);
	for (uint32 i = 0; i < l->nunlink; i++) {
		Datum args[3] = {CStringGetTextDatum(l->unlink_kinds[i]), CStringGetTextDatum(l->unlink_values[i]),
		                 CStringGetTextDatum(l->user_id)};
		execute(Statement::UnlinkIdentity, args, "   ", SPI_OK_DELETE);
	}
	if (l->n > 0)
		link_identity_rows(l->kinds, l->values, l->n, l->user_id, l->created_at, l->created_at_null);
}

/*
 * Checks the new identity columns of a users row against their owners (after
 * taking their identity locks); returns how many belong to another live user,
 * reporting UU001 at once unless `may_merge`.
 */
int
check_user_identities(const char *user_id, const IdentityColumns &now, const IdentityColumns &before, bool may_merge,
                      core::PayloadIdentity *identities, uint32 *nidentities) {
	const char *kinds[3] = {"fid", "wallet", "agent"};
	const char *fields[3] = {"fid", "primary_address", "agent_id"};
	const char *values[3] = {now.fid, now.wallet, now.agent};
	const char *old_values[3] = {before.fid, before.wallet, before.agent};
	uint32 n = 0;
	for (int i = 0; i < 3; i++)
		if (values[i] && !same_text(values[i], old_values[i]))
			identities[n++] = core::PayloadIdentity{kinds[i], values[i], fields[i]};
	*nidentities = n;
	if (n == 0)
		return 0;
	const char *lock_kinds[6], *lock_values[6];
	for (int i = 0; i < 3; i++) {
		lock_kinds[i] = lock_kinds[i + 3] = kinds[i];
		lock_values[i] = same_text(values[i], old_values[i]) ? nullptr : values[i];
		lock_values[i + 3] = same_text(values[i], old_values[i]) || i == 1 ? nullptr : old_values[i];
	}
	lock_pairs(lock_kinds, lock_values, 6);
	IdentityLookupRows rows = owners_of(identities, n);
	int elsewhere = 0;
	uint32 unowned = 0;
	for (uint32 i = 0; i < n; i++) {
		if (rows.owner[i] && (!user_id || strcmp(rows.owner[i], user_id) != 0)) {
			if (!may_merge || rows.deleted[i])
				owned_elsewhere(identities[i], rows.owner[i], rows.deleted[i],
				                conflict_hint(rows.deleted[i], user_id ? kMergeHint : kNewRowHint));
			elsewhere++;
		}
		if (!rows.owner[i])
			identities[unowned++] = identities[i];
	}
	/* The caller links what nobody owns yet. */
	*nidentities = unowned;
	return elsewhere;
}

constexpr const char *kLifecycleHint =
    "Merge users with user_upsert() (or SET user_upsert.direct_conflict = 'merge'), erase one with "
    "user_apply_event() and a user.deleted event, or DELETE its row.";

/*
 * merged_into and deleted_at are written by the extension's merges and
 * deletions, which also move or free the user's identities; a direct write
 * would leave identities owned by a user that is not live (DESIGN 5).
 */
void
refuse_lifecycle_change(HeapTuple old_tuple, HeapTuple new_tuple, TupleDesc desc, const UserColumns &c) {
	const int columns[2] = {c.merged_into, c.deleted_at};
	for (int column : columns)
		if (!same_text(column_text(old_tuple, desc, column), column_text(new_tuple, desc, column)))
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("column \"%s\" of user_upsert.users cannot be written directly",
			                       SPI_fname(desc, column)),
			                errhint("%s", kLifecycleHint)));
}

/* A merged or deleted user (a tombstone) holds no fid, primary_address or agent_id. */
void
refuse_tombstone_identities(const IdentityColumns &values) {
	if (values.fid || values.wallet || values.agent)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("a merged or deleted user cannot hold fid, primary_address or agent_id"),
		                errhint("%s", kLifecycleHint)));
}

HeapTuple
users_before_insert(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	UserColumns c = user_columns(desc);
	NewUserTuple nu = normalize_user_tuple(trigger->tg_trigtuple, desc, c);

	/* An explicit id another row has is UU001 too, under the id's lock as user_upsert() takes it. */
	const char *id = column_text(nu.tuple, desc, c.id);
	if (id) {
		const char *kinds[1] = {"id"};
		const char *values[1] = {id};
		lock_pairs(kinds, values, 1);
		if (resolve_user(id, nullptr).exists)
			ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT), errmsg("a user with this id already exists"),
			                errdetail("User %s exists.", id),
			                errhint("Use user_upsert() or the users_upsert view to update it.")));
	}

	bool version_null;
	Datum version = heap_getattr(nu.tuple, c.version, desc, &version_null);
	if (!version_null && DatumGetInt64(version) < 1) /* versions start at 1 (DESIGN 2); NULL is NOT NULL's */
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("\"version\" must be at least 1"),
		                errdetail("The row gives version " INT64_FORMAT ".", DatumGetInt64(version))));
	const char *merged_into = column_text(nu.tuple, desc, c.merged_into);
	if (merged_into || column_text(nu.tuple, desc, c.deleted_at))
		refuse_tombstone_identities(nu.values); /* pg_restore inserts tombstones as they were dumped */
	if (merged_into && id && strcmp(merged_into, id) == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("a user cannot be merged into itself"),
		                errdetail("User %s has merged_into %s.", id, merged_into)));
	/* Rows written earlier in this statement are read too: the one that closes a cycle sees the others. */
	if (merged_into && id) {
		Resolved survivor = resolve_user(merged_into, nullptr);
		if (survivor.exists && strcmp(survivor.id, id) == 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("merged_into would make a merge cycle"),
			                errdetail("User %s has merged_into %s, whose merge chain leads back to %s.", id,
			                          merged_into, id)));
	}
	if (!merged_into) {
		core::PayloadIdentity identities[3];
		uint32 n;
		IdentityColumns none{nullptr, nullptr, nullptr};
		(void) check_user_identities(nullptr, nu.values, none, false, identities, &n);
		if (nu.values.fid || nu.values.wallet || nu.values.agent) {
			Datum args[3] = {nu.values.fid ? Int64GetDatum(strtoll(nu.values.fid, nullptr, 10)) : (Datum) 0,
			                 nu.values.wallet ? CStringGetTextDatum(nu.values.wallet) : (Datum) 0,
			                 nu.values.agent ? CStringGetTextDatum(nu.values.agent) : (Datum) 0};
			const char nulls[4] = {nu.values.fid ? ' ' : 'n', nu.values.wallet ? ' ' : 'n',
			                       nu.values.agent ? ' ' : 'n', '\0'};
			execute(Statement::MirrorOwner, args, nulls, SPI_OK_SELECT);
			if (SPI_processed > 0)
				ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
				                errmsg("an identity of the new row belongs to another user"),
				                errdetail("User %s, written earlier in this statement, holds one of its fid, "
				                          "primary_address or agent_id.",
				                          SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				                errhint("%s", kNewRowHint)));
		}
	}
	return nu.tuple;
}

void
users_after_insert(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	UserColumns c = user_columns(desc);
	HeapTuple tuple = trigger->tg_trigtuple;
	bool isnull;
	(void) heap_getattr(tuple, c.merged_into, desc, &isnull);
	if (!isnull)
		return;
	Links links{};
	links.user_id = column_text(tuple, desc, c.id);
	links.created_at = heap_getattr(tuple, c.created_at, desc, &links.created_at_null);
	IdentityColumns v{column_text(tuple, desc, c.fid), column_text(tuple, desc, c.primary_address),
	                  column_text(tuple, desc, c.agent_id)};
	const char *kinds[3] = {"fid", "wallet", "agent"};
	const char *values[3] = {v.fid, v.wallet, v.agent};
	for (int i = 0; i < 3; i++)
		if (values[i]) {
			links.kinds[links.n] = kinds[i];
			links.values[links.n++] = values[i];
		}
	as_extension_write(write_links, &links);
}

/*
 * users BEFORE UPDATE: the executor already holds the row lock (R before I).
 * version + 1 and updated_at = now() on every direct write; a changed fid or
 * agent_id moves its identity; a new primary_address is linked as a wallet
 * and the old one stays.
 */
HeapTuple
users_before_update(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	UserColumns c = user_columns(desc);
	HeapTuple old_tuple = trigger->tg_trigtuple;
	NewUserTuple nu = normalize_user_tuple(trigger->tg_newtuple, desc, c);
	refuse_lifecycle_change(old_tuple, nu.tuple, desc, c);

	bool isnull;
	Datum old_version = heap_getattr(old_tuple, c.version, desc, &isnull);
	int cols[2] = {c.version, c.updated_at};
	Datum values[2] = {Int64GetDatum(isnull ? 1 : DatumGetInt64(old_version) + 1),
	                   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())};
	bool nulls[2] = {false, false};
	HeapTuple result = heap_modify_tuple_by_cols(nu.tuple, desc, 2, cols, values, nulls);

	IdentityColumns before{column_text(old_tuple, desc, c.fid), column_text(old_tuple, desc, c.primary_address),
	                       column_text(old_tuple, desc, c.agent_id)};
	if (column_text(old_tuple, desc, c.merged_into) || column_text(old_tuple, desc, c.deleted_at)) {
		if (!same_text(before.fid, nu.values.fid) || !same_text(before.wallet, nu.values.wallet) ||
		    !same_text(before.agent, nu.values.agent))
			refuse_tombstone_identities(nu.values);
		return result;
	}
	const char *user_id = column_text(old_tuple, desc, c.id);
	if (same_text(before.fid, nu.values.fid) && same_text(before.wallet, nu.values.wallet) &&
	    same_text(before.agent, nu.values.agent))
		return result;

	bool may_merge = guc_direct_conflict == DIRECT_CONFLICT_MERGE;
	const LockMark trigger_mark = identity_locks_mark();
	core::PayloadIdentity identities[3];
	uint32 n;
	int elsewhere = check_user_identities(user_id, nu.values, before, may_merge, identities, &n);
	if (elsewhere == 0)
		for (uint32 i = 0; i < n; i++)
			if (strcmp(identities[i].kind, "wallet") == 0) { /* a new primary_address is linked as a wallet */
				core::OwnerRecord user{};
				bool merged, deleted;
				(void) lock_user_waiting(user_id, user, &merged, &deleted); /* the executor holds the row already */
				check_wallet_room(user, user_id, identities[i]);
			}

	Links links{};
	links.user_id = user_id;
	links.created_at_null = true;
	if (before.fid && !same_text(before.fid, nu.values.fid)) {
		links.unlink_kinds[links.nunlink] = "fid";
		links.unlink_values[links.nunlink++] = before.fid;
	}
	if (before.agent && !same_text(before.agent, nu.values.agent)) {
		links.unlink_kinds[links.nunlink] = "agent";
		links.unlink_values[links.nunlink++] = before.agent;
	}
	if (elsewhere == 0)
		for (uint32 i = 0; i < n; i++) {
			links.kinds[links.n] = identities[i].kind;
			links.values[links.n++] = identities[i].value;
		}
	as_extension_write(write_links, &links);
	if (elsewhere == 0)
		return result;

	/*
	 * direct_conflict = merge: the user being written survives. One command
	 * cannot write its row twice, so this UPDATE writes the row without the
	 * new identities (fid and agent_id empty, primary_address as before) and
	 * keeps version as it was; the AFTER UPDATE trigger, which fires only for
	 * an unchanged version, then runs user_upsert() to merge the owners in,
	 * which adds the one version of this write.
	 */
	IdentityColumns wanted{same_text(before.fid, nu.values.fid) ? nullptr : nu.values.fid,
	                       same_text(before.wallet, nu.values.wallet) ? nullptr : nu.values.wallet,
	                       same_text(before.agent, nu.values.agent) ? nullptr : nu.values.agent};
	int reset_cols[4];
	Datum reset_values[4];
	bool reset_nulls[4];
	int nreset = 0;
	reset_cols[nreset] = c.version;
	reset_values[nreset] = old_version;
	reset_nulls[nreset++] = false;
	if (wanted.fid) { /* the old fid was unlinked above */
		reset_cols[nreset] = c.fid;
		reset_values[nreset] = (Datum) 0;
		reset_nulls[nreset++] = true;
	}
	if (wanted.agent) {
		reset_cols[nreset] = c.agent_id;
		reset_values[nreset] = (Datum) 0;
		reset_nulls[nreset++] = true;
	}
	if (wanted.wallet) { /* the old primary address stays linked */
		reset_cols[nreset] = c.primary_address;
		reset_values[nreset] = heap_getattr(old_tuple, c.primary_address, desc, &reset_nulls[nreset]);
		nreset++;
	}
	result = heap_modify_tuple_by_cols(result, desc, nreset, reset_cols, reset_values, reset_nulls);
	remember_pending_merge(user_id, wanted, trigger_mark);
	return result;
}

/* users AFTER UPDATE, for rows whose version did not move: finish a pending merge. */
void
users_after_update(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	UserColumns c = user_columns(desc);
	const char *user_id = column_text(trigger->tg_newtuple, desc, c.id);
	IdentityColumns wanted;
	LockMark mark;
	if (!take_pending_merge(user_id, &wanted, &mark))
		return;
	give_back_identity_locks(mark);
	StringInfoData s;
	initStringInfo(&s);
	appendStringInfoString(&s, "{\"id\": ");
	escape_json(&s, user_id);
	if (wanted.fid)
		appendStringInfo(&s, ", \"fid\": %s", wanted.fid);
	if (wanted.wallet) {
		appendStringInfoString(&s, ", \"primary_address\": ");
		escape_json(&s, wanted.wallet);
	}
	if (wanted.agent) {
		appendStringInfoString(&s, ", \"agent_id\": ");
		escape_json(&s, wanted.agent);
	}
	appendStringInfoChar(&s, '}');
	(void) run_upsert_in_trigger(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data))));
}

/* --- identities -------------------------------------------------------- */

struct IdentityColumnsOfRow {
	int kind, value, user_id, created_at;
};

/* The columns of an identities row, as text (nullptr when NULL). */
struct IdentityRow {
	char *kind, *value, *user_id;
};

IdentityColumnsOfRow
identity_columns(TupleDesc desc) {
	return IdentityColumnsOfRow{SPI_fnumber(desc, "kind"), SPI_fnumber(desc, "value"), SPI_fnumber(desc, "user_id"),
	                            SPI_fnumber(desc, "created_at")};
}

IdentityRow
read_identity_row(HeapTuple tuple, TupleDesc desc, const IdentityColumnsOfRow &c) {
	return IdentityRow{column_text(tuple, desc, c.kind), column_text(tuple, desc, c.value),
	                   column_text(tuple, desc, c.user_id)};
}

struct MirrorWrite {
	const char *user_id;
	const char *fid;
	const char *agent;
	const char *wallet;
};

void
write_mirrors(void *arg) {
	MirrorWrite *m = static_cast<MirrorWrite *>(arg);
	Datum args[4] = {CStringGetTextDatum(m->user_id), m->fid ? Int64GetDatum(strtoll(m->fid, nullptr, 10)) : 0,
	                 m->agent ? CStringGetTextDatum(m->agent) : 0, m->wallet ? CStringGetTextDatum(m->wallet) : 0};
	const char nulls[5] = {' ', m->fid ? ' ' : 'n', m->agent ? ' ' : 'n', m->wallet ? ' ' : 'n', '\0'};
	execute(Statement::SetMirrors, args, nulls, SPI_OK_UPDATE);
}

void
touch_user(void *user_id) {
	Datum arg = CStringGetTextDatum(static_cast<const char *>(user_id));
	execute(Statement::TouchUser, &arg, " ", SPI_OK_UPDATE);
}

/*
 * Writes a user's row after a direct change of its identities: the new
 * mirrors when they differ, else the same values as a new row version, which
 * is how a concurrent user_upsert() that locks the row learns that the
 * identities it read are stale (see LockUserWaiting in statements.cpp).
 */
void
write_user_after_identity_change(MirrorWrite &m, bool mirrors_changed) {
	if (mirrors_changed)
		as_extension_write(write_mirrors, &m);
	else
		as_extension_write(touch_user, const_cast<char *>(m.user_id));
}

/* The users row's mirror columns as the user record shows them. */
MirrorWrite
mirrors_of(const core::OwnerRecord &user, const char *user_id) {
	MirrorWrite m{user_id, nullptr, nullptr, nullptr};
	for (uint32 i = 0; i < user.nidentities; i++) {
		if (strcmp(user.identities[i].kind, "fid") == 0)
			m.fid = user.identities[i].value;
		else if (strcmp(user.identities[i].kind, "agent") == 0)
			m.agent = user.identities[i].value;
	}
	return m;
}

/* The stored primary_address of a locked user (from its to_jsonb row), or nullptr. */
const char *
primary_of(const core::OwnerRecord &user) {
	/* The row's tokens: find key "primary_address" and its string value. */
	for (uint32 i = 0; i + 1 < user.row.count; i++) {
		const core::Token &t = user.row.tokens[i];
		if (t.type == core::TokenType::Key && t.len == 15 && strncmp(t.str, "primary_address", 15) == 0) {
			const core::Token &v = user.row.tokens[i + 1];
			return v.type == core::TokenType::String ? pnstrdup(v.str, v.len) : nullptr;
		}
	}
	return nullptr;
}

/* The mirror columns a user's row holds now. */
MirrorWrite
current_mirrors(const core::OwnerRecord &user, const char *user_id) {
	MirrorWrite m = mirrors_of(user, user_id);
	m.wallet = primary_of(user);
	return m;
}

const char **
mirror_slot(MirrorWrite &m, const char *kind) {
	if (strcmp(kind, "fid") == 0)
		return &m.fid;
	if (strcmp(kind, "agent") == 0)
		return &m.agent;
	if (strcmp(kind, "wallet") == 0)
		return &m.wallet;
	return nullptr;
}

/* Clears the mirror of identity (kind, value) if it is there (a wallet: primary_address); true when it was. */
bool
drop_mirror(MirrorWrite &m, const char *kind, const char *value) {
	const char **slot = mirror_slot(m, kind);
	if (!slot || !same_text(*slot, value))
		return false;
	*slot = nullptr;
	return true;
}

/* Mirrors a linked fid or agent (wallets are not mirrored: primary_address is chosen); true when it changed. */
bool
add_mirror(MirrorWrite &m, const char *kind, const char *value) {
	if (strcmp(kind, "wallet") == 0)
		return false;
	const char **slot = mirror_slot(m, kind);
	if (!slot || same_text(*slot, value))
		return false;
	*slot = value;
	return true;
}

/* `tuple` with its value column replaced when normalization changed it. */
HeapTuple
with_normalized_value(HeapTuple tuple, TupleDesc desc, int value_column, const char *raw, const char *value) {
	if (strcmp(value, raw) == 0)
		return tuple;
	int cols[1] = {value_column};
	Datum datums[1] = {CStringGetTextDatum(value)};
	bool nulls[1] = {false};
	return heap_modify_tuple_by_cols(tuple, desc, 1, cols, datums, nulls);
}

/*
 * Locks the user an identity row points at (R before I); ereports when it is
 * not live, except that a deleted user keeps its external identities (7).
 */
core::OwnerRecord
lock_live_user(const char *user_id, bool *exists, const char *kind = nullptr) {
	core::OwnerRecord record{};
	bool merged = false, deleted = false;
	*exists = lock_user_waiting(user_id, record, &merged, &deleted);
	if (deleted && !merged && kind && strcmp(kind, "external") == 0)
		return record;
	if (*exists && (merged || deleted))
		ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
		                errmsg("user %s is %s", user_id, merged ? "merged into another user" : "deleted"),
		                errdetail("Identities can only be linked to a live user."),
		                errhint("Use user_upsert.user_lookup('id', …) to find the live user.")));
	return record;
}

/*
 * identities BEFORE INSERT: normalize, lock the user then the identity,
 * refuse a blocked value, a value another live user owns (or merge with
 * direct_conflict = merge), a second fid / agent / subject; an identity the
 * user already owns is a no-op. Mirrors are set here, before the row exists.
 */
HeapTuple
identities_before_insert(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	IdentityColumnsOfRow c = identity_columns(desc);
	HeapTuple tuple = trigger->tg_trigtuple;
	auto [kind, raw, user_id] = read_identity_row(tuple, desc, c);
	if (!kind || !raw || !user_id)
		return tuple; /* NOT NULL constraints report it */
	const char *value = normalize(kind, raw, "value");

	const LockMark trigger_mark = identity_locks_mark();
	const char *kinds[1] = {kind};
	const char *values[1] = {value};
	bool exists;
	core::OwnerRecord user = lock_live_user(user_id, &exists, kind);
	if (!exists) {
		/*
		 * The user may be a row another transaction inserted and has not
		 * committed, whose own links hold this identity's lock: wait for that
		 * lock, give it back (rows are locked before identities), and look
		 * again, so that its commit makes this a no-op instead of 23505.
		 */
		lock_pairs(kinds, values, 1);
		give_back_identity_locks(trigger_mark);
		user = lock_live_user(user_id, &exists, kind);
		if (!exists) {
			if (IsolationUsesXactSnapshot() && resolve_user(user_id, GetLatestSnapshot()).exists)
				serialization_failure("the user of this identity");
			return tuple; /* the foreign key reports it */
		}
	}
	lock_pairs(kinds, values, 1);
	core::PayloadIdentity identity{kind, value, "value"};
	IdentityLookupRows rows = owners_of(&identity, 1);
	if (rows.owner[0] && strcmp(rows.owner[0], user_id) == 0) {
		/* Already this user's: a no-op that keeps a supplied created_at, so restores give back the same rows. */
		bool isnull;
		Datum created_at = heap_getattr(tuple, c.created_at, desc, &isnull);
		if (!isnull) {
			Datum args[3] = {CStringGetTextDatum(kind), CStringGetTextDatum(value), created_at};
			execute(Statement::AdoptCreatedAt, args, "   ", SPI_OK_UPDATE);
		}
		return nullptr;
	}
	if (rows.owner[0]) {
		if (guc_direct_conflict != DIRECT_CONFLICT_MERGE || rows.deleted[0])
			owned_elsewhere(identity, rows.owner[0], rows.deleted[0], conflict_hint(rows.deleted[0], kMergeHint));
		link_merging_owner(trigger_mark, user_id, kind, value);
		return nullptr; /* the INSERT itself writes nothing */
	}
	check_one_per_user(user, user_id, identity);
	check_wallet_room(user, user_id, identity);

	MirrorWrite m = current_mirrors(user, user_id);
	write_user_after_identity_change(m, add_mirror(m, kind, value));
	return with_normalized_value(tuple, desc, c.value, raw, value);
}

/* identities BEFORE DELETE: the owner's mirror of the identity is cleared (primary_address too). */
HeapTuple
identities_before_delete(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	IdentityColumnsOfRow c = identity_columns(desc);
	HeapTuple tuple = trigger->tg_trigtuple;
	auto [kind, value, user_id] = read_identity_row(tuple, desc, c);

	core::OwnerRecord user{};
	bool merged = false, deleted = false;
	if (!lock_user_waiting(user_id, user, &merged, &deleted))
		return tuple; /* the user is being deleted: nothing to mirror */
	const char *kinds[1] = {kind};
	const char *values[1] = {value};
	lock_pairs(kinds, values, 1);

	MirrorWrite m = current_mirrors(user, user_id);
	bool changed = drop_mirror(m, kind, value);
	if (!merged)
		write_user_after_identity_change(m, changed);
	return tuple;
}

/*
 * identities BEFORE UPDATE: a new value is normalized and checked like an
 * insert; a new user_id moves the identity (UU001 when the target already
 * holds another fid, agent or subject of that provider). Both users' mirrors
 * follow.
 */
HeapTuple
identities_before_update(TriggerData *trigger) {
	TupleDesc desc = trigger->tg_relation->rd_att;
	IdentityColumnsOfRow c = identity_columns(desc);
	HeapTuple old_tuple = trigger->tg_trigtuple;
	HeapTuple tuple = trigger->tg_newtuple;
	auto [old_kind, old_value, old_user] = read_identity_row(old_tuple, desc, c);
	auto [kind, raw, user_id] = read_identity_row(tuple, desc, c);
	if (!kind || !raw || !user_id)
		return tuple;
	const char *value = normalize(kind, raw, "value");
	bool same_identity = strcmp(kind, old_kind) == 0 && strcmp(value, old_value) == 0;
	if (same_identity && strcmp(user_id, old_user) == 0)
		return tuple;

	const LockMark trigger_mark = identity_locks_mark();
	/* R for both users in uuid order, then I. */
	const char *first = strcmp(old_user, user_id) <= 0 ? old_user : user_id;
	const char *second = first == old_user ? user_id : old_user;
	core::OwnerRecord first_rec{}, second_rec{};
	bool exists;
	first_rec = lock_live_user(first, &exists);
	if (!exists)
		return tuple;
	bool second_exists = true;
	if (strcmp(first, second) != 0)
		second_rec = lock_live_user(second, &second_exists);
	else
		second_rec = first_rec;
	if (!second_exists)
		return tuple;
	core::OwnerRecord &target = strcmp(first, user_id) == 0 ? first_rec : second_rec;
	core::OwnerRecord &source = strcmp(first, old_user) == 0 ? first_rec : second_rec;

	const char *kinds[2] = {kind, old_kind};
	const char *values[2] = {value, old_value};
	lock_pairs(kinds, values, 2);
	core::PayloadIdentity identity{kind, value, "value"};
	if (!same_identity) {
		IdentityLookupRows rows = owners_of(&identity, 1);
		if (rows.owner[0]) {
			bool another_live_owner = !rows.deleted[0] && strcmp(rows.owner[0], user_id) != 0;
			if (!another_live_owner || guc_direct_conflict != DIRECT_CONFLICT_MERGE)
				owned_elsewhere(identity, rows.owner[0], rows.deleted[0],
				                conflict_hint(rows.deleted[0],
				                              another_live_owner ? kMergeHint
				                                                 : "Delete the existing identity first, or use user_upsert()."));
			/* The row's old identity goes first (its DELETE trigger keeps the mirrors); the UPDATE itself writes nothing. */
			Datum args[3] = {CStringGetTextDatum(old_kind), CStringGetTextDatum(old_value),
			                 CStringGetTextDatum(old_user)};
			execute(Statement::UnlinkIdentity, args, "   ", SPI_OK_DELETE);
			link_merging_owner(trigger_mark, user_id, kind, value);
			return nullptr;
		}
	}
	if (strcmp(user_id, old_user) != 0 || !same_identity) {
		const char *held = held_value(target, kind, value);
		if (held && !(strcmp(user_id, old_user) == 0 && strcmp(held, old_value) == 0))
			check_one_per_user(target, user_id, identity);
		if (strcmp(user_id, old_user) != 0 || strcmp(old_kind, "wallet") != 0) /* a wallet renamed in place adds none */
			check_wallet_room(target, user_id, identity);
	}

	/*
	 * The source loses the old identity's mirror, the target gains the new
	 * one's; a value changed in place is one write of its user (one version).
	 */
	if (strcmp(user_id, old_user) != 0) {
		MirrorWrite from = current_mirrors(source, old_user);
		write_user_after_identity_change(from, drop_mirror(from, old_kind, old_value));
	}
	if (strcmp(user_id, old_user) != 0 || !same_identity) {
		core::OwnerRecord fresh{};
		bool merged, deleted;
		(void) lock_user_waiting(user_id, fresh, &merged, &deleted); /* as the source's write left it */
		MirrorWrite to = current_mirrors(fresh, user_id);
		bool changed = false;
		if (strcmp(user_id, old_user) == 0)
			changed = drop_mirror(to, old_kind, old_value);
		changed = add_mirror(to, kind, value) || changed;
		write_user_after_identity_change(to, changed);
	}
	tuple = with_normalized_value(tuple, desc, c.value, raw, value);
	return tuple;
}

TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *name) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("%s was not called by the trigger manager", name)));
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	if (!TRIGGER_FIRED_FOR_ROW(trigger->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("%s must be a row trigger", name)));
	return trigger;
}

/* What the trigger manager expects back when the trigger stands aside. */
Datum
unchanged(TriggerData *trigger) {
	if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event))
		return PointerGetDatum(trigger->tg_newtuple);
	return PointerGetDatum(trigger->tg_trigtuple);
}

} // namespace

Datum
users_trigger(FunctionCallInfo fcinfo) {
	TriggerData *trigger = trigger_data(fcinfo, "user_upsert.users_trigger()");
	if (extension_is_writing())
		return unchanged(trigger);
	shed_identity_locks_if_many(); /* the rows before this one are written */
	int nest_level = pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	HeapTuple result = nullptr;
	uint32 event = trigger->tg_event;
	if (TRIGGER_FIRED_BEFORE(event) && TRIGGER_FIRED_BY_INSERT(event))
		result = users_before_insert(trigger);
	else if (TRIGGER_FIRED_BEFORE(event) && TRIGGER_FIRED_BY_UPDATE(event))
		result = users_before_update(trigger);
	else if (TRIGGER_FIRED_AFTER(event) && TRIGGER_FIRED_BY_INSERT(event))
		users_after_insert(trigger);
	else if (TRIGGER_FIRED_AFTER(event) && TRIGGER_FIRED_BY_UPDATE(event))
		users_after_update(trigger);
	/* SPI_finish frees SPI memory: the returned tuple must live in the caller's context. */
	if (result)
		result = SPI_copytuple(result);
	SPI_finish();
	unpin_search_path(nest_level);
	return result ? PointerGetDatum(result) : unchanged(trigger);
}

Datum
identities_trigger(FunctionCallInfo fcinfo) {
	TriggerData *trigger = trigger_data(fcinfo, "user_upsert.identities_trigger()");
	if (extension_is_writing())
		return TRIGGER_FIRED_BY_DELETE(trigger->tg_event) ? PointerGetDatum(trigger->tg_trigtuple)
		                                                  : unchanged(trigger);
	shed_identity_locks_if_many(); /* the rows before this one are written */
	int nest_level = pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	uint32 event = trigger->tg_event;
	HeapTuple result;
	if (TRIGGER_FIRED_BY_INSERT(event))
		result = identities_before_insert(trigger);
	else if (TRIGGER_FIRED_BY_UPDATE(event))
		result = identities_before_update(trigger);
	else
		result = identities_before_delete(trigger);
	if (result)
		result = SPI_copytuple(result);
	SPI_finish();
	unpin_search_path(nest_level);
	return PointerGetDatum(result);
}

namespace {

void
clear_all_mirrors(void *) {
	execute(Statement::ClearAllMirrors, nullptr, nullptr, SPI_OK_UPDATE);
}

} // namespace

/*
 * identities AFTER TRUNCATE: the mirror columns follow the identities they
 * mirror (DESIGN 2), so every user loses its fid, primary_address and
 * agent_id (a new version each). It fires after every table of the command
 * is emptied: with TRUNCATE users, identities or a cascade there is no
 * user left to write.
 */
Datum
identities_truncated(FunctionCallInfo fcinfo) {
	if (!CALLED_AS_TRIGGER(fcinfo) ||
	    !TRIGGER_FIRED_BY_TRUNCATE(reinterpret_cast<TriggerData *>(fcinfo->context)->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("user_upsert.identities_truncated() must be a TRUNCATE trigger")));
	int nest_level = pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	as_extension_write(clear_all_mirrors, nullptr);
	SPI_finish();
	unpin_search_path(nest_level);
	return PointerGetDatum(nullptr);
}

/*
 * blocked_identities BEFORE INSERT OR UPDATE: values are compared with
 * normalized identities, so a block is stored normalized (DESIGN 2, 3) or
 * refused (22023); a block spelled otherwise would never match. An unknown
 * kind is left to the table's CHECK constraint.
 */
Datum
blocked_identities_trigger(FunctionCallInfo fcinfo) {
	TriggerData *trigger = trigger_data(fcinfo, "user_upsert.blocked_identities_trigger()");
	HeapTuple tuple = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) ? trigger->tg_newtuple : trigger->tg_trigtuple;
	TupleDesc desc = trigger->tg_relation->rd_att;
	int kind_column = SPI_fnumber(desc, "kind"), value_column = SPI_fnumber(desc, "value");
	const char *kind = SPI_getvalue(tuple, desc, kind_column);
	const char *raw = SPI_getvalue(tuple, desc, value_column);
	if (!kind || !raw ||
	    (strcmp(kind, "fid") != 0 && strcmp(kind, "wallet") != 0 && strcmp(kind, "agent") != 0 &&
	     strcmp(kind, "external") != 0))
		return PointerGetDatum(tuple);
	return PointerGetDatum(with_normalized_value(tuple, desc, value_column, raw, normalize(kind, raw, "value")));
}

} // namespace uu::pg
