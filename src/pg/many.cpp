/*
 * many.cpp
 *	  user_upsert_many(payloads jsonb) returns setof jsonb: one result per
 *	  element, in order, as one user_upsert() per element would give.
 *
 *	  Elements are read into chunks of up to 256 elements or about 256
 *	  identity locks; bulk.cpp decides what it can of a chunk set-wise and
 *	  the rest go one by one (run_one: user_upsert() in a subtransaction, so
 *	  a bad element yields its error object and the others still apply; a
 *	  lost race is decided again).
 *
 *	  Locks: a chunk gives its identity locks back when it is done (see
 *	  announce_batch() in locking.hpp), so a batch of any size holds a bounded
 *	  number of lock-table entries and blocks only calls on the users it
 *	  wrote (their row locks stay until commit). Batches take turns
 *	  (take_batch_turn()); should a wait of the batch still end in a deadlock
 *	  PostgreSQL's detector breaks (a transaction that holds rows of earlier
 *	  statements), the whole batch rolls back, freeing its rows, and runs
 *	  again.
 *
 *	  Memory: each chunk runs in a context reset after it (its first block,
 *	  kChunkMemory, kept across resets); results go to the
 *	  materialized tuplestore.
 *
 * IDENTIFICATION
 *	  src/pg/many.cpp
 */
#include "core/call.hpp"

extern "C" {
#include "postgres.h"

#include "access/tupdesc.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
}

#include "pg/boundary.hpp"
#include "pg/bulk.hpp"
#include "pg/errors.hpp"
#include "pg/guc.hpp"
#include "pg/jsonb.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"
#include "pg/upsert.hpp"

namespace uu::pg {

namespace {

/*
 * Errors an element's payload can cause: reported per element. Anything else
 * ends the batch. Besides 22xxx, UU001 and UU002, that is a constraint the
 * application put on the tables and the payload's values break (CHECK, NOT
 * NULL, a foreign key of its own: 23xxx, but 23505, a lost race decided again).
 */
bool
is_element_error(int sqlerrcode) {
	int category = ERRCODE_TO_CATEGORY(sqlerrcode);
	return category == ERRCODE_DATA_EXCEPTION ||
	       (category == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION && sqlerrcode != ERRCODE_UNIQUE_VIOLATION) ||
	       sqlerrcode == ERRCODE_UU_IDENTITY_CONFLICT || sqlerrcode == ERRCODE_UU_BLOCKED_IDENTITY;
}

Jsonb *
with_ordinal(Jsonb *result, int64 ordinal) {
	Jsonb *ordinal_object = DatumGetJsonbP(
	    DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{\"ordinal\": " INT64_FORMAT "}", ordinal))));
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(result), JsonbPGetDatum(ordinal_object)));
}

Jsonb *
error_result(int64 ordinal, ErrorData *edata) {
	StringInfoData s;
	initStringInfo(&s);
	appendStringInfo(&s, "{\"ordinal\": " INT64_FORMAT ", \"error\": {\"sqlstate\": \"%s\", \"message\": ", ordinal,
	                 unpack_sql_state(edata->sqlerrcode));
	escape_json(&s, edata->message ? edata->message : "");
	if (edata->detail) {
		appendStringInfoString(&s, ", \"detail\": ");
		escape_json(&s, edata->detail);
	}
	if (edata->hint) { /* a did-you-mean for an unknown key, or what to do instead */
		appendStringInfoString(&s, ", \"hint\": ");
		escape_json(&s, edata->hint);
	}
	appendStringInfoString(&s, "}}");
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

enum class Outcome { Done, Failed, LostRace };

struct Element {
	Jsonb *payload;
	int64 ordinal;
	Jsonb *result;
};

bool
upsert_element(void *arg) {
	Element *e = static_cast<Element *>(arg);
	link_race_detected = false;
	e->result = with_ordinal(run_upsert(e->payload, "user_upsert_many()"), e->ordinal);
	return true;
}

/* One element in a subtransaction; the result (or the error object) lands in e->result. */
Outcome
run_element(Element *e) {
	ErrorData *error = in_subtransaction(upsert_element, e);
	if (error == nullptr)
		return Outcome::Done;
	if (error->sqlerrcode == ERRCODE_UNIQUE_VIOLATION || link_race_detected)
		return Outcome::LostRace;
	if (!is_element_error(error->sqlerrcode))
		ReThrowError(error);
	e->result = error_result(e->ordinal, error);
	return Outcome::Failed;
}

/* One element by the per-element path, its lost races decided again. */
Jsonb *
run_one(Jsonb *payload, int64 ordinal) {
	Element e{payload, ordinal, nullptr};
	for (int attempt = 0;; attempt++) {
		LockMark mark = identity_locks_mark();
		Outcome outcome = run_element(&e);
		release_identities_since(mark);
		if (outcome != Outcome::LostRace)
			return e.result;
		if (attempt >= 100)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("element %ld of user_upsert_many() lost 100 races", static_cast<long>(ordinal)),
			                errhint("Retry the transaction.")));
	}
}

