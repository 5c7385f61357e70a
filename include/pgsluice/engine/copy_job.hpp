#pragma once

#include <string>
#include <vector>

#include "pgsluice/engine/progress.hpp"
#include "pgsluice/filter/selection.hpp"

namespace pgsluice::engine {

// Everything `pgsluice copy` was asked to do.
struct CopyOptions {
    std::string source;  // libpq conninfo or URI (may be empty: PG* variables)
    std::string target;
    int jobs = 2;
    int index_jobs = 2;
    bool clean = false;
    bool no_owner = false;
    bool no_privileges = false;
    bool skip_analyze = false;
    long long split_bytes = 1LL << 30;
    ProgressMode progress = ProgressMode::automatic;
    std::string report_file;
    filter::SelectionOptions selection;
    bool drop_dangling_foreign_keys = false;
    std::vector<std::string> protect;    // --protect patterns (empty: PGSLUICE_PROTECT or *prod*)
    bool yes = false;                    // no confirmation question
    bool swap = false;                   // load into a new database, then rename it into place
    bool keep_old = false;               // --swap: keep the replaced database
    bool terminate_connections = false;  // --swap: end other sessions on the live database
    int swap_wait_seconds = 30;          // --swap: how long to wait for them otherwise
    bool verify = false;                 // compare with the source before finishing
    std::string rules_file;              // --rules: sanitisation rules (YAML)
    bool verbose = false;
    bool quiet = false;
};

// Copies the source database into the target: schema, data in parallel, indexes as each
// table's data lands, then constraints, sequences, large objects and statistics.
// Returns normally on success; throws pgsluice::Error (with its exit code) on failure.
void runCopy(const CopyOptions& options);

}  // namespace pgsluice::engine
