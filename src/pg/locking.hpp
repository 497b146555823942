/*
 * locking.hpp
 *	  Identity locks of the lock-order protocol (see locking.cpp). Include
 *	  after postgres.h.
 *
 * IDENTIFICATION
 *	  src/pg/locking.hpp
 */
#pragma once

#include <cstdint>

namespace uu::pg {

/* Position in this transaction's list of identity locks, to release back to. */
using LockMark = uint32_t;

LockMark identity_locks_mark();

/* Takes the identity locks for sorted, distinct `keys`, waiting; ereports on cancel or timeout. */
void lock_identities(const uint64_t *keys, uint32_t nkeys);

/*
 * lock_identities() for a single call: a wait for a busy lock that the
 * deadlock detector ends (a cycle with a batch, see locking.cpp) returns
 * false; the caller gives back what it holds and starts again. Inside
 * user_upsert_many() the error is raised, for the batch to start over.
 */
bool lock_identities_or_back_off(const uint64_t *keys, uint32_t nkeys);

/* Releases the identity locks taken since `mark` (the back-off step of the protocol). */
void release_identities_since(LockMark mark);

/*
 * user_upsert_many() releases each element's identity locks when the element
 * is done, so that a large batch neither exhausts the lock table nor blocks
 * unrelated calls. While such a batch is uncommitted, other calls may not see
 * what it wrote although they hold the identity locks: they then write in a
 * subtransaction and decide again if they lose the race. A batch announces
 * itself for its whole transaction; calls check for it after taking their
 * identity locks (any batch that touched those identities is still
 * announced until it commits).
 */
void announce_batch();

/*
 * Waits for, then holds until the transaction ends, the batch turn: one
 * user_upsert_many() at a time per database (see locking.cpp, "Batches").
 */
void take_batch_turn();
bool batch_running_elsewhere();

/*
 * Between two operations of a transaction (after a user_upsert() call,
 * before a trigger's row), when more than a bound of identity locks are held:
 * announce the transaction as a batch and give them all back, so that a
 * transaction of many calls or a multi-row direct write (a restore's COPY)
 * never fills the lock table. The writes they protected are done.
 */
void shed_identity_locks_if_many();

/* Registers the end-of-transaction release; called once from _PG_init. */
void register_identity_lock_cleanup();

} // namespace uu::pg
