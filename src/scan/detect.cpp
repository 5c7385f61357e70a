#include "pgsluice/scan/detect.hpp"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <vector>

namespace pgsluice::scan {

namespace {

bool isAlnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

// The words of a name in lower case: `billingEmail_2` gives billing, email, 2.
std::vector<std::string> wordsOf(std::string_view name) {
    std::vector<std::string> words;
    std::string word;
    auto flush = [&] {
        if (!word.empty()) {
            words.push_back(std::move(word));
            word.clear();
        }
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (!isAlnum(c)) {
            flush();
            continue;
        }
        const bool upper = std::isupper(static_cast<unsigned char>(c)) != 0;
        if (upper && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]))) {
            flush();
        }
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    flush();
    return words;
}

// One name pattern: a single word, or two adjacent words, or one word it must equal.
struct NameRule {
    NameKind kind;
    std::string_view pattern;
    std::string_view first;
    std::string_view second;  // empty: `first` alone
};

// Most specific first: "ip address" is an IP, not an address; "email address" an e-mail.
constexpr std::array name_rules{
    NameRule{NameKind::email, "email", "email", ""},
    NameRule{NameKind::email, "email", "emails", ""},
    NameRule{NameKind::email, "email", "e", "mail"},
    NameRule{NameKind::email, "email", "mail", ""},
    NameRule{NameKind::email, "email", "emailaddress", ""},
    NameRule{NameKind::ip_address, "ip address", "ip", ""},
    NameRule{NameKind::ip_address, "ip address", "ipaddress", ""},
    NameRule{NameKind::ip_address, "ip address", "ipv4", ""},
    NameRule{NameKind::ip_address, "ip address", "ipv6", ""},
    NameRule{NameKind::ip_address, "ip address", "remote", "addr"},
    NameRule{NameKind::user_agent, "user agent", "user", "agent"},
    NameRule{NameKind::user_agent, "user agent", "useragent", ""},
    NameRule{NameKind::phone, "phone", "phone", ""},
    NameRule{NameKind::phone, "phone", "phonenumber", ""},
    NameRule{NameKind::phone, "phone", "mobile", ""},
    NameRule{NameKind::phone, "phone", "tel", ""},
    NameRule{NameKind::phone, "phone", "telephone", ""},
    NameRule{NameKind::phone, "phone", "cell", ""},
    NameRule{NameKind::phone, "phone", "fax", ""},
    NameRule{NameKind::phone, "phone", "msisdn", ""},
    NameRule{NameKind::first_name, "first name", "first", "name"},
    NameRule{NameKind::first_name, "first name", "firstname", ""},
    NameRule{NameKind::first_name, "first name", "given", "name"},
    NameRule{NameKind::first_name, "first name", "forename", ""},
    NameRule{NameKind::first_name, "first name", "fname", ""},
    NameRule{NameKind::last_name, "last name", "last", "name"},
    NameRule{NameKind::last_name, "last name", "lastname", ""},
    NameRule{NameKind::last_name, "last name", "surname", ""},
    NameRule{NameKind::last_name, "last name", "family", "name"},
    NameRule{NameKind::last_name, "last name", "lname", ""},
    NameRule{NameKind::full_name, "full name", "full", "name"},
    NameRule{NameKind::full_name, "full name", "fullname", ""},
    NameRule{NameKind::full_name, "full name", "display", "name"},
    NameRule{NameKind::full_name, "full name", "contact", "name"},
    NameRule{NameKind::full_name, "full name", "customer", "name"},
    NameRule{NameKind::username, "user name", "username", ""},
    NameRule{NameKind::username, "user name", "user", "name"},
    NameRule{NameKind::username, "user name", "login", "name"},
    NameRule{NameKind::birth_date, "birth date", "birthday", ""},
    NameRule{NameKind::birth_date, "birth date", "birthdate", ""},
    NameRule{NameKind::birth_date, "birth date", "birth", ""},
    NameRule{NameKind::birth_date, "birth date", "dob", ""},
    NameRule{NameKind::national_id, "national id", "ssn", ""},
    NameRule{NameKind::national_id, "national id", "national", "id"},
    NameRule{NameKind::national_id, "national id", "tax", "id"},
    NameRule{NameKind::national_id, "national id", "taxid", ""},
    NameRule{NameKind::national_id, "national id", "tin", ""},
    NameRule{NameKind::national_id, "national id", "passport", ""},
    NameRule{NameKind::national_id, "national id", "social", "security"},
    NameRule{NameKind::bank_account, "bank account", "iban", ""},
    NameRule{NameKind::bank_account, "bank account", "account", "number"},
    NameRule{NameKind::bank_account, "bank account", "account", "no"},
    NameRule{NameKind::bank_account, "bank account", "bank", "account"},
    NameRule{NameKind::card_number, "card number", "card", "number"},
    NameRule{NameKind::card_number, "card number", "card", "no"},
    NameRule{NameKind::card_number, "card number", "cc", "number"},
    NameRule{NameKind::card_number, "card number", "creditcard", ""},
    NameRule{NameKind::card_number, "card number", "pan", ""},
    NameRule{NameKind::card_number, "card number", "cvv", ""},
    NameRule{NameKind::card_number, "card number", "cvc", ""},
    NameRule{NameKind::address, "address", "address", ""},
    NameRule{NameKind::address, "address", "addr", ""},
    NameRule{NameKind::address, "address", "street", ""},
    NameRule{NameKind::address, "address", "city", ""},
    NameRule{NameKind::address, "address", "postcode", ""},
    NameRule{NameKind::address, "address", "postal", "code"},
    NameRule{NameKind::address, "address", "zip", ""},
    NameRule{NameKind::address, "address", "zipcode", ""},
    NameRule{NameKind::geo_location, "geo location", "latitude", ""},
    NameRule{NameKind::geo_location, "geo location", "longitude", ""},
    NameRule{NameKind::geo_location, "geo location", "lat", ""},
    NameRule{NameKind::geo_location, "geo location", "lng", ""},
    NameRule{NameKind::geo_location, "geo location", "lon", ""},
    NameRule{NameKind::geo_location, "geo location", "geolocation", ""},
    NameRule{NameKind::secret, "secret", "token", ""},
    NameRule{NameKind::secret, "secret", "secret", ""},
    NameRule{NameKind::secret, "secret", "password", ""},
    NameRule{NameKind::secret, "secret", "passwd", ""},
    NameRule{NameKind::secret, "secret", "pwd", ""},
    NameRule{NameKind::secret, "secret", "api", "key"},
    NameRule{NameKind::secret, "secret", "apikey", ""},
    NameRule{NameKind::secret, "secret", "access", "key"},
    NameRule{NameKind::secret, "secret", "private", "key"},
    NameRule{NameKind::secret, "secret", "otp", ""},
};

