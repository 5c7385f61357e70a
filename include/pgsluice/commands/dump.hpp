#pragma once

#include "pgsluice/engine/archive_dump.hpp"

namespace pgsluice::commands {

using engine::DumpOptions;

// Writes the source database to an archive (see engine::ArchiveDump). Throws pgsluice::Error
// on failure.
void runDump(const DumpOptions& options);

}  // namespace pgsluice::commands
