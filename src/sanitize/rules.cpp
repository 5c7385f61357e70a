#include "pgsluice/sanitize/rules.hpp"

#define XXH_INLINE_ALL  // see salt.cpp
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/pattern.hpp"

namespace pgsluice::sanitize {

namespace {

constexpr std::array<std::string_view, 5> top_level_keys{"version", "salt_env",
                                                         "exclude_table_data", "tables", "after"};

struct TransformName {
    std::string_view name;
    TransformKind kind;
    bool takes_option;  // written as a one-key map `{name: option}`
};

constexpr std::array<TransformName, 12> transform_names{{
    {"null", TransformKind::null_value, false},
    {"set", TransformKind::set, true},
    {"hash", TransformKind::hash, false},
    {"email", TransformKind::email, false},
    {"first_name", TransformKind::first_name, false},
    {"last_name", TransformKind::last_name, false},
    {"full_name", TransformKind::full_name, false},
    {"digits", TransformKind::digits, false},
    {"keep_first", TransformKind::keep_first, true},
    {"shift_date", TransformKind::shift_date, true},
    {"json_remove", TransformKind::json, true},
    {"json_set", TransformKind::json, true},
}};

std::string jsonQuote(std::string_view text) {
    return nlohmann::json(std::string(text))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
            problem(lineOf(root, 1),
                    "the rules file must be a mapping with the keys version, salt_env, "
                    "exclude_table_data, tables and after");
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
            } else {
                problem(line, "unknown key \"" + key + "\"" + didYouMean(key, top_level_keys) +
                                  "; the top-level keys are version, salt_env, "
                                  "exclude_table_data, tables and after");
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
        const std::string context = "column \"" + column + "\": ";
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
        const bool json = node["json_remove"] || node["json_set"];
        if (!json && node.size() != 1) {
            problem(line, context +
                              "give one transform per column; only json_remove and "
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
        return "{json_set: {\"card.number\": \"XXXX\"}}";
    }

    // Parses one `key: option` of a transform mapping into SPEC; false with a problem if wrong.
    bool parseOption(const std::string& key, const YAML::Node& value, int line,
                     const std::string& context, bool json, TransformSpec& spec) {
        if (json && key != "json_remove" && key != "json_set") {
            problem(line, context + "\"" + key +
                              "\" cannot be combined with json_remove or json_set; give one "
                              "transform per column");
            return false;
        }
        if (key == "set") {
            spec.kind = TransformKind::set;
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
        if (key == "hash") {
            spec.kind = TransformKind::hash;
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
                    problem(option_line, context + "unknown hash option \"" + name +
                                             "\"; hash takes only length");
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
    bool checkJsonPaths(const TransformSpec& spec, int line, const std::string& context) {
        for (std::size_t i = 0; i < spec.json_edits.size(); ++i) {
            for (std::size_t j = i + 1; j < spec.json_edits.size(); ++j) {
                const std::string& a = spec.json_edits[i].path;
                const std::string& b = spec.json_edits[j].path;
                const std::string& shorter = a.size() <= b.size() ? a : b;
                const std::string& longer = a.size() <= b.size() ? b : a;
                if (longer.starts_with(shorter) &&
                    (longer.size() == shorter.size() || longer[shorter.size()] == '.')) {
                    problem(line, context + "JSON paths \"" + shorter + "\" and \"" + longer +
                                      "\" overlap; keep one of them");
                    return false;
                }
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
            return removes && sets ? "json_remove/json_set" : removes ? "json_remove" : "json_set";
        }
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
        case TransformKind::json: {
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
            return true;
        default:
            return false;
    }
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
    return out;
}

std::string rulesHash(const Rules& rules) {
    const std::string text = normalizedRules(rules);
    const XXH128_hash_t hash = XXH3_128bits(text.data(), text.size());
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

}  // namespace pgsluice::sanitize
