#pragma once

// The COPY BINARY forms of the types the sanitiser rewrites, and the text helpers that keep
// rewritten text valid UTF-8. Everything here is allocation-free except encodeConstant(), which
// runs once per column when the rules are checked.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "pgsluice/sanitize/types.hpp"

namespace pgsluice::sanitize {

// date: DATEVAL_NOBEGIN / DATEVAL_NOEND, '-infinity' and 'infinity'.
inline constexpr std::int32_t date_minus_infinity = std::numeric_limits<std::int32_t>::min();
inline constexpr std::int32_t date_plus_infinity = std::numeric_limits<std::int32_t>::max();
// date_recv refuses days outside [first, end) (IS_VALID_DATE: Julian day 0 up to DATE_END_JULIAN).
inline constexpr std::int32_t date_first_valid = -2451545;
inline constexpr std::int32_t date_end_valid = 2147483494 - 2451545;

// timestamp[tz]: DT_NOBEGIN / DT_NOEND, '-infinity' and 'infinity'.
inline constexpr std::int64_t timestamp_minus_infinity = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t timestamp_plus_infinity = std::numeric_limits<std::int64_t>::max();
// timestamp_recv refuses values outside [first, end) (MIN_TIMESTAMP, END_TIMESTAMP).
inline constexpr std::int64_t timestamp_first_valid = -211813488000000000;
inline constexpr std::int64_t timestamp_end_valid = 9223371331200000000;
inline constexpr std::int64_t microseconds_per_day = 86400000000;

// jsonb's binary form starts with this format version; no other version exists.
inline constexpr char jsonb_version = 1;

// True when TEXT is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as PostgreSQL requires of every text value in a UTF-8 database.
bool isValidUtf8(std::string_view text) noexcept;

// The number of code points in TEXT, which must be valid UTF-8.
std::size_t countCharacters(std::string_view text) noexcept;

// TEXT without its trailing blanks: character(n) pads with spaces that carry no meaning
// ('ab'::character(4) = 'ab  '), so transforms see the value without them.
std::string_view stripBlankPadding(std::string_view text) noexcept;

// Pads OUT with spaces so that what was appended since FROM has MAX_CHARS characters, the
// form character(n) stores; does nothing when MAX_CHARS is -1 or already reached.
void padToCharacters(std::string& out, std::size_t from, int max_chars);

// Big-endian stores and loads for the integer binary forms.
void appendInt16(std::string& out, std::int16_t value);
void appendInt32(std::string& out, std::int32_t value);
void appendInt64(std::string& out, std::int64_t value);
std::int32_t loadBigEndian32(const std::byte* p) noexcept;
std::int64_t loadBigEndian64(const std::byte* p) noexcept;

// Days since 2000-01-01 of a proleptic Gregorian date.
std::int64_t daysSince2000(std::int64_t year, unsigned month, unsigned day) noexcept;

// The COPY BINARY form of TEXT for a column of TYPE, as `set` writes it: text as is (checked
// against the declared length, character(n) padded), json checked and jsonb with its version
// byte, integers, booleans (true/false/t/f/yes/no/on/off/1/0), uuids, dates (YYYY-MM-DD),
// numerics (checked against numeric(p,s): no more digits after the point than s, none too
// many before it; padded to scale s), timestamps (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]],
// timestamptz with an optional Z or +HH[:MM] offset, read as UTC without one) and
// 'infinity'/'-infinity'. Throws UsageError saying why TEXT does not fit TYPE; the caller adds
// the file and line.
std::string encodeConstant(const ColumnType& type, std::string_view text);

}  // namespace pgsluice::sanitize
