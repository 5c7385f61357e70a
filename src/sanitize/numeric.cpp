#include "pgsluice/sanitize/numeric.hpp"

#include <algorithm>

#include "pgsluice/error.hpp"

namespace pgsluice::sanitize {

namespace {

std::uint16_t load16(copy::ByteSpan in, std::size_t at) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(in[at]) << 8 |
                                      std::to_integer<unsigned>(in[at + 1]));
}

void append16(std::string& out, std::uint16_t value) {
    out += static_cast<char>(value >> 8);
    out += static_cast<char>(value & 0xFF);
}

// Appends the four decimal digits of GROUP (0 to 9999).
void appendGroup(std::string& out, unsigned group) {
    const char digits[4] = {
        static_cast<char>('0' + group / 1000), static_cast<char>('0' + group / 100 % 10),
        static_cast<char>('0' + group / 10 % 10), static_cast<char>('0' + group % 10)};
    out.append(digits, 4);
}

void stripLeadingZeros(std::string& digits) {
    const std::size_t first = digits.find_first_not_of('0');
    digits.erase(0, first == std::string::npos ? digits.size() : first);
}

bool equalsIgnoringCase(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

// floor(a / 4) for any sign.
int floorDiv4(int a) {
    return a >= 0 ? a / 4 : -((-a + 3) / 4);
}

}  // namespace

void decodeNumeric(copy::ByteSpan in, Decimal& out) {
    if (in.size() < 8) {
        throw FormatError("a numeric field has " + std::to_string(in.size()) +
                          " bytes; its binary form has at least 8");
    }
    const auto ndigits = static_cast<std::int16_t>(load16(in, 0));
    const auto weight = static_cast<std::int16_t>(load16(in, 2));
    const std::uint16_t sign = load16(in, 4);
    const std::uint16_t dscale = load16(in, 6);
    if (ndigits < 0 || in.size() != 8 + 2 * static_cast<std::size_t>(ndigits)) {
        throw FormatError("a numeric field has " + std::to_string(in.size()) +
                          " bytes but says it holds " + std::to_string(ndigits) +
                          " base-10000 digits");
    }
    if (sign != numeric_positive && sign != numeric_negative && sign != numeric_nan &&
        sign != numeric_plus_infinity && sign != numeric_minus_infinity) {
        throw FormatError("a numeric field has the invalid sign word " + std::to_string(sign));
    }
    if (dscale > numeric_max_dscale) {
        throw FormatError("a numeric field has the invalid scale " + std::to_string(dscale));
    }
    out.sign = sign;
    out.digits.clear();
    out.scale = 0;
    if (out.special()) {
        return;
    }
    out.scale = dscale;
    auto group = [&](int index) -> unsigned {
        if (index < 0 || index >= ndigits) {
            return 0;
        }
        const unsigned value = load16(in, 8 + 2 * static_cast<std::size_t>(index));
        if (value > 9999) {
            throw FormatError("a numeric field has the invalid digit " + std::to_string(value));
        }
        return value;
    };
    for (int i = 0; i < ndigits; ++i) {
        (void)group(i);  // every digit is checked, also those the scale hides
    }
    // Integer part: the groups of weight `weight` down to 0; then the fraction's groups
    // (weights -1, -2, ...) until the scale's digits are there. Group i has weight weight - i.
    for (int w = weight; w >= 0; --w) {
        appendGroup(out.digits, group(weight - w));
    }
    for (int w = -1, fraction = 0; fraction < dscale; --w, fraction += 4) {
        appendGroup(out.digits, group(weight - w));
    }
    const int extra = (dscale + 3) / 4 * 4 - dscale;  // the last group's digits past the scale
    out.digits.resize(out.digits.size() - static_cast<std::size_t>(extra));
    stripLeadingZeros(out.digits);
    if (out.digits.empty()) {
        out.sign = numeric_positive;
    }
}

void appendNumeric(const Decimal& value, std::string& out) {
    if (value.special()) {
        append16(out, 0);
        append16(out, 0);
        append16(out, value.sign);
        append16(out, 0);
        return;
    }
    const int count = static_cast<int>(value.digits.size());
    if (count == 0) {
        append16(out, 0);
        append16(out, 0);
        append16(out, numeric_positive);
        append16(out, static_cast<std::uint16_t>(value.scale));
        return;
    }
    // Digit j stands for 10^(count - scale - 1 - j): group floor(e / 4), position e mod 4.
    const int top = floorDiv4(count - value.scale - 1);
    const int bottom = floorDiv4(-value.scale);
    const std::size_t header = out.size();
    append16(out, 0);  // ndigits, patched below
    append16(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(top)));
    append16(out, value.sign);
    append16(out, static_cast<std::uint16_t>(value.scale));
    int last_nonzero = top;
    for (int w = top; w >= bottom; --w) {
        unsigned group = 0;
        for (int position = 3; position >= 0; --position) {
            const int exponent = w * 4 + position;
            const int index = count - value.scale - 1 - exponent;
            group = group * 10 + (index >= 0 && index < count
                                      ? static_cast<unsigned>(value.digits[index] - '0')
                                      : 0u);
        }
        append16(out, static_cast<std::uint16_t>(group));
        if (group != 0) {
            last_nonzero = w;
        }
    }
    // Trailing zero groups are not stored.
    const int kept = top - last_nonzero + 1;
    out.resize(header + 8 + 2 * static_cast<std::size_t>(kept));
    out[header] = static_cast<char>(kept >> 8);
    out[header + 1] = static_cast<char>(kept & 0xFF);
}

