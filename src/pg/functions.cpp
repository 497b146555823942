/*
 * functions.cpp
 *	  SQL-callable entry points: each is a thin shim over the code that does
 *	  the work. The C symbol carries the SQL API version it implements.
 *
 * IDENTIFICATION
 *	  src/pg/functions.cpp
 */
extern "C" {
#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/jsonb.h"
}

#include "pg/upsert.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(user_upsert_user_upsert_1_0);
PG_FUNCTION_INFO_V1(user_upsert_user_lookup_1_0);
PG_FUNCTION_INFO_V1(user_upsert_user_ensure_1_0);
PG_FUNCTION_INFO_V1(user_upsert_user_upsert_from_1_0);
PG_FUNCTION_INFO_V1(user_upsert_user_apply_event_1_0);
PG_FUNCTION_INFO_V1(user_upsert_blocked_identities_changed_1_0);
}

/*
 * user_upsert.blocked_identities_changed(), a statement trigger: every
 * backend's copy of the blocked list (direct.cpp) is dropped, at commit for
 * the others, at the next command for this one.
 */
extern "C" Datum
user_upsert_blocked_identities_changed_1_0(PG_FUNCTION_ARGS) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("user_upsert.blocked_identities_changed() must be called as a trigger")));
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	CacheInvalidateRelcache(trigger->tg_relation);
	return PointerGetDatum(nullptr);
}

/* user_upsert.user_upsert(payload jsonb) returns jsonb */
extern "C" Datum
user_upsert_user_upsert_1_0(PG_FUNCTION_ARGS) {
	PG_RETURN_JSONB_P(uu::pg::run_upsert(PG_GETARG_JSONB_P(0), "user_upsert()"));
}

/* user_upsert.user_ensure(payload jsonb) returns jsonb */
extern "C" Datum
user_upsert_user_ensure_1_0(PG_FUNCTION_ARGS) {
	PG_RETURN_JSONB_P(uu::pg::run_ensure(PG_GETARG_JSONB_P(0)));
}

/* user_upsert.user_upsert_from(provider text, profile jsonb, policy text default 'merge') returns jsonb */
extern "C" Datum
user_upsert_user_upsert_from_1_0(PG_FUNCTION_ARGS) {
	PG_RETURN_JSONB_P(uu::pg::run_from(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_JSONB_P(1),
	                                   text_to_cstring(PG_GETARG_TEXT_PP(2))));
}

/* user_upsert.user_apply_event(event jsonb, event_id text default null) returns jsonb; not strict in event_id */
extern "C" Datum
user_upsert_user_apply_event_1_0(PG_FUNCTION_ARGS) {
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	const char *event_id = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));
	PG_RETURN_JSONB_P(uu::pg::run_apply_event(PG_GETARG_JSONB_P(0), event_id));
}

/* user_upsert.user_lookup(kind text, value text) returns jsonb */
extern "C" Datum
user_upsert_user_lookup_1_0(PG_FUNCTION_ARGS) {
	Jsonb *document = uu::pg::run_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (document == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(document);
}

namespace uu::pg {
Datum users_trigger(FunctionCallInfo fcinfo);
Datum identities_trigger(FunctionCallInfo fcinfo);
Datum blocked_identities_trigger(FunctionCallInfo fcinfo);
Datum identities_truncated(FunctionCallInfo fcinfo);
} // namespace uu::pg

extern "C" {
PG_FUNCTION_INFO_V1(user_upsert_users_trigger_1_0);
PG_FUNCTION_INFO_V1(user_upsert_identities_trigger_1_0);
PG_FUNCTION_INFO_V1(user_upsert_blocked_identities_trigger_1_0);
PG_FUNCTION_INFO_V1(user_upsert_identities_truncated_1_0);
}

/* Trigger on user_upsert.users (BEFORE INSERT OR UPDATE, AFTER INSERT, AFTER UPDATE). */
extern "C" Datum
user_upsert_users_trigger_1_0(PG_FUNCTION_ARGS) {
	return uu::pg::users_trigger(fcinfo);
}

/* Trigger on user_upsert.identities (BEFORE INSERT OR UPDATE OR DELETE). */
extern "C" Datum
user_upsert_identities_trigger_1_0(PG_FUNCTION_ARGS) {
	return uu::pg::identities_trigger(fcinfo);
}

/* Trigger on user_upsert.blocked_identities (BEFORE INSERT OR UPDATE): values stored normalized. */
extern "C" Datum
user_upsert_blocked_identities_trigger_1_0(PG_FUNCTION_ARGS) {
	return uu::pg::blocked_identities_trigger(fcinfo);
}

/* Trigger on user_upsert.identities (AFTER TRUNCATE): the users' mirror columns are cleared. */
extern "C" Datum
user_upsert_identities_truncated_1_0(PG_FUNCTION_ARGS) {
	return uu::pg::identities_truncated(fcinfo);
}

namespace uu::pg {
Datum upsert_many(FunctionCallInfo fcinfo);
} // namespace uu::pg

extern "C" {
PG_FUNCTION_INFO_V1(user_upsert_user_upsert_many_1_0);
}

/* user_upsert.user_upsert_many(payloads jsonb) returns setof jsonb */
extern "C" Datum
user_upsert_user_upsert_many_1_0(PG_FUNCTION_ARGS) {
	return uu::pg::upsert_many(fcinfo);
}
