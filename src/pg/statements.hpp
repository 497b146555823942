/*
 * statements.hpp
 *	  Every SQL statement the extension runs through SPI, as a fixed catalogue
 *	  of saved plans. Include after postgres.h.
 *
 * IDENTIFICATION
 *	  src/pg/statements.hpp
 */
#pragma once

extern "C" {
#include "executor/spi.h"
}

namespace uu::pg {

enum class Statement {
	WaitForUser,      /* FOR UPDATE, waiting */
	FetchUser,        /* to_jsonb(row), merged_into, deleted, identities, with a new snapshot */
	InsertUser,
	UpdateUser,
	LinkIdentities,
	TombstoneUser,  /* a merge loser: merged_into set, mirrors cleared, version + 1 */
	MoveIdentities, /* every identity of a loser to the survivor */
	RecordMerge,    /* the audit row in user_upsert.merges */
	NotifyMerge,    /* NOTIFY user_upsert_merge */
	LockUserWaiting, /* FOR UPDATE, waiting (the triggers' row-first order): row, merged_into, deleted, identities, identities current */
	UnlinkIdentity,  /* DELETE one identity of one user */
	AdoptCreatedAt,  /* a re-inserted identity keeps the created_at it is given */
	SetMirrors,      /* fid, agent_id, primary_address of a user after a direct identity write */
	TouchUser,       /* a new version of a user's row whose identities changed but not its columns */
	LedgerFind,      /* the recorded result of a webhook event, its type and the Clerk id of its user */
	LedgerRecord,    /* record a webhook event's result */
	EraseUser,       /* user.deleted: personal fields erased, mirrors freed, deleted_at set */
	UnlinkFreeable,  /* user.deleted: every identity but the external ones */
	EraseMerged,     /* user.deleted: the personal fields of the rows merged into the user, through chains */
	MirrorOwner,     /* a user whose fid, primary_address or agent_id column holds one of these values */
	WaitForIdentityRows, /* FOR UPDATE on a user's identities rows, waiting */
	BulkInsertUsers,     /* InsertUser for many rows, ids given, rows returned as composites */
	BulkLinkIdentities,  /* LinkIdentities with one user id per identity */
	ClearAllMirrors,     /* after TRUNCATE identities: no user keeps a fid, primary_address or agent_id */
	Count_
};

/*
 * The saved plan of `statement`, prepared with SPI_prepare + SPI_keepplan on
 * first use in this backend. Must run inside SPI_connect; ereports on failure.
 */
SPIPlanPtr plan_for(Statement statement);

/* SPI_execute_plan, checking the return code; `snapshot` non-null runs it under that snapshot. */
void execute(Statement statement, Datum *values, const char *nulls, int expected, Snapshot snapshot = nullptr);

} // namespace uu::pg
