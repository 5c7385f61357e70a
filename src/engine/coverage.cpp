#include "pgsluice/engine/coverage.hpp"

#include <fmt/format.h>

#include "pgsluice/error.hpp"
#include "pgsluice/scan/scan.hpp"

namespace pgsluice::engine {

std::vector<scan::Finding> scanSelection(const pg::Catalog& catalog,
                                         const TableSelection& selection,
                                         const sanitize::Rules* rules, const pg::Snapshot* snapshot,
                                         int sample_rows,
                                         const std::function<void(const std::string&)>& on_table) {
    std::vector<const pg::Table*> sampled;
    std::vector<const pg::Table*> names_only;
    scan::Coverage coverage;
    coverage.rules = rules;
    for (const auto& t : catalog.tables) {
        if (!t.holdsData() || selection.skip.count(t.oid)) {
            continue;
        }
        if (selection.schema_only.count(t.oid)) {
            coverage.schema_only.push_back(t.schema + "." + t.name);
            names_only.push_back(&t);
        } else if (snapshot) {
            sampled.push_back(&t);
        } else {
            names_only.push_back(&t);
        }
    }
    std::vector<scan::Finding> findings =
        snapshot ? scan::scanTables(*snapshot, sampled, names_only, sample_rows, on_table)
                 : scan::scanNames(names_only);
    scan::markCovered(findings, coverage);
    return findings;
}

bool strictWanted(bool strict_option, const Prepared& prepared) {
    return strict_option ||
           (prepared.sanitizing && prepared.sanitizing->rules.strict.value_or(false));
}

void requireCoverage(const pg::Catalog& catalog, const Prepared& prepared, bool strict_option,
                     const pg::Snapshot* snapshot, Progress* progress) {
    if (!strictWanted(strict_option, prepared)) {
        return;
    }
    const sanitize::Rules* rules = prepared.sanitizing ? &prepared.sanitizing->rules : nullptr;
    if (progress) {
        progress->info(snapshot ? fmt::format("--strict: scanning the source for personal data "
                                              "(at most {} rows per table)",
                                              scan::default_sample_rows)
                                : "--strict: checking the archive's columns by name and type "
                                  "(an archive has no rows to sample before it is read)");
    }
    std::vector<scan::Finding> uncovered;
    for (scan::Finding& f :
         scanSelection(catalog, prepared.selection, rules, snapshot, scan::default_sample_rows)) {
        if (!f.covered) {
            uncovered.push_back(std::move(f));
        }
    }
    if (!uncovered.empty()) {
        std::string message = scan::uncoveredMessage(uncovered, rules ? rules->source : "");
        if (!snapshot) {
            message +=
                "\n(an archive's columns are judged by name and type only: its rows are "
                "not sampled before they are read)";
        }
        throw UsageError(message);
    }
}

}  // namespace pgsluice::engine
