/*
 * locking.cpp
 *	  The lock-order protocol of user_upsert.
 *
 *	  Two kinds of lock protect users:
 *
 *	  I  identity locks: one heavyweight advisory lock per identity a call
 *	     touches (kind + normalized value, and "id" + uuid for a payload id),
 *	     keyed by a 64-bit hash in a locktag space SQL cannot reach (advisory
 *	     field4 = 3; pg_advisory_lock uses 1 and 2). They serialize every
 *	     decision about who owns an identity: whoever holds I(x) sees every
 *	     committed change to x's owner, so "look up, then insert" cannot race.
 *	     They are taken as session locks so that the back-off below can give
 *	     them up early, and they are released at commit or abort by a
 *	     transaction callback, after the commit is visible to others.
 *
 *	  R  row locks on user_upsert.users (FOR UPDATE), taken on every live
 *	     owner a call will read as its decision's input or write.
 *
 *	  The rules:
 *	   1. A call takes all its I locks first, in ascending key order, holding
 *	      no R lock of its own.
 *	   2. It then looks up the owners and tries their R locks in ascending uuid
 *	      order with SKIP LOCKED, stopping at the first busy row. The tries go
 *	      through the table access method (direct_lock_user()), not SQL's FOR
 *	      UPDATE SKIP LOCKED, which still waits for the locker of a newer row
 *	      version when it follows an update chain. With more than
 *	      one owner the tries run in a subtransaction, so a busy row lets the
 *	      call give back the rows it already locked.
 *	      When it will move or unlink identities (a merge), it then locks the
 *	      owners' identities rows the same way: a direct DELETE or UPDATE of
 *	      an identities row holds that row before its trigger waits for the
 *	      user's row, so a busy one counts as a busy owner.
 *	   3. It never waits for an R lock while holding a lock of its own: when a
 *	      row is busy it gives back its R locks (subtransaction rollback) and
 *	      its I locks (released early), waits for the busy row in a
 *	      subtransaction that it rolls back at once, and starts again at 1.
 *	   4. Writes happen only with all the call's I and R locks held, and the
 *	      locks stay until the transaction ends.
 *
 *	  Why no deadlock: a waits-for cycle needs every member to hold a lock
 *	  while it waits. A call waits in two places only. In rule 1 it holds only
 *	  I locks and waits for an I lock with a greater key, so the I waits of
 *	  calls follow one global order and cannot close a cycle by themselves. In
 *	  rule 3 it holds nothing, so it cannot be part of a cycle. Any other
 *	  waiter that holds an R lock and waits for I (the triggers of a direct
 *	  UPDATE, which hold the row before they run) waits for an I holder, and I
 *	  holders never wait for R: the chain ends. So the extension's own paths
 *	  cannot deadlock with each other.
 *
 *	  Triggers and user.deleted take R first (a direct UPDATE's executor has
 *	  already locked the row) and I after it; they wait for R holding at most
 *	  the row the statement itself locked, and merge-mode triggers give back
 *	  their I locks before they call user_upsert().
 *
 *	  Batches: user_upsert_many() holds the rows it wrote until its transaction
 *	  ends, so it is not "holding nothing" when a later element waits for a
 *	  row. Two batches could wait for each other's rows; so a batch first
 *	  takes the batch turn (advisory field4 = 5, exclusive, until its
 *	  transaction ends): one batch runs at a time per database, and single
 *	  calls, which hold nothing when they wait, cannot close a cycle with it.
 *	  Its identity locks are given back after each chunk of elements (see
 *	  announce_batch() in locking.hpp), so single calls are not held up for
 *	  the length of the batch.
 *
 *	  What a batch gives back early is a hazard for the others: an identity
 *	  it linked is invisible until it commits, yet unlocked. So while a batch
 *	  runs, a single call looks for such a write (a dirty probe of
 *	  identities_pkey) right after taking its I locks and, if it finds one,
 *	  gives its locks back, waits for that transaction holding nothing (as in
 *	  rule 3) and starts again; a trigger, which holds its row, waits for it
 *	  the same way before deciding. Both wait for the innermost open
 *	  subtransaction of the batch around that write (waited_for_transaction()),
 *	  not its top level, so that the batch's restart ends the wait. Cycles that remain (a wait PostgreSQL's
 *	  detector ends) are waited again or backed off by single calls and
 *	  triggers; a batch rolls back and runs again, checking for deadlock
 *	  after 20 ms for its first restarts so that it is the victim while a
 *	  restart can help (many.cpp).
 *
 *	  Limit: a transaction that calls user_upsert() several times keeps the
 *	  locks of its earlier calls until it ends, so a later call is no longer
 *	  "holding nothing" in rule 3; a cycle with another such transaction is
 *	  then possible and PostgreSQL's deadlock detector breaks it (40P01).
 *	  Single-call transactions, the normal case, cannot deadlock.
 *
 *	  Under REPEATABLE READ and SERIALIZABLE the owner lookup is also run
 *	  against the latest snapshot; a difference means a concurrent commit the
 *	  transaction cannot see, reported as 40001 (like ri_triggers.c's
 *	  crosscheck). FOR UPDATE itself reports a concurrently updated row as 40001.
 *
 * IDENTIFICATION
 *	  src/pg/locking.cpp
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
}

#include "pg/locking.hpp"
#include "pg/lookups.hpp"

namespace uu::pg {

namespace {

/* Identity locks this transaction holds, in the order taken; lives in TopMemoryContext. */
LOCKTAG *held_locks = nullptr;
uint32 nheld = 0;
uint32 held_capacity = 0;

