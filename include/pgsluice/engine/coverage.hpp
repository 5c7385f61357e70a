#pragma once

// Strict coverage (--strict, `strict: true`): before a run touches anything, the scan for
// personal data runs on what it would move, and any finding that no rule, exclude_table_data
// or keep entry covers stops it (exit 2).

#include <functional>
#include <string>
#include <vector>

#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/snapshot.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/scan/findings.hpp"

namespace pgsluice::engine {

// The findings of a scan of `selection`: the tables whose rows move are sampled (at most
// `sample_rows` rows each) on a reader of `snapshot`, those whose definition alone moves are
// judged by name; with no snapshot (an archive), every table is judged by name and type alone.
// Each finding is marked covered by `rules` (may be null) and by the tables left schema only.
std::vector<scan::Finding> scanSelection(
    const pg::Catalog& catalog, const TableSelection& selection, const sanitize::Rules* rules,
    const pg::Snapshot* snapshot, int sample_rows,
    const std::function<void(const std::string&)>& on_table = {});

// True when --strict was given or the rules file says `strict: true`.
bool strictWanted(bool strict_option, const Prepared& prepared);

// For a strict run: scans as scanSelection does (with the run's rules) and throws UsageError
// listing each uncovered finding and the rules file to change. Does nothing unless strict.
void requireCoverage(const pg::Catalog& catalog, const Prepared& prepared, bool strict_option,
                     const pg::Snapshot* snapshot, Progress* progress = nullptr);

}  // namespace pgsluice::engine
