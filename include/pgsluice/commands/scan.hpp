#pragma once

#include <string>

#include "pgsluice/filter/selection.hpp"
#include "pgsluice/scan/scan.hpp"

namespace pgsluice::commands {

// How `pgsluice scan` prints its findings.
enum class ScanFormat { text, json, yaml };

// Everything `pgsluice scan` was asked.
struct ScanRequest {
    std::string source;
    filter::SelectionOptions selection;
    std::string rules_file;  // --rules: mark what it covers
    int sample_rows = scan::default_sample_rows;
    ScanFormat format = ScanFormat::text;
    bool verbose = false;  // -v: name each table as it is sampled (never a value)
};

// Samples every selected table inside one read-only snapshot and prints the columns that
// likely hold personal data. Findings are not an error; throws UsageError for bad options.
void runScan(const ScanRequest& request);

}  // namespace pgsluice::commands
