#include "pgsluice/sanitize/rules.hpp"

#define XXH_INLINE_ALL  // see salt.cpp
#include <re2/re2.h>
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/pattern.hpp"
#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/transform.hpp"

namespace pgsluice::sanitize {

namespace {

constexpr std::array<std::string_view, 9> top_level_keys{
    "version", "salt_env", "exclude_table_data",  "tables", "after", "keep",
    "strict",  "subset",   "virtual_foreign_keys"};

constexpr std::string_view top_level_list =
    "version, salt_env, exclude_table_data, tables, after, keep, strict, subset and "
    "virtual_foreign_keys";

// A lookup list larger than this is more likely a wrong file than a list of fake values.
constexpr std::uintmax_t lookup_max_bytes = std::uintmax_t{64} << 20;

struct TransformName {
    std::string_view name;
    TransformKind kind;
    bool takes_option;  // written as a one-key map `{name: option}`
};

constexpr std::array<TransformName, 19> transform_names{{
    {"null", TransformKind::null_value, false},
    {"set", TransformKind::set, true},
    {"hash", TransformKind::hash, false},
    {"email", TransformKind::email, false},
    {"first_name", TransformKind::first_name, false},
    {"last_name", TransformKind::last_name, false},
    {"full_name", TransformKind::full_name, false},
    {"digits", TransformKind::digits, false},
    {"phone", TransformKind::phone, false},
    {"keep_first", TransformKind::keep_first, true},
    {"shift_date", TransformKind::shift_date, true},
    {"noise", TransformKind::noise, true},
    {"uuid", TransformKind::uuid, false},
    {"ip", TransformKind::ip, false},
    {"regex_replace", TransformKind::regex_replace, true},
    {"lookup", TransformKind::lookup, true},
    {"json", TransformKind::json, true},
    {"json_remove", TransformKind::json, true},
    {"json_set", TransformKind::json, true},
}};

// One segment of a JSON path: a key, or `*` (in `json` paths only) for every element/member.
struct PathSegment {
    std::string_view text;
    bool wildcard = false;
};

std::vector<PathSegment> splitPath(std::string_view path, bool wildcards) {
    std::vector<PathSegment> segments;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        const std::string_view segment = path.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        segments.push_back({segment, wildcards && segment == "*"});
        if (dot == std::string_view::npos) {
            return segments;
        }
        start = dot + 1;
    }
}

// True when one path reaches into the other (a prefix, segment by segment, `*` matching any).
bool pathsOverlap(const std::vector<PathSegment>& a, const std::vector<PathSegment>& b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (!a[i].wildcard && !b[i].wildcard && a[i].text != b[i].text) {
            return false;
        }
    }
    return true;
}

