/*
 * direct.cpp
 *	  Index probes of users, identities and blocked_identities without the
 *	  executor (see direct.hpp). The relations are found by name once per
 *	  backend and forgotten on any relcache invalidation of them, so DROP and
 *	  CREATE EXTENSION in one session are seen.
 *
 * IDENTIFICATION
 *	  src/pg/direct.cpp
 */
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/itup.h"
#include "access/visibilitymap.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "access/subtrans.h"
#include "storage/procarray.h"
#include "storage/predicate.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_am.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rls.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"
#include "utils/uuid.h"
#include "datatype/timestamp.h"
#include "pgtime.h"
}

#include "core/timestamp.hpp"
#include "pg/direct.hpp"
#include "pg/jsonb.hpp"
#include "pg/lookups.hpp"

#include <initializer_list>

namespace uu::pg {

namespace {

/* One index and the heap columns its leading keys are, checked when the catalogue is built. */
struct IndexOf {
	Oid heap;
	Oid index;
};

struct Catalogue {
	bool valid;
	IndexOf users_by_id;
	IndexOf users_by_fid;
	IndexOf users_by_agent_id;
	IndexOf identities_by_key;
	IndexOf identities_by_user;
	IndexOf blocked_by_key;
	AttrNumber users_id;
	AttrNumber users_merged_into;
	AttrNumber users_deleted_at;
	AttrNumber identity_kind;
	AttrNumber identity_value;
	AttrNumber identity_user_id;
	AttrNumber blocked_reason;
	bool identities_by_user_covers; /* identities_by_user includes kind and value, as columns 2 and 3 */
};

Catalogue catalogue;
bool callback_registered = false;

/*
 * The rows of blocked_identities, kept per backend: the list is small and
 * read by every call, while it changes rarely. Any write to the table fires
 * a statement trigger that invalidates its relcache entry (at commit for
 * other backends, at the next command for this one), which empties this
 * cache; a lookup first takes the invalidations that have arrived, then
 * loads under the latest snapshot. Under REPEATABLE READ and SERIALIZABLE the
 * table is read under the transaction's snapshot instead (blocked_reason()).
 */
struct BlockedCache {
	HTAB *entries; /* "kind:value" -> reason */
	MemoryContext context;
	uint64 invalidations; /* counts forget_catalogue() calls, to see one during a load */
	bool valid;
};
BlockedCache blocked_cache;

/* kind, ':' and value: a normalized identity is far shorter (an external one at most 32 + 1 + 255 bytes) */
constexpr Size kBlockedKeyLen = 512;

struct BlockedEntry {
	char key[kBlockedKeyLen];
	char *reason;
};

void
forget_catalogue(Datum, Oid relid) {
	const Catalogue &c = catalogue;
	if (relid == InvalidOid || relid == c.blocked_by_key.heap) {
		blocked_cache.invalidations++;
		blocked_cache.valid = false;
	}
	if (relid == InvalidOid || relid == c.users_by_id.heap || relid == c.users_by_id.index ||
	    relid == c.users_by_fid.index || relid == c.users_by_agent_id.index ||
	    relid == c.identities_by_key.heap || relid == c.identities_by_key.index ||
	    relid == c.identities_by_user.index || relid == c.blocked_by_key.heap || relid == c.blocked_by_key.index)
		catalogue.valid = false;
}

AttrNumber
column_of(Oid heap, const char *table, const char *column) {
	AttrNumber attno = get_attnum(heap, column);
	if (attno == InvalidAttrNumber)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("column \"%s\" of relation user_upsert.%s does not exist", column, table),
		                errhint("Reinstall the extension.")));
	return attno;
}

/* `index` of user_upsert.`table`, checked to lead with `columns` (the probes below rely on it). */
IndexOf
index_of(Oid ns, const char *table, const char *index, std::initializer_list<const char *> columns) {
	IndexOf found{get_relname_relid(table, ns), get_relname_relid(index, ns)};
	if (!OidIsValid(found.heap) || !OidIsValid(found.index))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
		                errmsg("index user_upsert.%s of table user_upsert.%s does not exist", index, table),
		                errhint("Reinstall the extension.")));
	Relation rel = index_open(found.index, AccessShareLock);
	bool matches = rel->rd_index->indrelid == found.heap &&
	               rel->rd_index->indnkeyatts >= static_cast<int>(columns.size()) && rel->rd_indpred == NIL &&
	               rel->rd_rel->relam == BTREE_AM_OID;
	int i = 0;
	for (const char *column : columns)
		matches = matches && rel->rd_index->indkey.values[i++] == column_of(found.heap, table, column);
	index_close(rel, AccessShareLock);
	if (!matches)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("index user_upsert.%s is not the B-tree the extension created", index),
		                errhint("Reinstall the extension.")));
	return found;
}

