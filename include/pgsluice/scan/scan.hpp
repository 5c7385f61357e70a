#pragma once

// A scan of a source for personal data: each table sampled by a bounded read inside the
// snapshot, and the findings printed for people, as JSON (a stable interface, docs/scan.md) or
// as a draft rules file. No output ever holds a sampled value.

#include <functional>
#include <string>
#include <vector>

#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/snapshot.hpp"
#include "pgsluice/scan/findings.hpp"

namespace pgsluice::scan {

// Default rows read per table.
inline constexpr int default_sample_rows = 1000;

// The SELECT that samples `table`'s columns `columns` (quoted, cast to text): TABLESAMPLE
// SYSTEM with a percentage that should give about twice `rows` rows when the table's estimate
// is larger than that, and always LIMIT `rows`. `tablesample` false: the plain LIMIT read.
std::string sampleQuery(const pg::Table& table, const std::vector<const pg::Column*>& columns,
                        int rows, bool tablesample);

// Samples each table of `tables` (at most `rows` rows each, on a reader of `snapshot`) and
// returns the findings by name, type and value, in catalogue order. `names_only` tables are
// judged by their columns' names and types alone. `on_table` is told each table's name.
std::vector<Finding> scanTables(const pg::Snapshot& snapshot,
                                const std::vector<const pg::Table*>& tables,
                                const std::vector<const pg::Table*>& names_only, int rows,
                                const std::function<void(const std::string&)>& on_table = {});

// The findings by column name and type alone (an archive's catalogue: no values to read).
std::vector<Finding> scanNames(const std::vector<const pg::Table*>& tables);

// `{"findings": [{"table", "column", "path", "reasons", "suggested", "covered"}, ...]}`.
std::string findingsJson(const std::vector<Finding>& findings);

// A table for people, one finding a line, and a count.
std::string findingsText(const std::vector<Finding>& findings, int sample_rows);

// A draft rules file that rules every finding's column with its suggested transform (the
// JSON paths of one column merged into one `json` rule).
std::string draftRules(const std::vector<Finding>& findings);

// The exit-2 message of a strict run: each uncovered finding (table.column, path, reason) and
// the rules file to change, or "add --rules FILE" when `rules_file` is empty.
std::string uncoveredMessage(const std::vector<Finding>& uncovered, const std::string& rules_file);

}  // namespace pgsluice::scan