bool isSpaceChar(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Reads an SQL identifier at POS of TEXT: "quoted" (kept as is, "" is a quote) or unquoted
// (letters, digits, _ and $, not starting with a digit or $; ASCII letters fold to lower case;
// bytes of multi-byte characters count as letters). Returns false when there is none.
bool readIdentifier(std::string_view text, std::size_t& pos, std::string& out) {
    out.clear();
    if (pos < text.size() && text[pos] == '"') {
        for (++pos; pos < text.size(); ++pos) {
            if (text[pos] == '"') {
                if (pos + 1 < text.size() && text[pos + 1] == '"') {
                    out += '"';
                    ++pos;
                    continue;
                }
                ++pos;
                return !out.empty();
            }
            out += text[pos];
        }
        return false;  // unterminated
    }
    const std::size_t start = pos;
    while (pos < text.size()) {
        const char c = text[pos];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                            static_cast<unsigned char>(c) >= 0x80;
        const bool digit = (c >= '0' && c <= '9') || c == '$';
        if (!letter && !(digit && pos > start)) {
            break;
        }
        out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        ++pos;
    }
    return pos > start;
}

std::size_t skipBlanks(std::string_view text, std::size_t pos) {
    while (pos < text.size() && isSpaceChar(text[pos])) {
        ++pos;
    }
    return pos;
}

// Parses `schema.table(col, ...)` (the schema optional) into OUT; false when it is not that.
bool parseTableColumns(std::string_view text, TableColumns& out) {
    out = TableColumns{};
    std::size_t pos = skipBlanks(text, 0);
    const std::size_t table_start = pos;
    std::vector<std::string> parts;
    std::string identifier;
    while (true) {
        if (!readIdentifier(text, pos, identifier)) {
            return false;
        }
        parts.push_back(identifier);
        pos = skipBlanks(text, pos);
        if (pos < text.size() && text[pos] == '.') {
            pos = skipBlanks(text, pos + 1);
            continue;
        }
        break;
    }
    if (parts.size() > 2 || pos >= text.size() || text[pos] != '(') {
        return false;
    }
    std::string_view table = text.substr(table_start, pos - table_start);
    while (!table.empty() && isSpaceChar(table.back())) {
        table.remove_suffix(1);
    }
    out.table = std::string(table);
    out.schema = parts.size() == 2 ? parts[0] : std::string{};
    out.name = parts.back();
    pos = skipBlanks(text, pos + 1);
    while (true) {
        if (!readIdentifier(text, pos, identifier)) {
            return false;
        }
        out.columns.push_back(identifier);
        pos = skipBlanks(text, pos);
        if (pos < text.size() && text[pos] == ',') {
            pos = skipBlanks(text, pos + 1);
            continue;
        }
        break;
    }
    if (pos >= text.size() || text[pos] != ')') {
        return false;
    }
    return skipBlanks(text, pos + 1) == text.size();
}

std::string jsonQuote(std::string_view text) {
    return nlohmann::json(std::string(text))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `"schema"."name"("col", ...)` with every part JSON-quoted, for the normalised rules.
std::string canonicalTableColumns(const TableColumns& side) {
    std::string out = jsonQuote(side.schema) + "." + jsonQuote(side.name) + "(";
    for (std::size_t i = 0; i < side.columns.size(); ++i) {
        out += (i == 0 ? "" : ", ") + jsonQuote(side.columns[i]);
    }
    return out + ")";
}

std::string hexOf(const XXH128_hash_t& hash) {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char byte : canonical.digest) {
        out += hex[byte >> 4];
        out += hex[byte & 15];
    }
    return out;
}

// Levenshtein distance, to suggest the key the user probably meant.
std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

template <class Names>
std::string didYouMean(std::string_view word, const Names& names) {
    std::string_view best;
    std::size_t best_distance = 3;  // more than two edits away is a different word
    for (const auto& entry : names) {
        const std::string_view name = entry;
        const std::size_t distance = editDistance(word, name);
        if (distance < best_distance) {
            best = name;
            best_distance = distance;
        }
    }
    return best.empty() ? std::string{} : " (did you mean " + std::string(best) + "?)";
}

std::vector<std::string_view> transformNameList() {
    std::vector<std::string_view> names;
    for (const TransformName& entry : transform_names) {
        names.push_back(entry.name);
    }
    return names;
}

std::string joinedTransformNames() {
    std::string out;
    for (const TransformName& entry : transform_names) {
        out += out.empty() ? "" : ", ";
        out += entry.name;
    }
    return out;
}

bool hasUnquotedWildcard(std::string_view pattern) {
    bool in_quotes = false;
    for (const char c : pattern) {
        if (c == '"') {
            in_quotes = !in_quotes;  // `""` inside quotes toggles twice: still quoted
        } else if (!in_quotes && (c == '*' || c == '?')) {
            return true;
        }
    }
    return false;
}

bool isEnvironmentName(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

// Builds Rules from the YAML tree, collecting every problem rather than stopping at the first.
class Parser {
  public:
    Parser(std::string_view text, Rules& rules) : text_(text), rules_(rules) {}

    // Parses the document; returns the problems found, each "FILE:LINE: message".
    std::vector<std::string> run() {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text_));
        } catch (const YAML::Exception& error) {
            const int line = error.mark.is_null() ? 1 : error.mark.line + 1;
            problem(line, "not valid YAML: " + error.msg +
                              "; fix the syntax (docs/rules.md has a complete example)");
            return std::move(problems_);
        }
        if (!root.IsDefined() || root.IsNull()) {
            problem(1, "the rules file is empty; it needs at least `version: 1`");
            return std::move(problems_);
        }
        if (!root.IsMap()) {
            problem(lineOf(root, 1), "the rules file must be a mapping with the keys " +
                                         std::string(top_level_list));
            return std::move(problems_);
        }
        bool saw_version = false;
        std::map<std::string, int> seen;
        for (const auto& entry : root) {
            const int line = lineOf(entry.first, 1);
            if (!entry.first.IsScalar()) {
                problem(line, "a top-level key must be a plain word such as tables");
                continue;
            }
            const std::string key = entry.first.Scalar();
            if (!noteKey(seen, key, line, "top-level key")) {
                continue;
            }
            if (key == "version") {
                saw_version = true;
                parseVersion(entry.second, line);
            } else if (key == "salt_env") {
                parseSaltEnv(entry.second, line);
            } else if (key == "exclude_table_data") {
                parseExcludeTableData(entry.second, line);
            } else if (key == "tables") {
                parseTables(entry.second, line);
            } else if (key == "after") {
                parseAfter(entry.second, line);
            } else if (key == "keep") {
                parseKeep(entry.second, line);
            } else if (key == "strict") {
                parseStrict(entry.second, line);
            } else if (key == "subset") {
                parseSubset(entry.second, line);
            } else if (key == "virtual_foreign_keys") {
                parseVirtualForeignKeys(entry.second, line);
            } else {
                problem(line, "unknown key \"" + key + "\"" + didYouMean(key, top_level_keys) +
                                  "; the top-level keys are " + std::string(top_level_list));
            }
        }
        if (!saw_version) {
            problem(1, "version is missing; add `version: 1` at the top of the file");
        }
        return std::move(problems_);
    }

  private:
    void problem(int line, const std::string& message) {
        problems_.push_back(rules_.where(line) + ": " + message);
    }

    static int lineOf(const YAML::Node& node, int fallback) {
        const YAML::Mark mark = node.Mark();
        return mark.is_null() ? fallback : mark.line + 1;
    }

    // Records KEY at LINE; false (with a problem) when it was already there, since yaml-cpp
    // keeps duplicate keys and a second rule for the same column must not go unnoticed.
    bool noteKey(std::map<std::string, int>& seen, const std::string& key, int line,
                 std::string_view what) {
        const auto [it, inserted] = seen.emplace(key, line);
        if (!inserted) {
            problem(line, std::string(what) + " \"" + key + "\" appears again (first at line " +
                              std::to_string(it->second) + "); keep one of them");
        }
        return inserted;
    }

    // True when the null NODE was written as null/~ rather than left empty (`ssn:`): an empty
    // value is more likely an unfinished rule than a request to blank the column.
    bool explicitNull(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.is_null() || mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text_.size()) {
            return false;
        }
        const std::string_view rest = text_.substr(static_cast<std::size_t>(mark.pos));
        for (const std::string_view word : {"null", "Null", "NULL", "~"}) {
            if (rest.starts_with(word)) {
                const char next = rest.size() > word.size() ? rest[word.size()] : ' ';
                if (std::string_view(" \t\r\n,}]#").find(next) != std::string_view::npos) {
                    return true;
                }
            }
        }
        return false;
    }

    // The integer in scalar NODE within [min, max], or nothing (with a problem naming WHAT).
    std::optional<int> readInteger(const YAML::Node& node, int line, int min, int max,
                                   const std::string& what) {
        if (node.IsScalar()) {
            const std::string& text = node.Scalar();
            int value = 0;
            const auto [end, error] =
                std::from_chars(text.data(), text.data() + text.size(), value);
            if (error == std::errc{} && end == text.data() + text.size() && value >= min &&
                value <= max) {
                return value;
            }
        }
        problem(line, what + " must be a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max));
        return std::nullopt;
    }

    void parseVersion(const YAML::Node& node, int line) {
        if (node.IsScalar() && node.Scalar() == "1") {
            rules_.version = 1;
            return;
        }
        problem(lineOf(node, line),
                "unsupported version" +
                    (node.IsScalar() ? " \"" + node.Scalar() + "\"" : std::string{}) +
                    "; this pgsluice reads rules files of version 1: write `version: 1`");
    }

    void parseSaltEnv(const YAML::Node& node, int line) {
        // The value is never echoed: someone may have pasted the salt itself here.
        if (!node.IsScalar() || !isEnvironmentName(node.Scalar())) {
            problem(lineOf(node, line),
                    "salt_env must name an environment variable (letters, digits and _, such as "
                    "PGSLUICE_SALT), not hold the salt itself; export the salt in that variable");
            return;
        }
        rules_.salt_env = node.Scalar();
        rules_.salt_env_line = line;
    }

    // Parses a pattern at LINE; false with a problem when pg_dump's rules or ours refuse it.
    bool checkPattern(const std::string& text, int line) {
        try {
            const filter::Pattern pattern =
                filter::Pattern::parse(text, filter::PatternKind::relation);
            if (pattern.database()) {
                problem(line, "pattern \"" + text +
                                  "\" names a database; rules name tables as schema.table, so "
                                  "drop the database part");
                return false;
            }
        } catch (const UsageError& error) {
            problem(line, error.what());
            return false;
        }
        return true;
    }

    void parseExcludeTableData(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;  // an empty list
        }
        if (!node.IsSequence()) {
            problem(lineOf(node, line),
                    "exclude_table_data must be a list of table patterns, one per line as "
                    "`- public.post_office_*`");
            return;
        }
        for (const YAML::Node& item : node) {
            const int item_line = lineOf(item, line);
            if (!item.IsScalar() || item.Scalar().empty()) {
                problem(item_line,
                        "each exclude_table_data entry must be a table pattern such as "
                        "public.post_office_*");
                continue;
            }
            if (checkPattern(item.Scalar(), item_line)) {
                rules_.exclude_table_data.push_back({item.Scalar(), item_line});
            }
        }
    }

    void parseAfter(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsSequence()) {
            problem(lineOf(node, line),
                    "after must be a list of SQL statements, one per line as `- UPDATE ...`");
            return;
        }
        for (const YAML::Node& item : node) {
            const int item_line = lineOf(item, line);
            if (!item.IsScalar() ||
                item.Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
                problem(item_line, "each after entry must be one SQL statement as text");
                continue;
            }
            rules_.after.push_back({item.Scalar(), item_line});
        }
    }

    void parseKeep(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsSequence()) {
            problem(
                lineOf(node, line),
                "keep must be a list of columns, one per line as `- public.auth_user.username`");
            return;
        }
        for (const YAML::Node& item : node) {
            const int item_line = lineOf(item, line);
            if (!item.IsScalar() || item.Scalar().empty()) {
                problem(item_line,
                        "each keep entry must be a column as schema.table.column, such as "
                        "public.auth_user.username");
                continue;
            }
            const std::string& text = item.Scalar();
            // The column is what follows the last dot outside double quotes.
            std::size_t dot = std::string::npos;
            bool in_quotes = false;
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (text[i] == '"') {
                    in_quotes = !in_quotes;
                } else if (text[i] == '.' && !in_quotes) {
                    dot = i;
                }
            }
            if (dot == std::string::npos || dot == 0) {
                problem(item_line, "keep entry \"" + text +
                                       "\" is not schema.table.column; name the column with its "
                                       "table, such as public.auth_user.username");
                continue;
            }
            const std::string table = text.substr(0, dot);
            const std::string_view column_text = std::string_view(text).substr(dot + 1);
            std::size_t pos = 0;
            std::string column;
            const bool column_ok =
                readIdentifier(column_text, pos, column) && pos == column_text.size();
            if (!column_ok) {
                problem(item_line, "keep entry \"" + text + "\": \"" + std::string(column_text) +
                                       "\" is not a column name (a name, not a pattern: quote it "
                                       "in double quotes to keep case or other characters)");
                continue;
            }
            if (checkPattern(table, item_line)) {
                rules_.keep.push_back({table, column, item_line});
            }
        }
    }

    void parseStrict(const YAML::Node& node, int line) {
        const int at = lineOf(node, line);
        if (node.IsScalar() && node.Tag() == "?") {
            const std::string& text = node.Scalar();
            if (text == "true" || text == "True" || text == "TRUE") {
                rules_.strict = true;
                rules_.strict_line = at;
                return;
            }
            if (text == "false" || text == "False" || text == "FALSE") {
                rules_.strict = false;
                rules_.strict_line = at;
                return;
            }
        }
        problem(at, "strict must be true or false");
    }

    void parseSubset(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsMap()) {
            problem(lineOf(node, line),
                    "subset must map table patterns to SQL conditions, as "
                    "`public.orders: \"created_at > now() - interval '90 days'\"`");
            return;
        }
        std::map<std::string, int> seen;
        for (const auto& entry : node) {
            const int entry_line = lineOf(entry.first, line);
            if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
                problem(entry_line, "a subset key must be a table pattern such as public.orders");
                continue;
            }
            const std::string pattern = entry.first.Scalar();
            if (!noteKey(seen, pattern, entry_line, "subset pattern")) {
                continue;
            }
            const bool pattern_ok = checkPattern(pattern, entry_line);
            if (!entry.second.IsScalar() ||
                entry.second.Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
                problem(entry_line, "subset pattern \"" + pattern +
                                        "\" needs an SQL condition as text, such as \"id % 10 = "
                                        "0\"");
                continue;
            }
            if (pattern_ok) {
                rules_.subset.push_back({pattern, entry.second.Scalar(), entry_line});
            }
        }
    }

    void parseVirtualForeignKeys(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;
        }
        const std::string shape =
            "as `- {from: \"public.orders(customer_id)\", to: \"public.customers(id)\"}`";
        if (!node.IsSequence()) {
            problem(
                lineOf(node, line),
                "virtual_foreign_keys must be a list of {from, to} pairs, one per line " + shape);
            return;
        }
        for (const YAML::Node& item : node) {
            const int item_line = lineOf(item, line);
            if (!item.IsMap()) {
                problem(item_line,
                        "each virtual_foreign_keys entry must be a mapping with from "
                        "and to, " +
                            shape);
                continue;
            }
            VirtualForeignKey key;
            key.line = item_line;
            bool ok = true;
            bool saw_from = false;
            bool saw_to = false;
            std::map<std::string, int> seen;
            for (const auto& entry : item) {
                const int entry_line = lineOf(entry.first, item_line);
                const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
                if (!noteKey(seen, name, entry_line, "virtual_foreign_keys key")) {
                    ok = false;
                    continue;
                }
                if (name != "from" && name != "to") {
                    problem(entry_line,
                            "unknown key \"" + name + "\"" +
                                didYouMean(name, std::array<std::string_view, 2>{"from", "to"}) +
                                " in virtual_foreign_keys; an entry has from and to");
                    ok = false;
                    continue;
                }
                TableColumns& side = name == "from" ? key.from : key.to;
                (name == "from" ? saw_from : saw_to) = true;
                if (!entry.second.IsScalar() || !parseTableColumns(entry.second.Scalar(), side)) {
                    problem(entry_line,
                            "virtual_foreign_keys " + name + " \"" +
                                (entry.second.IsScalar() ? entry.second.Scalar() : std::string{}) +
                                "\" is not schema.table(column, ...); write it as "
                                "public.orders(customer_id), with double quotes around names "
                                "that need them");
                    ok = false;
                }
            }
            if (ok && (!saw_from || !saw_to)) {
                problem(item_line, std::string("a virtual_foreign_keys entry needs ") +
                                       (saw_from ? "to" : "from") + " as well, " + shape);
                ok = false;
            }
            if (ok && key.from.columns.size() != key.to.columns.size()) {
                problem(item_line, "virtual_foreign_keys: from " + key.from.table + " has " +
                                       std::to_string(key.from.columns.size()) +
                                       " columns but to " + key.to.table + " has " +
                                       std::to_string(key.to.columns.size()) +
                                       "; both sides list the same number of columns, in "
                                       "matching order");
                ok = false;
            }
            if (ok) {
                rules_.virtual_foreign_keys.push_back(std::move(key));
            }
        }
    }

    void parseTables(const YAML::Node& node, int line) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsMap()) {
            problem(lineOf(node, line),
                    "tables must map table patterns to column rules, as `public.users: {email: "
                    "email}`");
            return;
        }
        std::map<std::string, int> seen;
        for (const auto& entry : node) {
            const int table_line = lineOf(entry.first, line);
            if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
                problem(table_line, "a table key must be a table pattern such as public.users");
                continue;
            }
            const std::string pattern = entry.first.Scalar();
            if (!noteKey(seen, pattern, table_line, "table pattern")) {
                continue;
            }
            const bool pattern_ok = checkPattern(pattern, table_line);
            TableRule table{pattern, hasUnquotedWildcard(pattern), table_line, {}};
            parseColumns(entry.second, table);
            if (pattern_ok) {
                rules_.tables.push_back(std::move(table));
            }
        }
    }

    void parseColumns(const YAML::Node& node, TableRule& table) {
        if (!node.IsMap() || node.size() == 0) {
            problem(table.line, "table pattern \"" + table.pattern +
                                    "\" needs column rules under it, such as `email: email`");
            return;
        }
        std::map<std::string, int> seen;
        for (const auto& entry : node) {
            const int line = lineOf(entry.first, table.line);
            if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
                problem(line, "a column key must be a column name");
                continue;
            }
            const std::string column = entry.first.Scalar();
            if (!noteKey(seen, column, line,
                         "column \"" + column + "\" of \"" + table.pattern + "\": the")) {
                continue;
            }
            if (std::optional<TransformSpec> spec = parseTransform(entry.second, line, column)) {
                table.columns.push_back({column, std::move(*spec), line});
            }
        }
    }

    std::optional<TransformSpec> parseTransform(const YAML::Node& node, int line,
                                                const std::string& column) {
        return parseTransformIn(node, line, "column \"" + column + "\": ");
    }

    std::optional<TransformSpec> parseTransformIn(const YAML::Node& node, int line,
                                                  const std::string& context) {
        if (node.IsNull()) {
            if (!explicitNull(node)) {
                problem(line, context +
                                  "no transform given; write one such as null, email or "
                                  "{set: \"x\"}");
                return std::nullopt;
            }
            return TransformSpec{};
        }
        if (node.IsScalar()) {
            const std::string& name = node.Scalar();
            for (const TransformName& entry : transform_names) {
                if (entry.name != name) {
                    continue;
                }
                if (entry.takes_option) {
                    problem(line,
                            context + name + " needs an option; write it as " + exampleOf(name));
                    return std::nullopt;
                }
                TransformSpec spec;
                spec.kind = entry.kind;
                return spec;
            }
            problem(line, context + "unknown transform \"" + name + "\"" +
                              didYouMean(name, transformNameList()) + "; the transforms are " +
                              joinedTransformNames());
            return std::nullopt;
        }
        if (!node.IsMap() || node.size() == 0) {
            problem(line, context +
                              "a transform is a name (email) or a one-key mapping with its "
                              "option ({keep_first: 2})");
            return std::nullopt;
        }
        const bool json = node["json_remove"] || node["json_set"] || node["json"];
        if (!json && node.size() != 1) {
            problem(line, context +
                              "give one transform per column; only json, json_remove and "
                              "json_set may be combined");
            return std::nullopt;
        }
        TransformSpec spec;
        bool ok = true;
        std::map<std::string, int> seen;
        for (const auto& entry : node) {
            const int key_line = lineOf(entry.first, line);
            const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string{};
            if (!noteKey(seen, key, key_line, context + "the transform key")) {
                ok = false;
                continue;
            }
            ok = parseOption(key, entry.second, key_line, context, json, spec) && ok;
        }
        if (ok && spec.kind == TransformKind::json) {
            ok = checkJsonPaths(spec, line, context);
        }
        return ok ? std::optional<TransformSpec>(std::move(spec)) : std::nullopt;
    }

    static std::string exampleOf(std::string_view name) {
        if (name == "set") {
            return "{set: \"constant\"}";
        }
        if (name == "keep_first") {
            return "{keep_first: 2}";
        }
        if (name == "shift_date") {
            return "{shift_date: 30}";
        }
        if (name == "json_remove") {
            return "{json_remove: [ip, card.number]}";
        }
        if (name == "noise") {
            return "{noise: {percent: 10}}";
        }
        if (name == "regex_replace") {
            return "{regex_replace: {pattern: \"[0-9]\", replacement: \"#\"}}";
        }
        if (name == "lookup") {
            return "{lookup: cities.txt}";
        }
        if (name == "json") {
            return "{json: {\"user.email\": email}}";
        }
        return "{json_set: {\"card.number\": \"XXXX\"}}";
    }

    // `{set: CONSTANT}`.
    bool parseSet(const YAML::Node& value, int line, const std::string& context,
                  TransformSpec& spec) {
        if (value.IsNull()) {
            problem(line, context +
                              "{set: null} is written `null`; it sets the column to "
                              "NULL (quote it, {set: \"null\"}, for the text null)");
            return false;
        }
        if (!value.IsScalar()) {
            problem(line, context + "set takes one constant, such as {set: \"!\"}");
            return false;
        }
        spec.constant = value.Scalar();
        return true;
    }

    // `{hash: {length: N}}` or `{hash: null}`.
    bool parseHash(const YAML::Node& value, int line, const std::string& context,
                   TransformSpec& spec) {
        if (value.IsNull()) {
            return true;
        }
        if (!value.IsMap()) {
            problem(line, context +
                              "hash options are a mapping: write {hash: {length: 16}}, "
                              "or just hash for all 32 hex digits");
            return false;
        }
        bool ok = true;
        for (const auto& option : value) {
            const int option_line = lineOf(option.first, line);
            const std::string name = option.first.IsScalar() ? option.first.Scalar() : "";
            if (name != "length") {
                problem(option_line,
                        context + "unknown hash option \"" + name + "\"; hash takes only length");
                ok = false;
                continue;
            }
            const std::optional<int> length =
                readInteger(option.second, option_line, 1, hash_full_length,
                            context + "hash length (hex digits of the 128-bit hash)");
            if (!length) {
                ok = false;
                continue;
            }
            spec.length = *length;
            spec.length_given = true;
        }
        return ok;
    }

    // Parses one `key: option` of a transform mapping into SPEC; false with a problem if wrong.
    bool parseOption(const std::string& key, const YAML::Node& value, int line,
                     const std::string& context, bool json, TransformSpec& spec) {
        if (json && key != "json_remove" && key != "json_set" && key != "json") {
            problem(line, context + "\"" + key +
                              "\" cannot be combined with json, json_remove or json_set; give one "
                              "transform per column");
            return false;
        }
        if (key == "set") {
            spec.kind = TransformKind::set;
            return parseSet(value, line, context, spec);
        }
        if (key == "hash") {
            spec.kind = TransformKind::hash;
            return parseHash(value, line, context, spec);
        }
        if (key == "keep_first") {
            spec.kind = TransformKind::keep_first;
            const std::optional<int> keep =
                readInteger(value, line, 0, 1000000, context + "keep_first (characters kept)");
            spec.keep = keep.value_or(0);
            return keep.has_value();
        }
        if (key == "shift_date") {
            spec.kind = TransformKind::shift_date;
            const std::optional<int> days =
                readInteger(value, line, 1, shift_date_max_days,
                            context + "shift_date (largest shift in days)");
            spec.days = days.value_or(0);
            return days.has_value();
        }
        if (key == "json_remove") {
            spec.kind = TransformKind::json;
            return parseJsonRemove(value, line, context, spec);
        }
        if (key == "json_set") {
            spec.kind = TransformKind::json;
            return parseJsonSet(value, line, context, spec);
        }
        if (key == "json") {
            spec.kind = TransformKind::json;
            return parseJsonPaths(value, line, context, spec);
        }
        if (key == "ip") {
            spec.kind = TransformKind::ip;
            return parseIpOptions(value, line, context, spec);
        }
        if (key == "noise") {
            spec.kind = TransformKind::noise;
            return parseNoise(value, line, context, spec);
        }
        if (key == "regex_replace") {
            spec.kind = TransformKind::regex_replace;
            return parseRegexReplace(value, line, context, spec);
        }
        if (key == "lookup") {
            spec.kind = TransformKind::lookup;
            return parseLookup(value, line, context, spec);
        }
        for (const TransformName& entry : transform_names) {
            if (entry.name == key) {
                problem(line, context + key + " takes no options; write just " + key);
                return false;
            }
        }
        problem(line, context + "unknown transform \"" + key + "\"" +
                          didYouMean(key, transformNameList()) + "; the transforms are " +
                          joinedTransformNames());
        return false;
    }

    // The options of a mapping-valued transform: KNOWN names, each given at most once; a
    // problem for any other. Returns the options in file order with their lines.
    std::optional<std::vector<std::pair<std::string, YAML::Node>>> readOptions(
        const YAML::Node& value, int line, const std::string& context, std::string_view transform,
        std::initializer_list<std::string_view> known, const std::string& shape) {
        if (!value.IsMap() || value.size() == 0) {
            problem(line,
                    context + std::string(transform) + " options are a mapping: write " + shape);
            return std::nullopt;
        }
        std::vector<std::pair<std::string, YAML::Node>> options;
        std::map<std::string, int> seen;
        bool ok = true;
        for (const auto& option : value) {
            const int option_line = lineOf(option.first, line);
            const std::string name = option.first.IsScalar() ? option.first.Scalar() : "";
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string names;
                for (const std::string_view k : known) {
                    names += names.empty() ? "" : ", ";
                    names += k;
                }
                problem(option_line, context + "unknown " + std::string(transform) + " option \"" +
                                         name + "\"" + didYouMean(name, known) + "; " +
                                         std::string(transform) + " takes " + names);
                ok = false;
                continue;
            }
            if (!noteKey(seen, name, option_line, context + std::string(transform) + " option")) {
                ok = false;
                continue;
            }
            options.emplace_back(name, option.second);
        }
        if (!ok) {
            return std::nullopt;
        }
        return options;
    }

    bool parseIpOptions(const YAML::Node& value, int line, const std::string& context,
                        TransformSpec& spec) {
        if (value.IsNull()) {
            return true;
        }
        const auto options =
            readOptions(value, line, context, "ip", {"keep_prefix", "keep_prefix_v6"},
                        "{ip: {keep_prefix: 16}}, or just ip");
        if (!options) {
            return false;
        }
        bool ok = true;
        for (const auto& [name, option] : *options) {
            const bool v6 = name == "keep_prefix_v6";
            const std::optional<int> bits =
                readInteger(option, lineOf(option, line), 0, v6 ? 128 : 32,
                            context + "ip " + name + " (leading address bits kept)");
            if (!bits) {
                ok = false;
                continue;
            }
            (v6 ? spec.keep_prefix_v6 : spec.keep_prefix) = *bits;
        }
        spec.ip_options_given = true;
        return ok;
    }

    bool parseNoise(const YAML::Node& value, int line, const std::string& context,
                    TransformSpec& spec) {
        const auto options =
            readOptions(value, line, context, "noise", {"percent"}, "{noise: {percent: 10}}");
        if (!options) {
            return false;
        }
        const std::optional<int> percent =
            readInteger(options->front().second, lineOf(options->front().second, line), 1,
                        noise_max_percent, context + "noise percent (largest change)");
        spec.percent = percent.value_or(0);
        return percent.has_value();
    }

    bool parseRegexReplace(const YAML::Node& value, int line, const std::string& context,
                           TransformSpec& spec) {
        const std::string shape = "{regex_replace: {pattern: \"[0-9]{4}\", replacement: \"XXXX\"}}";
        const auto options =
            readOptions(value, line, context, "regex_replace", {"pattern", "replacement"}, shape);
        if (!options) {
            return false;
        }
        bool saw_pattern = false;
        bool saw_replacement = false;
        bool ok = true;
        for (const auto& [name, option] : *options) {
            if (!option.IsScalar()) {
                problem(lineOf(option, line),
                        context + "regex_replace " + name + " must be text; write " + shape);
                ok = false;
                continue;
            }
            (name == "pattern" ? spec.pattern : spec.replacement) = option.Scalar();
            (name == "pattern" ? saw_pattern : saw_replacement) = true;
        }
        if (!ok) {
            return false;
        }
        if (!saw_pattern || !saw_replacement || spec.pattern.empty()) {
            problem(line, context +
                              "regex_replace needs a non-empty pattern and a replacement "
                              "(\"\" to delete the matches); write " +
                              shape);
            return false;
        }
        if (!isValidUtf8(spec.pattern) || !isValidUtf8(spec.replacement)) {
            problem(line, context + "the regex_replace pattern and replacement must be UTF-8");
            return false;
        }
        RE2::Options options_re2;
        options_re2.set_log_errors(false);
        const RE2 regex(spec.pattern, options_re2);
        if (!regex.ok()) {
            problem(line, context + "regex_replace pattern \"" + spec.pattern +
                              "\" does not compile: " + regex.error() +
                              " (RE2 syntax: github.com/google/re2/wiki/Syntax)");
            return false;
        }
        std::string error;
        if (!regex.CheckRewriteString(spec.replacement, &error)) {
            if (error.ends_with('.')) {
                error.pop_back();  // RE2 ends its sentence; ours goes on
            }
            problem(line, context + "regex_replace replacement \"" + spec.replacement +
                              "\": " + error +
                              "; groups are written \\1 to \\9 (\\0 is the "
                              "whole match, \\\\ a backslash)");
            return false;
        }
        return true;
    }

    bool parseLookup(const YAML::Node& value, int line, const std::string& context,
                     TransformSpec& spec) {
        const YAML::Node* file = &value;
        std::optional<std::vector<std::pair<std::string, YAML::Node>>> options;
        if (value.IsMap()) {
            options = readOptions(value, line, context, "lookup", {"file"},
                                  "{lookup: {file: cities.txt}}");
            if (!options) {
                return false;
            }
            file = &options->front().second;
        }
        if (!file->IsScalar() || file->Scalar().empty()) {
            problem(line, context +
                              "lookup takes the list file, one value per line: write {lookup: "
                              "cities.txt} (relative to the rules file)");
            return false;
        }
        spec.lookup_file = file->Scalar();
        return readLookupList(line, context, spec);
    }

    // Reads the lookup list of SPEC: UTF-8, one value per line; lines whose first non-blank
    // character is # are comments; blanks around values and empty lines are skipped.
    bool readLookupList(int line, const std::string& context, TransformSpec& spec) {
        std::filesystem::path path(spec.lookup_file);
        if (path.is_relative()) {
            path = std::filesystem::path(rules_.source).parent_path() / path;
        }
        const std::string shown = path.string();
        std::error_code size_error;
        const std::uintmax_t size = std::filesystem::file_size(path, size_error);
        if (!size_error && size > lookup_max_bytes) {
            problem(line, context + "the lookup list " + shown + " has " + std::to_string(size) +
                              " bytes, more than the 64 MiB a list may have");
            return false;
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        if (in) {
            text << in.rdbuf();
        }
        if (!in || in.bad()) {
            problem(line, context + "cannot read the lookup list " + shown + ": " +
                              std::strerror(errno) +
                              "; the path is relative to the rules file's directory");
            return false;
        }
        const std::string content = text.str();
        std::string_view rest = content;
        if (rest.starts_with("\xEF\xBB\xBF")) {
            rest.remove_prefix(3);  // a UTF-8 byte order mark
        }
        bool ok = true;
        for (int number = 1; !rest.empty(); ++number) {
            const std::size_t end = rest.find('\n');
            std::string_view item = rest.substr(0, end);
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
            while (!item.empty() && isSpaceChar(item.front())) {
                item.remove_prefix(1);
            }
            while (!item.empty() && isSpaceChar(item.back())) {
                item.remove_suffix(1);
            }
            if (item.empty() || item.front() == '#') {
                continue;
            }
            if (!isValidUtf8(item) || item.find('\0') != std::string_view::npos) {
                problem(line,
                        context + "line " + std::to_string(number) + " of the lookup list " +
                            shown + " is not " +
                            (isValidUtf8(item) ? "text (it holds a NUL byte)" : "valid UTF-8") +
                            "; save the list as UTF-8 text");
                ok = false;
                continue;
            }
            spec.lookup_values.emplace_back(item);
        }
        if (!ok) {
            return false;
        }
        if (spec.lookup_values.empty()) {
            problem(line, context + "the lookup list " + shown +
                              " has no values (empty lines and # comments are skipped); put one "
                              "value per line in it");
            return false;
        }
        XXH3_state_t* state = XXH3_createState();
        XXH3_128bits_reset(state);
        for (const std::string& item : spec.lookup_values) {
            XXH3_128bits_update(state, item.data(), item.size());
            XXH3_128bits_update(state, "\n", 1);
        }
        const XXH128_hash_t digest = XXH3_128bits_digest(state);
        XXH3_freeState(state);
        spec.lookup_digest = hexOf(digest);
        return true;
    }

    bool parseJsonPaths(const YAML::Node& value, int line, const std::string& context,
                        TransformSpec& spec) {
        if (!value.IsMap() || value.size() == 0) {
            problem(line, context +
                              "json maps JSON paths to transforms, such as {json: "
                              "{\"events.*.email\": email, \"profile.phones.*\": digits}}");
            return false;
        }
        bool ok = true;
        for (const auto& entry : value) {
            const int item_line = lineOf(entry.first, line);
            if (!entry.first.IsScalar()) {
                problem(item_line, context + "each json key must be a JSON path");
                ok = false;
                continue;
            }
            // JSONPath's "$." (the document root) may start a path: "$.user.email".
            std::string path = entry.first.Scalar();
            if (path == "$") {
                problem(item_line, context +
                                       "JSON path \"$\" is not a dotted list of keys such "
                                       "as $.card.number or card.number");
                ok = false;
                continue;
            }
            if (path.starts_with("$.")) {
                path.erase(0, 2);
            }
            if (!checkPath(path, item_line, context)) {
                ok = false;
                continue;
            }
            bool segments_ok = true;
            for (const PathSegment& segment : splitPath(path, true)) {
                if (!segment.wildcard && segment.text.find('*') != std::string_view::npos) {
                    problem(item_line, context + "JSON path \"" + path +
                                           "\": * stands alone for every element or key of a "
                                           "level (events.*.email); it cannot be part of a key");
                    segments_ok = false;
                    break;
                }
            }
            if (!segments_ok) {
                ok = false;
                continue;
            }
            const std::string inner_context = context + "json path \"" + path + "\": ";
            std::optional<TransformSpec> inner =
                parseTransformIn(entry.second, lineOf(entry.second, item_line), inner_context);
            if (!inner) {
                ok = false;
                continue;
            }
            const TypeSet accepted = acceptedTypes(inner->kind);
            if (inner->kind == TransformKind::json ||
                (!accepted.contains(TypeKind::text) && inner->kind != TransformKind::null_value &&
                 inner->kind != TransformKind::noise)) {
                problem(item_line, inner_context + inner->name() +
                                       " cannot rewrite values inside JSON; there a transform "
                                       "sees a string's text (or a number's) as a text value: use "
                                       "a text transform, noise (numbers) or null");
                ok = false;
                continue;
            }
            spec.json_paths.push_back(
                {path, std::make_shared<const TransformSpec>(std::move(*inner))});
        }
        return ok;
    }

    bool checkPath(const std::string& path, int line, const std::string& context) {
        bool ok = !path.empty() && path.front() != '.' && path.back() != '.' &&
                  path.find("..") == std::string::npos;
        if (!ok) {
            problem(line, context + "JSON path \"" + path +
                              "\" is not a dotted list of keys such as card.number");
        }
        return ok;
    }

    bool parseJsonRemove(const YAML::Node& value, int line, const std::string& context,
                         TransformSpec& spec) {
        std::vector<YAML::Node> items;
        if (value.IsScalar()) {
            items.push_back(value);
        } else if (value.IsSequence() && value.size() > 0) {
            for (const YAML::Node& item : value) {
                items.push_back(item);
            }
        } else {
            problem(line, context +
                              "json_remove takes a list of key paths, such as "
                              "{json_remove: [ip, card.number]}");
            return false;
        }
        bool ok = true;
        for (const YAML::Node& item : items) {
            const int item_line = lineOf(item, line);
            if (!item.IsScalar()) {
                problem(item_line, context + "each json_remove entry must be a key path");
                ok = false;
                continue;
            }
            if (checkPath(item.Scalar(), item_line, context)) {
                spec.json_edits.push_back({item.Scalar(), true, {}});
            } else {
                ok = false;
            }
        }
        return ok;
    }

    bool parseJsonSet(const YAML::Node& value, int line, const std::string& context,
                      TransformSpec& spec) {
        if (!value.IsMap() || value.size() == 0) {
            problem(line, context +
                              "json_set maps key paths to new values, such as "
                              "{json_set: {\"card.number\": \"XXXX\"}}");
            return false;
        }
        bool ok = true;
        for (const auto& entry : value) {
            const int item_line = lineOf(entry.first, line);
            if (!entry.first.IsScalar()) {
                problem(item_line, context + "each json_set key must be a key path");
                ok = false;
                continue;
            }
            if (!checkPath(entry.first.Scalar(), item_line, context)) {
                ok = false;
                continue;
            }
            try {
                spec.json_edits.push_back(
                    {entry.first.Scalar(), false,
                     toJson(entry.second)
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)});
            } catch (const nlohmann::json::exception&) {
                problem(item_line, context + "the json_set value for \"" + entry.first.Scalar() +
                                       "\" is not valid UTF-8");
                ok = false;
            }
        }
        return ok;
    }

    // Two edits on one key, or on a key and something inside it, would depend on their order.
    // (`*` in a `json` path matches any key there.)
    bool checkJsonPaths(const TransformSpec& spec, int line, const std::string& context) {
        std::vector<std::pair<const std::string*, std::vector<PathSegment>>> paths;
        for (const JsonEdit& edit : spec.json_edits) {
            paths.emplace_back(&edit.path, splitPath(edit.path, false));
        }
        for (const JsonPathTransform& path : spec.json_paths) {
            paths.emplace_back(&path.path, splitPath(path.path, true));
        }
        for (std::size_t i = 0; i < paths.size(); ++i) {
            for (std::size_t j = i + 1; j < paths.size(); ++j) {
                if (!pathsOverlap(paths[i].second, paths[j].second)) {
                    continue;
                }
                const std::string& a = *paths[i].first;
                const std::string& b = *paths[j].first;
                const std::string& shorter = a.size() <= b.size() ? a : b;
                const std::string& longer = a.size() <= b.size() ? b : a;
                problem(line, context + "JSON paths \"" + shorter + "\" and \"" + longer +
                                  "\" overlap; keep one of them");
                return false;
            }
        }
        return true;
    }

    // A YAML value as JSON, reading plain scalars with YAML 1.2's core schema (true, 12, 1.5,
    // null) and quoted ones as strings.
    static nlohmann::json toJson(const YAML::Node& node) {
        if (!node.IsDefined() || node.IsNull()) {
            return nullptr;
        }
        if (node.IsSequence()) {
            nlohmann::json array = nlohmann::json::array();
            for (const YAML::Node& item : node) {
                array.push_back(toJson(item));
            }
            return array;
        }
        if (node.IsMap()) {
            nlohmann::json object = nlohmann::json::object();
            for (const auto& entry : node) {
                object[entry.first.Scalar()] = toJson(entry.second);
            }
            return object;
        }
        const std::string& text = node.Scalar();
        if (node.Tag() != "?") {
            return text;  // quoted, or tagged !!str
        }
        if (text == "true" || text == "True" || text == "TRUE") {
            return true;
        }
        if (text == "false" || text == "False" || text == "FALSE") {
            return false;
        }
        long long integer = 0;
        const char* end = text.data() + text.size();
        if (auto [p, error] = std::from_chars(text.data(), end, integer);
            error == std::errc{} && p == end && !text.empty()) {
            return integer;
        }
        double real = 0;
        if (auto [p, error] = std::from_chars(text.data(), end, real);
            error == std::errc{} && p == end && !text.empty() &&
            text.find_first_of("0123456789") != std::string::npos &&
            text.find_first_of("nN") == std::string::npos) {
            return real;
        }
        return text;
    }

    std::string_view text_;
    Rules& rules_;
    std::vector<std::string> problems_;
};

}  // namespace

