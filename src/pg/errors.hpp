/*
 * errors.hpp
 *	  The contract's SQLSTATEs (DESIGN.md 4.5) and the mapping from core codes.
 *	  Include after postgres.h.
 *
 * IDENTIFICATION
 *	  src/pg/errors.hpp
 */
#pragma once

#include "core/error.hpp"

#define ERRCODE_UU_IDENTITY_CONFLICT MAKE_SQLSTATE('U', 'U', '0', '0', '1')
#define ERRCODE_UU_BLOCKED_IDENTITY MAKE_SQLSTATE('U', 'U', '0', '0', '2')

namespace uu::pg {

inline int
sqlstate_of(core::Error::Code code) {
	switch (code) {
	case core::Error::Code::InvalidParameter: return ERRCODE_INVALID_PARAMETER_VALUE;
	case core::Error::Code::IdentityConflict: return ERRCODE_UU_IDENTITY_CONFLICT;
	case core::Error::Code::BlockedIdentity: return ERRCODE_UU_BLOCKED_IDENTITY;
	}
	return ERRCODE_INTERNAL_ERROR;
}

} // namespace uu::pg