const RE2& emailPattern() {
    static const RE2 re(R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})");
    return re;
}

const RE2& tokenPattern() {
    static const RE2 re(R"(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)"
                        R"(|(?i:\bbearer\s+[A-Za-z0-9._~+/=\-]{16,}))"
                        R"(|\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"
                        R"(|\bgh[pousr]_[A-Za-z0-9]{30,})"
                        R"(|\bxox[abprs]-[A-Za-z0-9\-]{10,})"
                        R"(|\bAKIA[0-9A-Z]{16}\b)"
                        R"(|\bglpat-[A-Za-z0-9_\-]{20,})");
    return re;
}

// Calls `check(match, before, after)` for every match of `re` in `text` until it returns true;
// before/after are the characters around the match (0 at the ends).
template <typename Check>
bool anyMatch(const RE2& re, std::string_view text, Check check) {
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece match;
    while (RE2::FindAndConsume(&input, re, &match)) {
        const std::size_t at = static_cast<std::size_t>(match.data() - text.data());
        const char before = at > 0 ? text[at - 1] : '\0';
        const std::size_t end = at + match.size();
        const char after = end < text.size() ? text[end] : '\0';
        if (check(std::string_view(match.data(), match.size()), before, after)) {
            return true;
        }
        if (match.empty()) {
            return false;
        }
    }
    return false;
}

