/*
 * guc.hpp
 *	  user_upsert.* settings (DESIGN.md section 8), defined in module.cpp.
 *
 * IDENTIFICATION
 *	  src/pg/guc.hpp
 */
#pragma once

#include "core/config.hpp"

namespace uu::pg {

enum DirectConflict { DIRECT_CONFLICT_ERROR, DIRECT_CONFLICT_MERGE };

extern bool guc_merge;
extern int guc_max_merge;
extern int guc_max_wallets;
extern int guc_direct_conflict;

/* The settings in force now, as the core's plain struct. */
inline core::Config
current_config() {
	core::Config config;
	config.merge = guc_merge;
	config.max_merge = guc_max_merge;
	config.max_wallets = guc_max_wallets;
	return config;
}

void define_settings();

} // namespace uu::pg
