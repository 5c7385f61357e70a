#include "pgsluice/sanitize/binary_form.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>

#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"
#include "pgsluice/sanitize/numeric.hpp"

namespace pgsluice::sanitize {

namespace {

[[noreturn]] void refuse(const std::string& message) {
    throw UsageError(message);
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (x != b[i]) {
            return false;
        }
    }
    return true;
}

// A cursor over a date/time constant; every read checks the end.
class Scanner {
  public:
    explicit Scanner(std::string_view text) : text_(text) {}

    bool atEnd() const { return pos_ == text_.size(); }
    char peek() const { return atEnd() ? '\0' : text_[pos_]; }
    bool accept(char c) {
        if (peek() == c && !atEnd()) {
            ++pos_;
            return true;
        }
        return false;
    }
    // Exactly COUNT decimal digits, or -1.
    std::int64_t digits(int count) {
        std::int64_t value = 0;
        for (int i = 0; i < count; ++i) {
            if (atEnd() || text_[pos_] < '0' || text_[pos_] > '9') {
                return -1;
            }
            value = value * 10 + (text_[pos_++] - '0');
        }
        return value;
    }
    // One to six digits of a fraction of a second, as microseconds, or -1.
    std::int64_t fraction() {
        std::int64_t value = 0;
        int count = 0;
        while (!atEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            if (count == 6) {
                return -1;
            }
            value = value * 10 + (text_[pos_++] - '0');
            ++count;
        }
        if (count == 0) {
            return -1;
        }
        for (; count < 6; ++count) {
            value *= 10;
        }
        return value;
    }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

unsigned daysInMonth(std::int64_t year, unsigned month) {
    static constexpr unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

// Reads YYYY-MM-DD; returns days since 2000-01-01 or throws.
std::int64_t readDate(Scanner& in, std::string_view text, std::string_view type) {
    const std::int64_t year = in.digits(4);
    const bool ok = year >= 1 && in.accept('-');
    const std::int64_t month = ok ? in.digits(2) : -1;
    const std::int64_t day = month >= 1 && month <= 12 && in.accept('-') ? in.digits(2) : -1;
    if (day < 1 || day > daysInMonth(year, static_cast<unsigned>(month))) {
        refuse(quoted(text) + " is not a " + std::string(type) +
               " pgsluice can encode; write YYYY-MM-DD (years 0001 to 9999), 'infinity' or "
               "'-infinity'");
    }
    return daysSince2000(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

std::string encodeTimestamp(const ColumnType& type, std::string_view text) {
    const bool with_zone = type.kind == TypeKind::timestamptz;
    const std::string_view type_name = typeKindName(type.kind);
    std::string out;
    if (equalsIgnoringCase(text, "infinity")) {
        appendInt64(out, timestamp_plus_infinity);
        return out;
    }
    if (equalsIgnoringCase(text, "-infinity")) {
        appendInt64(out, timestamp_minus_infinity);
        return out;
    }
    const std::string help =
        " pgsluice can encode; write YYYY-MM-DD HH:MM[:SS[.ffffff]]" +
        std::string(with_zone ? " with an optional Z or +HH[:MM] offset" : "") +
        ", 'infinity' or '-infinity'";
    Scanner in(text);
    std::int64_t micros = readDate(in, text, type_name) * microseconds_per_day;
    if (in.accept(' ') || in.accept('T')) {
        const std::int64_t hour = in.digits(2);
        const std::int64_t minute = in.accept(':') ? in.digits(2) : -1;
        std::int64_t second = 0;
        std::int64_t fraction = 0;
        if (in.accept(':')) {
            second = in.digits(2);
            if (in.accept('.')) {
                fraction = in.fraction();
            }
        }
        if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 ||
            fraction < 0) {
            refuse(quoted(text) + " is not a " + std::string(type_name) + help);
        }
        micros += ((hour * 60 + minute) * 60 + second) * 1000000 + fraction;
    }
    if (with_zone && !in.atEnd()) {
        if (in.accept('Z')) {
        } else if (in.peek() == '+' || in.peek() == '-') {
            const bool east = in.accept('+');
            if (!east) {
                in.accept('-');
            }
            const std::int64_t hours = in.digits(2);
            const std::int64_t minutes = in.accept(':') ? in.digits(2) : 0;
            if (hours < 0 || hours > 15 || minutes < 0 || minutes > 59) {
                refuse(quoted(text) + " is not a " + std::string(type_name) + help);
            }
            const std::int64_t offset = (hours * 60 + minutes) * 60 * 1000000;
            micros += east ? -offset : offset;  // 12:00+02 is 10:00 UTC
        }
    }
    if (!in.atEnd()) {
        refuse(quoted(text) + " is not a " + std::string(type_name) + help);
    }
    appendInt64(out, micros);
    return out;
}

std::string encodeDate(std::string_view text) {
    std::string out;
    if (equalsIgnoringCase(text, "infinity")) {
        appendInt32(out, date_plus_infinity);
    } else if (equalsIgnoringCase(text, "-infinity")) {
        appendInt32(out, date_minus_infinity);
    } else {
        Scanner in(text);
        const std::int64_t days = readDate(in, text, "date");
        if (!in.atEnd()) {
            refuse(quoted(text) +
                   " is not a date pgsluice can encode; write YYYY-MM-DD, 'infinity' or "
                   "'-infinity'");
        }
        appendInt32(out, static_cast<std::int32_t>(days));
    }
    return out;
}

std::string encodeInteger(const ColumnType& type, std::string_view text) {
    long long value = 0;
    std::string_view digits = text;
    if (digits.starts_with('+')) {
        digits.remove_prefix(1);
    }
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    const bool parsed =
        !digits.empty() && error == std::errc{} && end == digits.data() + digits.size();
    std::string out;
    if (parsed && type.kind == TypeKind::int2 && value >= -32768 && value <= 32767) {
        appendInt16(out, static_cast<std::int16_t>(value));
    } else if (parsed && type.kind == TypeKind::int4 && value >= -2147483648LL &&
               value <= 2147483647LL) {
        appendInt32(out, static_cast<std::int32_t>(value));
    } else if (parsed && type.kind == TypeKind::int8) {
        appendInt64(out, value);
    } else {
        refuse(quoted(text) + " is not a " + std::string(typeKindName(type.kind)) +
               "; write a whole number in its range");
    }
    return out;
}

std::string encodeBoolean(std::string_view text) {
    for (const std::string_view word : {"true", "t", "yes", "y", "on", "1"}) {
        if (equalsIgnoringCase(text, word)) {
            return std::string(1, '\1');
        }
    }
    for (const std::string_view word : {"false", "f", "no", "n", "off", "0"}) {
        if (equalsIgnoringCase(text, word)) {
            return std::string(1, '\0');
        }
    }
    refuse(quoted(text) + " is not a boolean; write true or false");
}

std::string encodeUuid(std::string_view text) {
    std::string_view body = text;
    if (body.starts_with('{') && body.ends_with('}')) {
        body = body.substr(1, body.size() - 2);
    }
    std::string out;
    int high = -1;
    for (const char c : body) {
        if (c == '-' && high < 0) {
            continue;
        }
        const int nibble = hexDigitValue(c);
        if (nibble < 0) {
            out.clear();
            break;
        }
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<char>(high << 4 | nibble));
            high = -1;
        }
    }
    if (out.size() != 16 || high >= 0) {
        refuse(quoted(text) +
               " is not a uuid; write 32 hexadecimal digits such as "
               "00000000-0000-4000-8000-000000000000");
    }
    return out;
}

std::string encodeNumericConstant(const ColumnType& type, std::string_view text) {
    Decimal value;
    if (!parseDecimal(text, value)) {
        refuse(quoted(text) +
               " is not a numeric; write a decimal number such as 12.50 or -3 (1.5e3, NaN and "
               "Infinity are read too)");
    }
    if (type.precision >= 0 && !value.special()) {
        const std::string declared =
            "numeric(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
        if (type.scale >= 0 && value.scale > type.scale) {
            refuse(quoted(text) + " has " + std::to_string(value.scale) +
                   " digits after the point but the column is " + declared + "; write at most " +
                   std::to_string(type.scale));
        }
        if (type.scale < 0) {
            // numeric(p,-s) stores multiples of 10^s: the last s digits must be zeros.
            const std::size_t zeros =
                static_cast<std::size_t>(-type.scale) + static_cast<std::size_t>(value.scale);
            const bool multiple = value.digits.size() <= zeros
                                      ? value.digits.empty()
                                      : value.digits.find_first_not_of(
                                            '0', value.digits.size() - zeros) == std::string::npos;
            if (!multiple) {
                refuse(quoted(text) + " is not a multiple of 1" +
                       std::string(static_cast<std::size_t>(-type.scale), '0') +
                       ", which the column " + declared + " stores");
            }
        }
        const long integer_digits =
            static_cast<long>(value.digits.size()) - static_cast<long>(value.scale);
        const long allowed = static_cast<long>(type.precision) - type.scale;
        if (integer_digits > allowed) {
            refuse(quoted(text) + " is too large for the column " + declared +
                   ": it holds at most " + std::to_string(std::max(allowed, 0L)) +
                   " digits before the point");
        }
        if (type.scale > value.scale) {
            value.digits.append(static_cast<std::size_t>(type.scale - value.scale), '0');
            value.scale = type.scale;
            if (value.digits.find_first_not_of('0') == std::string::npos) {
                value.digits.clear();
            }
        }
    }
    if (type.precision >= 0 &&
        (value.sign == numeric_plus_infinity || value.sign == numeric_minus_infinity)) {
        refuse(quoted(text) +
               " is infinite, which a numeric column with a precision cannot hold; "
               "write a finite number");
    }
    std::string out;
    appendNumeric(value, out);
    return out;
}

std::string encodeText(const ColumnType& type, std::string_view text) {
    if (!isValidUtf8(text)) {
        refuse("the constant is not valid UTF-8; write it in UTF-8");
    }
    if (text.find('\0') != std::string_view::npos) {
        refuse("the constant contains a NUL character, which PostgreSQL text cannot hold");
    }
    const std::size_t chars = countCharacters(text);
    if (type.max_chars >= 0 && chars > static_cast<std::size_t>(type.max_chars)) {
        refuse(quoted(text) + " has " + std::to_string(chars) + " characters but the column is " +
               std::string(typeKindName(type.kind)) + "(" + std::to_string(type.max_chars) +
               "); use a shorter constant");
    }
    if (type.kind == TypeKind::name && text.size() > static_cast<std::size_t>(name_max_bytes)) {
        refuse(quoted(text) + " has " + std::to_string(text.size()) +
               " bytes but a name holds at most 63; use a shorter constant");
    }
    std::string out(text);
    if (type.kind == TypeKind::bpchar) {
        padToCharacters(out, 0, type.max_chars);
    }
    return out;
}

}  // namespace

bool isValidUtf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        std::size_t length = 0;
        unsigned char low = 0x80;   // allowed range of the second byte (rules out overlong forms,
        unsigned char high = 0xBF;  // surrogates and code points past U+10FFFF)
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            low = lead == 0xE0 ? 0xA0 : 0x80;
            high = lead == 0xED ? 0x9F : 0xBF;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            low = lead == 0xF0 ? 0x90 : 0x80;
            high = lead == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < length || p[1] < low || p[1] > high) {
            return false;
        }
        for (std::size_t i = 2; i < length; ++i) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
        }
        p += length;
    }
    return true;
}

