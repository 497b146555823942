/*
 * bulk.cpp
 *	  user_upsert_many()'s set-based path: a chunk of elements is decided
 *	  together under the same lock-order protocol as one call (locking.cpp):
 *	  the chunk's identity locks in key order, one lookup of every identity,
 *	  a SKIP LOCKED row lock of every owner row (direct_lock_user_versions(),
 *	  from the version the lookup read), then the new users, the changed
 *	  rows and the new links written one by one through the executor's
 *	  single-row paths (as logical replication applies rows), one
 *	  statement's worth of triggers per table and chunk.
 *
 *	  Only what the set-based path decides exactly as user_upsert() would is
 *	  decided here; every other element is left "deferred" for the
 *	  per-element path, which runs after the chunk. Elements are applied in
 *	  order: an element is taken here only if no earlier element of the chunk
 *	  names one of its identities or leads to one of its users (owners claimed
 *	  in order, deferred elements claiming too), so running the deferred ones
 *	  afterwards changes no outcome. Deferred are: payload errors, payloads
 *	  with an id, blocked identities, deleted or merged owners, several owners
 *	  (merges), busy owner rows, refusals of the planner, and under REPEATABLE
 *	  READ or SERIALIZABLE every element (the per-element path has the 40001
 *	  cross-checks). If a set-based write fails (a race with another batch,
 *	  a constraint), the chunk's writes are rolled back and all of its
 *	  elements are deferred.
 *
 *	  The executor's single-row writes serve user_upsert() as well: the
 *	  update of locked users rows, the insert of new users and of identity
 *	  links (with ON CONFLICT DO NOTHING as ExecInsert() does it).
 *	  They skip the statement's parse, plan, executor start and to_jsonb()
 *	  of the row, and keep what the statement does for the application:
 *	  privileges, triggers with transition tables, constraints, generated
 *	  columns. A table given a column the INSERT would fill (a default, an
 *	  identity column, a domain) is written by the statement instead.
 *
 * IDENTIFICATION
 *	  src/pg/bulk.cpp
 */
#include "core/call.hpp"
#include "pg/boundary.hpp"
#include "pg/guc.hpp"

#include <algorithm>
#include <cstring>

extern "C" {
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/readfuncs.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteManip.h"
#include "access/transam.h"
#include "catalog/pg_trigger.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "miscadmin.h"
#include "port.h"
#include "storage/itemptr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "storage/lmgr.h"
#include "access/heapam.h"
}

#include "pg/bulk.hpp"
#include "pg/direct.hpp"
#include "pg/errors.hpp"
#include "pg/jsonb.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"
#include "pg/statements.hpp"

namespace uu::pg {

namespace {

/* A chunk's claims: identity lock keys and owners, made in element order. */
struct Claims {
	HTAB *keys;
	HTAB *owners;

	bool
	has_key(uint64 key) const {
		return hash_search(keys, &key, HASH_FIND, nullptr) != nullptr;
	}
	/* Claims `key`; false when an earlier element had. */
	bool
	claim_key(uint64 key) {
		bool found;
		(void) hash_search(keys, &key, HASH_ENTER, &found);
		return !found;
	}
	/* Claims user `id`; false when an earlier element had. */
	bool
	claim_owner(const pg_uuid_t *id) {
		bool found;
		(void) hash_search(owners, id, HASH_ENTER, &found);
		return !found;
	}
};

int
compare_keys(const void *a, const void *b) {
	uint64 x = *static_cast<const uint64 *>(a), y = *static_cast<const uint64 *>(b);
	return x < y ? -1 : x > y ? 1 : 0;
}

HTAB *
chunk_set(const char *name, Size keysize, int flags, Size entrysize = 0) {
	HASHCTL ctl{};
	ctl.keysize = keysize;
	ctl.entrysize = entrysize ? entrysize : keysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 256, &ctl, flags | HASH_ELEM | HASH_CONTEXT);
}

/* direct_follow_merges() of a user id, kept per chunk. */
struct ResolvedOwner {
	pg_uuid_t id; /* the key */
	bool exists;
	bool deleted;
	pg_uuid_t live;
	const char *live_text;
	ItemPointerData live_row; /* the version of `live` read */
};

/* `known`, when given, is id's own status, read with the probe that found it. */
const ResolvedOwner *
resolve_owner(HTAB *resolved, const pg_uuid_t *id, DirectReader *reader, const UserStatus *known = nullptr) {
	bool found;
	ResolvedOwner *entry = static_cast<ResolvedOwner *>(hash_search(resolved, id, HASH_ENTER, &found));
	if (found)
		return entry;
	MergeChainEnd end = direct_follow_merges(id, reader, known);
	entry->exists = end.exists;
	entry->deleted = end.deleted;
	entry->live = end.live;
	entry->live_row = end.live_row;
	entry->live_text = uuid_text(&entry->live);
	return entry;
}

/* The owner rows a chunk locked: id and row version, sorted by id for lookup. */
struct LockedRow {
	pg_uuid_t id;
	ItemPointerData tid;
};

int
compare_locked_ids(const void *a, const void *b) {
	return memcmp(&static_cast<const LockedRow *>(a)->id, &static_cast<const LockedRow *>(b)->id, UUID_LEN);
}

/* direct_lock_user_versions() of `versions`, as LockedRows sorted by id; *count of them. */
LockedRow *
lock_owner_rows(const ItemPointerData *versions, uint32 n, uint32 *count) {
	pg_uuid_t *ids = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t) * (n + 1)));
	ItemPointerData *locked = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (n + 1)));
	*count = direct_lock_user_versions(versions, n, ids, locked);
	LockedRow *rows = static_cast<LockedRow *>(palloc(sizeof(LockedRow) * (*count + 1)));
	for (uint32 r = 0; r < *count; r++)
		rows[r] = LockedRow{ids[r], locked[r]};
	qsort(rows, *count, sizeof(LockedRow), compare_locked_ids);
	return rows;
}

const LockedRow *
find_locked(const LockedRow *rows, uint64 n, const pg_uuid_t *id) {
	LockedRow key{*id, {}};
	return static_cast<const LockedRow *>(bsearch(&key, rows, n, sizeof(LockedRow), compare_locked_ids));
}

Datum
array_of(Datum *items, bool *nulls, uint32 n, Oid type, int16 typlen, bool byval, char align) {
	int dims[1] = {static_cast<int>(n)};
	int lbs[1] = {1};
	return PointerGetDatum(construct_md_array(items, nulls, 1, dims, lbs, type, typlen, byval, align));
}

/* A fresh version 4 uuid, as gen_random_uuid() makes it. */
pg_uuid_t
random_uuid() {
	pg_uuid_t uuid;
	if (!pg_strong_random(uuid.data, UUID_LEN))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random values")));
	uuid.data[6] = (uuid.data[6] & 0x0f) | 0x40;
	uuid.data[8] = (uuid.data[8] & 0x3f) | 0x80;
	return uuid;
}

/* An array of `n` values of a fixed-length by-reference type, laid out one after another at `items`. */
Datum
fixed_array(const void *items, int16 size, uint32 n, Oid type, char align) {
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
	for (uint32 i = 0; i < n; i++)
		datums[i] = PointerGetDatum(static_cast<const char *>(items) + static_cast<size_t>(i) * size);
	return array_of(datums, nullptr, n, type, size, false, align);
}