/* Advisory locktag field4 for identity locks: SQL's advisory functions use 1 and 2. */
constexpr uint16 kIdentityLockSpace = 3;

void
ensure_capacity(uint32 needed) {
	if (needed <= held_capacity)
		return;
	uint32 capacity = held_capacity ? held_capacity : 64;
	while (capacity < needed)
		capacity *= 2;
	held_locks = static_cast<LOCKTAG *>(held_locks ? repalloc(held_locks, sizeof(LOCKTAG) * capacity)
	                                               : MemoryContextAlloc(TopMemoryContext, sizeof(LOCKTAG) * capacity));
	held_capacity = capacity;
}

void
release_down_to(uint32 mark) {
	while (nheld > mark) {
		nheld--;
		LockRelease(&held_locks[nheld], ExclusiveLock, true);
	}
}

void
at_transaction_end(XactEvent event, void *) {
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_COMMIT:
	case XACT_EVENT_PARALLEL_ABORT:
		release_down_to(0);
		break;
	case XACT_EVENT_PRE_PREPARE:
		if (nheld > 0)
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("cannot PREPARE a transaction that has called user_upsert functions")));
		break;
	default: break;
	}
}

/* Advisory field4 of the "a batch is running" lock, apart from the identity locks' 3. */
constexpr uint16 kBatchLockSpace = 4;

void
set_batch_tag(LOCKTAG *tag) {
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, kBatchLockSpace);
}

/* Advisory field4 of the batch turn: one user_upsert_many() at a time. */
constexpr uint16 kBatchTurnSpace = 5;

} // namespace

void
take_batch_turn() {
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, kBatchTurnSpace);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
announce_batch() {
	LOCKTAG tag;
	set_batch_tag(&tag);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

bool
batch_running_elsewhere() {
	LOCKTAG tag;
	set_batch_tag(&tag);
	LockAcquireResult result = LockAcquireExtended(&tag, ExclusiveLock, false, true, false, nullptr);
	if (result == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, false);
	return false;
}

/* Identity locks a transaction keeps before it switches to batch mode. */
constexpr uint32 kMaxHeldIdentityLocks = 256;

void
shed_identity_locks_if_many() {
	if (nheld <= kMaxHeldIdentityLocks)
		return;
	announce_batch();
	release_down_to(0);
}

LockMark
identity_locks_mark() {
	return nheld;
}

namespace {

bool
acquire_waiting(void *tag) {
	(void) LockAcquire(static_cast<const LOCKTAG *>(tag), ExclusiveLock, true, false);
	return true;
}

/*
 * Takes the identity locks of `keys` in order. With back_off, a busy lock is
 * waited for in a subtransaction, so that a wait the deadlock detector ends
 * returns false instead of failing the call (outside a batch).
 */
bool
take_identity_locks(const uint64_t *keys, uint32_t nkeys, bool back_off) {
	ensure_capacity(nheld + nkeys);
	for (uint32 i = 0; i < nkeys; i++) {
		LOCKTAG tag;
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(keys[i] >> 32), static_cast<uint32>(keys[i]),
		                     kIdentityLockSpace);
		if (!back_off)
			(void) LockAcquire(&tag, ExclusiveLock, true, false);
		else if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL) {
			if (ErrorData *error = in_subtransaction(acquire_waiting, &tag)) {
				if (error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED || batch_call_running())
					ReThrowError(error);
				return false;
			}
		}
		held_locks[nheld++] = tag;
	}
	return true;
}

} // namespace

void
lock_identities(const uint64_t *keys, uint32_t nkeys) {
	(void) take_identity_locks(keys, nkeys, false);
}

bool
lock_identities_or_back_off(const uint64_t *keys, uint32_t nkeys) {
	return take_identity_locks(keys, nkeys, true);
}

void
release_identities_since(LockMark mark) {
	release_down_to(mark);
}

void
register_identity_lock_cleanup() {
	RegisterXactCallback(at_transaction_end, nullptr);
}

} // namespace uu::pg