/* Elements decided together (bulk.cpp), and the identity locks one chunk may hold. */
constexpr uint32 kChunkElements = 256;
constexpr uint32 kChunkLockKeys = 256;
/* A chunk's memory, kept from chunk to chunk (a reset frees every block but the first, and these go back to the kernel). */
constexpr Size kChunkMemory = 8 * 1024 * 1024;

/*
 * Every element of the batch, chunk by chunk (bulk.cpp), the deferred ones
 * one by one after their chunk; results go to the tuplestore in order.
 */
struct BatchRun {
	Jsonb *payloads;
	ReturnSetInfo *rsinfo;
	MemoryContext chunk_context;
	int64 elements;
	int64 in_chunks; /* decided set-wise */
};

bool
apply_batch(void *arg) {
	BatchRun *run = static_cast<BatchRun *>(arg);
	ReturnSetInfo *rsinfo = run->rsinfo;
	MemoryContext chunk_context = run->chunk_context;
	MemoryContext outer = CurrentMemoryContext;
	BulkElement *chunk = static_cast<BulkElement *>(palloc(sizeof(BulkElement) * kChunkElements));
	uint32 nchunk = 0, chunk_keys = 0;
	const core::Config config = current_config();
	core::Allocator allocator = palloc_allocator(chunk_context);

	auto flush = [&]() {
		MemoryContextSwitchTo(chunk_context);
		run_chunk(chunk, nchunk);
		for (uint32 i = 0; i < nchunk; i++) {
			BulkElement &e = chunk[i];
			run->elements++;
			if (e.state == BulkState::Planned)
				run->in_chunks++;
			else
				e.result = run_one(JsonbValueToJsonb(&e.element), e.ordinal);
			Datum value = JsonbPGetDatum(e.result);
			bool isnull = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
		MemoryContextSwitchTo(outer);
		MemoryContextReset(chunk_context);
		nchunk = chunk_keys = 0;
	};

	JsonbIterator *it = JsonbIteratorInit(&run->payloads->root);
	JsonbValue v;
	JsonbIteratorToken token;
	int64 ordinal = 0;
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
		if (token != WJB_ELEM)
			continue;
		CHECK_FOR_INTERRUPTS();
		ordinal++;
		MemoryContextSwitchTo(chunk_context);
		BulkElement e{};
		e.ordinal = ordinal;
		e.element = v; /* a Jsonb of its own only if it goes by the per-element path */
		e.tokens = v.type == jbvBinary ? container_to_tokens(v.val.binary.data) : jsonb_to_tokens(JsonbValueToJsonb(&v));
		e.prepared = cxx_phase_unless_refused(
		    "user_upsert_many()", [&] { return core::prepare_call(e.tokens, config, allocator); }, &e.call);
		MemoryContextSwitchTo(outer);
		chunk[nchunk++] = e;
		chunk_keys += e.prepared ? e.call.nlocks : 0;
		/* A chunk holds about kChunkLockKeys identity locks at once (its last element may add its own). */
		if (nchunk == kChunkElements || chunk_keys >= kChunkLockKeys)
			flush();
	}
	if (nchunk > 0)
		flush();
	return true;
}

