/*
 * statements.cpp
 *	  The SQL catalogue. Every name is schema-qualified, operators included, so
 *	  a saved plan re-parsed under a caller's search_path means the same thing.
 *	  Lookups are LATERAL single-key probes so even a plan made while the tables
 *	  were empty stays an index scan.
 *
 * IDENTIFICATION
 *	  src/pg/statements.cpp
 */
extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

#include "pg/statements.hpp"

namespace uu::pg {

namespace {

struct StatementText {
	Statement statement; /* its own index, checked at compile time */
	const char *sql;
	int nargs;
	Oid argtypes[11];
};

constexpr StatementText kStatements[] = {
    /* WaitForUser($1 id) */
    {Statement::WaitForUser, "SELECT 1 FROM user_upsert.users u WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid FOR UPDATE OF u",
     1,
     {TEXTOID}},
    /* FetchUser($1 id) */
    {Statement::FetchUser, "SELECT pg_catalog.to_jsonb(u.*), u.merged_into::pg_catalog.text, u.deleted_at IS NOT NULL, "
     "       ARRAY(SELECT i.kind OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) i.value "
     "               FROM user_upsert.identities i WHERE i.user_id OPERATOR(pg_catalog.=) u.id "
     "              ORDER BY i.kind, i.value) "
     "  FROM user_upsert.users u WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid",
     1,
     {TEXTOID}},
    /* InsertUser($1 id or NULL, $2 kind, $3 fid, $4 primary_address, $5 agent_id, $6 email, $7 username,
     *            $8 display_name, $9 avatar_url, $10 attrs, $11 observed_at) */
    {Statement::InsertUser, "INSERT INTO user_upsert.users AS u (id, kind, fid, primary_address, agent_id, email, username, "
     "       display_name, avatar_url, attrs, observed_at, created_at, updated_at, version) "
     "VALUES (COALESCE($1::pg_catalog.uuid, pg_catalog.gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, "
     "        $11, pg_catalog.now(), pg_catalog.now(), 1) "
     "RETURNING pg_catalog.to_jsonb(u.*), u.id::pg_catalog.text",
     11,
     {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID}},
    /* UpdateUser: same parameters, $1 the id */
    {Statement::UpdateUser, "UPDATE user_upsert.users AS u SET kind = $2, fid = $3, primary_address = $4, agent_id = $5, email = $6, "
     "       username = $7, display_name = $8, avatar_url = $9, attrs = $10, observed_at = $11, "
     "       updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     " WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid "
     "RETURNING pg_catalog.to_jsonb(u.*), u.id::pg_catalog.text",
     11,
     {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID}},
    /* LinkIdentities($1 kinds, $2 values, $3 user id, $4 created_at or NULL for now()) */
    {Statement::LinkIdentities, "INSERT INTO user_upsert.identities (kind, value, user_id, created_at) "
     "SELECT k.kind, k.value, $3::pg_catalog.uuid, COALESCE($4, pg_catalog.now()) "
     "  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS k(kind, value) "
     "    ON CONFLICT DO NOTHING",
     4,
     {TEXTARRAYOID, TEXTARRAYOID, TEXTOID, TIMESTAMPTZOID}},
    /* TombstoneUser($1 loser, $2 survivor) */
    {Statement::TombstoneUser, "UPDATE user_upsert.users AS u SET merged_into = $2::pg_catalog.uuid, fid = NULL, primary_address = NULL, "
     "       agent_id = NULL, updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     " WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid",
     2,
     {TEXTOID, TEXTOID}},
    /* MoveIdentities($1 loser, $2 survivor) */
    {Statement::MoveIdentities, "UPDATE user_upsert.identities AS i SET user_id = $2::pg_catalog.uuid "
     " WHERE i.user_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid",
     2,
     {TEXTOID, TEXTOID}},
    /* RecordMerge($1 survivor, $2 loser, $3 moved, $4 snapshot, $5 payload) */
    {Statement::RecordMerge, "INSERT INTO user_upsert.merges (survivor_id, merged_id, moved, snapshot, payload, merged_at) "
     "VALUES ($1::pg_catalog.uuid, $2::pg_catalog.uuid, $3, $4, $5, pg_catalog.now())",
     5,
     {TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID}},
    /* NotifyMerge($1 payload text) */
    {Statement::NotifyMerge, "SELECT pg_catalog.pg_notify('user_upsert_merge'::pg_catalog.text, $1)", 1, {TEXTOID}},
    /*
     * LockUserWaiting($1 id): FOR UPDATE, waiting: the row as locked (re-read
     * at its newest version if it was updated since the statement's
     * snapshot), its identities as of that snapshot, and whether the two
     * agree: every change of a user's identities also writes the user's row,
     * so an unchanged row version means the identities are current; otherwise
     * read them again (FetchUser).
     */
    {Statement::LockUserWaiting, "SELECT pg_catalog.to_jsonb(u.*), u.merged_into::pg_catalog.text, u.deleted_at IS NOT NULL, "
     "       ARRAY(SELECT i.kind OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) i.value "
     "               FROM user_upsert.identities i WHERE i.user_id OPERATOR(pg_catalog.=) u.id "
     "              ORDER BY i.kind, i.value), "
     "       u.xmin OPERATOR(pg_catalog.=) (SELECT v.xmin FROM user_upsert.users v "
     "                                        WHERE v.id OPERATOR(pg_catalog.=) u.id) "
     "  FROM user_upsert.users u WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid FOR UPDATE OF u",
     1,
     {TEXTOID}},
    /* UnlinkIdentity($1 kind, $2 value, $3 user id) */
    {Statement::UnlinkIdentity, "DELETE FROM user_upsert.identities i WHERE i.kind OPERATOR(pg_catalog.=) $1 "
     "   AND i.value OPERATOR(pg_catalog.=) $2 AND i.user_id OPERATOR(pg_catalog.=) $3::pg_catalog.uuid",
     3,
     {TEXTOID, TEXTOID, TEXTOID}},
    /* AdoptCreatedAt($1 kind, $2 value, $3 created_at) */
    {Statement::AdoptCreatedAt, "UPDATE user_upsert.identities i SET created_at = $3 "
     " WHERE i.kind OPERATOR(pg_catalog.=) $1 AND i.value OPERATOR(pg_catalog.=) $2 "
     "   AND i.created_at OPERATOR(pg_catalog.<>) $3",
     3,
     {TEXTOID, TEXTOID, TIMESTAMPTZOID}},
    /* SetMirrors($1 id, $2 fid, $3 agent_id, $4 primary_address) */
    {Statement::SetMirrors, "UPDATE user_upsert.users u SET fid = $2, agent_id = $3, primary_address = $4, "
     "       updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     " WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid",
     4,
     {TEXTOID, INT8OID, TEXTOID, TEXTOID}},
    /* TouchUser($1 id): a new row version with the same values, for identity changes that leave the row as it is */
    {Statement::TouchUser, "UPDATE user_upsert.users u SET version = u.version WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid",
     1,
     {TEXTOID}},
    /* LedgerFind($1 event_id) */
    {Statement::LedgerFind, "SELECT e.result, e.type, "
     "       e.result OPERATOR(pg_catalog.->) 'user' OPERATOR(pg_catalog.->) 'external' OPERATOR(pg_catalog.->>) 'clerk' "
     "  FROM user_upsert.events e WHERE e.event_id OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
    /* LedgerRecord($1 event_id, $2 type, $3 result) */
    {Statement::LedgerRecord, "INSERT INTO user_upsert.events (event_id, type, result, received_at) VALUES ($1, $2, $3, pg_catalog.now()) "
     "    ON CONFLICT (event_id) DO NOTHING",
     3,
     {TEXTOID, TEXTOID, JSONBOID}},
    /* EraseUser($1 id, $2 observed_at) */
    {Statement::EraseUser, "UPDATE user_upsert.users AS u SET email = NULL, username = NULL, display_name = NULL, avatar_url = NULL, "
     "       attrs = '{}'::pg_catalog.jsonb, fid = NULL, primary_address = NULL, agent_id = NULL, "
     "       deleted_at = pg_catalog.now(), observed_at = GREATEST(u.observed_at, $2), "
     "       updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     " WHERE u.id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid "
     "RETURNING pg_catalog.to_jsonb(u.*), u.id::pg_catalog.text",
     2,
     {TEXTOID, TIMESTAMPTZOID}},
    /* UnlinkFreeable($1 id) */
    {Statement::UnlinkFreeable, "DELETE FROM user_upsert.identities i WHERE i.user_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid "
     "   AND i.kind OPERATOR(pg_catalog.<>) 'external'::pg_catalog.text",
     1,
     {TEXTOID}},
    /* EraseMerged($1 id) */
    {Statement::EraseMerged, "WITH RECURSIVE merged(id) AS ("
     "    SELECT t.id FROM user_upsert.users t WHERE t.merged_into OPERATOR(pg_catalog.=) $1::pg_catalog.uuid "
     "  UNION "
     "    SELECT t.id FROM user_upsert.users t JOIN merged m ON t.merged_into OPERATOR(pg_catalog.=) m.id) "
     "UPDATE user_upsert.users AS u SET email = NULL, username = NULL, display_name = NULL, avatar_url = NULL, "
     "       attrs = '{}'::pg_catalog.jsonb, updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     "  FROM merged m WHERE u.id OPERATOR(pg_catalog.=) m.id "
     "   AND (u.email IS NOT NULL OR u.username IS NOT NULL OR u.display_name IS NOT NULL OR u.avatar_url IS NOT NULL "
     "        OR u.attrs OPERATOR(pg_catalog.<>) '{}'::pg_catalog.jsonb)",
     1,
     {TEXTOID}},
    /*
     * MirrorOwner($1 fid, $2 primary_address, $3 agent_id): rows a multi-row
     * INSERT wrote before this one have their identities linked only by the
     * AFTER trigger at the end of the statement, but their columns are visible.
     */
    {Statement::MirrorOwner,
     "SELECT u.id::pg_catalog.text FROM user_upsert.users u "
     " WHERE u.fid OPERATOR(pg_catalog.=) $1 OR u.primary_address OPERATOR(pg_catalog.=) $2 "
     "    OR u.agent_id OPERATOR(pg_catalog.=) $3 LIMIT 1",
     3,
     {INT8OID, TEXTOID, TEXTOID}},
    /* WaitForIdentityRows($1 user id): waits for the row locks of a user's identities */
    {Statement::WaitForIdentityRows,
     "SELECT 1 FROM user_upsert.identities i WHERE i.user_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid "
     "   FOR UPDATE OF i",
     1,
     {TEXTOID}},
    /* BulkInsertUsers($1 ids, $2 kinds, $3 fids, ... $11 observed_at: InsertUser's columns as arrays) */
    {Statement::BulkInsertUsers,
     "INSERT INTO user_upsert.users AS u (id, kind, fid, primary_address, agent_id, email, username, "
     "       display_name, avatar_url, attrs, observed_at, created_at, updated_at, version) "
     "SELECT v.id, v.kind, v.fid, v.primary_address, v.agent_id, v.email, v.username, "
     "       v.display_name, v.avatar_url, v.attrs, v.observed_at, pg_catalog.now(), pg_catalog.now(), 1 "
     "  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
     "                  pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
     "                  pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9), "
     "                  pg_catalog.unnest($10), pg_catalog.unnest($11)) "
     "       AS v(id, kind, fid, primary_address, agent_id, email, username, display_name, avatar_url, attrs, "
     "            observed_at) "
     "RETURNING u, u.id",
     11,
     {UUIDARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
      TEXTARRAYOID, JSONBARRAYOID, TIMESTAMPTZARRAYOID}},
    /* BulkLinkIdentities($1 kinds, $2 values, $3 user ids): one owner per identity, created now() */
    {Statement::BulkLinkIdentities,
     "INSERT INTO user_upsert.identities (kind, value, user_id, created_at) "
     "SELECT k.kind, k.value, k.user_id::pg_catalog.uuid, pg_catalog.now() "
     "  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(kind, value, user_id) "
     "    ON CONFLICT DO NOTHING",
     3,
     {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID}},
    /* ClearAllMirrors */
    {Statement::ClearAllMirrors,
     "UPDATE user_upsert.users AS u SET fid = NULL, primary_address = NULL, agent_id = NULL, "
     "       updated_at = pg_catalog.now(), version = u.version OPERATOR(pg_catalog.+) 1 "
     " WHERE u.fid IS NOT NULL OR u.primary_address IS NOT NULL OR u.agent_id IS NOT NULL",
     0,
     {}},
};
static_assert(sizeof kStatements / sizeof kStatements[0] == static_cast<size_t>(Statement::Count_),
              "one SQL text per Statement");

constexpr bool
in_enum_order() {
	for (size_t i = 0; i < sizeof kStatements / sizeof kStatements[0]; i++)
		if (static_cast<size_t>(kStatements[i].statement) != i)
			return false;
	return true;
}
static_assert(in_enum_order(), "kStatements must list the statements in the order of enum Statement");

SPIPlanPtr saved_plans[static_cast<int>(Statement::Count_)];

} // namespace

SPIPlanPtr
plan_for(Statement statement) {
	int index = static_cast<int>(statement);
	if (saved_plans[index] == nullptr) {
		const StatementText &s = kStatements[index];
		/*
		 * Generic plans: every statement is a keyed probe or write whose plan
		 * does not depend on the values, and a custom plan would be made again
		 * on every call (the planner prices unnest() of an array parameter
		 * below its generic estimate, so the plan cache never switches).
		 */
		SPIPlanPtr plan = SPI_prepare_cursor(s.sql, s.nargs, const_cast<Oid *>(s.argtypes), CURSOR_OPT_GENERIC_PLAN);
		if (plan == nullptr)
			elog(ERROR, "SPI_prepare returned %s for user_upsert statement %d", SPI_result_code_string(SPI_result),
			     index);
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed for user_upsert statement %d", index);
		saved_plans[index] = plan;
	}
	return saved_plans[index];
}

void
execute(Statement statement, Datum *values, const char *nulls, int expected, Snapshot snapshot) {
	SPIPlanPtr plan = plan_for(statement);
	MemoryContext caller = CurrentMemoryContext; /* kept, whatever the SPI version does with it */
	int rc = snapshot ? SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot, false, false, 0)
	                  : SPI_execute_plan(plan, values, nulls, false, 0);
	MemoryContextSwitchTo(caller);
	if (rc != expected)
		elog(ERROR, "user_upsert statement %d returned %s", static_cast<int>(statement), SPI_result_code_string(rc));
}

} // namespace uu::pg