const Catalogue &
current_catalogue() {
	if (catalogue.valid)
		return catalogue;
	if (!callback_registered) {
		CacheRegisterRelcacheCallback(forget_catalogue, (Datum) 0);
		callback_registered = true;
	}
	Oid ns = get_namespace_oid("user_upsert", false);
	Catalogue c{};
	c.users_by_id = index_of(ns, "users", "users_pkey", {"id"});
	c.users_by_fid = index_of(ns, "users", "users_fid_key", {"fid"});
	c.users_by_agent_id = index_of(ns, "users", "users_agent_id_key", {"agent_id"});
	c.identities_by_key = index_of(ns, "identities", "identities_pkey", {"kind", "value"});
	c.identities_by_user = index_of(ns, "identities", "identities_user_id_idx", {"user_id"});
	c.blocked_by_key = index_of(ns, "blocked_identities", "blocked_identities_pkey", {"kind", "value"});
	c.users_id = column_of(c.users_by_id.heap, "users", "id");
	c.users_merged_into = column_of(c.users_by_id.heap, "users", "merged_into");
	c.users_deleted_at = column_of(c.users_by_id.heap, "users", "deleted_at");
	c.identity_kind = column_of(c.identities_by_key.heap, "identities", "kind");
	c.identity_value = column_of(c.identities_by_key.heap, "identities", "value");
	c.identity_user_id = column_of(c.identities_by_key.heap, "identities", "user_id");
	c.blocked_reason = column_of(c.blocked_by_key.heap, "blocked_identities", "reason");
	{
		Relation rel = index_open(c.identities_by_user.index, AccessShareLock);
		c.identities_by_user_covers = rel->rd_index->indnatts >= 3 &&
		                              rel->rd_index->indkey.values[1] == c.identity_kind &&
		                              rel->rd_index->indkey.values[2] == c.identity_value;
		index_close(rel, AccessShareLock);
	}
	c.valid = true;
	catalogue = c;
	return catalogue;
}

} // namespace

/* An open scan of one index, rescanned for each key. */
struct DirectScan {
	Oid index_oid;
	Relation heap;
	Relation index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Buffer vm_buffer; /* the visibility map page of an index-only probe */
};

/* The scans of a run of reads under one snapshot: each index is opened once per run. */
struct DirectReader {
	Snapshot snapshot;
	DirectScan scans[8];
	int nscans;
	bool as_caller; /* reads answer a call: checked as the executor would check the caller's SELECT */
	bool blocked_checked; /* as_caller, and the caller may read blocked_identities (its cached copy) */
};

namespace {

/*
 * The functions run with the caller's rights, and their SQL would be refused
 * without SELECT on the tables it reads; the probes are held to the same. Row
 * security has no meaning for an index probe, so a table that enforces it
 * for the caller is refused rather than read past its policies.
 */
void
check_caller_may_read(Relation heap) {
	AclResult acl = pg_class_aclcheck(RelationGetRelid(heap), GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(heap->rd_rel->relkind), RelationGetRelationName(heap));
	refuse_row_security(heap);
}

/* check_caller_may_read() for a table answered from the backend's copy of it, without opening it. */
void
check_caller_may_read(Oid relid) {
	AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		refuse_row_security_of(get_rel_name(relid));
}

DirectScan &
scan_of(DirectReader *reader, const IndexOf &where, int nkeys) {
	for (int i = 0; i < reader->nscans; i++)
		if (reader->scans[i].index_oid == where.index)
			return reader->scans[i];
	if (reader->nscans == static_cast<int>(lengthof(reader->scans)))
		elog(ERROR, "too many direct scans in one read");
	DirectScan &s = reader->scans[reader->nscans];
	s.heap = table_open(where.heap, AccessShareLock);
	if (reader->as_caller)
		check_caller_may_read(s.heap);
	s.index = index_open(where.index, AccessShareLock);
	s.scan = index_beginscan(s.heap, s.index, reader->snapshot, nkeys, 0);
	s.slot = table_slot_create(s.heap, nullptr);
	s.vm_buffer = InvalidBuffer;
	s.index_oid = where.index;
	reader->nscans++;
	return s;
}

/* The reader's scan of `where`, restarted at `keys` compared with the index's own collations. */
DirectScan &
rescan(const IndexOf &where, ScanKeyData *keys, int nkeys, DirectReader *reader, bool want_index_tuples) {
	DirectScan &s = scan_of(reader, where, nkeys);
	for (int i = 0; i < nkeys; i++)
		keys[i].sk_collation = s.index->rd_indcollation[keys[i].sk_attno - 1];
	s.scan->xs_want_itup = want_index_tuples; /* before the rescan, which makes room for the tuples */
	index_rescan(s.scan, keys, nkeys, nullptr, 0);
	return s;
}

/*
 * Calls visit(slot, arg) for each tuple visible to the reader's snapshot
 * whose leading index columns equal `keys` (already initialized with
 * ScanKeyInit), until it returns false.
 */
void
probe(const IndexOf &where, ScanKeyData *keys, int nkeys, DirectReader *reader,
      bool (*visit)(TupleTableSlot *slot, void *arg), void *arg) {
	DirectScan &s = rescan(where, keys, nkeys, reader, false);
	while (index_getnext_slot(s.scan, ForwardScanDirection, s.slot))
		if (!visit(s.slot, arg))
			break;
	ExecClearTuple(s.slot);
}

/*
 * probe() reading what it can from the index tuples, as an index-only scan
 * does: visit_index(itup, desc, arg) for an entry on an all-visible heap
 * page (visible to every snapshot), visit(slot, arg) with the heap tuple
 * otherwise.
 */
void
probe_index_only(const IndexOf &where, ScanKeyData *keys, int nkeys, DirectReader *reader,
                 bool (*visit_index)(IndexTuple itup, TupleDesc desc, void *arg),
                 bool (*visit)(TupleTableSlot *slot, void *arg), void *arg) {
	DirectScan &s = rescan(where, keys, nkeys, reader, true);
	ItemPointer tid;
	while ((tid = index_getnext_tid(s.scan, ForwardScanDirection)) != nullptr) {
		if (!VM_ALL_VISIBLE(s.heap, ItemPointerGetBlockNumber(tid), &s.vm_buffer)) {
			if (!index_fetch_heap(s.scan, s.slot))
				continue;
			if (!visit(s.slot, arg))
				break;
			continue;
		}
		/* As nodeIndexonlyscan.c: no heap tuple read, so lock the page for SSI. */
		PredicateLockPage(s.heap, ItemPointerGetBlockNumber(tid), reader->snapshot);
		if (!visit_index(s.scan->xs_itup, s.scan->xs_itupdesc, arg))
			break;
	}
	ExecClearTuple(s.slot);
}

void
text_keys(ScanKeyData keys[2], const char *kind, const char *value) {
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(kind));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(value));
}

