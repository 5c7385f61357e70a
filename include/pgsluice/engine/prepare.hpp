#pragma once

// The selection and the rules of a run, checked against one catalogue: what copy, dump,
// restore, verify and plan all start from before they touch anything.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/subset.hpp"
#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/client_tools.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::engine {

// A --rules file checked against the source catalogue: what every worker needs to rewrite rows.
struct Sanitizing {
    sanitize::Rules rules;
    sanitize::SaltKey key;
    sanitize::SanitizePlan plan;
    std::string rules_hash;  // of the rules, never of the salt

    // The rewrites of `table`, or nullptr when its rows pass through untouched.
    const sanitize::TableSanitizer* forTable(const pg::Table& table) const {
        return plan.find(table.schema, table.name);
    }
};

// Reads the rules file (UsageError with FILE:LINE) and adds its exclude_table_data patterns to
// `selection`, so they act like --exclude-table-data. Call before selectTables.
sanitize::Rules loadRules(const std::string& path, filter::SelectionOptions& selection);

// Checks every rule against the tables whose rows move (exit 2 listing every problem) and
// builds the transforms with the salt from the rules' salt_env.
std::unique_ptr<Sanitizing> checkRules(sanitize::Rules rules, const pg::Catalog& catalog,
                                       const TableSelection& selection);

// What a run was asked to select and rewrite, resolved.
struct Prepared {
    filter::SelectionOptions options;  // the user's, plus the rules' exclude_table_data
    TableSelection selection;
    std::set<uint32_t> dropped_foreign_keys;  // --drop-dangling-foreign-keys
    std::unique_ptr<Sanitizing> sanitizing;   // null without --rules
    std::vector<std::string> warnings;        // for the user: unmatched patterns, dropped keys...
    std::vector<std::string> notes;           // said unless -q: what the rules rewrite
    std::vector<std::string> details;         // said with -v: rules for tables not moved
    SubsetSpec subset;                        // --subset and the rules' subset: (empty: none)
};

// Reads the rules file (if any), applies the selection, leaves out the dangling foreign keys
// when `drop_dangling` (a warning each), and checks every rule against the catalogue. Throws
// UsageError (exit 2) for a bad rule or pattern, before anything is written anywhere. Dangling
// foreign keys without `drop_dangling` are left in selection.dangling for requireNoDangling().
Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling,
                    const std::vector<std::string>& subset = {});

// prepareRun() for a run that goes on to write something: says the warnings (and, unless -q,
// the notes) through `progress`, then refuses dangling foreign keys (requireNoDangling).
Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling,
                    const std::vector<std::string>& subset, Progress& progress);

// Throws UsageError naming each constraint when the selection leaves foreign keys dangling and
// they were not dropped.
void requireNoDangling(const Prepared& prepared);

// The pg_dump and pg_restore for data from a server of `server_version` (--pg-bin `pg_bin`,
// PGSLUICE_PG_BIN, PATH, /usr/lib/postgresql), said with -v; UsageError when none fits.
// `what_needs` says why that version ("the source server is 17.2").
pg::ClientTools clientToolsFor(const std::string& pg_bin, int server_version,
                               const std::string& what_needs, Progress& progress);

// Adds "pg_dump" and "pg_restore" ({"path", "version"}) to a --report JSON.
void reportClientTools(nlohmann::ordered_json& report, const pg::ClientTools& tools);

}  // namespace pgsluice::engine