bool parseDecimal(std::string_view text, Decimal& out) {
    out.digits.clear();
    out.scale = 0;
    out.sign = numeric_positive;
    if (equalsIgnoringCase(text, "nan")) {
        out.sign = numeric_nan;
        return true;
    }
    for (const std::string_view word : {"infinity", "+infinity", "inf", "+inf"}) {
        if (equalsIgnoringCase(text, word)) {
            out.sign = numeric_plus_infinity;
            return true;
        }
    }
    for (const std::string_view word : {"-infinity", "-inf"}) {
        if (equalsIgnoringCase(text, word)) {
            out.sign = numeric_minus_infinity;
            return true;
        }
    }
    std::size_t pos = 0;
    bool negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        negative = text[pos] == '-';
        ++pos;
    }
    std::size_t digit_count = 0;
    int fraction = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        out.digits += text[pos++];
        ++digit_count;
    }
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            out.digits += text[pos++];
            ++digit_count;
            ++fraction;
        }
    }
    if (digit_count == 0) {
        return false;
    }
    int exponent = 0;
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        bool exponent_negative = false;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            exponent_negative = text[pos] == '-';
            ++pos;
        }
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            exponent = exponent * 10 + (text[pos++] - '0');
            if (exponent > 1000) {
                return false;
            }
        }
        if (pos == start) {
            return false;
        }
        exponent = exponent_negative ? -exponent : exponent;
    }
    if (pos != text.size()) {
        return false;
    }
    int scale = fraction - exponent;
    if (scale < 0) {
        out.digits.append(static_cast<std::size_t>(-scale), '0');
        scale = 0;
    }
    if (scale > numeric_max_dscale) {
        return false;
    }
    out.scale = scale;
    stripLeadingZeros(out.digits);
    out.sign = negative && !out.digits.empty() ? numeric_negative : numeric_positive;
    return true;
}

void appendDecimalText(const Decimal& value, std::string& out) {
    switch (value.sign) {
        case numeric_nan:
            out += "NaN";
            return;
        case numeric_plus_infinity:
            out += "Infinity";
            return;
        case numeric_minus_infinity:
            out += "-Infinity";
            return;
        default:
            break;
    }
    if (value.sign == numeric_negative && !value.digits.empty()) {
        out += '-';
    }
    const auto count = static_cast<std::ptrdiff_t>(value.digits.size());
    const std::ptrdiff_t integer = count - value.scale;
    if (integer <= 0) {
        out += '0';
    } else {
        out.append(value.digits, 0, static_cast<std::size_t>(integer));
    }
    if (value.scale > 0) {
        out += '.';
        if (integer < 0) {
            out.append(static_cast<std::size_t>(-integer), '0');
        }
        out.append(value.digits, static_cast<std::size_t>(std::max<std::ptrdiff_t>(integer, 0)));
    }
}

int compareMagnitudes(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return a.compare(b);
}

void scaleMagnitude(std::string& digits, std::uint64_t factor, bool increase, std::string& work) {
    const std::size_t count = digits.size();
    if (count == 0 || factor == 0) {
        return;
    }
    // WORK = DIGITS × FACTOR, in count + 9 digits (FACTOR <= 10^8 has at most 9).
    work.assign(count + 9, '0');
    std::uint64_t carry = 0;
    for (std::size_t i = count; i-- > 0;) {
        const std::uint64_t v = static_cast<std::uint64_t>(digits[i] - '0') * factor + carry;
        work[i + 9] = static_cast<char>('0' + v % 10);
        carry = v / 10;
    }
    for (std::size_t i = 9; i-- > 0;) {
        work[i] = static_cast<char>('0' + carry % 10);
        carry /= 10;
    }
    // delta = WORK / 10^8, rounded half up: its first count + 1 digits, plus one when the next
    // digit is 5 or more.
    const std::size_t delta_size = count + 1;
    const bool round_up = work[delta_size] >= '5';
    work.resize(delta_size);
    if (round_up) {
        for (std::size_t i = delta_size; i-- > 0;) {
            if (work[i] == '9') {
                work[i] = '0';
            } else {
                ++work[i];
                break;
            }
        }
    }
    // DIGITS ± delta, right-aligned; DIGITS gets one leading zero for the carry.
    digits.insert(digits.begin(), 2, '0');  // now count + 2 digits, delta has count + 1
    if (increase) {
        unsigned carry_digit = 0;
        for (std::size_t i = 0; i < digits.size(); ++i) {
            const std::size_t d = digits.size() - 1 - i;
            const unsigned add =
                i < delta_size ? static_cast<unsigned>(work[delta_size - 1 - i] - '0') : 0;
            const unsigned sum = static_cast<unsigned>(digits[d] - '0') + add + carry_digit;
            digits[d] = static_cast<char>('0' + sum % 10);
            carry_digit = sum / 10;
        }
    } else {
        int borrow = 0;
        for (std::size_t i = 0; i < digits.size(); ++i) {
            const std::size_t d = digits.size() - 1 - i;
            const int sub = i < delta_size ? work[delta_size - 1 - i] - '0' : 0;
            int diff = (digits[d] - '0') - sub - borrow;
            borrow = diff < 0;
            diff += borrow ? 10 : 0;
            digits[d] = static_cast<char>('0' + diff);
        }
    }
    stripLeadingZeros(digits);
}

}  // namespace pgsluice::sanitize
