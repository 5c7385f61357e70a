#include "pgsluice/commands/verify.hpp"

#include <cstdio>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/subset.hpp"
#include "pgsluice/engine/verify.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::commands {

void runVerify(const VerifyOptions& options) {
    if (options.jobs < 1) {
        throw UsageError("--jobs must be at least 1");
    }
    engine::AbortSignal abort;
    engine::SignalWatcher signals(abort);
    pg::Snapshot source = pg::Snapshot::exportFrom(options.source, pg::Role::source);
    pg::Snapshot target = pg::Snapshot::exportFrom(options.target, pg::Role::target);
    filter::SelectionOptions selection = options.selection;
    std::unique_ptr<engine::Sanitizing> sanitizing;
    std::shared_ptr<const engine::Subset> subset;
    if (!options.rules_file.empty() || !options.subset.empty()) {
        pg::Catalog catalog = pg::loadCatalog(source.control());
        engine::Prepared prepared =
            engine::prepareRun(catalog, selection, options.rules_file, true, options.subset);
        selection = prepared.options;
        sanitizing = std::move(prepared.sanitizing);
        if (!prepared.subset.empty()) {
            // In the source's snapshot, so the kept rows are the ones a copy of it keeps.
            subset = engine::computeSubset(source.control(), catalog, prepared.selection,
                                           prepared.subset);
        }
    }
    std::vector<engine::TableVerdict> verdicts = engine::verifyDatabases(
        source, target, selection, options.jobs, abort, sanitizing.get(), subset.get());
    std::vector<std::string> differing;
    std::fputs(engine::formatVerdicts(verdicts, options.json, differing).c_str(), stdout);
    std::fflush(stdout);
    if (!differing.empty()) {
        throw Error(engine::differMessage(differing));
    }
}

}  // namespace pgsluice::commands