// The digit groups of a candidate, separators dropped ("(020) 7946-0958" gives 3, 4, 4).
std::vector<int> digitGroups(std::string_view s) {
    std::vector<int> groups;
    int run = 0;
    for (char c : s) {
        if (isDigit(c)) {
            ++run;
        } else if (run > 0) {
            groups.push_back(run);
            run = 0;
        }
    }
    if (run > 0) {
        groups.push_back(run);
    }
    return groups;
}

int digitCount(std::string_view s) {
    int n = 0;
    for (char c : s) {
        n += isDigit(c) ? 1 : 0;
    }
    return n;
}

// A phone number: E.164 with a +, a North American (NXX) NXX-XXXX, or a national number with a
// trunk 0 written in groups. Plain numbers (no separator), dates and amounts are not.
bool phoneCandidate(std::string_view c, char before, char after) {
    if (isAlnum(before) || before == '.' || before == '-' || before == '/' || before == ':' ||
        isAlnum(after) || after == '-' || after == '/' || after == ':') {
        return false;
    }
    const int digits = digitCount(c);
    if (c.find('/') != std::string_view::npos) {
        return false;
    }
    const std::vector<int> groups = digitGroups(c);
    if (c[0] == '+') {
        return digits >= 8 && digits <= 15 && c.size() > 1 && c[1] >= '1' && c[1] <= '9';
    }
    if (groups.size() < 2) {
        return false;  // a plain number
    }
    const std::size_t first_digit = c.find_first_of("0123456789");
    if ((groups == std::vector<int>{3, 3, 4} || groups == std::vector<int>{1, 3, 3, 4})) {
        const std::size_t area =
            groups.size() == 4 ? c.find_first_of("0123456789", first_digit + 1) : first_digit;
        const bool dots = c.find('.') != std::string_view::npos;
        const bool spaces_only = c.find_first_of("-.()") == std::string_view::npos;
        return c[area] >= '2' && !(dots && groups.size() == 4) && !spaces_only;
    }
    if (c[first_digit] != '0' || digits < 9 || digits > 12 || groups.front() > 5) {
        return false;
    }
    if (c.find('.') != std::string_view::npos && groups.size() >= 3 && groups[2] == 4) {
        return false;  // 01.02.2024 10: a date and an hour
    }
    for (int g : groups) {
        if (g < 2 || g > 8) {
            return false;
        }
    }
    return true;
}

const RE2& phonePattern() {
    static const RE2 re(R"((\+?\(?\d[\d ().\-]{5,22}\d))");
    return re;
}

bool ipv4Candidate(std::string_view c, char before, char after) {
    if (isAlnum(before) || before == '.' || isAlnum(after)) {
        return false;
    }
    int octet = 0;
    int len = 0;
    for (std::size_t i = 0; i <= c.size(); ++i) {
        if (i == c.size() || c[i] == '.') {
            if (len == 0 || octet > 255 || (len > 1 && c[i - len] == '0')) {
                return false;
            }
            octet = 0;
            len = 0;
        } else {
            octet = octet * 10 + (c[i] - '0');
            ++len;
        }
    }
    return true;
}

const RE2& ipv4Pattern() {
    static const RE2 re(R"((\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))");
    return re;
}