Datum
uuid_array(const pg_uuid_t *uuids, uint32 n) {
	return fixed_array(uuids, UUID_LEN, n, UUIDOID, TYPALIGN_CHAR);
}

/* The users columns a chunk writes, in the order of BulkInsertUsers' parameters after the id. */
enum UpdatedColumn {
	Kind,
	Fid,
	PrimaryAddress,
	AgentId,
	Email,
	Username,
	DisplayName,
	AvatarUrl,
	Attrs,
	ObservedAt,
	UpdatedAt,
	Version,
	NumUpdatedColumns
};
/* A column the extension writes, as it created it. */
struct ColumnSpec {
	const char *name;
	Oid type;
};
constexpr ColumnSpec kUpdatedColumns[NumUpdatedColumns] = {
    {"kind", TEXTOID},          {"fid", INT8OID},          {"primary_address", TEXTOID}, {"agent_id", TEXTOID},
    {"email", TEXTOID},         {"username", TEXTOID},     {"display_name", TEXTOID},    {"avatar_url", TEXTOID},
    {"attrs", JSONBOID},        {"observed_at", TIMESTAMPTZOID}, {"updated_at", TIMESTAMPTZOID}, {"version", INT8OID},
};

/* The planned value of each column but updated_at and version (which follow from the row and the clock). */
void
planned_values(const core::WritePlan &plan, Datum values[NumUpdatedColumns], bool nulls[NumUpdatedColumns]) {
	const char *text[] = {plan.kind,     plan.primary_address, plan.agent_id,  plan.email,
	                      plan.username, plan.display_name,    plan.avatar_url};
	const UpdatedColumn text_column[] = {Kind, PrimaryAddress, AgentId, Email, Username, DisplayName, AvatarUrl};
	for (size_t c = 0; c < lengthof(text); c++) {
		nulls[text_column[c]] = text[c] == nullptr;
		values[text_column[c]] = text[c] ? CStringGetTextDatum(text[c]) : (Datum) 0;
	}
	nulls[Fid] = !plan.has_fid;
	values[Fid] = Int64GetDatum(plan.fid);
	nulls[Attrs] = false;
	values[Attrs] = JsonbPGetDatum(tokens_to_jsonb(plan.attrs));
	nulls[ObservedAt] = !plan.has_observed_at;
	values[ObservedAt] = unix_micros_to_timestamptz(plan.observed_at);
}

/* The eleven column arrays of BulkInsertUsers for `rows`: the ids `ids`, then planned_values()' columns. */
void
row_arrays(BulkElement **rows, const pg_uuid_t *ids, uint32 n, Datum args[11]) {
	Datum *values[UpdatedAt];
	bool *nulls[UpdatedAt];
	for (int c = 0; c < UpdatedAt; c++) {
		values[c] = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
		nulls[c] = static_cast<bool *>(palloc(sizeof(bool) * (n + 1)));
	}
	for (uint32 i = 0; i < n; i++) {
		Datum row[NumUpdatedColumns];
		bool row_nulls[NumUpdatedColumns];
		planned_values(rows[i]->plan, row, row_nulls);
		for (int c = 0; c < UpdatedAt; c++) {
			values[c][i] = row[c];
			nulls[c][i] = row_nulls[c];
		}
	}
	args[0] = uuid_array(ids, n);
	for (int c = 0; c < UpdatedAt; c++) {
		int16 typlen;
		bool byval;
		char align;
		get_typlenbyvalalign(kUpdatedColumns[c].type, &typlen, &byval, &align);
		args[c + 1] = array_of(values[c], nulls[c], n, kUpdatedColumns[c].type, typlen, byval, align);
	}
}

/* After a BulkInsertUsers: each returned row to the element whose id it has. */
void
take_written_rows(BulkElement **rows, const pg_uuid_t *ids, uint32 n) {
	if (SPI_processed != n)
		elog(ERROR, "user_upsert_many wrote %lu users rows, expected %u", static_cast<unsigned long>(SPI_processed),
		     n);
	/* Rows come back in input order in practice; the search is for when they do not. */
	for (uint64 r = 0; r < SPI_processed; r++) {
		bool isnull;
		const pg_uuid_t *id = DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		uint32 i = static_cast<uint32>(r);
		if (memcmp(&ids[i], id, UUID_LEN) != 0)
			for (i = 0; i < n && memcmp(&ids[i], id, UUID_LEN) != 0; i++)
				;
		if (i == n)
			elog(ERROR, "user_upsert_many wrote users row %s it did not plan", uuid_text(id));
		if (!composite_row_tokens(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull),
		                          &rows[i]->written_row))
			elog(ERROR, "users has a column user_upsert_many() cannot spell");
	}
}

/*
 * The hint ExecInsertIndexTuples() gives each index for the next row
 * (index_unchanged_by_update() reads it from the IndexInfo, where it caches
 * its own statement-wide answer): unchanged when the row keeps the values of
 * the index's columns, `changed` being indexed by attribute number - 1. The
 * statement's answer would say "changed" for every index on one of the
 * twelve columns the UPDATE sets; the hint only steers bottom-up deletion in
 * the B-tree. Indexes on expressions or with a predicate keep PostgreSQL's
 * own answer.
 */
void
hint_unchanged_indexes(ResultRelInfo *result_rel, const bool *changed) {
	for (int i = 0; i < result_rel->ri_NumIndices; i++) {
		IndexInfo *index = result_rel->ri_IndexRelationInfo[i];
		if (index->ii_Expressions != NIL || index->ii_Predicate != NIL)
			continue;
		bool unchanged = true;
		for (int a = 0; a < index->ii_NumIndexAttrs; a++)
			if (index->ii_IndexAttrNumbers[a] > 0 && changed[index->ii_IndexAttrNumbers[a] - 1])
				unchanged = false;
		index->ii_CheckedUnchanged = true;
		index->ii_IndexUnchanged = unchanged;
	}
}

/*
 * Expressions the catalogs store as text: users' CHECK constraints and its
 * triggers' WHEN conditions. ExecRelCheck() and TriggerEnabled() parse them
 * again at every statement (stringToNode(): 45k of a 300k-instruction
 * user_upsert() update). Kept here per backend, parsed, and planned too when
 * planning cannot change (no user-defined function: expression_planner()
 * inlines SQL functions as they are at the time); keyed by their texts,
 * compared at each use, so that no invalidation can leave them stale. Each
 * statement initializes its own ExprStates from a copy, in its executor
 * state, so nothing it runs points into this cache.
 */
struct StoredExpr {
	char *text;
	Node *parsed;
	Node *planned; /* nullptr: planned per statement */
};

struct StoredExprs {
	MemoryContext context;
	int count;
	StoredExpr *exprs;
};

/* What a relation's stored expressions are: its CHECK constraints, or the WHENs of its triggers for an event. */
enum class StoredKind { Checks, InsertWhens, UpdateWhens };

struct StoredSlot {
	Oid relid;
	StoredKind kind;
	StoredExprs exprs;
};

/* users and identities, three kinds each: a slot per pair, the last one reused should more come. */
StoredSlot stored_slots[8];
int nstored_slots = 0;

StoredExprs &
stored_slot(Oid relid, StoredKind kind) {
	for (int i = 0; i < nstored_slots; i++)
		if (stored_slots[i].relid == relid && stored_slots[i].kind == kind)
			return stored_slots[i].exprs;
	StoredSlot &slot = stored_slots[nstored_slots < static_cast<int>(lengthof(stored_slots)) ? nstored_slots++
	                                                                                         : nstored_slots - 1];
	if (slot.exprs.context != nullptr)
		MemoryContextDelete(slot.exprs.context);
	slot = StoredSlot{relid, kind, StoredExprs{}};
	return slot.exprs;
}

