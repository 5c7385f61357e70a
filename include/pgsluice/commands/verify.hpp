#pragma once

#include <string>

#include "pgsluice/filter/selection.hpp"

namespace pgsluice::commands {

// Everything `pgsluice verify` was asked.
struct VerifyOptions {
    std::string source;
    std::string target;
    int jobs = 2;
    filter::SelectionOptions selection;
    bool json = false;
    std::string rules_file;           // --rules: compare with what a sanitised copy holds
    std::vector<std::string> subset;  // --subset: compare with what a subsetted copy holds
};

// Compares the selected tables of source and target: table sets, row counts and an
// order-independent content hash, each side read in one snapshot. Prints one line per table.
// Returns normally when everything agrees; throws Error (exit 1) naming the tables that differ.
void runVerify(const VerifyOptions& options);

}  // namespace pgsluice::commands
