#include "pgsluice/commands/dump.hpp"

#include "pgsluice/engine/run.hpp"
#include "pgsluice/engine/snapshot_source.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::commands {

void runDump(const DumpOptions& options) {
    if (options.jobs < 1) {
        throw UsageError("--jobs must be at least 1");
    }
    if (options.retries < 0 || options.stall_timeout_seconds < 0) {
        throw UsageError("--retries and --stall-timeout cannot be negative");
    }
    engine::Run run("dump", options.progress, options.verbose, options.quiet);
    engine::SnapshotSource source(options.source, options.split_bytes, run.abort());
    engine::ArchiveDump(options, run).run(source);
}

}  // namespace pgsluice::commands