struct TextOut {
	AttrNumber column;
	char *text;
};

bool
copy_text_column(TupleTableSlot *slot, void *arg) {
	TextOut *out = static_cast<TextOut *>(arg);
	bool isnull;
	Datum d = slot_getattr(slot, out->column, &isnull);
	out->text = isnull ? nullptr : TextDatumGetCString(d);
	return false;
}

struct UuidOut {
	AttrNumber column;
	bool found;
	pg_uuid_t *uuid;
};

bool
copy_uuid(TupleTableSlot *slot, void *arg) {
	UuidOut *out = static_cast<UuidOut *>(arg);
	bool isnull;
	Datum d = slot_getattr(slot, out->column, &isnull);
	out->found = !isnull;
	if (!isnull)
		*out->uuid = *DatumGetUUIDP(d);
	return false;
}

bool
is_convertible_type(Oid type) {
	switch (type) {
	case TEXTOID:
	case UUIDOID:
	case TIMESTAMPTZOID:
	case TIMESTAMPOID:
	case DATEOID:
	case INT8OID:
	case INT4OID:
	case BOOLOID:
	case JSONBOID: return true;
	default: return false;
	}
}

/*
 * A timestamptz as to_jsonb() spells it, by the core in a session time zone
 * at a fixed offset (UTC, the usual server setting), where timestamp2tm()'s
 * zone lookup costs more than the rest of the spelling; by
 * JsonEncodeDateTime() otherwise.
 */
char *
spell_timestamptz(TimestampTz t) {
	long offset;
	if (!TIMESTAMP_NOT_FINITE(t) && session_timezone && pg_get_timezone_offset(session_timezone, &offset)) {
		char buf[40];
		size_t len = core::format_jsonb_timestamptz(timestamptz_to_unix_micros(t), static_cast<int32>(offset), buf);
		if (len > 0)
			return pnstrdup(buf, len);
	}
	return JsonEncodeDateTime(nullptr, TimestampTzGetDatum(t), TIMESTAMPTZOID, nullptr);
}

/* One column of a users row as to_jsonb() spells it; false for a type it does not convert. */
bool
append_column(TokenBuffer &buf, Oid type, Datum value, bool isnull) {
	using core::TokenType;
	if (isnull) {
		buf.push(TokenType::Null, nullptr, 0);
		return true;
	}
	char *spelled = nullptr;
	TokenType token = TokenType::String;
	switch (type) {
	case TEXTOID: spelled = TextDatumGetCString(value); break;
	case UUIDOID: spelled = uuid_text(DatumGetUUIDP(value)); break;
	case TIMESTAMPTZOID:
		spelled = spell_timestamptz(DatumGetTimestampTz(value));
		break;
	case TIMESTAMPOID:
	case DATEOID: spelled = JsonEncodeDateTime(nullptr, value, type, nullptr); break;
	case INT8OID:
		spelled = static_cast<char *>(palloc(MAXINT8LEN + 1));
		pg_lltoa(DatumGetInt64(value), spelled);
		token = TokenType::Number;
		break;
	case INT4OID:
		spelled = static_cast<char *>(palloc(MAXINT8LEN + 1));
		pg_ltoa(DatumGetInt32(value), spelled);
		token = TokenType::Number;
		break;
	case BOOLOID: buf.push(DatumGetBool(value) ? TokenType::True : TokenType::False, nullptr, 0); return true;
	case JSONBOID: append_container_tokens(buf, &DatumGetJsonbPCopy(value)->root); return true;
	default: return false;
	}
	buf.push(token, spelled, static_cast<uint32>(strlen(spelled)));
	return true;
}

struct UserOut {
	const Catalogue *catalogue;
	DirectUser *user;
	DirectFetch outcome;
};

/*
 * desc's attribute indexes in jsonb's key order (shorter names first, then
 * bytewise), so that the document written from a row needs (almost) no
 * sorting. Kept for the last descriptor seen; any order is a correct one, so
 * a descriptor freed and another allocated at its address only costs a sort.
 */
const int *
jsonb_key_order(TupleDesc desc) {
	static TupleDesc cached_desc = nullptr;
	static int cached_natts = 0;
	static int *order = nullptr;
	if (desc == cached_desc && desc->natts == cached_natts)
		return order;
	cached_desc = nullptr;
	order = static_cast<int *>(order ? repalloc(order, sizeof(int) * Max(desc->natts, 1))
	                                 : MemoryContextAlloc(TopMemoryContext, sizeof(int) * Max(desc->natts, 1)));
	for (int i = 0; i < desc->natts; i++) {
		const char *name = NameStr(TupleDescAttr(desc, i)->attname);
		size_t len = strlen(name);
		int j = i;
		for (; j > 0; j--) {
			const char *other = NameStr(TupleDescAttr(desc, order[j - 1])->attname);
			size_t other_len = strlen(other);
			if (other_len < len || (other_len == len && memcmp(other, name, len) <= 0))
				break;
			order[j] = order[j - 1];
		}
		order[j] = i;
	}
	cached_desc = desc;
	cached_natts = desc->natts;
	return order;
}

