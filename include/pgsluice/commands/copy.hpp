#pragma once

#include <string>

#include "pgsluice/engine/target_load.hpp"

namespace pgsluice::commands {

// Everything `pgsluice copy` was asked to do.
struct CopyOptions : engine::LoadOptions {
    std::string source;  // libpq conninfo or URI (may be empty: PG* variables)
    long long split_bytes = 1LL << 30;
};

// Copies the source database into the target: schema, data in parallel, indexes as each
// table's data lands, then constraints, sequences, large objects and statistics.
// Returns normally on success; throws pgsluice::Error (with its exit code) on failure.
void runCopy(const CopyOptions& options);

}  // namespace pgsluice::commands
