#pragma once

// numeric's binary form and the decimal arithmetic `noise` and `set` need on it. A numeric is
// held as its magnitude's decimal digits and a scale (digits after the point), so that any
// precision PostgreSQL allows (up to 131072 digits before the point) is handled exactly; the
// digit buffers are reused, so a warm worker allocates nothing per value.

#include <cstdint>
#include <string>
#include <string_view>

#include "pgsluice/copy/binary_reader.hpp"

namespace pgsluice::sanitize {

// numeric's sign word: positive, negative and the special values (infinities: PostgreSQL 14+).
inline constexpr std::uint16_t numeric_positive = 0x0000;
inline constexpr std::uint16_t numeric_negative = 0x4000;
inline constexpr std::uint16_t numeric_nan = 0xC000;
inline constexpr std::uint16_t numeric_plus_infinity = 0xD000;
inline constexpr std::uint16_t numeric_minus_infinity = 0xF000;
// The largest display scale numeric_recv accepts (NUMERIC_DSCALE_MASK).
inline constexpr int numeric_max_dscale = 0x3FFF;

// A decimal value: magnitude digits × 10^-scale, with a sign, or a special value.
struct Decimal {
    std::uint16_t sign = numeric_positive;  // one of the numeric_* sign words
    std::string digits;  // the magnitude in ASCII digits, no leading zeros; empty for zero
    int scale = 0;       // digits after the point (numeric's dscale), 0 or more

    bool special() const noexcept { return sign != numeric_positive && sign != numeric_negative; }
    bool zero() const noexcept { return !special() && digits.empty(); }
};

// Reads numeric's binary form (int16 ndigits, int16 weight, uint16 sign, int16 dscale, then
// ndigits base-10000 digits) into OUT, whose buffer is reused. Digits the scale hides are
// dropped, as numeric_recv drops them. Throws FormatError when IN is not that form.
void decodeNumeric(copy::ByteSpan in, Decimal& out);

// Appends numeric's binary form of VALUE (dscale = VALUE.scale) to OUT.
void appendNumeric(const Decimal& value, std::string& out);

// Parses TEXT as numeric_in reads a number: [+-]digits[.digits][e[+-]N] (at least one digit;
// the exponent at most 1000 either way), NaN, [+-]Infinity or [+-]inf, any case. False when
// TEXT is not such a number. OUT's scale is the digits after the point once the exponent is
// applied (1.50 has scale 2, 1.5e3 scale 0), as numeric_in sets dscale.
bool parseDecimal(std::string_view text, Decimal& out);

// Appends VALUE as numeric_out writes it: -12.50, 0.05, NaN, Infinity, -Infinity.
void appendDecimalText(const Decimal& value, std::string& out);

// Compares two magnitudes (digit strings without leading zeros): <0, 0 or >0.
int compareMagnitudes(std::string_view a, std::string_view b) noexcept;

// Changes the magnitude DIGITS (no leading zeros) to DIGITS ± round(DIGITS × FACTOR / 10^8),
// rounding half away from zero; FACTOR is at most 10^8, so the result is between 0 and twice
// the input. WORK is a reused buffer. The result has no leading zeros (empty for zero).
void scaleMagnitude(std::string& digits, std::uint64_t factor, bool increase, std::string& work);

}  // namespace pgsluice::sanitize