bool
user_defined_function(Oid function, void *) {
	return function >= FirstNormalObjectId;
}

bool
calls_user_defined_function(Node *node, void *context) {
	if (node == nullptr)
		return false;
	if (check_functions_in_node(node, user_defined_function, context))
		return true;
	/* expression_tree_walker() takes its walker as bool (*)(); through void (*)() the cast is allowed */
	return expression_tree_walker(
	    node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(calls_user_defined_function)), context);
}

/* `cache` holding `texts`, parsed by `parse`; rebuilt when any text differs. */
const StoredExpr *
stored_exprs(StoredExprs &cache, const char *const *texts, int n, Node *(*parse)(const char *)) {
	bool same = cache.context != nullptr && cache.count == n;
	for (int i = 0; i < n && same; i++)
		same = strcmp(cache.exprs[i].text, texts[i]) == 0;
	if (same)
		return cache.exprs;
	/* Built under the caller's context, so that an error frees it; kept once complete. */
	MemoryContext context =
	    AllocSetContextCreate(CurrentMemoryContext, "user_upsert stored expressions", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	StoredExpr *exprs = static_cast<StoredExpr *>(palloc0(sizeof(StoredExpr) * Max(n, 1)));
	for (int i = 0; i < n; i++) {
		exprs[i].text = pstrdup(texts[i]);
		exprs[i].parsed = parse(exprs[i].text);
		if (!calls_user_defined_function(exprs[i].parsed, nullptr))
			exprs[i].planned =
			    reinterpret_cast<Node *>(expression_planner(static_cast<Expr *>(copyObjectImpl(exprs[i].parsed))));
	}
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(context, CacheMemoryContext);
	if (cache.context != nullptr)
		MemoryContextDelete(cache.context);
	cache = StoredExprs{context, n, exprs};
	return cache.exprs;
}

/* A copy of the expression planned, in the current memory context. */
Expr *
planned_copy(const StoredExpr &e) {
	if (e.planned != nullptr)
		return static_cast<Expr *>(copyObjectImpl(e.planned));
	return expression_planner(static_cast<Expr *>(copyObjectImpl(e.parsed)));
}

Node *
parse_check(const char *text) {
	return static_cast<Node *>(stringToNode(text));
}

/* A trigger's WHEN as TriggerEnabled() turns it into a qual: OLD and NEW as INNER_VAR and OUTER_VAR, implicit AND. */
Node *
parse_trigger_when(const char *text) {
	Node *qual = static_cast<Node *>(stringToNode(text));
	ChangeVarNodes(qual, PRS2_OLD_VARNO, INNER_VAR, 0);
	ChangeVarNodes(qual, PRS2_NEW_VARNO, OUTER_VAR, 0);
	return reinterpret_cast<Node *>(make_ands_implicit(reinterpret_cast<Expr *>(qual)));
}

/*
 * ri_ConstraintExprs and, for `operation`'s triggers, ri_TrigWhenExprs of
 * `result_rel`, as ExecRelCheck() and TriggerEnabled() would build them at
 * their first use in this statement, from the stored expressions.
 */
void
prepare_stored_expressions(ResultRelInfo *result_rel, EState *estate, CmdType operation) {
	Relation rel = result_rel->ri_RelationDesc;
	Oid relid = RelationGetRelid(rel);
	MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);
	TupleConstr *constr = rel->rd_att->constr;
	/* A count that disagrees with pg_class is ExecRelCheck()'s to report. */
	if (constr != nullptr && constr->num_check > 0 && constr->num_check == rel->rd_rel->relchecks &&
	    result_rel->ri_ConstraintExprs == nullptr) {
		int n = constr->num_check;
		const char **texts = static_cast<const char **>(palloc(sizeof(char *) * n));
		for (int i = 0; i < n; i++)
			texts[i] = constr->check[i].ccbin;
		const StoredExpr *checks = stored_exprs(stored_slot(relid, StoredKind::Checks), texts, n, parse_check);
		ExprState **states = static_cast<ExprState **>(palloc(sizeof(ExprState *) * n));
		for (int i = 0; i < n; i++)
			states[i] = ExecInitExpr(planned_copy(checks[i]), nullptr);
		result_rel->ri_ConstraintExprs = states;
	}
	TriggerDesc *triggers = result_rel->ri_TrigDesc;
	if (triggers != nullptr && result_rel->ri_TrigWhenExprs != nullptr &&
	    (operation == CMD_INSERT || operation == CMD_UPDATE)) {
		auto fires = [operation](const Trigger &t) {
			return t.tgqual != nullptr &&
			       (operation == CMD_INSERT ? TRIGGER_FOR_INSERT(t.tgtype) : TRIGGER_FOR_UPDATE(t.tgtype));
		};
		const char **texts = static_cast<const char **>(palloc(sizeof(char *) * triggers->numtriggers));
		int n = 0;
		for (int i = 0; i < triggers->numtriggers; i++)
			if (fires(triggers->triggers[i]))
				texts[n++] = triggers->triggers[i].tgqual;
		if (n > 0) {
			StoredKind kind = operation == CMD_INSERT ? StoredKind::InsertWhens : StoredKind::UpdateWhens;
			const StoredExpr *whens = stored_exprs(stored_slot(relid, kind), texts, n, parse_trigger_when);
			for (int i = 0, k = 0; i < triggers->numtriggers; i++)
				if (fires(triggers->triggers[i])) {
					const StoredExpr &when = whens[k++];
					if (result_rel->ri_TrigWhenExprs[i] == nullptr)
						result_rel->ri_TrigWhenExprs[i] =
						    ExecInitQual(reinterpret_cast<List *>(planned_copy(when)), nullptr);
				}
		}
	}
	MemoryContextSwitchTo(old);
}

ExecutorStart_hook_type previous_executor_start = nullptr;

/*
 * PostgreSQL's ExecutorStart(), then the stored expressions for each INSERT
 * or UPDATE target that is users or identities: user_upsert()'s own
 * statements (the insert of a new user, the links) and direct SQL on the
 * tables, which would otherwise parse them again in every statement.
 */
void
executor_start(QueryDesc *query, int eflags) {
	if (previous_executor_start != nullptr)
		previous_executor_start(query, eflags);
	else
		standard_ExecutorStart(query, eflags);
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
	    (query->operation != CMD_INSERT && query->operation != CMD_UPDATE))
		return;
	ListCell *cell;
	foreach (cell, query->estate->es_opened_result_relations) {
		ResultRelInfo *target = static_cast<ResultRelInfo *>(lfirst(cell));
		if (is_user_upsert_table(RelationGetRelid(target->ri_RelationDesc)))
			prepare_stored_expressions(target, query->estate, query->operation);
	}
}

/*
 * One row of an UPDATE as the executor writes it (ExecSimpleRelationUpdate()
 * of PostgreSQL 15, as logical replication applies a row, with the
 * statement's transition tables fed): BEFORE row triggers, stored generated
 * columns, constraints, the heap, the indexes, AFTER row triggers. False when
 * a BEFORE trigger skipped the row.
 */
