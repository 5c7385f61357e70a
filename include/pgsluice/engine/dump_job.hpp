#pragma once

#include <string>
#include <vector>

#include "pgsluice/archive/zstd_context.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::engine {

// Everything `pgsluice dump` was asked to do.
struct DumpOptions {
    std::string source;  // libpq conninfo or URI (may be empty: PG* variables)
    std::string file;    // the archive, "-" for standard output
    int jobs = 2;
    int compression_level = archive::default_compression_level;
    io::IoMode io = io::IoMode::automatic;
    long long split_bytes = 1LL << 30;
    filter::SelectionOptions selection;
    std::vector<std::string> selection_args;  // the filter options as given, for the manifest
    bool drop_dangling_foreign_keys = false;
    std::string rules_file;  // --rules: the archive holds rewritten rows only
    ProgressMode progress = ProgressMode::automatic;
    std::string report_file;
    bool verbose = false;
    bool quiet = false;
};

// Writes the source database to an archive: schema (pg_dump custom format), a contents
// manifest, the rows of every unit as compressed frames written in parallel by -j workers in
// one snapshot, a results manifest (rows and digests, sequences), the footer index. A file
// appears under its name only once complete. Throws pgsluice::Error on failure.
void runDump(const DumpOptions& options);

// "zstd" or "zstd:LEVEL" -> the zstd level; throws UsageError for anything else.
int parseCompression(const std::string& text);

}  // namespace pgsluice::engine
