#pragma once

#include <string>

#include "pgsluice/engine/target_load.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::commands {

// Everything `pgsluice restore` was asked to do.
struct RestoreOptions : engine::LoadOptions {
    std::string file;  // the archive, "-" for standard input
    io::IoMode io = io::IoMode::automatic;
};

// Loads an archive written by `pgsluice dump` into the target: schema, data in parallel (from
// a file through its footer index; from a pipe by fanning frames out to the connections),
// indexes as each table lands, sequences, large objects, constraints, statistics. Every row's
// digest is checked against the archive's manifest. Throws pgsluice::Error on failure; damage
// in the archive is exit 1 naming the table, the byte offset and the tables loaded completely.
void runRestore(const RestoreOptions& options);

}  // namespace pgsluice::commands