/*
 * A row's columns as to_jsonb() spells the row; false for a column type
 * append_column() does not know. The keys are copies: the tokens outlive the
 * slot and the relation, and a relcache reset may then free the descriptor.
 */
bool
row_tokens(TupleDesc desc, const Datum *values, const bool *nulls, core::TokenSpan *out) {
	TokenBuffer buf{};
	buf.push(core::TokenType::ObjectBegin, nullptr, 0);
	const int *order = jsonb_key_order(desc);
	char *names = static_cast<char *>(palloc(static_cast<size_t>(Max(desc->natts, 1)) * NAMEDATALEN));
	for (int k = 0; k < desc->natts; k++) {
		int i = order[k];
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (att->attisdropped)
			continue;
		char *name = names + static_cast<size_t>(k) * NAMEDATALEN;
		size_t len = strlen(NameStr(att->attname));
		memcpy(name, NameStr(att->attname), len + 1);
		buf.push(core::TokenType::Key, name, static_cast<uint32>(len));
		if (!append_column(buf, att->atttypid, values[i], nulls[i]))
			return false;
	}
	buf.push(core::TokenType::ObjectEnd, nullptr, 0);
	*out = core::TokenSpan{buf.tokens, buf.count};
	return true;
}

bool
copy_user_row(TupleTableSlot *slot, void *arg) {
	UserOut *out = static_cast<UserOut *>(arg);
	slot_getallattrs(slot);
	if (!row_tokens(slot->tts_tupleDescriptor, slot->tts_values, slot->tts_isnull, &out->user->record.row)) {
		out->outcome = DirectFetch::Unsupported;
		return false;
	}
	Datum id = slot->tts_values[out->catalogue->users_id - 1];
	out->user->uuid = *DatumGetUUIDP(id);
	/* The row's first member is "id" (the shortest name), already spelled by uuid_text() (a NUL-terminated palloc'd string). */
	const core::TokenSpan &row = out->user->record.row;
	if (row.count > 2 && row.tokens[1].type == core::TokenType::Key && row.tokens[1].len == 2 &&
	    memcmp(row.tokens[1].str, "id", 2) == 0 && row.tokens[2].type == core::TokenType::String)
		out->user->id = const_cast<char *>(row.tokens[2].str);
	else
		out->user->id = uuid_text(DatumGetUUIDP(id));
	out->user->merged = !slot->tts_isnull[out->catalogue->users_merged_into - 1];
	out->user->deleted = !slot->tts_isnull[out->catalogue->users_deleted_at - 1];
	out->outcome = DirectFetch::Found;
	return false;
}

struct IdentitiesOut {
	const Catalogue *catalogue;
	core::IdentityRef *identities;
	uint32 count;
	uint32 capacity;
};

void
add_identity(IdentitiesOut *out, Datum kind, Datum value) {
	if (out->count == out->capacity) {
		out->capacity *= 2;
		out->identities =
		    static_cast<core::IdentityRef *>(repalloc(out->identities, sizeof(core::IdentityRef) * out->capacity));
	}
	out->identities[out->count++] = core::IdentityRef{TextDatumGetCString(kind), TextDatumGetCString(value)};
}

bool
copy_identity(TupleTableSlot *slot, void *arg) {
	IdentitiesOut *out = static_cast<IdentitiesOut *>(arg);
	bool isnull;
	add_identity(out, slot_getattr(slot, out->catalogue->identity_kind, &isnull),
	             slot_getattr(slot, out->catalogue->identity_value, &isnull));
	return true;
}

/* copy_identity() from an entry of identities_by_user when it covers kind and value (columns 2 and 3). */
bool
copy_identity_entry(IndexTuple itup, TupleDesc desc, void *arg) {
	bool isnull;
	add_identity(static_cast<IdentitiesOut *>(arg), index_getattr(itup, 2, desc, &isnull),
	             index_getattr(itup, 3, desc, &isnull));
	return true;
}

} // namespace

void
refuse_row_security_of(const char *table) {
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
	                errmsg("user_upsert does not support row-level security on table user_upsert.%s", table),
	                errhint("Disable row-level security on the table, or call as a role that bypasses it.")));
}

void
refuse_row_security(Relation heap) {
	if (heap->rd_rel->relrowsecurity && check_enable_rls(RelationGetRelid(heap), InvalidOid, false) == RLS_ENABLED)
		refuse_row_security_of(RelationGetRelationName(heap));
}

DirectReader *
begin_direct_reads(Snapshot snapshot) {
	/* As SPI runs a VOLATILE function's statement: see this command's own earlier writes. */
	CommandCounterIncrement();
	if (snapshot)
		PushCopiedSnapshot(snapshot);
	else
		PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	DirectReader *reader = static_cast<DirectReader *>(palloc0(sizeof(DirectReader)));
	reader->snapshot = GetActiveSnapshot();
	reader->as_caller = true;
	return reader;
}

namespace {

void
close_scans(DirectReader *reader) {
	for (int i = reader->nscans - 1; i >= 0; i--) {
		DirectScan &s = reader->scans[i];
		ExecDropSingleTupleTableSlot(s.slot);
		if (BufferIsValid(s.vm_buffer))
			ReleaseBuffer(s.vm_buffer);
		index_endscan(s.scan);
		index_close(s.index, NoLock);
		table_close(s.heap, NoLock);
	}
	reader->nscans = 0;
}

} // namespace

void
end_direct_reads(DirectReader *reader) {
	close_scans(reader);
	Assert(reader->snapshot == GetActiveSnapshot());
	PopActiveSnapshot();
}