std::string TransformSpec::name() const {
    switch (kind) {
        case TransformKind::null_value:
            return "null";
        case TransformKind::set:
            return "set";
        case TransformKind::hash:
            return "hash";
        case TransformKind::email:
            return "email";
        case TransformKind::first_name:
            return "first_name";
        case TransformKind::last_name:
            return "last_name";
        case TransformKind::full_name:
            return "full_name";
        case TransformKind::digits:
            return "digits";
        case TransformKind::keep_first:
            return "keep_first";
        case TransformKind::shift_date:
            return "shift_date";
        case TransformKind::json: {
            const bool removes = std::any_of(json_edits.begin(), json_edits.end(),
                                             [](const JsonEdit& edit) { return edit.remove; });
            const bool sets = std::any_of(json_edits.begin(), json_edits.end(),
                                          [](const JsonEdit& edit) { return !edit.remove; });
            std::string out = json_paths.empty() ? "" : "json";
            for (const auto& [given, word] :
                 {std::pair{removes, "json_remove"}, {sets, "json_set"}}) {
                if (given) {
                    out += out.empty() ? "" : "/";
                    out += word;
                }
            }
            return out;
        }
        case TransformKind::phone:
            return "phone";
        case TransformKind::uuid:
            return "uuid";
        case TransformKind::ip:
            return "ip";
        case TransformKind::regex_replace:
            return "regex_replace";
        case TransformKind::lookup:
            return "lookup";
        case TransformKind::noise:
            return "noise";
    }
    return "?";
}

