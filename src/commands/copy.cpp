#include "pgsluice/commands/copy.hpp"

#include "pgsluice/engine/run.hpp"
#include "pgsluice/engine/snapshot_source.hpp"

namespace pgsluice::commands {

void runCopy(const CopyOptions& options) {
    engine::requireJobs(options);
    engine::Run run("copy", options.progress, options.verbose, options.quiet);
    engine::SnapshotSource source(options.source, options.split_bytes, run.abort());
    engine::TargetLoad(options, run).run(source);
}

}  // namespace pgsluice::commands
