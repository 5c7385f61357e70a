#include "pgsluice/commands/restore.hpp"

#include "pgsluice/engine/archive_source.hpp"
#include "pgsluice/engine/run.hpp"

namespace pgsluice::commands {

void runRestore(const RestoreOptions& options) {
    engine::requireJobs(options);
    engine::Run run("restore", options.progress, options.verbose, options.quiet);
    run.progress().setVerb("loaded");
    engine::ArchiveSource source(options.file, options.io, run);
    engine::TargetLoad(options, run).run(source);
}

}  // namespace pgsluice::commands
