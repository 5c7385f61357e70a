#pragma once

#include <string>

#include "pgsluice/filter/selection.hpp"

namespace pgsluice::commands {

// Everything `pgsluice plan` was asked.
struct PlanRequest {
    std::string source;
    filter::SelectionOptions selection;
    bool drop_dangling_foreign_keys = false;
    long long split_bytes = 1LL << 30;
    int jobs = 2;
    bool json = false;
    std::string rules_file;           // --rules: check the rules and show the rewritten columns
    std::vector<std::string> subset;  // --subset TABLE:CONDITION
    bool strict = false;              // --strict: refuse personal data no rule covers
};

// Prints, table by table, what a copy or dump with these options would do, without moving any
// data. Throws UsageError (exit 2) for bad patterns and foreign keys left dangling.
void runPlan(const PlanRequest& request);

}  // namespace pgsluice::commands