bool
update_row(ResultRelInfo *result_rel, EState *estate, EPQState *epq, TupleTableSlot *old_row,
           TupleTableSlot *new_row, TransitionCaptureState *transitions) {
	Relation rel = result_rel->ri_RelationDesc;
	ItemPointer tid = &old_row->tts_tid;
	if (result_rel->ri_TrigDesc && result_rel->ri_TrigDesc->trig_update_before_row &&
	    !ExecBRUpdateTriggers(estate, epq, result_rel, tid, nullptr, new_row, nullptr))
		return false;
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(result_rel, estate, new_row, CMD_UPDATE);
	if (rel->rd_att->constr)
		ExecConstraints(result_rel, new_row, estate);
	bool update_indexes;
	simple_table_tuple_update(rel, tid, new_row, estate->es_snapshot, &update_indexes);
	List *recheck = NIL;
	if (result_rel->ri_NumIndices > 0 && update_indexes)
		recheck = ExecInsertIndexTuples(result_rel, new_row, estate, true, false, nullptr, NIL);
	ExecARUpdateTriggers(estate, result_rel, nullptr, nullptr, tid, nullptr, new_row, recheck, transitions, false);
	list_free(recheck);
	return true;
}

} // namespace

namespace {

/*
 * The attribute number of `column` in rel: found by name once per backend
 * (get_attnum() is a syscache lookup), kept in `cached` and checked at each
 * use against the descriptor (name, type, not dropped).
 */
AttrNumber
column_attno(Relation rel, const ColumnSpec &column, AttrNumber &cached) {
	TupleDesc desc = RelationGetDescr(rel);
	AttrNumber a = cached;
	if (a > 0 && a <= desc->natts) {
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		if (!att->attisdropped && att->atttypid == column.type && strcmp(NameStr(att->attname), column.name) == 0)
			return a;
	}
	a = get_attnum(RelationGetRelid(rel), column.name);
	if (a == InvalidAttrNumber || TupleDescAttr(desc, a - 1)->atttypid != column.type)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("column \"%s\" of user_upsert.%s is not the one the extension created", column.name,
		                       RelationGetRelationName(rel)),
		                errhint("Reinstall the extension.")));
	cached = a;
	return a;
}

AttrNumber updated_attnos[NumUpdatedColumns];

AttrNumber
updated_column(Relation rel, int c) {
	return column_attno(rel, kUpdatedColumns[c], updated_attnos[c]);
}

/* The executor state of one statement's worth of single-row writes to one table (begin_row_writes()). */
struct RowWrites {
	CmdType operation;
	EState *estate;
	ResultRelInfo *result_rel;
	TransitionCaptureState *transitions;
};

/*
 * What the executor would set up for an INSERT or UPDATE of `cols` of rel
 * (attribute numbers): the caller's privileges on them, the stored CHECK and
 * WHEN expressions, the indexes (with what ON CONFLICT needs when
 * `speculative`), the AFTER trigger queue, transition tables, and the BEFORE
 * statement triggers fired. Under a new snapshot that sees this command's
 * earlier writes, as SPI would run the statement.
 */
RowWrites
begin_row_writes(Relation rel, CmdType operation, const AttrNumber *cols, int ncols, bool speculative) {
	refuse_row_security(rel);
	RangeTblEntry *target = makeNode(RangeTblEntry);
	target->rtekind = RTE_RELATION;
	target->relid = RelationGetRelid(rel);
	target->relkind = rel->rd_rel->relkind;
	target->rellockmode = RowExclusiveLock;
	target->requiredPerms = operation == CMD_INSERT ? ACL_INSERT : ACL_UPDATE;
	Bitmapset *written = nullptr;
	for (int c = 0; c < ncols; c++)
		written = bms_add_member(written, cols[c] - FirstLowInvalidHeapAttributeNumber);
	if (operation == CMD_INSERT)
		target->insertedCols = written;
	else
		target->updatedCols = written;
	(void) ExecCheckRTPerms(list_make1(target), true);

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	RowWrites w;
	w.operation = operation;
	w.estate = CreateExecutorState();
	ExecInitRangeTable(w.estate, list_make1(target));
	w.result_rel = makeNode(ResultRelInfo);
	InitResultRelInfo(w.result_rel, rel, 1, nullptr, 0);
	prepare_stored_expressions(w.result_rel, w.estate, operation);
	w.estate->es_opened_result_relations = lappend(w.estate->es_opened_result_relations, w.result_rel);
	w.estate->es_output_cid = GetCurrentCommandId(true);
	w.estate->es_snapshot = GetActiveSnapshot();
	AfterTriggerBeginQuery();
	ExecOpenIndices(w.result_rel, speculative);
	w.transitions = MakeTransitionCaptureState(w.result_rel->ri_TrigDesc, RelationGetRelid(rel), operation);
	if (operation == CMD_INSERT)
		ExecBSInsertTriggers(w.estate, w.result_rel);
	else
		ExecBSUpdateTriggers(w.estate, w.result_rel);
	return w;
}

/* The AFTER statement triggers, then the queued AFTER row triggers (as at the end of the statement's run). */
void
end_row_writes(RowWrites &w) {
	if (w.operation == CMD_INSERT)
		ExecASInsertTriggers(w.estate, w.result_rel, w.transitions);
	else
		ExecASUpdateTriggers(w.estate, w.result_rel, w.transitions);
	AfterTriggerEndQuery(w.estate);
	ExecCloseIndices(w.result_rel);
	ExecResetTupleTable(w.estate->es_tupleTable, false);
	FreeExecutorState(w.estate);
	PopActiveSnapshot();
}

} // namespace

/*
 * Row by row through the executor's own single-row path (update_row())
 * rather than an UPDATE statement (a chunk's would join twelve arrays): what
 * that UPDATE had, without its planning, index probe and composite results.
 * The target is the statement the SQL would have been (UPDATE of the twelve
 * columns user_upsert() sets): the caller's UPDATE privilege on them,
 * statement and row triggers (with transition tables, UPDATE OF columns) and
 * constraints; each index gets the hint of the columns the row really
 * changes (hint_unchanged_indexes()).
 */
