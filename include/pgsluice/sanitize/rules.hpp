#pragma once

// The sanitisation rules file (`--rules FILE`, YAML): what it says, parsed and checked for
// shape, with the line of every part so that later checks against the source catalogue can
// point at the line to fix. docs/rules.md is the reference for the syntax.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgsluice::sanitize {

// The transforms a column rule can name.
enum class TransformKind : std::uint8_t {
    null_value,  // `null`
    set,         // `{set: CONSTANT}`
    hash,        // `hash`, `{hash: {length: N}}`
    email,       // `email`
    first_name,  // `first_name`
    last_name,   // `last_name`
    full_name,   // `full_name`
    digits,      // `digits`
    keep_first,  // `{keep_first: N}`
    shift_date,  // `{shift_date: DAYS}`
    json,        // `{json_remove: [PATH, ...]}` and/or `{json_set: {PATH: VALUE, ...}}`
};

// One edit of a JSON transform: remove the key at PATH, or replace its value.
struct JsonEdit {
    std::string path;  // dotted: "ip", "card.number"
    bool remove = true;
    std::string value;  // set: the new value as compact JSON text

    bool operator==(const JsonEdit&) const = default;
};

// Default and largest `hash` length: all 128 bits of the keyed hash, in hex.
inline constexpr int hash_full_length = 32;
// Largest `shift_date` distance; a wider shift is no longer the same decade's date.
inline constexpr int shift_date_max_days = 36500;

// A transform as the rules file wrote it, with its options; the same spec on columns of
// different types builds different Transform objects (see transform.hpp).
struct TransformSpec {
    TransformKind kind = TransformKind::null_value;
    std::string constant;              // set: the constant's text
    int length = hash_full_length;     // hash: hex characters kept
    bool length_given = false;         // hash: `length` was written (refused on uuid columns)
    int keep = 0;                      // keep_first: characters kept
    int days = 0;                      // shift_date: largest shift in days
    std::vector<JsonEdit> json_edits;  // json: removals and replacements, in file order

    bool operator==(const TransformSpec&) const = default;

    // The rule's name as the rules file spells it ("email", "json_remove"), for messages.
    std::string name() const;
    // The spec in one canonical rules-file form (`{hash: {length: 16}}`), for messages, plan
    // output and the rules hash.
    std::string canonical() const;
    // True when building it needs the salt (every keyed transform).
    bool needsSalt() const;
};

// `column: transform` under a table pattern.
struct ColumnRule {
    std::string column;  // the column's name exactly as the catalogue stores it
    TransformSpec transform;
    int line = 0;
};

// A table pattern and the rules for its columns.
struct TableRule {
    std::string pattern;    // pg_dump relation pattern text, as written
    bool wildcard = false;  // the pattern has an unquoted * or ?
    int line = 0;
    std::vector<ColumnRule> columns;
};

// A pattern of `exclude_table_data`, for the lead's selection (pg_dump --exclude-table-data).
struct PatternEntry {
    std::string pattern;
    int line = 0;
};

// A statement of `after`, run on the target once all data is loaded.
struct AfterStatement {
    std::string sql;
    int line = 0;
};

// A parsed rules file. Holds the name of the salt's environment variable, never the salt.
struct Rules {
    std::string source;  // the file name, for messages
    int version = 1;
    std::string salt_env;  // empty when the file has no salt_env
    int salt_env_line = 0;
    std::vector<PatternEntry> exclude_table_data;
    std::vector<TableRule> tables;
    std::vector<AfterStatement> after;

    // "FILE:LINE", the prefix of every message about a part of the file.
    std::string where(int line) const;
    // True when any column rule needs the salt.
    bool needsSalt() const;
};

// Reads and parses the rules file at PATH. Throws UsageError listing every problem found, each
// as "PATH:LINE: what is wrong; what to do".
Rules parseRulesFile(const std::string& path);

// Parses rules from TEXT; SOURCE names it in messages. Throws as parseRulesFile does.
Rules parseRules(std::string_view text, std::string_view source);

// The rules in a canonical text form that ignores layout, comments, quoting and the order of
// tables, columns and exclude patterns (but not of `after`); excludes the salt and salt_env.
std::string normalizedRules(const Rules& rules);

// A stable hex digest (xxh3-128) of normalizedRules(), for the archive manifest: equal for two
// files that say the same, different when a rule changes. Never depends on the salt.
std::string rulesHash(const Rules& rules);

}  // namespace pgsluice::sanitize