std::string TransformSpec::canonical() const {
    switch (kind) {
        case TransformKind::set:
            return "{set: " + jsonQuote(constant) + "}";
        case TransformKind::hash:
            return length_given ? "{hash: {length: " + std::to_string(length) + "}}" : "hash";
        case TransformKind::keep_first:
            return "{keep_first: " + std::to_string(keep) + "}";
        case TransformKind::shift_date:
            return "{shift_date: " + std::to_string(days) + "}";
        case TransformKind::ip: {
            if (!ip_options_given) {
                return "ip";
            }
            std::string out = "{ip: {keep_prefix: " + std::to_string(keep_prefix);
            if (keep_prefix_v6 >= 0) {
                out += ", keep_prefix_v6: " + std::to_string(keep_prefix_v6);
            }
            return out + "}}";
        }
        case TransformKind::noise:
            return "{noise: {percent: " + std::to_string(percent) + "}}";
        case TransformKind::regex_replace:
            return "{regex_replace: {pattern: " + jsonQuote(pattern) +
                   ", replacement: " + jsonQuote(replacement) + "}}";
        case TransformKind::lookup:
            // The list's content is in the digest, so a changed list changes the rules hash.
            return "{lookup: {file: " + jsonQuote(lookup_file) +
                   ", values: " + std::to_string(lookup_values.size()) +
                   ", digest: " + jsonQuote(lookup_digest) + "}}";
        case TransformKind::json: {
            std::string paths;
            {
                std::vector<const JsonPathTransform*> sorted;
                for (const JsonPathTransform& path : json_paths) {
                    sorted.push_back(&path);
                }
                std::sort(sorted.begin(), sorted.end(),
                          [](const JsonPathTransform* a, const JsonPathTransform* b) {
                              return a->path < b->path;
                          });
                for (const JsonPathTransform* path : sorted) {
                    paths += paths.empty() ? "" : ", ";
                    paths += jsonQuote(path->path) + ": " + path->transform->canonical();
                }
            }
            std::vector<JsonEdit> edits = json_edits;
            std::sort(edits.begin(), edits.end(),
                      [](const JsonEdit& a, const JsonEdit& b) { return a.path < b.path; });
            std::string removes;
            std::string sets;
            for (const JsonEdit& edit : edits) {
                std::string& out = edit.remove ? removes : sets;
                out += out.empty() ? "" : ", ";
                out += jsonQuote(edit.path);
                if (!edit.remove) {
                    out += ": " + edit.value;
                }
            }
            std::string out = "{";
            if (!paths.empty()) {
                out += "json: {" + paths + "}";
                out += removes.empty() && sets.empty() ? "" : ", ";
            }
            if (!removes.empty()) {
                out += "json_remove: [" + removes + "]";
            }
            if (!sets.empty()) {
                out += removes.empty() ? "" : ", ";
                out += "json_set: {" + sets + "}";
            }
            return out + "}";
        }
        default:
            return name();
    }
}

