#pragma once

// `pgsluice inspect`: what an archive holds (source, filters, tables, rows, checksums) and
// whether it is complete, read from a file through its footer index or from a pipe in order.

#include <iosfwd>
#include <string>

#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::commands {

// Everything `pgsluice inspect` was asked.
struct InspectOptions {
    std::string file;  // a path, or "-" for standard input
    io::IoMode io = io::IoMode::automatic;
    bool json = false;
    // Read and check every frame of a file (a pipe is always read and checked whole).
    bool verify = false;
};

// Reads the archive, prints the report to `out` (text or JSON). Throws FormatError/Error
// (exit 1) on a damaged, truncated or inconsistent archive or one that is not a pgsluice dump,
// naming what could be read before the damage; an inconsistent archive's report is printed
// first.
void runInspect(const InspectOptions& options, std::ostream& out);

}  // namespace pgsluice::commands