std::size_t countCharacters(std::string_view text) noexcept {
    std::size_t count = 0;
    for (const char c : text) {
        count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // every byte but continuations
    }
    return count;
}

std::string_view stripBlankPadding(std::string_view text) noexcept {
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    return text;
}

void padToCharacters(std::string& out, std::size_t from, int max_chars) {
    if (max_chars < 0) {
        return;
    }
    const std::size_t chars = countCharacters(std::string_view(out).substr(from));
    if (chars < static_cast<std::size_t>(max_chars)) {
        out.append(static_cast<std::size_t>(max_chars) - chars, ' ');
    }
}

void appendInt16(std::string& out, std::int16_t value) {
    const auto v = static_cast<std::uint16_t>(value);
    const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, sizeof bytes);
}

void appendInt32(std::string& out, std::int32_t value) {
    const auto v = static_cast<std::uint32_t>(value);
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, sizeof bytes);
}

void appendInt64(std::string& out, std::int64_t value) {
    appendInt32(out, static_cast<std::int32_t>(static_cast<std::uint64_t>(value) >> 32));
    appendInt32(out, static_cast<std::int32_t>(static_cast<std::uint64_t>(value)));
}

std::int32_t loadBigEndian32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v = v << 8 | std::to_integer<std::uint32_t>(p[i]);
    }
    return static_cast<std::int32_t>(v);
}