/*
 * Nesting depth of user_upsert_many() calls in this backend. While one runs,
 * a deadlock PostgreSQL's detector breaks in one of its waits is not a lost
 * race to retry in place: the batch holds the rows it wrote, which the other
 * side waits for, so the whole batch rolls back (freeing them) and runs again.
 */
int batch_depth = 0;
constexpr int kMaxBatchRestarts = 100;
constexpr int kQuickRestarts = 3;

} // namespace

Datum
upsert_many(FunctionCallInfo fcinfo) {
	Jsonb *payloads = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(payloads) || JB_ROOT_IS_SCALAR(payloads))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("payloads must be a JSON array"),
		                errhint("Pass one array whose elements are user_upsert() payloads.")));

	/* A materialized set of one jsonb column (InitMaterializedSRF wants a row type). */
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("user_upsert_many() must be called where a set can be materialized")));
	{
		MemoryContext per_query = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		TupleDesc desc = CreateTemplateTupleDesc(1);
		TupleDescInitEntry(desc, 1, "user_upsert_many", JSONBOID, -1, 0);
		rsinfo->setDesc = BlessTupleDesc(desc);
		rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
		rsinfo->returnMode = SFRM_Materialize;
		MemoryContextSwitchTo(per_query);
	}
	BatchRun run{payloads, rsinfo,
	             AllocSetContextCreate(CurrentMemoryContext, "user_upsert_many chunk", kChunkMemory, kChunkMemory, kChunkMemory), 0, 0};
	batch_depth++;
	/*
	 * The batch's waits check for a deadlock after 20 ms instead of the
	 * server's deadlock_timeout: in any cycle with a waiter that holds its
	 * place in a row's queue (a direct UPDATE waiting for a row the batch
	 * wrote), the batch then finds the cycle first and is the one that rolls
	 * back and starts over, rather than the other statement failing.
	 */
	take_batch_turn();
	announce_batch();
	int nest_level = set_config_until_restored("deadlock_timeout", "20ms", PGC_SUSET);
	bool quick_checks = true;
	PG_TRY();
	{
		for (int attempt = 0;; attempt++) {
			LockMark mark = identity_locks_mark();
			ErrorData *error = in_subtransaction(apply_batch, &run);
			if (error == nullptr)
				break;
			release_identities_since(mark);
			if (error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED || attempt >= kMaxBatchRestarts)
				ReThrowError(error);
			/*
			 * A waiter that already waits for this whole transaction (it
			 * waited on a row a committed chunk wrote) is not freed by a
			 * restart: after a few, the batch waits with the server's
			 * deadlock_timeout again, so that the other side, which can
			 * back off, finds the cycle first.
			 */
			if (quick_checks && attempt >= kQuickRestarts) {
				restore_config(nest_level);
				quick_checks = false;
			}
			tuplestore_clear(rsinfo->setResult);
			MemoryContextReset(run.chunk_context);
			run.elements = run.in_chunks = 0;
		}
	}
	PG_CATCH();
	{
		batch_depth--;
		PG_RE_THROW();
	}
	PG_END_TRY();
	batch_depth--;
	if (quick_checks)
		restore_config(nest_level);
	MemoryContextDelete(run.chunk_context);
	ereport(DEBUG1, (errmsg_internal("user_upsert_many: " INT64_FORMAT " of " INT64_FORMAT
	                                 " elements decided set-wise, the others one by one",
	                                 run.in_chunks, run.elements)));
	return (Datum) 0;
}

bool
batch_call_running() {
	return batch_depth > 0;
}

} // namespace uu::pg
