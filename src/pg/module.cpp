/*
 * module.cpp
 *	  Module magic, settings and process-wide registration.
 *
 * IDENTIFICATION
 *	  src/pg/module.cpp
 */
#include "pg/guc.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

#include "pg/bulk.hpp"
#include "pg/locking.hpp"

namespace uu::pg {

bool guc_merge = true;
int guc_max_merge = 3;
int guc_max_wallets = 50;
int guc_direct_conflict = DIRECT_CONFLICT_ERROR;

static const struct config_enum_entry direct_conflict_options[] = {
    {"error", DIRECT_CONFLICT_ERROR, false},
    {"merge", DIRECT_CONFLICT_MERGE, false},
    {nullptr, 0, false},
};

void
define_settings() {
	DefineCustomBoolVariable("user_upsert.merge",
	                         gettext_noop("Allows user_upsert to merge users whose identities a payload joins."),
	                         gettext_noop("When off, such a payload is refused with UU001."), &guc_merge, true,
	                         PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("user_upsert.max_merge",
	                        gettext_noop("Largest number of users one call may merge into one."), nullptr,
	                        &guc_max_merge, 3, 2, 100, PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("user_upsert.max_wallets", gettext_noop("Largest number of wallets one user may hold."),
	                        gettext_noop("Also the largest number of distinct wallets one payload may list."),
	                        &guc_max_wallets, 50, 1, 1000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("user_upsert.direct_conflict",
	                         gettext_noop("What a direct write of an identity owned by another user does."),
	                         gettext_noop("error raises UU001; merge merges the users as user_upsert() would."),
	                         &guc_direct_conflict, DIRECT_CONFLICT_ERROR, direct_conflict_options, PGC_USERSET, 0,
	                         nullptr, nullptr, nullptr);
	MarkGUCPrefixReserved("user_upsert");
}

} // namespace uu::pg

void
_PG_init(void) {
	uu::pg::define_settings();
	uu::pg::register_identity_lock_cleanup();
	uu::pg::register_stored_expressions();
}
