/*
 * timestamp.hpp
 *	  observed_at: ISO 8601 text with a time zone, or epoch milliseconds, to
 *	  microseconds since the Unix epoch.
 *
 * IDENTIFICATION
 *	  src/core/timestamp.hpp
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uu::core {

/* Microseconds since 1970-01-01T00:00:00Z. */
using EpochMicros = std::int64_t;

/*
 * "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]](Z|+HH[:MM]|-HH[:MM]|+HHMM)", years
 * 0001..9999; nullopt when malformed or without a time zone. This is also the
 * form to_jsonb() gives timestamptz values.
 */
std::optional<EpochMicros> parse_iso8601(std::string_view text);

/* Epoch milliseconds as numeric_out text; nullopt when fractional or outside years 0001..9999. */
std::optional<EpochMicros> parse_epoch_millis(std::string_view numeric_text);

/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" */
std::string format_iso8601_utc(EpochMicros t);

/*
 * to_jsonb()'s spelling of a timestamptz (PostgreSQL's EncodeDateTime() in
 * the XSD style) in a zone at a fixed offset east of UTC:
 * "YYYY-MM-DDTHH:MM:SS[.fraction]+HH:MM", the fraction without trailing
 * zeros and left out when zero. Writes at most 33 bytes and a NUL to `out`;
 * returns the length, or 0 (nothing usable written) for a local year outside
 * 0001..9999 or an offset not in whole minutes below a day.
 */
std::size_t format_jsonb_timestamptz(EpochMicros t, std::int32_t utc_offset_seconds, char *out);

} // namespace uu::core