void
update_locked_users(const core::WritePlan *const *plans, const ItemPointerData *tids, uint32 n,
                    core::TokenSpan *written) {
	Relation rel = table_open(users_relation(), RowExclusiveLock);
	TupleDesc desc = RelationGetDescr(rel);
	AttrNumber attno[NumUpdatedColumns];
	for (int c = 0; c < NumUpdatedColumns; c++)
		attno[c] = updated_column(rel, c);
	RowWrites w = begin_row_writes(rel, CMD_UPDATE, attno, NumUpdatedColumns, false);
	EState *estate = w.estate;
	ResultRelInfo *result_rel = w.result_rel;
	EPQState epq;
	EvalPlanQualInit(&epq, estate, nullptr, NIL, -1);

	TupleTableSlot *old_row = table_slot_create(rel, nullptr);
	TupleTableSlot *new_row = table_slot_create(rel, nullptr);
	Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Datum planned[NumUpdatedColumns];
	bool planned_null[NumUpdatedColumns];
	bool *changed = static_cast<bool *>(palloc0(sizeof(bool) * desc->natts));
	for (int c : {UpdatedAt, Version})
		changed[attno[c] - 1] = true;
	for (uint32 i = 0; i < n; i++) {
		planned_values(*plans[i], planned, planned_null);
		if (!table_tuple_fetch_row_version(rel, const_cast<ItemPointer>(&tids[i]), SnapshotAny, old_row))
			elog(ERROR, "user_upsert lost the users row version it locked");
		slot_getallattrs(old_row);
		ExecClearTuple(new_row);
		memcpy(new_row->tts_values, old_row->tts_values, sizeof(Datum) * desc->natts);
		memcpy(new_row->tts_isnull, old_row->tts_isnull, sizeof(bool) * desc->natts);
		for (int c = 0; c < UpdatedAt; c++) {
			int a = attno[c] - 1;
			Form_pg_attribute att = TupleDescAttr(desc, a);
			changed[a] = planned_null[c] != old_row->tts_isnull[a] ||
			             (!planned_null[c] &&
			              !datum_image_eq(planned[c], old_row->tts_values[a], att->attbyval, att->attlen));
			new_row->tts_values[a] = planned[c];
			new_row->tts_isnull[a] = planned_null[c];
		}
		hint_unchanged_indexes(result_rel, changed);
		int64 version = DatumGetInt64(old_row->tts_values[attno[Version] - 1]);
		new_row->tts_values[attno[UpdatedAt] - 1] = now;
		new_row->tts_isnull[attno[UpdatedAt] - 1] = false;
		new_row->tts_values[attno[Version] - 1] = Int64GetDatum(version + 1);
		new_row->tts_isnull[attno[Version] - 1] = false;
		ExecStoreVirtualTuple(new_row);
		if (!update_row(result_rel, estate, &epq, old_row, new_row, w.transitions))
			elog(ERROR, "a BEFORE UPDATE trigger on user_upsert.users skipped a row user_upsert wrote");
		if (!slot_row_tokens(new_row, &written[i]))
			elog(ERROR, "users has a column user_upsert cannot spell");
		ExecClearTuple(old_row);
		ResetPerTupleExprContext(estate);
	}

	EvalPlanQualEnd(&epq);
	end_row_writes(w);
	ExecDropSingleTupleTableSlot(old_row);
	ExecDropSingleTupleTableSlot(new_row);
	table_close(rel, NoLock);
}

namespace {

/*
 * As ExecCheckTIDVisible() for ON CONFLICT DO NOTHING: under REPEATABLE READ
 * or SERIALIZABLE, a conflicting row the transaction's snapshot does not see
 * (and that it did not write itself) is a serialization failure.
 */
void
check_conflict_visible(RowWrites &w, ItemPointer conflict) {
	if (!IsolationUsesXactSnapshot())
		return;
	Relation rel = w.result_rel->ri_RelationDesc;
	TupleTableSlot *row = table_slot_create(rel, nullptr);
	if (!table_tuple_fetch_row_version(rel, conflict, SnapshotAny, row))
		elog(ERROR, "failed to fetch conflicting tuple for ON CONFLICT");
	bool visible = table_tuple_satisfies_snapshot(rel, row, w.estate->es_snapshot);
	bool isnull;
	TransactionId xmin = DatumGetTransactionId(slot_getsysattr(row, MinTransactionIdAttributeNumber, &isnull));
	ExecDropSingleTupleTableSlot(row);
	if (!visible && !TransactionIdIsCurrentTransactionId(xmin))
		ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
		                errmsg("could not serialize access due to concurrent update")));
}

/*
 * One row of an INSERT as the executor writes it (ExecSimpleRelationInsert()
 * of PostgreSQL 15, with the statement's transition tables fed), with ON
 * CONFLICT DO NOTHING (no conflict target) done as ExecInsert() does it when
 * `do_nothing`: a pre-check of the unique indexes, then a speculative
 * insertion, started again if a concurrent one won. False when a BEFORE
 * trigger skipped the row or a unique index already holds its key.
 */
bool
insert_row(RowWrites &w, TupleTableSlot *row, bool do_nothing) {
	ResultRelInfo *result_rel = w.result_rel;
	EState *estate = w.estate;
	Relation rel = result_rel->ri_RelationDesc;
	if (result_rel->ri_TrigDesc && result_rel->ri_TrigDesc->trig_insert_before_row &&
	    !ExecBRInsertTriggers(estate, result_rel, row))
		return false;
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(result_rel, estate, row, CMD_INSERT);
	if (rel->rd_att->constr)
		ExecConstraints(result_rel, row, estate);
	List *recheck = NIL;
	if (do_nothing && result_rel->ri_NumIndices > 0) {
		for (;;) {
			ItemPointerData conflict;
			if (!ExecCheckIndexConstraints(result_rel, row, estate, &conflict, NIL)) {
				check_conflict_visible(w, &conflict);
				return false;
			}
			uint32 token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
			table_tuple_insert_speculative(rel, row, estate->es_output_cid, 0, nullptr, token);
			bool conflicted = false;
			recheck = ExecInsertIndexTuples(result_rel, row, estate, false, true, &conflicted, NIL);
			table_tuple_complete_speculative(rel, row, token, !conflicted);
			SpeculativeInsertionLockRelease(GetCurrentTransactionId());
			if (!conflicted)
				break;
			list_free(recheck);
			recheck = NIL;
			CHECK_FOR_INTERRUPTS();
		}
	} else {
		table_tuple_insert(rel, row, estate->es_output_cid, 0, nullptr);
		if (result_rel->ri_NumIndices > 0)
			recheck = ExecInsertIndexTuples(result_rel, row, estate, false, false, nullptr, NIL);
	}
	ExecARInsertTriggers(estate, result_rel, row, recheck, w.transitions);
	list_free(recheck);
	return true;
}

/*
 * True when an INSERT that names only the columns `cols` would put NULL in
 * every other column, or compute it as a stored generated column (which
 * insert_row() does), with nothing else to fill or check: no default, no
 * identity column, no domain type. A table its owner has given such a column
 * is written by the SQL statement instead.
 */
bool
others_are_plain_nulls(Relation rel, const AttrNumber *cols, int ncols) {
	TupleDesc desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped || att->attgenerated == ATTRIBUTE_GENERATED_STORED ||
		    std::find(cols, cols + ncols, i + 1) != cols + ncols)
			continue;
		if (att->atthasdef || att->attidentity != '\0' || get_typtype(att->atttypid) == TYPTYPE_DOMAIN)
			return false;
	}
	return true;
}

/* The columns a new users row gets from user_upsert(), beyond kUpdatedColumns. */
enum InsertedColumn { UserId, CreatedAt, NumInsertedColumns };
constexpr ColumnSpec kInsertedColumns[NumInsertedColumns] = {{"id", UUIDOID}, {"created_at", TIMESTAMPTZOID}};
AttrNumber inserted_attnos[NumInsertedColumns];

enum IdentityColumn { IdentityKind, IdentityValue, IdentityUser, IdentityCreatedAt, NumIdentityColumns };
constexpr ColumnSpec kIdentityColumns[NumIdentityColumns] = {
    {"kind", TEXTOID}, {"value", TEXTOID}, {"user_id", UUIDOID}, {"created_at", TIMESTAMPTZOID}};
AttrNumber identity_attnos[NumIdentityColumns];

} // namespace

namespace {

/* An empty row of the slot's table: every column NULL, to be filled in. */
void
clear_row(TupleTableSlot *row) {
	ExecClearTuple(row);
	for (int a = 0; a < row->tts_tupleDescriptor->natts; a++) {
		row->tts_values[a] = (Datum) 0;
		row->tts_isnull[a] = true;
	}
}

} // namespace

