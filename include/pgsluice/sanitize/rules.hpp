#pragma once

// The sanitisation rules file (`--rules FILE`, YAML): what it says, parsed and checked for
// shape, with the line of every part so that later checks against the source catalogue can
// point at the line to fix. docs/rules.md is the reference for the syntax.

#include <cstdint>
#include <memory>
#include <optional>
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
    json,  // `{json: {PATH: TRANSFORM}}`, `{json_remove: [PATH, ...]}`, `{json_set: {PATH: VALUE}}`
    phone,          // `phone`
    uuid,           // `uuid`
    ip,             // `ip`, `{ip: {keep_prefix: BITS, keep_prefix_v6: BITS}}`
    regex_replace,  // `{regex_replace: {pattern: RE2, replacement: TEXT}}`
    lookup,         // `{lookup: FILE}`, `{lookup: {file: FILE}}`
    noise,          // `{noise: {percent: N}}`
};

struct TransformSpec;

// One path of a `json` transform and the transform applied to the values it reaches. The path
// is dotted like json_remove's, but a segment `*` means every element of an array or every
// member of an object at that level.
struct JsonPathTransform {
    std::string path;
    std::shared_ptr<const TransformSpec> transform;  // never null
};
// Equal paths with equal transforms (compares the specs, not the pointers).
bool operator==(const JsonPathTransform& a, const JsonPathTransform& b);

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
// Largest `noise` percentage: a factor between 0 and 2.
inline constexpr int noise_max_percent = 100;

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
    std::vector<JsonPathTransform> json_paths;  // json: `{json: {PATH: TRANSFORM}}`, file order
    int keep_prefix = 0;            // ip: leading address bits kept (IPv4, and IPv6 unless below)
    int keep_prefix_v6 = -1;        // ip: leading bits kept of IPv6 addresses; -1: keep_prefix
    bool ip_options_given = false;  // ip: written as a mapping (for the canonical form)
    std::string pattern;            // regex_replace: the RE2 pattern (checked to compile)
    std::string replacement;  // regex_replace: the rewrite, RE2 syntax: \1 is group 1 (checked)
    std::string lookup_file;  // lookup: the list file as written (relative to the rules file)
    std::vector<std::string> lookup_values;  // lookup: the list's values, in file order
    std::string lookup_digest;  // lookup: xxh3-128 hex of the values (the rules hash sees it)
    int percent = 0;            // noise: largest change, in percent of the value

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

// An entry of `keep`: a column that a scan for personal data flags but that is kept on purpose
// (`public.auth_user.username`). The table part is a pg_dump relation pattern; the column is an
// identifier (double quotes keep case, unquoted letters fold to lower case), not a pattern.
struct KeepEntry {
    std::string table_pattern;  // "schema.table" pattern text as written, for filter::Pattern
    std::string column;         // the column name as the catalogue stores it
    int line = 0;
};

// An entry of `subset`: keep only the rows of the matching tables for which CONDITION holds.
// Only its shape is checked here; the engine checks the SQL against the server.
struct SubsetRule {
    std::string pattern;    // pg_dump relation pattern text, as written
    std::string condition;  // an SQL boolean expression, as written
    int line = 0;
};

// One side of a virtual foreign key: `schema.table(col, ...)`, identifiers unquoted (double
// quotes keep case and may hold any character, `""` is a quote; unquoted letters fold to lower
// case).
struct TableColumns {
    std::string table;   // the table part as written (before the parenthesis), trimmed
    std::string schema;  // the schema, unquoted and folded; empty when none was written
    std::string name;    // the table's name, unquoted and folded
    std::vector<std::string> columns;  // unquoted and folded, in order (at least one)

    bool operator==(const TableColumns&) const = default;
};

// An entry of `virtual_foreign_keys`: a relationship the schema does not declare, which
// subsetting follows as if it were a foreign key. Both sides have the same column count.
struct VirtualForeignKey {
    TableColumns from;
    TableColumns to;
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
    // `keep: [schema.table.column, ...]`: columns kept on purpose although a scan flags them.
    std::vector<KeepEntry> keep;
    // `strict: true|false`; nothing when the file does not say.
    std::optional<bool> strict;
    int strict_line = 0;
    // `subset: {TABLE_PATTERN: "SQL condition", ...}`, in file order.
    std::vector<SubsetRule> subset;
    // `virtual_foreign_keys: [{from: "s.t(c, ...)", to: "s.t(c, ...)"}, ...]`, in file order.
    std::vector<VirtualForeignKey> virtual_foreign_keys;

    // "FILE:LINE", the prefix of every message about a part of the file.
    std::string where(int line) const;
    // True when any column rule needs the salt.
    bool needsSalt() const;
};

// Reads and parses the rules file at PATH. Throws UsageError listing every problem found, each
// as "PATH:LINE: what is wrong; what to do".
Rules parseRulesFile(const std::string& path);

// Parses rules from TEXT; SOURCE names it in messages, and `lookup` files are found relative
// to SOURCE's directory. Throws as parseRulesFile does.
Rules parseRules(std::string_view text, std::string_view source);

// The rules in a canonical text form that ignores layout, comments, quoting and the order of
// tables, columns and exclude patterns (but not of `after`); excludes the salt and salt_env.
// keep, strict, subset and virtual_foreign_keys appear only when the file has them, so a file
// without them normalises (and hashes) as it did before they existed.
std::string normalizedRules(const Rules& rules);

// A stable hex digest (xxh3-128) of normalizedRules(), for the archive manifest: equal for two
// files that say the same, different when a rule changes. Never depends on the salt.
std::string rulesHash(const Rules& rules);

}  // namespace pgsluice::sanitize
