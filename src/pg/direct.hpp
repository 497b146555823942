/*
 * direct.hpp
 *	  Lock-free reads of the extension's tables straight through their
 *	  indexes (index_beginscan, as amcheck and the catalog code read), without
 *	  the executor: the read-only paths (user_ensure() when the user exists,
 *	  user_lookup()) and every call's owner lookup pay one B-tree probe per
 *	  key instead of one SPI statement.
 *	  Every read is under the snapshot the caller passes and takes only
 *	  AccessShareLock on the relations, as a plain SELECT does; the row locks
 *	  (RowLock) take RowShareLock, as FOR UPDATE does. Include after
 *	  postgres.h; every function can ereport.
 *
 * IDENTIFICATION
 *	  src/pg/direct.hpp
 */
#pragma once

#include "core/call.hpp"

extern "C" {
#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "utils/uuid.h"
}

namespace uu::pg {

/*
 * A run of direct reads under one snapshot, the one SPI would give a VOLATILE
 * function's next statement, or a copy of `snapshot` when given, as
 * SPI_execute_snapshot() would use it (pushed as the active snapshot until
 * end_direct_reads()). Each index a run probes is opened once and rescanned
 * for every key.
 */
struct DirectReader;
DirectReader *begin_direct_reads(Snapshot snapshot = nullptr);
void end_direct_reads(DirectReader *reader);

/* The user linked to (kind, value), as uuid text, or nullptr. */
char *direct_identity_owner(const char *kind, const char *value, DirectReader *reader);
/* The same, binary: false when (kind, value) is nobody's. */
bool direct_identity_owner_id(const char *kind, const char *value, DirectReader *reader, pg_uuid_t *owner);

/* The reason (kind, value) is in blocked_identities, or nullptr. */
char *direct_blocked_reason(const char *kind, const char *value, DirectReader *reader);

enum class DirectFetch {
	Missing,     /* no such user */
	Found,       /* record filled */
	Unsupported, /* a column of a type the direct reader does not convert: use SQL */
};

/*
 * The users row `id` as to_jsonb() gives it, with its identities (the shape
 * FetchUser gives), and whether it is merged or deleted.
 */
struct DirectUser {
	char *id;
	pg_uuid_t uuid; /* the same id, binary */
	core::OwnerRecord record;
	bool merged;
	bool deleted;
	ItemPointerData locked_row; /* direct_lock_user(): the version locked */
};
DirectFetch direct_fetch_user(const char *id, DirectReader *reader, DirectUser &user);

/*
 * The same for the row version at `tid` (one the caller holds locked, so
 * that it is the newest): no index probe. Missing when the reader's snapshot
 * does not see it.
 */
DirectFetch direct_fetch_user_at(ItemPointer tid, DirectReader *reader, DirectUser &user);

/*
 * The user whose mirror column (fid, agent_id) holds the identity `value`:
 * one probe of that column's unique index instead of two. Missing for other
 * kinds and when no row holds it (the identities row decides then). The
 * mirrors are written in the same transaction as the identities rows, so one
 * snapshot sees both or neither; user_verify() reports a mirror that differs.
 */
DirectFetch direct_fetch_user_by_mirror(const char *kind, const char *value, DirectReader *reader,
                                        DirectUser &user);

/*
 * Waits while another transaction is inserting or deleting the identities row
 * (kind, value) (a dirty probe of its primary key, as a unique check does).
 * For the triggers: a batch gives its identity locks back before it commits.
 */
void wait_for_uncommitted_identity(const char *kind, const char *value);

/*
 * The transaction inserting or deleting the identities row (kind, value)
 * right now (a dirty probe), or InvalidTransactionId.
 */
TransactionId direct_identity_in_progress(const char *kind, const char *value);

/*
 * Waits for `xid`, or the innermost open (sub)transaction it belongs to, to
 * end; a wait the deadlock detector ends counts as over. The caller looks
 * again at what it waited for.
 */
bool waited_for_transaction(TransactionId xid);

/*
 * Row locks that never wait, for callers holding identity locks (rule 3 of
 * locking.cpp): FOR UPDATE SKIP LOCKED as the executor takes it, except that
 * no wait hides in following an update chain (see direct.cpp). They check
 * the caller's UPDATE privilege, as FOR UPDATE does, and refuse row security.
 */
enum class RowLock {
	Locked,
	Busy, /* another transaction holds the row */
	Gone, /* no version visible, deleted meanwhile, or changed by this command */
};

/*
 * The users row `id`, locked at its newest version (found from `seen`, a
 * version of it a read found, when valid, else through users_pkey); when
 * Locked, `read` says whether `user` was filled (Unsupported: read it with
 * SQL), under a snapshot taken after the lock, which sees the identities that
 * version goes with.
 */
RowLock direct_lock_user(const char *id, ItemPointerData seen, DirectUser &user, DirectFetch &read);

/*
 * The users row versions `tids` (versions a read found), each locked at its
 * newest version unless busy or gone; how many, with each locked row's id and
 * version in `ids` and `locked`.
 */
uint32 direct_lock_user_versions(const ItemPointerData *tids, uint32 n, pg_uuid_t *ids, ItemPointerData *locked);

/*
 * The identities rows of user `id`, each locked unless busy; how many are
 * locked and still its own. Fewer than the user has means a direct write of
 * one of them is waiting (its row locked) for the user's row.
 */
uint32 direct_lock_identity_rows(const char *id);

/* `uuid` spelled as uuid_out spells it. */
char *uuid_text(const pg_uuid_t *uuid);

/* A users row's id and where it leads. */
struct UserStatus {
	pg_uuid_t id;
	bool merged;
	pg_uuid_t merged_into; /* when merged */
	bool deleted;
	ItemPointerData row; /* the version read */
};

/* Whether user `id` exists, and its status. */
bool direct_user_status(const pg_uuid_t *id, DirectReader *reader, UserStatus *status);

/* Where user `id` leads along merged_into: the live end of its merge chain. */
struct MergeChainEnd {
	bool exists;              /* `id` is a user */
	bool deleted;             /* the end is deleted */
	pg_uuid_t live;           /* the end's id (`id` itself when it is no user) */
	ItemPointerData live_row; /* the end's row version read */
};
/* `known`, when given, is id's own status, read with the probe that found it. */
MergeChainEnd direct_follow_merges(const pg_uuid_t *id, DirectReader *reader, const UserStatus *known = nullptr);

/*
 * The status of the user whose mirror column (fid, agent_id) holds `value`
 * (one probe of that column's unique index); false for other kinds and when
 * no row holds it (the identities row decides then).
 */
bool direct_mirror_owner(const char *kind, const char *value, DirectReader *reader, UserStatus *status);

/*
 * A users row given as a composite datum (a query's "u" column) as to_jsonb()
 * spells it, without to_jsonb()'s per-column type lookups; false when a
 * column's type is not one the direct reader converts.
 */
bool composite_row_tokens(Datum composite, core::TokenSpan *out);

/* The same for the row in `slot`. */
bool slot_row_tokens(TupleTableSlot *slot, core::TokenSpan *out);

/* user_upsert.users and user_upsert.identities, as the direct reads find them. */
Oid users_relation();
Oid identities_relation();

/* Whether `relid` is users or identities, as far as this backend knows them already (no catalog lookup, no error). */
bool is_user_upsert_table(Oid relid);

/*
 * Row security has no meaning for the extension's reads and writes that skip
 * the executor's planning: a table that enforces it for the caller is
 * refused (0A000) rather than read or written past its policies.
 */
void refuse_row_security(Relation heap);
[[noreturn]] void refuse_row_security_of(const char *table);

/* Every column of users (of the table described by `desc`) is of a type composite_row_tokens() converts. */
bool users_columns_convertible();
bool columns_convertible(TupleDesc desc);

} // namespace uu::pg