std::int64_t loadBigEndian64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    }
    return static_cast<std::int64_t>(v);
}

std::int64_t daysSince2000(std::int64_t year, unsigned month, unsigned day) noexcept {
    // Howard Hinnant's days_from_civil, shifted from 1970-01-01 to PostgreSQL's epoch.
    year -= month <= 2;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<std::int64_t>(year - era * 400);
    const std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - 10957;
}

std::string encodeConstant(const ColumnType& type, std::string_view text) {
    switch (type.kind) {
        case TypeKind::text:
        case TypeKind::varchar:
        case TypeKind::bpchar:
        case TypeKind::name:
        case TypeKind::citext:
            return encodeText(type, text);
        case TypeKind::json:
        case TypeKind::jsonb: {
            if (!isValidUtf8(text) || !nlohmann::json::accept(text)) {
                refuse(quoted(text) + " is not a JSON document; write one such as '{}' or '\"x\"'");
            }
            std::string out;
            if (type.kind == TypeKind::jsonb) {
                out.push_back(jsonb_version);
            }
            out.append(text);
            return out;
        }
        case TypeKind::date:
            return encodeDate(text);
        case TypeKind::timestamp:
        case TypeKind::timestamptz:
            return encodeTimestamp(type, text);
        case TypeKind::int2:
        case TypeKind::int4:
        case TypeKind::int8:
            return encodeInteger(type, text);
        case TypeKind::boolean:
            return encodeBoolean(text);
        case TypeKind::uuid:
            return encodeUuid(text);
        case TypeKind::numeric:
            return encodeNumericConstant(type, text);
        case TypeKind::float4:
        case TypeKind::float8:
        case TypeKind::bytea:
        case TypeKind::inet:
        case TypeKind::cidr:
        case TypeKind::other:
            break;
    }
    refuse("pgsluice cannot encode a constant for this type; use null instead");
}

}  // namespace pgsluice::sanitize
