#pragma once

// From what a scan saw to what it reports: a column's name, type and sampled values become
// findings, each with its reasons, a suggested transform and whether the rules cover it. Pure:
// a ColumnProfile counts matches, it never keeps a value.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/scan/detect.hpp"

namespace pgsluice::scan {

// One column, or one JSON path inside a column, that likely holds personal data.
struct Finding {
    std::string table;   // schema.table, as -t takes it (unquoted)
    std::string schema;  // the table's schema and name, as the catalogue stores them
    std::string name;
    bool visible = false;             // pg_table_is_visible: for unqualified rule patterns
    std::string column;               // as the catalogue stores it
    std::optional<std::string> path;  // JSON path ($.customer.email), or nothing
    std::vector<std::string> reasons;
    std::string suggested;  // a transform in rules-file syntax: email, {shift_date: 30}...
    sanitize::TransformSpec suggested_spec;  // the same, parsed (for the draft rules file)
    bool covered = false;
    std::string covered_by;  // "rule", "exclude_table_data", "keep" (empty when not covered)
};

// A column as the scan needs it.
struct ColumnInfo {
    std::string name;
    std::string type_name;  // pg_catalog.format_type
    bool not_null = false;
    bool unique = false;
};

// True for the column types whose sampled values are looked at (text-like, json, jsonb).
bool sampledType(std::string_view type_name);

// Counts, for one column, how many sampled rows held each kind of value, at each JSON path.
class ColumnProfile {
  public:
    // Looks at one sampled value (its text form); json/jsonb values are walked as documents.
    void add(std::string_view value, bool json);
    // Rows looked at.
    long long rows() const { return rows_; }

    // Per path ("" for the value itself) and kind: rows that held it.
    struct PathCounts {
        std::array<long long, value_kind_count> kinds{};
        std::optional<NameMatch> key_match;  // the JSON key's name pattern
        long long key_rows = 0;              // rows that had the key
        long long free_text_rows = 0;        // rows where a match sat inside free text
        bool numbers = false;                // a match was a JSON number
    };
    const std::map<std::string, PathCounts>& paths() const { return paths_; }

  private:
    long long rows_ = 0;
    std::map<std::string, PathCounts> paths_;
};

// `table` gives the table fields (table, schema, name, visible) of the findings made.
// The findings for one column: by its name, by its type (inet, cidr) and, with a profile, by
// its sampled values (one finding per JSON path). Not yet marked covered.
std::vector<Finding> columnFindings(const Finding& table, const ColumnInfo& column,
                                    const ColumnProfile* profile);

// What covers findings: the rules file's column rules and keep entries, and the tables whose
// rows do not move (exclude_table_data).
struct Coverage {
    const sanitize::Rules* rules = nullptr;  // null: no rules file
    std::vector<std::string> schema_only;    // schema.table of tables whose rows do not move
};

// Sets `covered` and `covered_by` on every finding. Throws UsageError for a bad pattern.
void markCovered(std::vector<Finding>& findings, const Coverage& coverage);

// The JSON path of a finding as a rules-file `json` path: `$.items[*].email` is items.*.email.
std::string rulesPath(std::string_view json_path);

}  // namespace pgsluice::scan