bool ipv6Candidate(std::string_view c, char before, char after) {
    if (isAlnum(before) || isAlnum(after) || before == ':' || after == ':' || c.size() > 39) {
        return false;
    }
    int colons = 0;
    int groups = 0;
    bool in_group = false;
    for (char ch : c) {
        if (ch == ':') {
            ++colons;
            in_group = false;
        } else if (!in_group) {
            ++groups;
            in_group = true;
        }
    }
    const bool compressed = c.find("::") != std::string_view::npos;
    if ((!compressed && colons != 7) || groups < 3) {
        return false;  // 10:30:00 is a time, aa:bb:cc:dd:ee:ff a MAC address
    }
    std::string text(c);
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

const RE2& ipv6Pattern() {
    static const RE2 re(R"(([0-9A-Fa-f]*:[0-9A-Fa-f:]*:[0-9A-Fa-f]*))");
    return re;
}

// Issuer prefixes of Visa, Mastercard, Amex, Discover, JCB and Diners, with their lengths.
bool cardPrefix(std::string_view d) {
    const auto starts = [&](std::string_view p) { return d.substr(0, p.size()) == p; };
    const int two = std::stoi(std::string(d.substr(0, 2)));
    const int four = std::stoi(std::string(d.substr(0, 4)));
    const std::size_t n = d.size();
    if (starts("4")) {
        return n == 13 || n == 16 || n == 19;
    }
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) {
        return n == 16;
    }
    if (two == 34 || two == 37) {
        return n == 15;
    }
    if (starts("6011") || starts("65") || (four >= 6440 && four <= 6499) || two == 35) {
        return n >= 16 && n <= 19;
    }
    if (two == 36 || two == 38 || two == 30) {
        return n == 14;
    }
    return false;
}

bool cardCandidate(std::string_view c, char before, char after) {
    if (isAlnum(before) || isAlnum(after) || before == '-' || after == '-' || before == '.' ||
        before == '+') {
        return false;
    }
    std::string digits;
    for (char ch : c) {
        if (isDigit(ch)) {
            digits += ch;
        }
    }
    if (digits.size() < 13 || digits.size() > 19 || !cardPrefix(digits)) {
        return false;
    }
    const std::vector<int> groups = digitGroups(c);
    if (groups.size() > 1) {
        const bool fours = groups.front() == 4 && groups.size() >= 3;
        const bool amex =
            groups == std::vector<int>{4, 6, 5} || groups == std::vector<int>{4, 6, 4};
        if (!fours && !amex) {
            return false;
        }
    }
    if (digits.find_first_not_of(digits[0]) == std::string::npos) {
        return false;
    }
    return luhnValid(digits);
}

const RE2& cardPattern() {
    static const RE2 re(R"((\d[\d \-]{11,22}\d))");
    return re;
}

constexpr std::string_view iban_countries =
    "AD AE AL AT AZ BA BE BG BH BR BY CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR GT HR "
    "HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO RS "
    "SA SC SE SI SK SM ST SV TL TN TR UA VA VG XK";

bool ibanCandidate(std::string_view c, char before, char after) {
    if (isAlnum(before) || isAlnum(after)) {
        return false;
    }
    std::string compact;
    for (char ch : c) {
        if (ch != ' ') {
            compact += ch;
        }
    }
    return ibanValid(compact);
}

const RE2& ibanPattern() {
    static const RE2 re(R"(([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?))");
    return re;
}

void walk(const nlohmann::json& value, const std::string& path, std::string_view key,
          const JsonVisitor& visit) {
    if (value.is_object()) {
        for (const auto& [k, v] : value.items()) {
            bool plain = !k.empty() && !isDigit(k[0]);
            for (char ch : k) {
                plain = plain && (isAlnum(ch) || ch == '_');
            }
            walk(v, plain ? path + "." + k : path + "[" + nlohmann::json(k).dump() + "]", k, visit);
        }
    } else if (value.is_array()) {
        for (const auto& v : value) {
            walk(v, path + "[*]", key, visit);
        }
    } else if (value.is_string() || value.is_number()) {
        const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
        const ValueKinds kinds = detectValues(text);
        visit(JsonLeaf{path, kinds, key.empty() ? std::nullopt : matchName(key), value.is_number(),
                       !kinds.empty() && looksLikeProse(text)});
    }
}

}  // namespace

