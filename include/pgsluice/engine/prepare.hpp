#pragma once

#include <memory>
#include <set>
#include <string>

#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/sanitizing.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"

namespace pgsluice::engine {

// The selection and the rules of a run, checked against one catalogue: what copy, dump and
// restore all start from before they touch anything.
struct Prepared {
    filter::SelectionOptions options;  // the user's, plus the rules' exclude_table_data
    SelectionResult selection;
    std::set<uint32_t> dropped_foreign_keys;  // --drop-dangling-foreign-keys
    std::unique_ptr<Sanitizing> sanitizing;   // null without --rules
};

// Reads the rules file (if any), applies the selection, refuses dangling foreign keys unless
// `drop_dangling` (then warns for each), and checks every rule against the catalogue. Throws
// UsageError (exit 2) for any problem, before anything is written anywhere.
Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling, Progress& progress);

}  // namespace pgsluice::engine