bool
insert_users(const core::WritePlan *const *plans, const pg_uuid_t *ids, uint32 n, core::TokenSpan *written,
             pg_uuid_t *stored_ids) {
	Relation rel = table_open(users_relation(), RowExclusiveLock);
	AttrNumber attno[NumUpdatedColumns + NumInsertedColumns];
	for (int c = 0; c < NumUpdatedColumns; c++)
		attno[c] = updated_column(rel, c);
	for (int c = 0; c < NumInsertedColumns; c++)
		attno[NumUpdatedColumns + c] = column_attno(rel, kInsertedColumns[c], inserted_attnos[c]);
	if (!columns_convertible(RelationGetDescr(rel)) || !others_are_plain_nulls(rel, attno, lengthof(attno))) {
		table_close(rel, NoLock);
		return false;
	}
	AttrNumber id_column = attno[NumUpdatedColumns + UserId];
	AttrNumber created_column = attno[NumUpdatedColumns + CreatedAt];
	RowWrites w = begin_row_writes(rel, CMD_INSERT, attno, lengthof(attno), false);
	TupleTableSlot *row = table_slot_create(rel, nullptr);
	Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	for (uint32 i = 0; i < n; i++) {
		clear_row(row);
		Datum planned[NumUpdatedColumns];
		bool planned_null[NumUpdatedColumns];
		planned_values(*plans[i], planned, planned_null);
		planned[UpdatedAt] = now;
		planned_null[UpdatedAt] = false;
		planned[Version] = Int64GetDatum(1);
		planned_null[Version] = false;
		for (int c = 0; c < NumUpdatedColumns; c++) {
			row->tts_values[attno[c] - 1] = planned[c];
			row->tts_isnull[attno[c] - 1] = planned_null[c];
		}
		row->tts_values[id_column - 1] = UUIDPGetDatum(&ids[i]);
		row->tts_isnull[id_column - 1] = false;
		row->tts_values[created_column - 1] = now;
		row->tts_isnull[created_column - 1] = false;
		ExecStoreVirtualTuple(row);
		if (!insert_row(w, row, false))
			elog(ERROR, "a BEFORE INSERT trigger on user_upsert.users skipped a row user_upsert wrote");
		if (!slot_row_tokens(row, &written[i]))
			elog(ERROR, "users has a column user_upsert cannot spell");
		bool isnull;
		stored_ids[i] = *DatumGetUUIDP(slot_getattr(row, id_column, &isnull));
		ResetPerTupleExprContext(w.estate);
	}
	end_row_writes(w);
	ExecDropSingleTupleTableSlot(row);
	table_close(rel, NoLock);
	return true;
}

bool
insert_user(const core::WritePlan &plan, core::TokenSpan *written, char **user_id) {
	pg_uuid_t id =
	    plan.user_id ? *DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(plan.user_id))) : random_uuid();
	const core::WritePlan *plans[1] = {&plan};
	pg_uuid_t stored;
	if (!insert_users(plans, &id, 1, written, &stored))
		return false;
	*user_id = uuid_text(&stored);
	return true;
}

int64
insert_identities(const char *const *kinds, const char *const *values, const char *const *user_ids, uint32 n,
                  Datum created_at, bool created_at_null) {
	Relation rel = table_open(identities_relation(), RowExclusiveLock);
	AttrNumber attno[NumIdentityColumns];
	for (int c = 0; c < NumIdentityColumns; c++)
		attno[c] = column_attno(rel, kIdentityColumns[c], identity_attnos[c]);
	if (!others_are_plain_nulls(rel, attno, NumIdentityColumns)) {
		table_close(rel, NoLock);
		return -1;
	}
	RowWrites w = begin_row_writes(rel, CMD_INSERT, attno, NumIdentityColumns, true);
	TupleTableSlot *row = table_slot_create(rel, nullptr);
	Datum created = created_at_null ? TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()) : created_at;
	Datum user = (Datum) 0;
	int64 inserted = 0;
	for (uint32 i = 0; i < n; i++) {
		if (i == 0 || strcmp(user_ids[i], user_ids[i - 1]) != 0)
			user = DirectFunctionCall1(uuid_in, CStringGetDatum(user_ids[i]));
		clear_row(row);
		const Datum column_values[NumIdentityColumns] = {CStringGetTextDatum(kinds[i]), CStringGetTextDatum(values[i]),
		                                                 user, created};
		for (int c = 0; c < NumIdentityColumns; c++) {
			row->tts_values[attno[c] - 1] = column_values[c];
			row->tts_isnull[attno[c] - 1] = false;
		}
		ExecStoreVirtualTuple(row);
		if (insert_row(w, row, true))
			inserted++;
		ResetPerTupleExprContext(w.estate);
	}
	end_row_writes(w);
	ExecDropSingleTupleTableSlot(row);
	table_close(rel, NoLock);
	return inserted;
}

namespace {

struct ChunkWrites {
	BulkElement **inserts;
	pg_uuid_t *insert_ids;
	const char **insert_id_texts;
	uint32 ninserts;
	BulkElement **updates;
	pg_uuid_t *update_ids;
	ItemPointerData *update_tids;
	uint32 nupdates;
	const char **link_kinds;
	const char **link_values;
	const char **link_users;
	uint32 nlinks;
};

void
write_chunk(void *arg) {
	ChunkWrites *w = static_cast<ChunkWrites *>(arg);
	Datum args[11];
	if (w->ninserts > 0) {
		const core::WritePlan **plans =
		    static_cast<const core::WritePlan **>(palloc(sizeof(core::WritePlan *) * w->ninserts));
		core::TokenSpan *written = static_cast<core::TokenSpan *>(palloc(sizeof(core::TokenSpan) * w->ninserts));
		pg_uuid_t *stored = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t) * w->ninserts));
		for (uint32 i = 0; i < w->ninserts; i++)
			plans[i] = &w->inserts[i]->plan;
		if (insert_users(plans, w->insert_ids, w->ninserts, written, stored)) {
			for (uint32 i = 0; i < w->ninserts; i++) {
				if (memcmp(&stored[i], &w->insert_ids[i], UUID_LEN) != 0)
					elog(ERROR, "user_upsert_many wrote users row %s it did not plan", uuid_text(&stored[i]));
				w->inserts[i]->written_row = written[i];
			}
		} else {
			row_arrays(w->inserts, w->insert_ids, w->ninserts, args);
			execute(Statement::BulkInsertUsers, args, nullptr, SPI_OK_INSERT_RETURNING);
			take_written_rows(w->inserts, w->insert_ids, w->ninserts);
		}
	}
	if (w->nupdates > 0) {
		const core::WritePlan **plans =
		    static_cast<const core::WritePlan **>(palloc(sizeof(core::WritePlan *) * w->nupdates));
		core::TokenSpan *written = static_cast<core::TokenSpan *>(palloc(sizeof(core::TokenSpan) * w->nupdates));
		for (uint32 i = 0; i < w->nupdates; i++)
			plans[i] = &w->updates[i]->plan;
		update_locked_users(plans, w->update_tids, w->nupdates, written);
		for (uint32 i = 0; i < w->nupdates; i++)
			w->updates[i]->written_row = written[i];
	}
	if (w->nlinks > 0) {
		int64 inserted = insert_identities(w->link_kinds, w->link_values, w->link_users, w->nlinks, (Datum) 0, true);
		if (inserted < 0) {
			Datum link_args[3] = {text_array(w->link_kinds, w->nlinks), text_array(w->link_values, w->nlinks),
			                      text_array(w->link_users, w->nlinks)};
			execute(Statement::BulkLinkIdentities, link_args, nullptr, SPI_OK_INSERT);
			inserted = static_cast<int64>(SPI_processed);
		}
		if (inserted != w->nlinks) {
			link_race_detected = true;
			ereport(ERROR, (errcode(ERRCODE_UU_IDENTITY_CONFLICT),
			                errmsg("identity was linked to another user concurrently")));
		}
	}
}

