#include "pgsluice/sanitize/types.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace pgsluice::sanitize {

namespace {

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && isSpace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// The last dot-separated part of a possibly schema-qualified, possibly quoted name, unquoted,
// with a parenthesised modifier kept: format_type() writes `public.citext` for an extension
// type outside the search path and `"My Type"` for a name that needs quotes.
std::string lastNamePart(std::string_view text) {
    std::string part;
    bool in_quotes = false;
    int depth = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            if (in_quotes && i + 1 < text.size() && text[i + 1] == '"') {
                part.push_back('"');
                ++i;
            } else {
                in_quotes = !in_quotes;
            }
        } else if (!in_quotes && c == '(') {
            ++depth;
            part.push_back(c);
        } else if (!in_quotes && c == ')') {
            --depth;
            part.push_back(c);
        } else if (!in_quotes && depth == 0 && c == '.') {
            part.clear();
        } else {
            part.push_back(c);
        }
    }
    return part;
}

// Splits "timestamp(3) with time zone" into "timestamp with time zone" and 3. The modifier is
// -1 when absent and -2 when present but not a plain number.
std::pair<std::string, int> splitModifier(std::string_view text) {
    const std::size_t open = text.find('(');
    if (open == std::string_view::npos) {
        return {std::string(text), -1};
    }
    const std::size_t close = text.find(')', open);
    if (close == std::string_view::npos) {
        return {std::string(text), -2};
    }
    const std::string_view digits = trim(text.substr(open + 1, close - open - 1));
    int value = -2;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc{} || end != digits.data() + digits.size() || value < 0) {
        value = -2;
    }
    std::string base(trim(text.substr(0, open)));
    const std::string_view rest = trim(text.substr(close + 1));
    if (!rest.empty()) {
        base += ' ';
        base += rest;
    }
    return {base, value};
}

struct KindName {
    std::string_view name;
    TypeKind kind;
};

// Both spellings of each type: format_type()'s SQL name and pg_type.typname.
constexpr std::array<KindName, 34> kind_names{{
    {"text", TypeKind::text},
    {"character varying", TypeKind::varchar},
    {"varchar", TypeKind::varchar},
    {"character", TypeKind::bpchar},
    {"bpchar", TypeKind::bpchar},
    {"name", TypeKind::name},
    {"citext", TypeKind::citext},
    {"json", TypeKind::json},
    {"jsonb", TypeKind::jsonb},
    {"date", TypeKind::date},
    {"timestamp without time zone", TypeKind::timestamp},
    {"timestamp", TypeKind::timestamp},
    {"timestamp with time zone", TypeKind::timestamptz},
    {"timestamptz", TypeKind::timestamptz},
    {"smallint", TypeKind::int2},
    {"int2", TypeKind::int2},
    {"integer", TypeKind::int4},
    {"int4", TypeKind::int4},
    {"int", TypeKind::int4},
    {"bigint", TypeKind::int8},
    {"int8", TypeKind::int8},
    {"boolean", TypeKind::boolean},
    {"bool", TypeKind::boolean},
    {"uuid", TypeKind::uuid},
    {"numeric", TypeKind::numeric},
    {"decimal", TypeKind::numeric},
    {"real", TypeKind::float4},
    {"float4", TypeKind::float4},
    {"double precision", TypeKind::float8},
    {"float8", TypeKind::float8},
    {"float", TypeKind::float8},
    {"bytea", TypeKind::bytea},
    {"inet", TypeKind::inet},
    {"cidr", TypeKind::cidr},
}};

// numeric's modifier: "(p)" or "(p,s)", s possibly negative (PostgreSQL 15+). Sets TYPE's
// precision and scale; false when the modifier is not of that shape.
bool readNumericModifier(std::string_view text, ColumnType& type) {
    const std::size_t open = text.find('(');
    const std::size_t close = text.find(')', open);
    if (close == std::string_view::npos || !trim(text.substr(close + 1)).empty()) {
        return false;
    }
    std::string_view inside = text.substr(open + 1, close - open - 1);
    const std::size_t comma = inside.find(',');
    auto number = [](std::string_view part, int& value) {
        part = trim(part);
        const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
        return !part.empty() && error == std::errc{} && end == part.data() + part.size();
    };
    int precision = 0;
    int scale = 0;
    if (!number(inside.substr(0, comma), precision) || precision < 1 ||
        (comma != std::string_view::npos && !number(inside.substr(comma + 1), scale))) {
        return false;
    }
    type.precision = precision;
    type.scale = scale;
    return true;
}

}  // namespace

ColumnType classifyType(std::string_view type_name) {
    const std::string_view trimmed = trim(type_name);
    if (trimmed.ends_with("]")) {
        return {};  // arrays travel with their element OID; no transform but null handles them
    }
    const std::string last = lastNamePart(trimmed);
    const auto [base, modifier] = splitModifier(last);
    if (base == "numeric" || base == "decimal") {
        ColumnType type{TypeKind::numeric};
        if (modifier != -1 && !readNumericModifier(last, type)) {
            return {};
        }
        return type;
    }
    if (modifier == -2) {
        return {};
    }
    // "char(10)" is how people write character(10); bare "char" is the one-byte internal type.
    if (base == "char" && modifier >= 0) {
        return {TypeKind::bpchar, modifier};
    }
    for (const KindName& entry : kind_names) {
        if (entry.name == base) {
            const bool has_length =
                entry.kind == TypeKind::varchar || entry.kind == TypeKind::bpchar;
            return {entry.kind, has_length ? modifier : -1};
        }
    }
    return {};
}

std::string_view typeKindName(TypeKind kind) {
    switch (kind) {
        case TypeKind::text:
            return "text";
        case TypeKind::varchar:
            return "character varying";
        case TypeKind::bpchar:
            return "character";
        case TypeKind::name:
            return "name";
        case TypeKind::citext:
            return "citext";
        case TypeKind::json:
            return "json";
        case TypeKind::jsonb:
            return "jsonb";
        case TypeKind::date:
            return "date";
        case TypeKind::timestamp:
            return "timestamp";
        case TypeKind::timestamptz:
            return "timestamptz";
        case TypeKind::int2:
            return "smallint";
        case TypeKind::int4:
            return "integer";
        case TypeKind::int8:
            return "bigint";
        case TypeKind::boolean:
            return "boolean";
        case TypeKind::uuid:
            return "uuid";
        case TypeKind::numeric:
            return "numeric";
        case TypeKind::float4:
            return "real";
        case TypeKind::float8:
            return "double precision";
        case TypeKind::bytea:
            return "bytea";
        case TypeKind::inet:
            return "inet";
        case TypeKind::cidr:
            return "cidr";
        case TypeKind::other:
            break;
    }
    return "any other type";
}

std::string TypeSet::describe() const {
    if (bits_ == all().bits_) {
        return "every type";
    }
    std::string out;
    for (int i = 0; i <= static_cast<int>(TypeKind::other); ++i) {
        const auto kind = static_cast<TypeKind>(i);
        if (contains(kind)) {
            if (!out.empty()) {
                out += ", ";
            }
            out += typeKindName(kind);
        }
    }
    return out;
}

}  // namespace pgsluice::sanitize
