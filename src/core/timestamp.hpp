/*
 * timestamp.hpp
 *	  observed_at: ISO 8601 text with a time zone, or epoch milliseconds, to
 *	  microseconds since the Unix epoch.
 *
 * IDENTIFICATION
 *	  src/core/timestamp.hpp
 */
#pragma once

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

} // namespace uu::core