/* The part of a chunk that locks rows and writes: one subtransaction, so that losing a race undoes it all. */
struct LockPlanWrite {
	BulkElement *elements;
	uint32 n;
	ItemPointerData *owner_rows; /* the row versions the lookups read */
	uint32 nowners;
	const core::Config *config;
	core::Allocator *allocator;
};

bool
lock_plan_write(void *arg) {
	LockPlanWrite *job = static_cast<LockPlanWrite *>(arg);
	BulkElement *elements = job->elements;
	uint32 n = job->n;
	ItemPointerData *owner_rows = job->owner_rows;
	uint32 nowners = job->nowners;
	const core::Config &config = *job->config;
	core::Allocator &allocator = *job->allocator;
	/*
	 * 5. Rule 2: the owner rows, found by the versions the lookups read (no
	 * index descent) and locked at their newest versions, skipping busy and
	 * deleted ones (their elements take the per-element path, which waits).
	 * Then the locked rows and their identities, read under a snapshot taken
	 * while the locks are held (every change of a user's identities writes
	 * its row).
	 */
	if (nowners > 0) {
		uint32 nlocked;
		LockedRow *locked = lock_owner_rows(owner_rows, nowners, &nlocked);
		DirectReader *reader = begin_direct_reads();
		for (uint32 i = 0; i < n; i++) {
			BulkElement &e = elements[i];
			if (e.state != BulkState::Candidate || !e.owner_id)
				continue;
			DirectUser user{};
			const LockedRow *row = find_locked(locked, nlocked, &e.owner_uuid);
			if (!row || direct_fetch_user_at(const_cast<ItemPointer>(&row->tid), reader, user) != DirectFetch::Found ||
			    memcmp(&user.uuid, &e.owner_uuid, UUID_LEN) != 0 || user.merged || user.deleted) {
				e.state = BulkState::Deferred; /* busy, or merged or deleted since the lookup */
				continue;
			}
			e.owner = user.record;
			e.owner_tid = row->tid;
		}
		end_direct_reads(reader);
	}

	/* 6. The core's plan for each candidate; a refusal or a merge defers. */
	ChunkWrites writes{};
	writes.inserts = static_cast<BulkElement **>(palloc(sizeof(BulkElement *) * (n + 1)));
	writes.insert_ids = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t) * (n + 1)));
	writes.insert_id_texts = static_cast<const char **>(palloc(sizeof(char *) * (n + 1)));
	writes.updates = static_cast<BulkElement **>(palloc(sizeof(BulkElement *) * (n + 1)));
	writes.update_ids = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t) * (n + 1)));
	writes.update_tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (n + 1)));
	uint32 total_links = 0;
	for (uint32 i = 0; i < n; i++) {
		BulkElement &e = elements[i];
		if (e.state != BulkState::Candidate)
			continue;
		core::Lookup lookup{};
		lookup.identity_owner = e.identity_owner;
		lookup.identity_owner_deleted = e.identity_owner_deleted;
		lookup.id_state = core::IdState::Absent;
		lookup.nowners = e.owner_id ? 1 : 0;
		lookup.owners = &e.owner;
		if (!cxx_phase_unless_refused(
		        "user_upsert_many()", [&] { return core::plan_call(e.tokens, config, lookup, allocator); }, &e.plan) ||
		    e.plan.nmerges > 0) {
			e.state = BulkState::Deferred;
			continue;
		}
		e.state = BulkState::Planned;
		if (!e.plan.write_row)
			continue;
		if (e.plan.insert) {
			writes.insert_ids[writes.ninserts] = random_uuid();
			writes.insert_id_texts[writes.ninserts] = uuid_text(&writes.insert_ids[writes.ninserts]);
			writes.inserts[writes.ninserts++] = &e;
		} else {
			writes.update_ids[writes.nupdates] = e.owner_uuid;
			writes.update_tids[writes.nupdates] = e.owner_tid;
			writes.updates[writes.nupdates++] = &e;
		}
		total_links += e.plan.nlink;
	}
	writes.link_kinds = static_cast<const char **>(palloc(sizeof(char *) * (total_links + 1)));
	writes.link_values = static_cast<const char **>(palloc(sizeof(char *) * (total_links + 1)));
	writes.link_users = static_cast<const char **>(palloc(sizeof(char *) * (total_links + 1)));
	for (uint32 i = 0; i < writes.ninserts + writes.nupdates; i++) {
		bool insert = i < writes.ninserts;
		BulkElement &e = insert ? *writes.inserts[i] : *writes.updates[i - writes.ninserts];
		const char *user_id = insert ? writes.insert_id_texts[i] : e.owner_id;
		for (uint32 k = 0; k < e.plan.nlink; k++) {
			writes.link_kinds[writes.nlinks] = e.plan.link[k].kind;
			writes.link_values[writes.nlinks] = e.plan.link[k].value;
			writes.link_users[writes.nlinks++] = user_id;
		}
	}

	/* 7. The writes. */
	if (writes.ninserts + writes.nupdates > 0)
		as_extension_write(write_chunk, &writes);
	return true;
}

