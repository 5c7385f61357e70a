#include "pgsluice/engine/prepare.hpp"

#include <fmt/format.h>

#include <optional>

#include "pgsluice/error.hpp"

namespace pgsluice::engine {

Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling, Progress& progress) {
    Prepared p;
    p.options = options;
    std::optional<sanitize::Rules> rules;
    if (!rules_file.empty()) {
        rules = loadRules(rules_file, p.options);
    }
    p.selection = applySelection(catalog, p.options);
    for (const auto& w : p.selection.warnings) {
        progress.warn(w);
    }
    if (!p.selection.dangling.empty()) {
        if (!drop_dangling) {
            throw UsageError(danglingMessage(p.selection.dangling));
        }
        for (const auto& d : p.selection.dangling) {
            progress.warn(fmt::format("leaving out foreign key {} on {}: {} ({})", d.key->name,
                                      d.table, d.referenced, d.reason));
            p.dropped_foreign_keys.insert(d.key->oid);
        }
    }
    if (rules) {
        // Every rule is checked before anything is written: a typo must not let personal data
        // through.
        p.sanitizing = checkRules(std::move(*rules), catalog, p.selection);
        for (const auto& w : p.sanitizing->plan.warnings) {
            progress.warn(w);
        }
        progress.info(fmt::format("--rules: rewriting columns of {} tables (rules hash {})",
                                  p.sanitizing->plan.tables.size(), p.sanitizing->rules_hash));
    }
    return p;
}

}  // namespace pgsluice::engine
