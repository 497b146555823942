/*
 * normalize.hpp
 *	  Identity normalization of DESIGN.md section 3: pure functions that either
 *	  return the stored form or throw uu::core::Error (InvalidParameter) whose
 *	  message names `field`.
 *
 * IDENTIFICATION
 *	  src/core/normalize.hpp
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace uu::core {

/* Removes leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r). */
std::string_view trim_ascii(std::string_view s);

/*
 * Byte length of the control character starting at s[i] (C0, DEL, or a C1
 * control U+0080..U+009F in UTF-8), 0 when s[i] starts none.
 */
std::size_t control_character_length(std::string_view s, std::size_t i);

/* Byte length of the Unicode whitespace character (White_Space, ASCII included) starting at s[i], or 0. */
std::size_t whitespace_length(std::string_view s, std::size_t i);

/*
 * fid given as a JSON number; `numeric_text` is the number as PostgreSQL's
 * numeric_out prints it ("3", "3.0", "-1", "1e+20" never occurs: numeric_out
 * prints plain digits). Any fractional part, even ".0", is refused.
 */
std::int64_t normalize_fid_number(std::string_view numeric_text, const std::string &field);

/* fid given as a JSON string: trimmed, digits only, no sign, no leading zero. */
std::int64_t normalize_fid_text(std::string_view text, const std::string &field);

/*
 * A wallet: EVM ("0x" + 40 hex; mixed case must pass EIP-55; stored lowercase)
 * or Solana (base58 decoding to exactly 32 bytes; stored as given, trimmed).
 */
std::string normalize_wallet(std::string_view text, const std::string &field);

/* True when `normalized` (output of normalize_wallet) is an EVM address. */
bool is_evm_address(std::string_view normalized);

/* 1..128 chars of [A-Za-z0-9._:@/-], trimmed. */
std::string normalize_agent(std::string_view text, const std::string &field);

/* Provider [A-Za-z0-9_-]{1,32} (lowercased), trimmed. */
std::string normalize_provider(std::string_view provider, const std::string &field);

/* Subject: 1..255 chars in 0x21..0x7E, trimmed. */
std::string normalize_subject(std::string_view subject, const std::string &field);

/*
 * External identity "provider:subject" as stored in identities.value; the
 * first ':' separates provider from subject (the subject may contain ':').
 */
std::string normalize_external(std::string_view provider_colon_subject, const std::string &field);

/* One '@', non-empty local and domain, no whitespace inside, <= 254 chars; lowercased. */
std::string normalize_email(std::string_view text, const std::string &field);

/* EIP-55 checksummed spelling of a normalized (lowercase) EVM address. */
std::string eip55_checksum(std::string_view lowercase_address);

/*
 * Makes untrusted text safe to quote in an error message: printable ASCII is
 * kept, '"' and backslash are backslash-escaped, every other byte (control
 * characters, non-ASCII) becomes \xNN; at most `max_len` input bytes are
 * shown, followed by "..." when the text is longer.
 */
std::string escape_for_message(std::string_view s, std::size_t max_len = 64);

} // namespace uu::core