/* Everything user_upsert() would do, only as many elements' worth of statements as the chunk has kinds of write. */
void
decide_chunk(BulkElement *elements, uint32 n, const core::Config &config, core::Allocator &allocator) {
	/* 1. Claims in element order; the candidates are the elements no earlier one touches. */
	uint32 total_keys = 0, total_identities = 0;
	for (uint32 i = 0; i < n; i++) {
		total_keys += elements[i].prepared ? elements[i].call.nlocks : 0;
		total_identities += elements[i].prepared ? elements[i].call.nidentities : 0;
	}
	Claims claims{chunk_set("user_upsert_many keys", sizeof(uint64), HASH_BLOBS),
	              chunk_set("user_upsert_many owners", UUID_LEN, HASH_BLOBS)};
	uint64 *lock_keys = static_cast<uint64 *>(palloc(sizeof(uint64) * (total_keys + 1)));
	uint32 nlock_keys = 0;
	for (uint32 i = 0; i < n; i++) {
		BulkElement &e = elements[i];
		if (!e.prepared)
			continue;
		bool clear = e.call.id == nullptr;
		for (uint32 k = 0; k < e.call.nlocks; k++)
			if (claims.has_key(e.call.lock_keys[k]))
				clear = false;
		for (uint32 k = 0; k < e.call.nlocks; k++)
			if (claims.claim_key(e.call.lock_keys[k]))
				lock_keys[nlock_keys++] = e.call.lock_keys[k];
		e.state = clear ? BulkState::Candidate : BulkState::Deferred;
	}
	qsort(lock_keys, nlock_keys, sizeof(uint64), compare_keys);

	/* 2. Rule 1 of locking.cpp for the whole chunk: its identity locks, in key order. */
	LockMark mark = identity_locks_mark();
	lock_identities(lock_keys, nlock_keys);

	/*
	 * 3. Every identity's owner and block, read through the indexes under one
	 * snapshot taken with the identity locks held (as one call's lookup
	 * sees them); owners resolved along merges, and each
	 * id. A fid or agent id is found through its mirror column's unique index,
	 * which gives its owner's status in the same probe.
	 */
	struct {
		const ResolvedOwner **owner;
		const char **owner_text; /* the same owners' ids, as the core takes them */
		bool *deleted;
		char **blocked;
	} rows{static_cast<const ResolvedOwner **>(palloc0(sizeof(ResolvedOwner *) * (total_identities + 1))),
	       static_cast<const char **>(palloc0(sizeof(char *) * (total_identities + 1))),
	       static_cast<bool *>(palloc0(sizeof(bool) * (total_identities + 1))),
	       static_cast<char **>(palloc0(sizeof(char *) * (total_identities + 1)))};
	const ResolvedOwner **resolved_ids = static_cast<const ResolvedOwner **>(palloc0(sizeof(ResolvedOwner *) * (n + 1)));
	{
		DirectReader *reader = begin_direct_reads();
		HTAB *resolved = chunk_set("user_upsert_many owners resolved", UUID_LEN, HASH_BLOBS, sizeof(ResolvedOwner));
		uint32 k = 0;
		for (uint32 i = 0; i < n; i++) {
			if (!elements[i].prepared)
				continue;
			if (elements[i].call.id) {
				const ResolvedOwner *r = resolve_owner(
				    resolved, DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(elements[i].call.id))),
				    reader);
				resolved_ids[i] = r->exists ? r : nullptr;
			}
			for (uint32 j = 0; j < elements[i].call.nidentities; j++, k++) {
				const core::PayloadIdentity &identity = elements[i].call.identities[j];
				rows.blocked[k] = direct_blocked_reason(identity.kind, identity.value, reader);
				const ResolvedOwner *r = nullptr;
				UserStatus status;
				pg_uuid_t owner;
				if (direct_mirror_owner(identity.kind, identity.value, reader, &status))
					r = resolve_owner(resolved, &status.id, reader, &status);
				else if (direct_identity_owner_id(identity.kind, identity.value, reader, &owner))
					r = resolve_owner(resolved, &owner, reader);
				if (!r)
					continue;
				rows.owner[k] = r;
				rows.owner_text[k] = r->live_text;
				rows.deleted[k] = r->deleted;
			}
		}
		end_direct_reads(reader);
	}

	/* 4. Owners, in element order: several, deleted or blocked ones defer; owners are claimed. */
	ItemPointerData *owner_rows = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (n + 1)));
	uint32 nowners = 0;
	uint32 offset = 0;
	for (uint32 i = 0; i < n; i++) {
		BulkElement &e = elements[i];
		if (!e.prepared)
			continue;
		uint32 first = offset;
		offset += e.call.nidentities;
		e.identity_owner = rows.owner_text + first;
		e.identity_owner_deleted = rows.deleted + first;
		const ResolvedOwner *owner = nullptr;
		bool simple = e.state == BulkState::Candidate;
		auto claim = [&](const ResolvedOwner *r) {
			if (!claims.claim_owner(&r->live))
				simple = false;
		};
		if (resolved_ids[i])
			claim(resolved_ids[i]);
		for (uint32 k = 0; k < e.call.nidentities; k++) {
			if (rows.blocked[first + k] || rows.deleted[first + k])
				simple = false;
			const ResolvedOwner *o = rows.owner[first + k];
			if (!o)
				continue;
			bool same = owner && memcmp(&owner->live, &o->live, UUID_LEN) == 0;
			if (owner && !same)
				simple = false;
			if (!same)
				claim(o);
			owner = owner ? owner : o;
		}
		if (!simple) {
			e.state = BulkState::Deferred;
			continue;
		}
		e.owner_id = owner ? owner->live_text : nullptr;
		if (owner) {
			e.owner_uuid = owner->live;
			owner_rows[nowners++] = owner->live_row;
		}
	}

	/*
	 * 5-7 in one subtransaction (row locks taken in the subtransaction that
	 * updates the rows need no MultiXact): losing a race to another batch, or
	 * any element's constraint, rolls the chunk back and defers it whole.
	 */
	LockPlanWrite job{elements, n, owner_rows, nowners, &config, &allocator};
	link_race_detected = false;
	if (ErrorData *error = in_subtransaction(lock_plan_write, &job)) {
		int category = ERRCODE_TO_CATEGORY(error->sqlerrcode);
		if (error->sqlerrcode != ERRCODE_UNIQUE_VIOLATION && !link_race_detected &&
		    category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION && category != ERRCODE_DATA_EXCEPTION &&
		    error->sqlerrcode != ERRCODE_UU_IDENTITY_CONFLICT && error->sqlerrcode != ERRCODE_UU_BLOCKED_IDENTITY)
			ReThrowError(error);
		for (uint32 i = 0; i < n; i++)
			if (elements[i].state != BulkState::Deferred)
				elements[i].state = BulkState::Deferred;
	}
	release_identities_since(mark);
}

} // namespace

void
run_chunk(BulkElement *elements, uint32 n) {
	MemoryContext chunk_context = CurrentMemoryContext;
	core::Allocator allocator = palloc_allocator(chunk_context);
	const core::Config config = current_config();
	if (IsolationUsesXactSnapshot() || !users_columns_convertible())
		return; /* every element is deferred */

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The chunk's own data in the chunk's context, which keeps its memory from chunk to chunk (many.cpp). */
	MemoryContextSwitchTo(chunk_context);
	decide_chunk(elements, n, config, allocator);

	/* Answers of the elements decided here, as user_upsert() builds them. */
	for (uint32 i = 0; i < n; i++) {
		BulkElement &e = elements[i];
		if (e.state != BulkState::Planned)
			continue;
		core::TokenSpan row = e.owner.row;
		uint32 nidentities = e.owner.nidentities;
		core::IdentityRef *identities = e.owner.identities;
		if (e.plan.write_row) {
			row = e.written_row;
			identities = static_cast<core::IdentityRef *>(
			    palloc(sizeof(core::IdentityRef) * (e.owner.nidentities + e.plan.nlink + 1)));
			nidentities = 0;
			for (uint32 k = 0; !e.plan.insert && k < e.owner.nidentities; k++)
				identities[nidentities++] = e.owner.identities[k];
			for (uint32 k = 0; k < e.plan.nlink; k++)
				identities[nidentities++] = e.plan.link[k];
		}
		core::TokenSpan answer = cxx_phase("user_upsert_many()", [&] {
			return core::answer_call(e.plan, row, nidentities, identities, allocator);
		});
		e.result = tokens_to_jsonb(with_ordinal(answer, e.ordinal));
	}
	SPI_finish();
}

core::TokenSpan
with_ordinal(core::TokenSpan answer, int64 ordinal) {
	core::Token *tokens = static_cast<core::Token *>(palloc(sizeof(core::Token) * (answer.count + 2)));
	memcpy(tokens, answer.tokens, sizeof(core::Token) * (answer.count - 1));
	char *number = static_cast<char *>(palloc(MAXINT8LEN + 1));
	int len = pg_lltoa(ordinal, number);
	tokens[answer.count - 1] = core::Token{core::TokenType::Key, 7, "ordinal"};
	tokens[answer.count] = core::Token{core::TokenType::Number, static_cast<uint32>(len), number};
	tokens[answer.count + 1] = core::Token{core::TokenType::ObjectEnd, 0, nullptr};
	return core::TokenSpan{tokens, answer.count + 2};
}

void
register_stored_expressions() {
	previous_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = executor_start;
}

} // namespace uu::pg