bool TransformSpec::needsSalt() const {
    switch (kind) {
        case TransformKind::hash:
        case TransformKind::email:
        case TransformKind::first_name:
        case TransformKind::last_name:
        case TransformKind::full_name:
        case TransformKind::digits:
        case TransformKind::shift_date:
        case TransformKind::phone:
        case TransformKind::uuid:
        case TransformKind::ip:
        case TransformKind::lookup:
        case TransformKind::noise:
            return true;
        case TransformKind::json:
            return std::any_of(
                json_paths.begin(), json_paths.end(),
                [](const JsonPathTransform& path) { return path.transform->needsSalt(); });
        default:
            return false;
    }
}

bool operator==(const JsonPathTransform& a, const JsonPathTransform& b) {
    return a.path == b.path && (a.transform == b.transform ||
                                (a.transform && b.transform && *a.transform == *b.transform));
}

std::string Rules::where(int line) const {
    return source + ":" + std::to_string(line);
}

bool Rules::needsSalt() const {
    for (const TableRule& table : tables) {
        for (const ColumnRule& column : table.columns) {
            if (column.transform.needsSalt()) {
                return true;
            }
        }
    }
    return false;
}

Rules parseRulesFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    if (file) {
        text << file.rdbuf();
    }
    if (!file || file.bad()) {
        throw UsageError("cannot read the rules file " + path + ": " + std::strerror(errno) +
                         "; check the path given to --rules");
    }
    return parseRules(text.str(), path);
}

