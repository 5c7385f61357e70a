#pragma once

// What personal data looks like: column and JSON key names, and values (e-mail addresses,
// phone numbers, IP addresses, card numbers, IBANs, bearer tokens) found in text, inside free
// text and inside JSON documents. Pure functions: nothing here reads a database or keeps a
// value it was given.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pgsluice::scan {

// The kinds of personal data a name says a column (or a JSON key) holds.
enum class NameKind : std::uint8_t {
    email,
    phone,
    first_name,
    last_name,
    full_name,
    username,
    address,
    birth_date,
    national_id,
    bank_account,
    card_number,
    ip_address,
    user_agent,
    geo_location,
    secret,
};

// What a name pattern matched: the kind and the pattern's name for the report ("email").
struct NameMatch {
    NameKind kind;
    std::string_view pattern;  // static text, e.g. "email", "birth date"
};

// The name pattern that NAME (a column or JSON key, any case, words joined by _ - or camelCase)
// matches, or nothing. `id`, `name`, `status`, `created_at` and the like match nothing.
std::optional<NameMatch> matchName(std::string_view name);

// The kinds of values a detector finds.
enum class ValueKind : std::uint8_t { email, phone, ipv4, ipv6, card, iban, token };
inline constexpr int value_kind_count = 7;

// The name of a value kind in reports ("email address", "card number (Luhn)").
std::string_view valueKindName(ValueKind kind);

// A set of value kinds, as a bit mask.
class ValueKinds {
  public:
    void add(ValueKind kind) { bits_ |= bit(kind); }
    bool contains(ValueKind kind) const { return (bits_ & bit(kind)) != 0; }
    bool empty() const { return bits_ == 0; }
    ValueKinds& operator|=(ValueKinds other) {
        bits_ |= other.bits_;
        return *this;
    }

  private:
    static std::uint8_t bit(ValueKind kind) { return std::uint8_t(1u << unsigned(kind)); }
    std::uint8_t bits_ = 0;
};

// Every kind of personal value found anywhere in TEXT (a whole value or free text). Plain
// numbers, UUIDs, dates and timestamps, hex digests and short codes find nothing.
ValueKinds detectValues(std::string_view text);

// True when DIGITS (only 0-9) pass the Luhn check.
bool luhnValid(std::string_view digits);
// True when TEXT (upper-case letters and digits, no spaces) is an IBAN whose mod-97 check holds.
bool ibanValid(std::string_view text);

// True when TEXT reads as prose: three or more words with letters.
bool looksLikeProse(std::string_view text);

// What the JSON walk reports for each value it looks at.
struct JsonLeaf {
    const std::string& path;             // `$.customer.email`, `$.items[*].email`
    ValueKinds kinds;                    // what its text holds
    std::optional<NameMatch> key_match;  // its key's name pattern, if any
    bool number = false;                 // a JSON number (else a string)
    bool prose = false;                  // looksLikeProse() of its text
};
using JsonVisitor = std::function<void(const JsonLeaf& leaf)>;

// Parses TEXT as JSON and calls `visit` for every string or number at any depth (arrays as
// `[*]`, keys that are not plain identifiers as `["key"]`). Returns false, calling nothing,
// when TEXT is not JSON.
bool walkJson(std::string_view text, const JsonVisitor& visit);

}  // namespace pgsluice::scan