namespace {

/* Column `column` of the row a (kind, value) index finds, as `copy` spells it; nullptr when none. */
char *
column_by_identity(const IndexOf &where, AttrNumber column, bool (*copy)(TupleTableSlot *, void *), const char *kind,
                   const char *value, DirectReader *reader) {
	ScanKeyData keys[2];
	text_keys(keys, kind, value);
	TextOut out{column, nullptr};
	probe(where, keys, 2, reader, copy, &out);
	return out.text;
}

} // namespace

bool
direct_identity_owner_id(const char *kind, const char *value, DirectReader *reader, pg_uuid_t *owner) {
	const Catalogue &c = current_catalogue();
	ScanKeyData keys[2];
	text_keys(keys, kind, value);
	UuidOut out{c.identity_user_id, false, owner};
	probe(c.identities_by_key, keys, 2, reader, copy_uuid, &out);
	return out.found;
}

char *
direct_identity_owner(const char *kind, const char *value, DirectReader *reader) {
	pg_uuid_t owner;
	if (!direct_identity_owner_id(kind, value, reader, &owner))
		return nullptr;
	return uuid_text(&owner);
}

namespace {

bool
blocked_key(char key[kBlockedKeyLen], const char *kind, const char *value) {
	size_t kind_len = strlen(kind), value_len = strlen(value);
	if (kind_len + 1 + value_len + 1 > kBlockedKeyLen)
		return false; /* longer than any normalized identity: cannot match one */
	memcpy(key, kind, kind_len);
	key[kind_len] = ':';
	memcpy(key + kind_len + 1, value, value_len + 1);
	return true;
}

/* (Re)loads blocked_cache under the latest snapshot; loads again if an invalidation arrived meanwhile. */
void
load_blocked_cache(const Catalogue &c) {
	if (blocked_cache.context == nullptr) {
		blocked_cache.context =
		    AllocSetContextCreate(CacheMemoryContext, "user_upsert blocked identities", ALLOCSET_SMALL_SIZES);
	}
	for (;;) {
		MemoryContextReset(blocked_cache.context);
		blocked_cache.entries = nullptr;
		uint64 seen = blocked_cache.invalidations;
		Relation rel = table_open(c.blocked_by_key.heap, AccessShareLock); /* may take invalidations */
		seen = blocked_cache.invalidations;
		HASHCTL ctl{};
		ctl.keysize = kBlockedKeyLen;
		ctl.entrysize = sizeof(BlockedEntry);
		ctl.hcxt = blocked_cache.context;
		HTAB *entries = hash_create("user_upsert blocked identities", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
		TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
		TupleTableSlot *slot = table_slot_create(rel, nullptr);
		AttrNumber kind_att = column_of(c.blocked_by_key.heap, "blocked_identities", "kind");
		AttrNumber value_att = column_of(c.blocked_by_key.heap, "blocked_identities", "value");
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
			bool kind_null, value_null, reason_null;
			Datum kind = slot_getattr(slot, kind_att, &kind_null);
			Datum value = slot_getattr(slot, value_att, &value_null);
			Datum reason = slot_getattr(slot, c.blocked_reason, &reason_null);
			if (kind_null || value_null)
				continue;
			char key[kBlockedKeyLen];
			if (!blocked_key(key, TextDatumGetCString(kind), TextDatumGetCString(value)))
				continue;
			BlockedEntry *entry = static_cast<BlockedEntry *>(hash_search(entries, key, HASH_ENTER, nullptr));
			entry->reason = reason_null ? MemoryContextStrdup(blocked_cache.context, "blocked")
			                            : MemoryContextStrdup(blocked_cache.context, TextDatumGetCString(reason));
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
		UnregisterSnapshot(snapshot);
		table_close(rel, NoLock);
		blocked_cache.entries = entries;
		if (blocked_cache.invalidations == seen) {
			blocked_cache.valid = true;
			return;
		}
	}
}

} // namespace

char *
direct_blocked_reason(const char *kind, const char *value, DirectReader *reader) {
	const Catalogue &c = current_catalogue();
	if (IsolationUsesXactSnapshot())
		return column_by_identity(c.blocked_by_key, c.blocked_reason, copy_text_column, kind, value, reader);
	if (reader->as_caller && !reader->blocked_checked) {
		/* The backend's copy answers for the table: held to the caller's SELECT on the table itself. */
		check_caller_may_read(c.blocked_by_key.heap);
		reader->blocked_checked = true;
	}
	AcceptInvalidationMessages();
	if (!blocked_cache.valid)
		load_blocked_cache(current_catalogue());
	char key[kBlockedKeyLen];
	if (!blocked_key(key, kind, value))
		return nullptr;
	BlockedEntry *entry = static_cast<BlockedEntry *>(hash_search(blocked_cache.entries, key, HASH_FIND, nullptr));
	return entry ? pstrdup(entry->reason) : nullptr;
}

namespace {

/* The identities of the user `fetch_user` or `direct_fetch_user_at` found. */
DirectFetch
with_identities(const Catalogue &c, DirectReader *reader, DirectUser &user) {
	ScanKeyData by_user;
	ScanKeyInit(&by_user, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&user.uuid));
	IdentitiesOut identities{&c, static_cast<core::IdentityRef *>(palloc(sizeof(core::IdentityRef) * 4)), 0, 4};
	if (c.identities_by_user_covers)
		probe_index_only(c.identities_by_user, &by_user, 1, reader, copy_identity_entry, copy_identity, &identities);
	else
		probe(c.identities_by_user, &by_user, 1, reader, copy_identity, &identities);
	user.record.nidentities = identities.count;
	user.record.identities = identities.identities;
	return DirectFetch::Found;
}

/* The users row `key` finds in `where`, with its identities. */
DirectFetch
fetch_user(const Catalogue &c, const IndexOf &where, ScanKeyData *key, DirectReader *reader, DirectUser &user) {
	UserOut out{&c, &user, DirectFetch::Missing};
	probe(where, key, 1, reader, copy_user_row, &out);
	if (out.outcome != DirectFetch::Found)
		return out.outcome;
	return with_identities(c, reader, user);
}

/* The mirror column's unique index for `kind` (fid, agent) and its key for `value`; nullptr for other kinds. */
const IndexOf *
mirror_key(const Catalogue &c, const char *kind, const char *value, ScanKeyData *key) {
	if (strcmp(kind, "fid") == 0) {
		ScanKeyInit(key, 1, BTEqualStrategyNumber, F_INT8EQ, DirectFunctionCall1(int8in, CStringGetDatum(value)));
		return &c.users_by_fid;
	}
	if (strcmp(kind, "agent") == 0) {
		ScanKeyInit(key, 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(value));
		return &c.users_by_agent_id;
	}
	return nullptr;
}

} // namespace

