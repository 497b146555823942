/*
 * error.hpp
 *	  The errors the pure core reports; the glue maps Code to a SQLSTATE.
 *
 * IDENTIFICATION
 *	  src/core/error.hpp
 */
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace uu::core {

struct Error : std::exception {
	enum class Code {
		InvalidParameter,  /* 22023 */
		IdentityConflict,  /* UU001 */
		BlockedIdentity,   /* UU002 */
	};

	Code code;
	std::string field;   /* payload path, e.g. "wallets[1]"; may be empty */
	std::string message; /* primary message: short, lower case, no final period */
	std::string detail;  /* full sentence or empty */
	std::string hint;    /* full sentence or empty */

	Error(Code code_, std::string field_, std::string message_, std::string detail_ = {},
	      std::string hint_ = {})
	    : code(code_), field(std::move(field_)), message(std::move(message_)), detail(std::move(detail_)),
	      hint(std::move(hint_)) {
	}

	const char *
	what() const noexcept override {
		return message.c_str();
	}
};

/* Shorthand for the common case: 22023 naming a field. */
[[noreturn]] inline void
throw_invalid(const std::string &field, std::string message, std::string detail = {}, std::string hint = {}) {
	throw Error(Error::Code::InvalidParameter, field, std::move(message), std::move(detail), std::move(hint));
}

} // namespace uu::core
