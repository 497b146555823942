/*
 * config.hpp
 *	  The GUC values a call runs under, copied in by the glue once per call; the
 *	  core never reads globals.
 *
 * IDENTIFICATION
 *	  src/core/config.hpp
 */
#pragma once

namespace uu::core {

struct Config {
	bool merge = true;    /* user_upsert.merge */
	int max_merge = 3;    /* user_upsert.max_merge */
	int max_wallets = 50; /* user_upsert.max_wallets */
};

} // namespace uu::core