DirectFetch
direct_fetch_user(const char *id, DirectReader *reader, DirectUser &user) {
	const Catalogue &c = current_catalogue();
	ScanKeyData key;
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, DirectFunctionCall1(uuid_in, CStringGetDatum(id)));
	return fetch_user(c, c.users_by_id, &key, reader, user);
}

DirectFetch
direct_fetch_user_at(ItemPointer tid, DirectReader *reader, DirectUser &user) {
	const Catalogue &c = current_catalogue();
	DirectScan &s = scan_of(reader, c.users_by_id, 1);
	UserOut out{&c, &user, DirectFetch::Missing};
	if (table_tuple_fetch_row_version(s.heap, tid, reader->snapshot, s.slot))
		(void) copy_user_row(s.slot, &out);
	ExecClearTuple(s.slot);
	if (out.outcome != DirectFetch::Found)
		return out.outcome;
	return with_identities(c, reader, user);
}

DirectFetch
direct_fetch_user_by_mirror(const char *kind, const char *value, DirectReader *reader, DirectUser &user) {
	const Catalogue &c = current_catalogue();
	ScanKeyData key;
	const IndexOf *mirror = mirror_key(c, kind, value, &key);
	return mirror ? fetch_user(c, *mirror, &key, reader, user) : DirectFetch::Missing;
}

namespace {

/* FOR UPDATE needs UPDATE on the table or on one of its columns (ExecCheckRTEPerms() for a row mark). */
void
check_caller_may_lock(Relation heap) {
	Oid relid = RelationGetRelid(heap);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
	    pg_attribute_aclcheck_all(relid, GetUserId(), ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(heap->rd_rel->relkind), RelationGetRelationName(heap));
	refuse_row_security(heap);
}

struct Tids {
	ItemPointerData *tids;
	uint32 count;
	uint32 capacity;
};

bool
collect_tid(TupleTableSlot *slot, void *arg) {
	Tids *out = static_cast<Tids *>(arg);
	if (out->count == out->capacity) {
		out->capacity *= 2;
		out->tids = static_cast<ItemPointerData *>(repalloc(out->tids, sizeof(ItemPointerData) * out->capacity));
	}
	out->tids[out->count++] = slot->tts_tid;
	return true;
}

/* The versions of the rows `where` finds for `key` that `reader` sees. */
Tids
row_versions(const IndexOf &where, ScanKeyData *key, DirectReader *reader) {
	Tids found{static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 4)), 0, 4};
	probe(where, key, 1, reader, collect_tid, &found);
	return found;
}

/* Row locks on one table under one reader's snapshot, as one FOR UPDATE statement takes them. */
struct RowLocks {
	Relation heap;
	DirectReader *reader;
	TupleTableSlot *slot; /* the version lock_row_version() locked */
};

RowLocks
begin_row_locks(Oid heap_oid) {
	Relation heap = table_open(heap_oid, RowShareLock);
	check_caller_may_lock(heap);
	return RowLocks{heap, begin_direct_reads(), table_slot_create(heap, nullptr)};
}

void
end_row_locks(RowLocks &locks) {
	ExecDropSingleTupleTableSlot(locks.slot);
	end_direct_reads(locks.reader);
	table_close(locks.heap, NoLock);
}

/*
 * FOR UPDATE SKIP LOCKED of the row version `tid`, as ExecLockRows() takes
 * it but without TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS. With that flag, a
 * version whose updater ends while heap_lock_tuple() waits on it
 * conditionally sends the lock along the update chain
 * (heap_lock_updated_tuple()), which waits for the locker of a newer version
 * whatever the wait policy. A direct UPDATE of users locks its row before its
 * trigger takes identity locks, so a caller holding identity locks deadlocked
 * with it there. Under READ COMMITTED the newest version is locked
 * (TUPLE_LOCK_FLAG_FIND_LAST_VERSION, whose own waits honour SKIP LOCKED) and
 * left in the slot; under REPEATABLE READ a version changed since the snapshot
 * is a serialization failure, as ExecLockRows() reports it.
 */