bool looksLikeProse(std::string_view text) {
    int words = 0;
    bool in_word = false;
    bool letters = false;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        const bool space = i == text.size() || std::isspace(static_cast<unsigned char>(text[i]));
        if (space) {
            words += in_word && letters ? 1 : 0;
            in_word = false;
            letters = false;
        } else {
            in_word = true;
            letters = letters || std::isalpha(static_cast<unsigned char>(text[i]));
        }
    }
    return words >= 3;
}

std::optional<NameMatch> matchName(std::string_view name) {
    const std::vector<std::string> words = wordsOf(name);
    for (const NameRule& rule : name_rules) {
        for (std::size_t i = 0; i < words.size(); ++i) {
            if (words[i] != rule.first) {
                continue;
            }
            if (rule.second.empty() || (i + 1 < words.size() && words[i + 1] == rule.second)) {
                return NameMatch{rule.kind, rule.pattern};
            }
        }
    }
    return std::nullopt;
}

std::string_view valueKindName(ValueKind kind) {
    switch (kind) {
        case ValueKind::email:
            return "email address";
        case ValueKind::phone:
            return "phone number";
        case ValueKind::ipv4:
            return "IPv4 address";
        case ValueKind::ipv6:
            return "IPv6 address";
        case ValueKind::card:
            return "card number (Luhn)";
        case ValueKind::iban:
            return "IBAN (mod 97)";
        case ValueKind::token:
            return "bearer token";
    }
    return "value";
}

ValueKinds detectValues(std::string_view text) {
    ValueKinds kinds;
    if (text.size() < 6) {
        return kinds;
    }
    const bool has_at = text.find('@') != std::string_view::npos;
    const bool has_digit = text.find_first_of("0123456789") != std::string_view::npos;
    if (has_at && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), emailPattern())) {
        kinds.add(ValueKind::email);
    }
    if (text.size() >= 20 &&
        RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), tokenPattern())) {
        kinds.add(ValueKind::token);
    }
    if (!has_digit) {
        return kinds;
    }
    if (anyMatch(cardPattern(), text, cardCandidate)) {
        kinds.add(ValueKind::card);
    }
    if (anyMatch(phonePattern(), text, phoneCandidate)) {
        kinds.add(ValueKind::phone);
    }
    if (anyMatch(ipv4Pattern(), text, ipv4Candidate)) {
        kinds.add(ValueKind::ipv4);
    }
    if (text.find(':') != std::string_view::npos && anyMatch(ipv6Pattern(), text, ipv6Candidate)) {
        kinds.add(ValueKind::ipv6);
    }
    if (anyMatch(ibanPattern(), text, ibanCandidate)) {
        kinds.add(ValueKind::iban);
    }
    return kinds;
}

bool luhnValid(std::string_view digits) {
    if (digits.empty()) {
        return false;
    }
    int sum = 0;
    bool twice = false;
    for (std::size_t i = digits.size(); i-- > 0;) {
        if (!isDigit(digits[i])) {
            return false;
        }
        int d = digits[i] - '0';
        if (twice) {
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        }
        sum += d;
        twice = !twice;
    }
    return sum % 10 == 0;
}

bool ibanValid(std::string_view text) {
    if (text.size() < 15 || text.size() > 34 || !isDigit(text[2]) || !isDigit(text[3])) {
        return false;
    }
    const std::string country(text.substr(0, 2));
    if (iban_countries.find(country) == std::string_view::npos ||
        iban_countries.find(country) % 3 != 0) {
        return false;
    }
    // The check digits and the country move to the end; letters count as 10..35.
    const std::string moved = std::string(text.substr(4)) + std::string(text.substr(0, 4));
    int remainder = 0;
    for (char c : moved) {
        if (isDigit(c)) {
            remainder = (remainder * 10 + (c - '0')) % 97;
        } else if (c >= 'A' && c <= 'Z') {
            remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
        } else {
            return false;
        }
    }
    return remainder == 1;
}

bool walkJson(std::string_view text, const JsonVisitor& visit) {
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
        return false;
    }
    walk(doc, "$", "", visit);
    return true;
}

}  // namespace pgsluice::scan
