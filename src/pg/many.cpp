/*
 * many.cpp
 *	  user_upsert_many(payloads jsonb) returns setof jsonb: one user_upsert()
 *	  per array element, in order, each in its own subtransaction so that a
 *	  bad element yields its error object and the others still apply.
 *
 *	  Locks: each element takes and then releases its identity locks (see
 *	  announce_batch() in locking.hpp), so a batch of any size holds a bounded
 *	  number of lock-table entries and blocks only calls on the users it
 *	  wrote (their row locks stay until commit). An element that loses a race
 *	  (a unique violation, or an identity linked meanwhile) is decided again.
 *
 *	  Memory: each element runs in a context reset after it; results go to
 *	  the materialized tuplestore.
 *
 * IDENTIFICATION
 *	  src/pg/many.cpp
 */
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
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
}

#include "pg/errors.hpp"
#include "pg/locking.hpp"
#include "pg/lookups.hpp"

namespace uu::pg {

namespace {

/* Errors an element's payload can cause: reported per element. Anything else ends the batch. */
bool
is_element_error(int sqlerrcode) {
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION || sqlerrcode == ERRCODE_UU_IDENTITY_CONFLICT ||
	       sqlerrcode == ERRCODE_UU_BLOCKED_IDENTITY;
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
	announce_batch();

	MemoryContext element_context =
	    AllocSetContextCreate(CurrentMemoryContext, "user_upsert_many element", ALLOCSET_DEFAULT_SIZES);
	MemoryContext outer = CurrentMemoryContext;
	JsonbIterator *it = JsonbIteratorInit(&payloads->root);
	JsonbValue v;
	JsonbIteratorToken token;
	int64 ordinal = 0;
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
		if (token != WJB_ELEM)
			continue;
		CHECK_FOR_INTERRUPTS();
		ordinal++;
		MemoryContextSwitchTo(element_context);
		Element e{JsonbValueToJsonb(&v), ordinal, nullptr};
		for (int attempt = 0;; attempt++) {
			LockMark mark = identity_locks_mark();
			Outcome outcome = run_element(&e);
			release_identities_since(mark);
			if (outcome != Outcome::LostRace)
				break;
			if (attempt >= 100)
				ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				                errmsg("element %ld of user_upsert_many() lost 100 races", static_cast<long>(ordinal)),
				                errhint("Retry the transaction.")));
		}
		Datum value = JsonbPGetDatum(e.result);
		bool isnull = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(element_context);
	}
	MemoryContextDelete(element_context);
	return (Datum) 0;
}

} // namespace uu::pg