RowLock
lock_row_version(RowLocks &locks, ItemPointerData tid) {
	TM_FailureData failure;
	int flags = IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	TM_Result result = table_tuple_lock(locks.heap, &tid, locks.reader->snapshot, locks.slot, GetCurrentCommandId(true),
	                                    LockTupleExclusive, LockWaitSkip, flags, &failure);
	switch (result) {
	case TM_Ok:
		return RowLock::Locked;
	case TM_WouldBlock:
		return RowLock::Busy;
	case TM_SelfModified:
		return RowLock::Gone; /* ExecLockRows() skips the row too */
	case TM_Updated:
		if (IsolationUsesXactSnapshot())
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("could not serialize access due to concurrent update")));
		break;
	case TM_Deleted:
		if (IsolationUsesXactSnapshot())
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("could not serialize access due to concurrent delete")));
		return RowLock::Gone;
	default:
		break;
	}
	elog(ERROR, "unexpected table_tuple_lock status: %u", result);
	pg_unreachable();
}

} // namespace

RowLock
direct_lock_user(const char *id, ItemPointerData seen, DirectUser &user, DirectFetch &read) {
	const Catalogue &c = current_catalogue();
	Datum uuid = DirectFunctionCall1(uuid_in, CStringGetDatum(id));
	RowLocks locks = begin_row_locks(c.users_by_id.heap);
	bool from_seen = ItemPointerIsValid(&seen);
	RowLock outcome = from_seen ? lock_row_version(locks, seen) : RowLock::Gone;
	bool isnull;
	/* The chain from `seen` ends at this user's newest version, unless its id was rewritten on the way. */
	if (outcome == RowLock::Locked &&
	    memcmp(DatumGetUUIDP(slot_getattr(locks.slot, c.users_id, &isnull)), DatumGetUUIDP(uuid), UUID_LEN) != 0)
		from_seen = false;
	if (!from_seen) {
		ScanKeyData key;
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, uuid);
		Tids found = row_versions(c.users_by_id, &key, locks.reader);
		outcome = found.count == 0 ? RowLock::Gone : lock_row_version(locks, found.tids[0]);
	}
	ItemPointerData locked = locks.slot->tts_tid;
	end_row_locks(locks);
	if (outcome != RowLock::Locked)
		return outcome;
	user.locked_row = locked;
	DirectReader *reader = begin_direct_reads();
	read = direct_fetch_user_at(&locked, reader, user);
	end_direct_reads(reader);
	if (read == DirectFetch::Missing)
		elog(ERROR, "user %s vanished while locked", id);
	return outcome;
}

uint32
direct_lock_user_versions(const ItemPointerData *tids, uint32 n, pg_uuid_t *ids, ItemPointerData *locked) {
	const Catalogue &c = current_catalogue();
	RowLocks locks = begin_row_locks(c.users_by_id.heap);
	uint32 count = 0;
	for (uint32 i = 0; i < n; i++) {
		if (lock_row_version(locks, tids[i]) != RowLock::Locked)
			continue;
		bool isnull;
		ids[count] = *DatumGetUUIDP(slot_getattr(locks.slot, c.users_id, &isnull));
		locked[count++] = locks.slot->tts_tid;
	}
	end_row_locks(locks);
	return count;
}

uint32
direct_lock_identity_rows(const char *id) {
	const Catalogue &c = current_catalogue();
	Datum user_id = DirectFunctionCall1(uuid_in, CStringGetDatum(id));
	ScanKeyData key;
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, user_id);
	RowLocks locks = begin_row_locks(c.identities_by_user.heap);
	Tids found = row_versions(c.identities_by_user, &key, locks.reader);
	uint32 count = 0;
	for (uint32 i = 0; i < found.count; i++) {
		if (lock_row_version(locks, found.tids[i]) != RowLock::Locked)
			continue;
		/* A newer version is counted only if it still matches, as the executor rechecks it. */
		bool isnull;
		Datum owner = slot_getattr(locks.slot, c.identity_user_id, &isnull);
		if (!isnull && memcmp(DatumGetUUIDP(owner), DatumGetUUIDP(user_id), UUID_LEN) == 0)
			count++;
	}
	end_row_locks(locks);
	return count;
}

namespace {

/* Under a dirty snapshot, the fetch reports an in-progress inserter (xmin) or deleter (xmax). */
bool
note_writer(TupleTableSlot *, void *arg) {
	SnapshotData *dirty = static_cast<SnapshotData *>(arg);
	return !TransactionIdIsValid(dirty->xmin) && !TransactionIdIsValid(dirty->xmax);
}

} // namespace

TransactionId
direct_identity_in_progress(const char *kind, const char *value) {
	const Catalogue &c = current_catalogue();
	SnapshotData dirty;
	InitDirtySnapshot(dirty);
	dirty.xmin = dirty.xmax = InvalidTransactionId; /* a probe that finds nothing leaves them so */
	DirectReader reader{};
	reader.snapshot = &dirty;
	ScanKeyData keys[2];
	text_keys(keys, kind, value);
	probe(c.identities_by_key, keys, 2, &reader, note_writer, &dirty);
	close_scans(&reader);
	return TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
}

namespace {

/*
 * XactLockTableWait(), but over as soon as the innermost still-open
 * transaction around the writer ends, not only its top level. The writer is
 * often a subtransaction of a batch (a chunk, subcommitted into the batch's
 * own subtransaction): when the batch restarts it rolls that back, and the
 * chunk's writes with it, while its top-level transaction stays open.
 * XactLockTableWait() would go on waiting for the top level; a trigger doing
 * so holds the identity lock the restarted batch waits for (stress stalls of
 * ~100 s: the batch restarting until it gave up with 40P01).
 */
bool
wait_for_xact(void *arg) {
	TransactionId xid = *static_cast<TransactionId *>(arg);
	while (TransactionIdIsValid(xid)) {
		LOCKTAG tag;
		SET_LOCKTAG_TRANSACTION(tag, xid);
		if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL) {
			(void) LockAcquire(&tag, ShareLock, false, false);
			LockRelease(&tag, ShareLock, false);
			break;
		}
		LockRelease(&tag, ShareLock, false);
		if (!TransactionIdIsInProgress(xid))
			break;
		/* Subcommitted (a subtransaction's lock goes when it ends): its writes are its parent's now. */
		xid = SubTransGetParent(xid);
	}
	return false; /* nothing to keep; the caller looks again */
}

} // namespace