Rules parseRules(std::string_view text, std::string_view source) {
    Rules rules;
    rules.source = std::string(source);
    const std::vector<std::string> problems = Parser(text, rules).run();
    if (!problems.empty()) {
        std::string message;
        for (const std::string& problem : problems) {
            message += message.empty() ? "" : "\n";
            message += problem;
        }
        throw UsageError(message);
    }
    return rules;
}

std::string normalizedRules(const Rules& rules) {
    std::string out = "pgsluice rules version " + std::to_string(rules.version) + "\n";
    std::vector<std::string> excludes;
    for (const PatternEntry& entry : rules.exclude_table_data) {
        excludes.push_back(jsonQuote(entry.pattern));
    }
    std::sort(excludes.begin(), excludes.end());
    for (const std::string& pattern : excludes) {
        out += "exclude_table_data " + pattern + "\n";
    }
    std::vector<const TableRule*> tables;
    for (const TableRule& table : rules.tables) {
        tables.push_back(&table);
    }
    std::sort(tables.begin(), tables.end(),
              [](const TableRule* a, const TableRule* b) { return a->pattern < b->pattern; });
    for (const TableRule* table : tables) {
        out += "table " + jsonQuote(table->pattern) + "\n";
        std::vector<const ColumnRule*> columns;
        for (const ColumnRule& column : table->columns) {
            columns.push_back(&column);
        }
        std::sort(columns.begin(), columns.end(),
                  [](const ColumnRule* a, const ColumnRule* b) { return a->column < b->column; });
        for (const ColumnRule* column : columns) {
            out += "  column " + jsonQuote(column->column) + " " + column->transform.canonical() +
                   "\n";
        }
    }
    for (const AfterStatement& statement : rules.after) {
        out += "after " + jsonQuote(statement.sql) + "\n";
    }
    // The keys below were added later: written only when present, so that a file without them
    // normalises (and hashes) exactly as before.
    std::vector<std::string> lines;
    for (const KeepEntry& entry : rules.keep) {
        lines.push_back("keep " + jsonQuote(entry.table_pattern) + " " + jsonQuote(entry.column));
    }
    std::sort(lines.begin(), lines.end());
    for (const std::string& line : lines) {
        out += line + "\n";
    }
    if (rules.strict) {
        out += std::string("strict ") + (*rules.strict ? "true" : "false") + "\n";
    }
    lines.clear();
    for (const SubsetRule& subset : rules.subset) {
        lines.push_back("subset " + jsonQuote(subset.pattern) + " " + jsonQuote(subset.condition));
    }
    std::sort(lines.begin(), lines.end());
    for (const std::string& line : lines) {
        out += line + "\n";
    }
    lines.clear();
    for (const VirtualForeignKey& key : rules.virtual_foreign_keys) {
        lines.push_back("virtual_foreign_key " + canonicalTableColumns(key.from) + " -> " +
                        canonicalTableColumns(key.to));
    }
    std::sort(lines.begin(), lines.end());
    for (const std::string& line : lines) {
        out += line + "\n";
    }
    return out;
}

std::string rulesHash(const Rules& rules) {
    const std::string text = normalizedRules(rules);
    return hexOf(XXH3_128bits(text.data(), text.size()));
}

}  // namespace pgsluice::sanitize
