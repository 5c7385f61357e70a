#include "pgsluice/commands/scan.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "pgsluice/engine/coverage.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::commands {

void runScan(const ScanRequest& request) {
    if (request.sample_rows < 1) {
        throw UsageError("--sample-rows must be at least 1");
    }
    // The rules are read for what they cover; their salt is not needed to say that.
    filter::SelectionOptions options = request.selection;
    std::optional<sanitize::Rules> rules;
    if (!request.rules_file.empty()) {
        rules = engine::loadRules(request.rules_file, options);
    }
    const auto started = std::chrono::steady_clock::now();
    pg::Snapshot snapshot = pg::Snapshot::exportFrom(request.source);
    const pg::Catalog catalog = pg::loadCatalog(snapshot.control());
    const engine::TableSelection selection = engine::selectTables(catalog, options);
    for (const auto& w : selection.warnings) {
        std::fprintf(stderr, "pgsluice: warning: %s\n", w.c_str());
    }
    std::size_t tables = 0;
    const std::vector<scan::Finding> findings = engine::scanSelection(
        catalog, selection, rules ? &*rules : nullptr, &snapshot, request.sample_rows,
        [&](const std::string& table) {
            ++tables;
            if (request.verbose) {
                std::fprintf(stderr, "pgsluice: sampling %s\n", table.c_str());
            }
        });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string out;
    switch (request.format) {
        case ScanFormat::json:
            out = scan::findingsJson(findings);
            break;
        case ScanFormat::yaml:
            out = scan::draftRules(findings);
            break;
        case ScanFormat::text:
            out = scan::findingsText(findings, request.sample_rows);
            break;
    }
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    if (request.verbose) {
        std::fprintf(stderr, "pgsluice: sampled %zu tables in %.2f s\n", tables, seconds);
    }
}

}  // namespace pgsluice::commands