bool
waited_for_transaction(TransactionId xid) {
	/* In a subtransaction: a wait the deadlock detector ends is just over (the caller looks again). */
	if (ErrorData *error = in_subtransaction(wait_for_xact, &xid))
		if (error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(error);
	return true;
}

void
wait_for_uncommitted_identity(const char *kind, const char *value) {
	for (int attempt = 0;; attempt++) {
		TransactionId xid = direct_identity_in_progress(kind, value);
		if (!TransactionIdIsValid(xid))
			return;
		if (attempt >= 100)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("identity (%s, %s) stayed in another transaction's write", kind, value),
			                errhint("Retry the transaction.")));
		(void) waited_for_transaction(xid);
	}
}

char *
uuid_text(const pg_uuid_t *uuid) {
	/* uuid_out's spelling (8-4-4-4-12 lowercase hex) without its StringInfo, one character at a time. */
	static const char hex[] = "0123456789abcdef";
	char *text = static_cast<char *>(palloc(2 * UUID_LEN + 5));
	char *p = text;
	for (int i = 0; i < UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[uuid->data[i] >> 4];
		*p++ = hex[uuid->data[i] & 0x0f];
	}
	*p = '\0';
	return text;
}

namespace {

struct StatusOut {
	const Catalogue *catalogue;
	bool found;
	UserStatus *status;
};

bool
copy_status(TupleTableSlot *slot, void *arg) {
	StatusOut *out = static_cast<StatusOut *>(arg);
	const Catalogue &c = *out->catalogue;
	bool isnull;
	out->status->id = *DatumGetUUIDP(slot_getattr(slot, c.users_id, &isnull));
	Datum merged = slot_getattr(slot, c.users_merged_into, &out->status->merged);
	out->status->merged = !out->status->merged;
	if (out->status->merged)
		out->status->merged_into = *DatumGetUUIDP(merged);
	(void) slot_getattr(slot, c.users_deleted_at, &isnull);
	out->status->deleted = !isnull;
	out->status->row = slot->tts_tid;
	out->found = true;
	return false;
}

} // namespace

bool
direct_user_status(const pg_uuid_t *id, DirectReader *reader, UserStatus *status) {
	const Catalogue &c = current_catalogue();
	ScanKeyData key;
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(id));
	StatusOut out{&c, false, status};
	probe(c.users_by_id, &key, 1, reader, copy_status, &out);
	return out.found;
}

MergeChainEnd
direct_follow_merges(const pg_uuid_t *id, DirectReader *reader, const UserStatus *known) {
	MergeChainEnd end{false, false, *id, {}};
	ItemPointerSetInvalid(&end.live_row);
	for (int hops = 0;; hops++) {
		if (hops > 10000)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("merge chain of user %s does not end", uuid_text(id)),
			                errhint("Run user_upsert.user_verify().")));
		UserStatus status;
		if (hops == 0 && known)
			status = *known;
		else if (!direct_user_status(&end.live, reader, &status))
			return end;
		end.exists = true;
		end.deleted = status.deleted;
		end.live_row = status.row;
		if (!status.merged)
			return end;
		end.live = status.merged_into;
	}
}

bool
direct_mirror_owner(const char *kind, const char *value, DirectReader *reader, UserStatus *status) {
	const Catalogue &c = current_catalogue();
	ScanKeyData key;
	const IndexOf *mirror = mirror_key(c, kind, value, &key);
	if (!mirror)
		return false;
	StatusOut out{&c, false, status};
	probe(*mirror, &key, 1, reader, copy_status, &out);
	return out.found;
}

bool
composite_row_tokens(Datum composite, core::TokenSpan *out) {
	HeapTupleHeader header = DatumGetHeapTupleHeader(composite);
	TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header), HeapTupleHeaderGetTypMod(header));
	HeapTupleData tuple;
	tuple.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = header;
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * (desc->natts + 1)));
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * (desc->natts + 1)));
	heap_deform_tuple(&tuple, desc, values, nulls);
	bool converted = row_tokens(desc, values, nulls, out);
	ReleaseTupleDesc(desc);
	return converted;
}

bool
slot_row_tokens(TupleTableSlot *slot, core::TokenSpan *out) {
	slot_getallattrs(slot);
	return row_tokens(slot->tts_tupleDescriptor, slot->tts_values, slot->tts_isnull, out);
}

Oid
users_relation() {
	return current_catalogue().users_by_id.heap;
}

Oid
identities_relation() {
	return current_catalogue().identities_by_key.heap;
}

bool
is_user_upsert_table(Oid relid) {
	return catalogue.valid && (relid == catalogue.users_by_id.heap || relid == catalogue.identities_by_key.heap);
}

bool
columns_convertible(TupleDesc desc) {
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		if (!att->attisdropped && !is_convertible_type(att->atttypid))
			return false;
	}
	return true;
}

bool
users_columns_convertible() {
	Relation users = table_open(current_catalogue().users_by_id.heap, AccessShareLock);
	bool convertible = columns_convertible(RelationGetDescr(users));
	table_close(users, NoLock);
	return convertible;
}

} // namespace uu::pg
